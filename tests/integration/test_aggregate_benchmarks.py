"""The monthly peer benchmark aggregation on the Firestore emulator, from constructed monthly rollups.

Each enterprise's price ratio (billed / list) is chosen here, so what must be published follows from the rules:
30 units publish ``all`` with the "20–49" band; fewer than 10 units publish nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from devstack.benchmark_seed import SeedEnterprise, part, seed
from shared.adapters.firestore_benchmarks import BENCHMARKS, WRITTEN_AT, FirestoreBenchmarks
from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.config import get_settings
from shared.domain.peers.models import Metric
from shared.errors import Conflict
from shared.services.peers import aggregate_benchmarks as aggregate_module
from shared.services.peers.aggregate_benchmarks import aggregate_benchmarks
from tests.support.fakes import FixedClock

MONTH = "2026-10"
SETTLED = datetime(2026, 11, 4, tzinfo=UTC)
"""1 November 00:00 UTC (the month closes) + 3 settle days."""


def _ratio_part(ratio: Decimal) -> Any:
    billed = Decimal(1000) * ratio
    return part(str(billed), "1000", 100_000_000, 10_000_000, str(billed * Decimal("0.6")))


def _peers(n: int, prefix: str = "ent", shares: bool = True) -> list[SeedEnterprise]:
    """``n`` enterprises with price ratios 0.5003, 0.5103, ... (every one well above the minimum usage)."""
    ratios = [Decimal("0.5003") + Decimal("0.01") * i for i in range(n)]  # off the 2-s.f. grid, as real ratios are
    return [
        SeedEnterprise(f"{prefix}_{i:03d}", {"openai": _ratio_part(r)}, shares=shares) for i, r in enumerate(ratios)
    ]


def _run(db: Any, now: datetime = SETTLED, month: str | None = None, reason: str | None = None) -> Any:
    store = FirestoreBenchmarks(db, FixedClock(now))
    return aggregate_benchmarks(store, FixedClock(now), get_settings(), month, force=reason is not None, reason=reason)


def test_thirty_opted_in_enterprises_publish_the_all_bucket(firestore_db: Any) -> None:
    seed(firestore_db, MONTH, _peers(30))

    result = _run(firestore_db)

    assert (result.status, result.month, result.units) == ("published", MONTH, 30)
    document = FirestoreBenchmarks(firestore_db, FixedClock()).get(MONTH)
    assert document is not None
    everyone = document.buckets["all"]
    assert everyone.status == "published"
    assert everyone.count_band == "20–49"
    points = everyone.metrics[Metric.PRICE_RATIO].percentiles
    # The true median of 0.50..0.79 is 0.645; published points are smoothed and rounded, never outside the values.
    assert Decimal("0.60") < points["p50"] < Decimal("0.69")
    assert set(points) == {"p10", "p25", "p50", "p75", "p90"}


def test_opted_out_enterprises_are_left_out(firestore_db: Any) -> None:
    cheap = [SeedEnterprise(f"out_{i}", {"openai": _ratio_part(Decimal("0.05"))}, shares=False) for i in range(6)]
    seed(firestore_db, MONTH, [*_peers(30), *cheap])

    result = _run(firestore_db)

    assert (result.participants, result.units) == (30, 30)
    document = FirestoreBenchmarks(firestore_db, FixedClock()).get(MONTH)
    assert document is not None
    # With the six at 0.05 among 36 units, p10 would sit near 0.05.
    assert document.buckets["all"].metrics[Metric.PRICE_RATIO].percentiles["p10"] > Decimal("0.45")


def test_an_enterprise_with_two_providers_counts_once(firestore_db: Any) -> None:
    both = SeedEnterprise("ent_both", {"openai": _ratio_part(Decimal("0.7")), "anthropic": _ratio_part(Decimal("0.8"))})
    seed(firestore_db, MONTH, [*_peers(8), both])

    nine = _run(firestore_db)

    assert nine.units == 9
    store = FirestoreBenchmarks(firestore_db, FixedClock())
    document = store.get(MONTH)
    assert document is not None
    assert document.buckets["all"].status == "insufficient_peers"

    seed(firestore_db, MONTH, [SeedEnterprise("ent_tenth", {"openai": _ratio_part(Decimal("0.9"))})])
    ten = _run(firestore_db, reason="a tenth enterprise's data arrived late")

    assert (ten.units, ten.version) == (10, 2)
    document = store.get(MONTH)
    assert document is not None
    assert document.version == 2
    assert document.buckets["all"].count_band == "10–19"


def test_enterprises_connecting_one_provider_organisation_are_one_unit(firestore_db: Any) -> None:
    shared_org = [
        SeedEnterprise(f"ent_same_{i}", {"openai": _ratio_part(Decimal("0.6") + Decimal("0.01") * i)}, org="org-one")
        for i in range(10)
    ]
    seed(firestore_db, MONTH, [*_peers(9), *shared_org])

    result = _run(firestore_db)

    assert (result.participants, result.units) == (19, 10)
    document = FirestoreBenchmarks(firestore_db, FixedClock()).get(MONTH)
    assert document is not None
    assert document.buckets["all"].count_band == "10–19"


def test_one_provider_organisation_counts_once_when_its_enterprises_are_read_in_different_batches(
    firestore_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small pages and reads: the ten enterprises of one organisation are folded in from four different reads.
    monkeypatch.setattr(aggregate_module, "PARTICIPANTS_PAGE", 7)
    monkeypatch.setattr(aggregate_module, "ROLLUP_READ", 3)
    shared_org = [
        SeedEnterprise(f"ent_same_{i}", {"openai": _ratio_part(Decimal("0.6") + Decimal("0.01") * i)}, org="org-one")
        for i in range(10)
    ]
    seed(firestore_db, MONTH, [*_peers(9), *shared_org])

    result = _run(firestore_db)

    assert (result.participants, result.units) == (19, 10)
    document = FirestoreBenchmarks(firestore_db, FixedClock()).get(MONTH)
    assert document is not None
    assert document.buckets["all"].count_band == "10–19"


def test_the_frozen_record_reads_back_and_a_concurrent_version_is_refused_whole(firestore_db: Any) -> None:
    seed(firestore_db, MONTH, _peers(12))
    store = FirestoreBenchmarks(firestore_db, FixedClock(SETTLED))
    _run(firestore_db)
    run = store.run(MONTH)
    assert run is not None
    assert run.version == 1
    assert len(run.contributors) == 12
    assert run.populations[0]["all|price_ratio"]
    published = firestore_db.collection(BENCHMARKS).document(MONTH).get().to_dict()

    # A second run that read the same state publishes "version 1" again: its batch fails and writes nothing.
    document = store.get(MONTH)
    assert document is not None
    stale = run.model_copy(update={"inputs_hash": "another", "contributors": ("x",)})
    with pytest.raises(Conflict):
        store.publish(document.model_copy(update={"buckets": {}}), stale)

    assert store.run(MONTH) == run
    assert firestore_db.collection(BENCHMARKS).document(MONTH).get().to_dict() == published


def test_recomputing_a_month_writes_an_identical_document(firestore_db: Any) -> None:
    seed(firestore_db, MONTH, _peers(25))
    ref = firestore_db.collection(BENCHMARKS).document(MONTH)

    _run(firestore_db)
    first = ref.get().to_dict()
    _run(firestore_db, now=SETTLED + timedelta(days=20), month=MONTH)
    second = ref.get().to_dict()

    first.pop(WRITTEN_AT)
    second.pop(WRITTEN_AT)
    assert first == second


def test_a_month_is_aggregated_only_after_it_settled(firestore_db: Any) -> None:
    seed(firestore_db, MONTH, _peers(12))

    early = _run(firestore_db, now=SETTLED - timedelta(seconds=1))

    assert early.status == "not_settled"
    assert early.month == MONTH
    assert FirestoreBenchmarks(firestore_db, FixedClock()).get(MONTH) is None
    assert _run(firestore_db, now=SETTLED).status == "published"


def test_a_participant_is_identified_by_its_verified_admins_domains_and_left_out_only_if_those_are_unreadable(
    firestore_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Only an admin whose address was verified names a domain (peers.units); what else a member's record holds
    (when it joined, fields this version does not know) neither counts nor costs the enterprise its benchmark."""
    seed(firestore_db, MONTH, _peers(3))
    enterprises = firestore_db.collection(ENTERPRISES)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    enterprises.document("ent_000").update(
        {
            "members": {
                "u1": {"email": "Ops@Corp.Example", "role": "admin", "added_at": at, "email_verified": True},
                "u2": {"email": "viewer@viewer.example", "role": "viewer", "added_at": at, "email_verified": True},
                "u3": {"email": "new@unverified.example", "role": "admin", "added_at": at, "email_verified": False},
                "u4": {"email": "legacy@legacy.example", "role": "admin", "added_at": at},  # before verification
            }
        }
    )
    enterprises.document("ent_001").update(
        {
            "members": {
                "u1": {
                    "email": "a@b.example",
                    "role": "admin",
                    "added_at": "yesterday",
                    "email_verified": True,
                    "nickname": "ops",
                }
            }
        }
    )
    enterprises.document("ent_002").update(
        {"members": {"u1": {"email": "a@c.example", "role": "owner", "added_at": at, "email_verified": True}}}
    )

    pages = list(FirestoreBenchmarks(firestore_db, FixedClock()).participants(page_size=2))

    identities = {p.enterprise_id: p.admin_domains for page in pages for p in page}
    assert identities == {"ent_000": {"corp.example"}, "ent_001": {"b.example"}}
    unreadable = [r for r in caplog.records if r.getMessage() == "benchmark participant unreadable"]
    assert [r.enterprise_id for r in unreadable] == ["ent_002"]  # type: ignore[attr-defined]
