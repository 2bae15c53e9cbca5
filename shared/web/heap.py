"""The instance's heap after its first request: frozen out of the garbage collector's full collections.

A usage request allocates hundreds of thousands of short-lived objects (a year of rollups decoded), so every few
dozen requests CPython runs a full (generation 2) collection, which walks every object the instance holds: the
imported modules, the Firestore and gRPC clients, the application. Measured on ``GET /enterprise/usage`` (12 whole
months, 100 requests in one process): 6 full collections took 370 ms, up to 92 ms each, so they made the p95; with
that heap frozen they took 78 ms in all (``devstack/bench_usage_api.py``). The heap is frozen once the first request
has built the application and loaded its clients (``gc.freeze``: those objects are never collected again, and they
live as long as the instance anyway); what later requests allocate is collected as before.
"""

from __future__ import annotations

import gc
import threading

_frozen = False
_lock = threading.Lock()


def freeze_once() -> bool:
    """Collect, then freeze what survives; only the first call does anything. Returns whether this call froze."""
    global _frozen  # one flag per process, like the heap it speaks for
    with _lock:
        if _frozen:
            return False
        _frozen = True
    gc.collect()
    gc.freeze()
    return True
