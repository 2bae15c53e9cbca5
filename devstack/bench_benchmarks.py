"""Time the monthly benchmark aggregation over 10,000 enterprises' rollups on the Firestore emulator.

Usage: ``PYTHONPATH=. .venv/bin/python -m devstack.bench_benchmarks [--enterprises N]``. Starts its own emulator
(or uses ``FIRESTORE_EMULATOR_HOST`` if set), seeds opted-in enterprises with one or two providers each, then times
``aggregate_benchmarks`` (participants query, batched rollup reads, the rules, the write) and prints the result.
Memory is measured on two further runs under ``tracemalloc`` (which slows the code it traces, so never on the timed
one), each printing its peak Python memory:

* a **re-run**: the month unchanged, the same reads, units and inputs hash, nothing computed or written;
* a **publishing run**: the month's publication (its document, run record and version 1) is deleted, so the run
  takes the path of the timed first run: the same reads, units and hash, no earlier version, the rules
  (``compute_release``) and the write. The bench checks that it publishes version 1 again, with the same document.
  The peak of its rules phase alone is also printed: the service's ``compute_release`` is wrapped to reset the
  peak when it starts and read it when it returns (the units it is handed are counted).

Target: 10,000 enterprises in 5 s or less. On the shared 2-core development machine (quote the ratio: the load of
other work moves absolute times), reading the inputs went from 9.3 s to 7.4 s and the whole run from 18.6 s to
13.2 s (issue 22: the reads of a participants page overlap the next page, snapshots are not deep-copied, membership
tokens and unit metrics are computed once per unit). Then (ADR 0026) the participants are one streamed query and
the participants and rollups are decoded without the client's deep copy: 6.0 s under a load of 3, 3.6 s in a quieter
run. Reading the inputs was then bound by this process's processor, not by the emulator: gRPC's channel thread
handed each of the 20,000 documents to the reading thread (a lock and a wake-up each), every field of every member
was decoded (their timestamps most of all), three client objects were built for each rollup read, and the rules
built a pydantic model for each unit's figures three times. With streams read on the calling thread
(``adapters.firestore_client``), only the members' identifying fields decoded, rollups read by path and the rules'
figures unpacked into tuples: 4.4-4.7 s against 6.0 s for the previous code in the same session (the rules alone,
1.0-1.1 s against 1.3-1.4 s). ``--compare`` (default 5,000) aggregates a second population and prints how each
peak grows per unit.

Memory: the re-run's peak was 37 MiB at 5,000 and 73 MiB at 10,000 units, 7.4 KiB a unit: every unit a pydantic
model (its figures seven ``Decimal`` objects, twice for a one-provider unit), every identity kept to the end, and the
inputs hash built as one JSON document of all units. With the units packed into strings (``peers.packed``), the
identities dropped with their page and the hash streamed: 9.4 and 12.2 MiB, 0.6 KiB a unit (the unit's packed
figures, its id and admin domain, and while the pages are read its providers' identifiers); the rest is the
``READ_AHEAD`` rollup reads in flight, flat. The publishing run's rules phase then took 6.9 and 12.2 MiB, 1.1 KiB a
unit: an object per contribution with two ``Decimal`` objects, each bucket's tokens and members' ids in sets. Held
as columns (``peers.population``: exact values and weights as text, tokens in one buffer, members as bitsets of
unit positions; a bucket's statistics read one column back as ``Decimal`` objects at a time): 3.7 and 7.1 MiB,
0.7 KiB a unit, of which about 0.4 KiB are the units themselves. A publishing run's peak is now its reading phase,
as a re-run's: 9.4 and 12.2 MiB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from devstack.benchmark_seed import SeedEnterprise, part
from shared.domain.enterprise.model import Industry

if TYPE_CHECKING:
    from shared.domain.peers.benchmarks import Release
    from shared.services.peers.aggregate_benchmarks import AggregationResult

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


@dataclass(frozen=True)
class _Measured:
    line: str
    units: int
    rerun_peak: int
    publishing_peak: int
    rules_peak: int


def _run(db: Any, settings: Any, n: int) -> _Measured:
    """Seed ``n`` enterprises and aggregate them (timed), then measure the peak memory of a re-run and a publication."""
    from devstack.benchmark_seed import seed
    from shared.adapters.firestore_benchmarks import FirestoreBenchmarks
    from shared.services.peers.aggregate_benchmarks import aggregate_benchmarks

    started = time.perf_counter()
    seed(db, MONTH, _peers(n))
    seeded = time.perf_counter() - started
    clock = _Clock()

    def aggregate() -> AggregationResult:
        return aggregate_benchmarks(FirestoreBenchmarks(db, clock), clock, settings, MONTH)

    started = time.perf_counter()
    result = aggregate()
    took = time.perf_counter() - started
    published = FirestoreBenchmarks(db, clock).get(MONTH)
    rerun_peak, again = _peak(aggregate)
    _forget_publication(db)
    publishing_peak, rules_peak, republished = _publishing_peaks(aggregate)
    if (republished.status, republished.version) != ("published", 1) or FirestoreBenchmarks(db, clock).get(
        MONTH
    ) != published:
        raise RuntimeError("the measured publication is not the timed one")
    line = (
        f"seeded {n} enterprises in {seeded:.1f}s; aggregated {result.units} units "
        f"({result.published_buckets} buckets published) in {took:.2f}s (target <= 5s); peak Python memory: "
        f"re-run ({again.status}) {rerun_peak / 2**20:.1f} MiB, publishing run {publishing_peak / 2**20:.1f} MiB "
        f"(its rules phase {rules_peak / 2**20:.1f} MiB)\n"
    )
    return _Measured(line, again.units, rerun_peak, publishing_peak, rules_peak)


def _peak(run: Callable[[], AggregationResult]) -> tuple[int, AggregationResult]:
    """The peak Python memory allocated while ``run`` runs (``tracemalloc``), and its result."""
    tracemalloc.start()
    try:
        result = run()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def _publishing_peaks(run: Callable[[], AggregationResult]) -> tuple[int, int, AggregationResult]:
    """The peak of a publishing run, the peak of its rules phase alone (``compute_release``, the units it is handed
    included), and the run's result: the service's ``compute_release`` is wrapped to read the peak before it starts,
    reset it (``tracemalloc.reset_peak``) and read it again when it returns."""
    from shared.domain.peers.benchmarks import compute_release
    from shared.services.peers import aggregate_benchmarks as service

    before: list[int] = []
    rules: list[int] = []

    def measured(*args: Any, **kwargs: Any) -> Release:
        before.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.reset_peak()
        try:
            return compute_release(*args, **kwargs)
        finally:
            rules.append(tracemalloc.get_traced_memory()[1])

    with patch.object(service, "compute_release", measured):
        after, result = _peak(run)  # from compute_release's start to the end of the run
    return max(*before, after), rules[0], result


def _forget_publication(db: Any) -> None:
    """Delete the month's publication (its document, record and version 1): the next run publishes it again."""
    from shared.adapters.firestore_benchmarks import BENCHMARKS, RUNS, VERSIONS

    record = db.collection(RUNS).document(MONTH)
    record.collection(VERSIONS).document("1").delete()
    record.delete()
    db.collection(BENCHMARKS).document(MONTH).delete()


def _growth(small: int, large: int, units: tuple[int, int]) -> str:
    return f"{(large - small) / (units[1] - units[0]) / 1024:.1f} KiB"


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
        measured: list[_Measured] = []
        for i, n in enumerate(sorted({args.enterprises, args.compare} - {0})):
            project = f"{PROJECT}-{i}"  # one project per size: a published month is frozen (ADR 0019)
            reset_firestore(host, project)
            reset_clients()
            settings = Settings(project_id=project)
            measured.append(_run(firestore_client(settings), settings, n))
            sys.stdout.write(measured[-1].line)
        if len(measured) == 2:
            small, large = measured
            units = (small.units, large.units)
            sys.stdout.write(
                f"peak memory grows per unit ({small.units} -> {large.units} units): re-run "
                f"{_growth(small.rerun_peak, large.rerun_peak, units)}, publishing run "
                f"{_growth(small.publishing_peak, large.publishing_peak, units)} (its rules phase "
                f"{_growth(small.rules_peak, large.rules_peak, units)})\n"
            )
    finally:
        if managed is not None:
            managed.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
