"""Time the monthly benchmark aggregation over 10,000 enterprises' rollups on the Firestore emulator.

Usage: ``PYTHONPATH=. .venv/bin/python -m devstack.bench_benchmarks [--enterprises N]``. Starts its own emulator
(or uses ``FIRESTORE_EMULATOR_HOST`` if set), seeds opted-in enterprises with one or two providers each, then times
``aggregate_benchmarks`` (participants query, batched rollup reads, the rules, the write) and prints the result,
then re-runs it under ``tracemalloc`` (an unchanged month: the same reads, units and hash, nothing written) for the
peak Python memory, which must stay flat: each page of rollups is folded into packed units as it lands
(``shared.domain.peers.packed``) and the inputs hash is streamed, one unit at a time.

Target: 10,000 enterprises in 5 s or less. On the shared 2-core development machine (quote the ratio: the load of
other work moves absolute times), reading the inputs went from 9.3 s to 7.4 s and the whole run from 18.6 s to
13.2 s (issue 22: the reads of a participants page overlap the next page, snapshots are not deep-copied, membership
tokens and unit metrics are computed once per unit). Then (ADR 0026) the participants are one streamed query and
the participants and rollups are decoded without the client's deep copy: 6.0 s under a load of 3, 3.6 s in a quieter
run. ``--compare`` (default 5,000) aggregates a second population and prints how the peak grows per unit.

Memory: the re-run's peak was 37 MiB at 5,000 and 73 MiB at 10,000 units, 7.4 KiB a unit: every unit a pydantic
model (its figures seven ``Decimal`` objects, twice for a one-provider unit), every identity kept to the end, and the
inputs hash built as one JSON document of all units. With the units packed into strings (``peers.packed``), the
identities dropped with their page and the hash streamed: 9.4 and 12.2 MiB, 0.6 KiB a unit (the unit's packed
figures, its id and admin domain, and while the pages are read its providers' identifiers); the rest is the
``READ_AHEAD`` rollup reads in flight, flat.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from devstack.benchmark_seed import SeedEnterprise, part
from shared.domain.enterprise.model import Industry

MONTH = "2026-10"
NOW = datetime(2026, 11, 23, tzinfo=UTC)
PROJECT = "bench-benchmarks"


class _Clock:
    def now(self) -> datetime:
        return NOW


def _peers(n: int) -> list[SeedEnterprise]:
    industries = list(Industry)
    peers = []
    for i in range(n):
        ratio = Decimal("0.4003") + Decimal(i % 57) / 100  # off the 2-s.f. grid, as real ratios are
        billed = Decimal(500 + (i * 37) % 9000) * ratio
        listed = str(billed / ratio)
        parts = {"openai": part(str(billed), listed, 50_000_000 + i, 5_000_000, str(billed * Decimal("0.6")))}
        if i % 3 == 0:
            parts["anthropic"] = part(str(billed / 2), str(billed / 2 / ratio), 20_000_000, 2_000_000, str(billed / 4))
        peers.append(SeedEnterprise(f"ent_{i:05d}", parts, industry=industries[i % len(industries)]))
    return peers


def _run(db: Any, settings: Any, n: int) -> tuple[str, float, int]:
    """Seed ``n`` enterprises, aggregate them; returns the line to print, the peak of the re-run and its units."""
    from devstack.benchmark_seed import seed
    from shared.adapters.firestore_benchmarks import FirestoreBenchmarks
    from shared.services.peers.aggregate_benchmarks import aggregate_benchmarks

    started = time.perf_counter()
    seed(db, MONTH, _peers(n))
    seeded = time.perf_counter() - started
    clock = _Clock()
    started = time.perf_counter()
    result = aggregate_benchmarks(FirestoreBenchmarks(db, clock), clock, settings, MONTH)
    took = time.perf_counter() - started
    tracemalloc.start()
    again = aggregate_benchmarks(FirestoreBenchmarks(db, clock), clock, settings, MONTH)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    line = (
        f"seeded {n} enterprises in {seeded:.1f}s; aggregated {result.units} units "
        f"({result.published_buckets} buckets published) in {took:.2f}s (target <= 5s); "
        f"re-run ({again.status}) peak Python memory {peak / 2**20:.1f} MiB\n"
    )
    return line, peak, again.units


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=10_000)
    parser.add_argument(
        "--compare", type=int, default=5_000, help="also aggregate this many (0: not), to show how memory grows"
    )
    args = parser.parse_args(argv)

    from devstack.firestore_emulator import reset_firestore, start_firestore_emulator
    from shared.adapters.firestore_client import firestore_client, reset_clients
    from shared.config import Settings

    managed = None
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if not host:
        managed, host = start_firestore_emulator(log_path=Path(tempfile.gettempdir()) / "bench-firestore.log")
        os.environ["FIRESTORE_EMULATOR_HOST"] = host
    try:
        peaks: list[tuple[int, float]] = []
        for i, n in enumerate(sorted({args.enterprises, args.compare} - {0})):
            project = f"{PROJECT}-{i}"  # one project per size: a published month is frozen (ADR 0019)
            reset_firestore(host, project)
            reset_clients()
            settings = Settings(project_id=project)
            line, peak, units = _run(firestore_client(settings), settings, n)
            sys.stdout.write(line)
            peaks.append((units, peak))
        if len(peaks) == 2:
            (small, low), (large, high) = peaks
            sys.stdout.write(
                f"peak memory grows {(high - low) / (large - small) / 1024:.1f} KiB per unit "
                f"({small} -> {large} units: each unit's packed figures, id and admin domains, and its providers' "
                "identifiers while they are read; no document, row or model is held)\n"
            )
    finally:
        if managed is not None:
            managed.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
