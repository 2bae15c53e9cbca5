"""Where a sync worker's time goes, for ``devstack.bench_sync``: timing spans around the ports it is given.

The benchmark hands ``SyncEnterprise`` its usual adapters wrapped in ``Timed`` proxies, each under a label (keys,
store, raw pages...). ``Spans`` adds every call's wall time to its label (the outermost span of its thread only: a
port calling another is not counted twice) and keeps when each label first started and last ended: the worker runs
phases side by side (keys in threads, months read ahead during the pulls, raw pages beside the snapshots), so the
busy times overlap and the windows show the task's critical path. ``CountingFirestore`` reports each Firestore RPC's
wall time to the span it ran in, so each phase splits into time waiting on Firestore and the rest (our CPU:
snapshots, rollups, encoding). The provider pulls run on the task's event loop: their wall time splits into the loop
thread's CPU (parsing, normalising, pricing) and the rest, waiting on the providers (or on the GIL, while the
process's other threads run).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

OTHER = "other"


@dataclass
class Spans:
    """Wall time per label, and Firestore RPC time and round trips within each label."""

    wall: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    rpc: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    round_trips: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    reads: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    writes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    other_threads_cpu: float = 0.0
    """CPU of the process's other threads while the pulls ran (keys and months read ahead, parts computed)."""
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Each label's first start and last end, in seconds since ``reset``: the phases overlap (threads, pulls)."""
    origin: float = field(default_factory=time.perf_counter)
    currents: dict[int, str] = field(default_factory=dict)
    """The open span of each thread (the worker reads keys and months ahead in threads beside its pulls)."""

    @property
    def current(self) -> str | None:
        return self.currents.get(threading.get_ident())

    def reset(self) -> None:
        for table in (self.wall, self.rpc, self.round_trips, self.cpu, self.reads, self.writes):
            table.clear()
        self.windows.clear()
        self.other_threads_cpu = 0.0
        self.origin = time.perf_counter()

    def ran(self, label: str, started: float, ended: float) -> None:
        """``label`` was busy from ``started`` to ``ended`` (``perf_counter`` times)."""
        self.wall[label] += ended - started
        first, last = self.windows.get(label, (math.inf, -math.inf))
        self.windows[label] = (min(first, started - self.origin), max(last, ended - self.origin))

    def documents(self, *, reads: int = 0, writes: int = 0) -> None:
        """Documents read or written (as Firestore bills them) in the current span."""
        label = self.current or OTHER
        self.reads[label] += reads
        self.writes[label] += writes

    @contextmanager
    def span(self, label: str) -> Iterator[None]:
        if self.current is not None:  # nested: counted in the outer span
            yield
            return
        self.currents[threading.get_ident()] = label
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.ran(label, started, time.perf_counter())
            self.cpu[label] += time.thread_time() - cpu
            del self.currents[threading.get_ident()]

    def firestore_rpc(self, seconds: float, *, round_trip: bool = True) -> None:
        """``seconds`` spent in a Firestore RPC (a streamed one reports each response, its first one a round trip)."""
        label = self.current or OTHER
        self.rpc[label] += seconds
        self.round_trips[label] += round_trip

    def report(self, total: float, say: Callable[[str], None], rtt: float) -> None:
        """Print each label's busy time, when it ran (phases overlap), and its Firestore share."""
        say(f"    {'phase':<40} {'busy':>7}  {'ran from–to (ms)':<16} detail")
        rows = sorted(self.wall.items(), key=lambda item: self.windows[item[0]][0])
        for label, wall in rows:
            first, last = self.windows[label]
            window = f"{first * 1000:4.0f}–{last * 1000:4.0f}"
            rpc, trips = self.rpc.get(label, 0.0), self.round_trips.get(label, 0)
            if label == PULLS:
                cpu, others = self.cpu[label], self.other_threads_cpu
                detail = (
                    f"waiting on providers {wall - cpu:.2f} s (the process's other threads' CPU {others:.2f} s of"
                    f" it), the event loop's parsing/normalising/pricing CPU {cpu:.2f} s"
                )
            elif trips:
                docs = f"{self.reads.get(label, 0)} reads, {self.writes.get(label, 0)} writes"
                detail = f"Firestore {rpc:.2f} s in {trips} round trips ({docs}), the rest {wall - rpc:.2f} s"
            else:
                detail = ""
            say(f"    {label:<40} {wall:5.2f} s  {window:<16} {detail}")
        outside = self.rpc.get(OTHER, 0.0)
        say(
            f"    {'the task in all':<40} {total:5.2f} s  {0:4.0f}–{total * 1000:4.0f}       Firestore outside these"
            f" phases {outside:.2f} s"
        )
        trips = sum(self.round_trips.values())
        rpc = sum(self.rpc.values())
        say(
            f"  Firestore in all: {trips} round trips, {rpc:.2f} s; the emulator's median one-document get from here"
            f" takes {rtt * 1000:.1f} ms ({trips} × that = {trips * rtt:.2f} s)"
        )


PULLS = "provider pulls"


class Timed:
    """A proxy that times every method call of ``inner`` under ``label`` (or its method's own label)."""

    def __init__(self, inner: Any, label: str, spans: Spans, by_method: dict[str, str] | None = None) -> None:
        self._inner, self._label, self._spans = inner, label, spans
        self._by_method = by_method or {}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr
        label = self._by_method.get(name, self._label)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._spans.span(label):
                return attr(*args, **kwargs)

        return call


class TimedSources:
    """A ``UsageSourceFactory`` whose pulls, from the first opened to the last finished, are one span."""

    def __init__(self, inner: Any, spans: Spans) -> None:
        self._inner, self._spans = inner, spans
        self._open = 0
        self._started = self._cpu = self._process = 0.0

    @asynccontextmanager
    async def __call__(self, provider: Any, api_key: SecretStr) -> AsyncIterator[Any]:
        if self._open == 0:
            self._started, self._cpu, self._process = time.perf_counter(), time.thread_time(), time.process_time()
        self._open += 1
        try:
            async with self._inner(provider, api_key) as source:
                yield source
        finally:
            self._open -= 1
            if self._open == 0:
                self._spans.ran(PULLS, self._started, time.perf_counter())
                cpu = time.thread_time() - self._cpu
                self._spans.cpu[PULLS] += cpu
                self._spans.other_threads_cpu += time.process_time() - self._process - cpu

    async def requests_out(self) -> None:
        await self._inner.requests_out()


def emulator_round_trip(client: Any, samples: int = 30) -> float:
    """The median wall time of a one-document get on the Firestore emulator: its own per-RPC latency."""
    ref = client.collection("bench_rtt").document("absent")
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        ref.get()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]
