"""Differencing attacks: two published releases whose populations differ by one unit isolate that unit
(benchmarks-and-index.md R7, R9). The reader subtracts a month from its re-run, or a month from the next one.

The aggregation runs as deployed (``aggregate_benchmarks``) on a behaving store of its own port.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from devstack.benchmark_seed import part
from shared.config import Settings
from shared.domain.enterprise.model import Industry
from shared.domain.peers.models import BenchmarkDocument, Metric
from shared.domain.peers.units import UnitIdentity
from shared.domain.usage.records import Provider
from shared.errors import Conflict
from shared.services.peers.aggregate_benchmarks import aggregate_benchmarks
from tests.support.fake_benchmarks import FakeBenchmarkStore
from tests.support.fakes import FixedClock

SETTINGS = Settings(benchmark_noise_key="differencing-test-key")
OCTOBER, NOVEMBER = "2026-10", "2026-11"
LATER = FixedClock(datetime(2026, 12, 20, tzinfo=UTC))
VICTIM = Decimal("0.5371")


def _join(store: FakeBenchmarkStore, month: str, eid: str, ratio: Decimal) -> None:
    """An opted-in enterprise with its own verified OpenAI organisation and admin domain, billing $1,000 x ratio."""
    if all(p.enterprise_id != eid for p in store.participant_list):
        keys = {Provider.OPENAI: frozenset({f"openai:org:{eid}"})}
        store.participant_list.append(UnitIdentity(eid, Industry.FINANCE, keys, frozenset({f"{eid}.example"})))
    billed = Decimal(1000) * ratio
    openai = part(str(billed), "1000", 100_000_000, 10_000_000, str(billed * Decimal("0.6")))
    store.parts.setdefault(month, {})[eid] = {"openai": openai}


def _leave(store: FakeBenchmarkStore, eid: str) -> None:
    store.participant_list = [p for p in store.participant_list if p.enterprise_id != eid]


def _peers(store: FakeBenchmarkStore, month: str, n: int = 12) -> None:
    for i in range(n):
        _join(store, month, f"ent_{i:02}", Decimal("0.6013") + Decimal("0.0191") * i)


def _mean(document: BenchmarkDocument | None) -> Decimal | None:
    assert document is not None
    bucket = document.buckets["all"]
    return bucket.metrics[Metric.PRICE_RATIO].mean if bucket.status == "published" else None


def _isolated(before: BenchmarkDocument | None, after: BenchmarkDocument | None, n_before: int) -> Decimal | None:
    """The attacker's estimate of the one unit in ``before`` and not in ``after``: n * mean - (n - 1) * mean'."""
    first, second = _mean(before), _mean(after)
    if first is None or second is None:
        return None
    return n_before * first - (n_before - 1) * second


def test_a_re_run_after_an_opt_out_does_not_rewrite_the_published_month() -> None:
    """R9: re-running a month gave a new document with the current contributors; the victim opted out in between,
    so the two versions differed by exactly one enterprise."""
    store = FakeBenchmarkStore()
    _peers(store, OCTOBER)
    _join(store, OCTOBER, "victim", VICTIM)
    first = aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER)
    published = store.get(OCTOBER)
    _leave(store, "victim")

    with pytest.raises(Conflict) as refused:
        aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER)

    assert refused.value.code == "benchmark_month_frozen"
    assert store.get(OCTOBER) == published
    assert (first.status, first.version) == ("published", 1)


def test_a_forced_re_run_is_a_new_audited_version_that_cannot_be_subtracted_from_the_old() -> None:
    store = FakeBenchmarkStore()
    _peers(store, OCTOBER)
    _join(store, OCTOBER, "victim", VICTIM)
    aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER)
    before = store.get(OCTOBER)
    _leave(store, "victim")

    forced = aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER, force=True, reason="late data from one provider")
    after = store.get(OCTOBER)

    assert (forced.status, forced.version) == ("published", 2)
    assert after is not None
    assert after.version == 2
    assert _isolated(before, after, 13) is None  # "all" of version 2 differs from version 1 by one unit: suppressed
    revision = store.runs[OCTOBER].revisions[-1]
    assert (revision.forced, revision.reason, revision.left, revision.joined) == (
        True,
        "late data from one provider",
        1,
        0,
    )


def test_re_running_a_month_with_the_same_inputs_changes_nothing() -> None:
    store = FakeBenchmarkStore()
    _peers(store, OCTOBER)
    aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER)
    published = store.get(OCTOBER)

    again = aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER)

    assert (again.status, again.version) == ("unchanged", 1)
    assert store.get(OCTOBER) == published


def test_a_leaver_between_two_months_of_unchanged_peers_is_not_isolated() -> None:
    """R7 across months: the peers' exact values did not move from October to November and the victim left; the
    two months' "all" buckets differ by one unit, the victim."""
    store = FakeBenchmarkStore()
    _peers(store, OCTOBER)
    _join(store, OCTOBER, "victim", VICTIM)
    _peers(store, NOVEMBER)  # the same twelve, with the same values

    aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER)
    _leave(store, "victim")
    aggregate_benchmarks(store, LATER, SETTINGS, NOVEMBER)

    assert _isolated(store.get(OCTOBER), store.get(NOVEMBER), 13) is None


def test_a_joiner_between_two_months_of_unchanged_peers_is_not_isolated() -> None:
    store = FakeBenchmarkStore()
    _peers(store, OCTOBER)
    _peers(store, NOVEMBER)
    _join(store, NOVEMBER, "victim", VICTIM)

    aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER)
    aggregate_benchmarks(store, LATER, SETTINGS, NOVEMBER)

    # November minus October: 13 * mean(Nov) - 12 * mean(Oct).
    assert _isolated(store.get(NOVEMBER), store.get(OCTOBER), 13) is None


def test_peers_whose_values_moved_publish_again_next_month() -> None:
    """The control: real peers' exact values change every month, so a joiner among them is one of many changes."""
    store = FakeBenchmarkStore()
    _peers(store, OCTOBER)
    for i in range(12):
        _join(store, NOVEMBER, f"ent_{i:02}", Decimal("0.6029") + Decimal("0.0187") * i)
    _join(store, NOVEMBER, "victim", VICTIM)

    aggregate_benchmarks(store, LATER, SETTINGS, OCTOBER)
    aggregate_benchmarks(store, LATER, SETTINGS, NOVEMBER)

    assert _mean(store.get(NOVEMBER)) is not None
