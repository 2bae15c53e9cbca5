"""Nine throw-away units plus a victim: the attacker fills the victim's industry so that the victim's value sits in
the middle of the median's window (benchmarks-and-index.md §3, "Unit" and "Eligible"; R1, R4).

Five attacker units at ratio 0.25 (credits) and four at 1.00 (list price) put the victim alone between them: p50
of ten values is the mean of the 5th, 6th and 7th, i.e. ``(0.25 + victim + 1) / 3`` rounded to two significant
figures, so ``3 * p50 - 1.25`` recovers the victim's ratio to within 0.015.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from shared.domain.enterprise.model import Industry
from shared.domain.peers.models import BenchmarkDocument, BenchmarkUnit, Metric, ProviderUsageRow, UsageFigures
from shared.domain.peers.units import UnitIdentity, form_units
from shared.domain.usage.records import Provider
from tests.privacy.population import compute, figures, off_grid, unit

VICTIM = Decimal("0.6234")
HEALTH = Industry.HEALTHCARE


def _cheap(rho: Decimal) -> UsageFigures:
    """10M tokens on a nano model: about $1.40 at list price."""
    return UsageFigures(
        billed_usd=Decimal("1.40") * rho,
        list_usd=Decimal("1.40"),
        input_tokens=8_000_000,
        output_tokens=2_000_000,
        input_billed_usd=Decimal("0.80") * rho,
        output_billed_usd=Decimal("0.60") * rho,
    )


def _sybil(index: int, usage: UsageFigures, **extra: object) -> BenchmarkUnit:
    return BenchmarkUnit.model_validate(
        {
            "enterprise_id": f"sybil{index}",
            "industry": HEALTH,
            "providers": frozenset({Provider.OPENAI}),
            "usage": usage,
            **extra,
        }
    )


def _ratios() -> list[Decimal]:
    return [Decimal("0.25")] * 5 + [Decimal(1)] * 4


def _recovered(document: BenchmarkDocument) -> Decimal | None:
    bucket = document.buckets["industry:healthcare"]
    if bucket.status != "published":
        return None
    p50 = bucket.metrics[Metric.PRICE_RATIO].percentiles.get("p50")
    return None if p50 is None else 3 * p50 - Decimal("1.25")


def _world(sybils: list[BenchmarkUnit]) -> BenchmarkDocument:
    # Thirty honest finance units keep "all" and the partition publishable, so only the sybils' bucket is at stake.
    return compute([*off_grid(30), unit("victim", VICTIM, HEALTH), *sybils])


def test_nine_token_only_accounts_do_not_make_a_bucket() -> None:
    """10M tokens cost about $1.40: tokens alone must never make a unit eligible."""
    sybils = [_sybil(i, _cheap(rho)) for i, rho in enumerate(_ratios())]

    assert _recovered(_world(sybils)) is None


def _paid(rho: Decimal) -> UsageFigures:
    """$1,000 at list price, billed ``rho`` of it: at least $250, over the $200 minimum."""
    return figures(rho)


def _rows_and_identities(org_of: Callable[[int], str], domain_of: Callable[[int], str]) -> list[BenchmarkUnit]:
    """The victim, thirty honest finance peers and nine paying sybil enterprises, formed into units as the
    aggregation does: from provider rows and each enterprise's verified organisation keys and admin domains."""
    honest = [*off_grid(30), unit("victim", VICTIM, HEALTH)]
    rows = [ProviderUsageRow(enterprise_id=u.enterprise_id, provider=Provider.OPENAI, usage=u.usage) for u in honest]
    identities = [
        UnitIdentity(
            u.enterprise_id,
            u.industry,
            {Provider.OPENAI: frozenset({f"openai:org:{u.enterprise_id}"})},
            u.admin_domains,
        )
        for u in honest
    ]
    for i, rho in enumerate(_ratios()):
        eid = f"sybil{i}"
        rows.append(ProviderUsageRow(enterprise_id=eid, provider=Provider.OPENAI, usage=_paid(rho)))
        keys = {Provider.OPENAI: frozenset({org_of(i)})}
        identities.append(UnitIdentity(eid, HEALTH, keys, frozenset({domain_of(i)})))
    return form_units(rows, identities)


def test_nine_enterprises_connecting_one_organisation_count_once() -> None:
    """§3 "Unit": a provider organisation connected to several enterprises counts once."""
    units = _rows_and_identities(lambda i: "openai:project:proj_attacker", lambda i: f"sybil{i}.example")

    assert len(units) == 32
    assert _recovered(compute(units)) is None


def test_nine_organisations_run_from_one_email_domain_do_not_make_a_bucket() -> None:
    """A bucket needs contributors from at least ten distinct verified admin email domains."""
    units = _rows_and_identities(lambda i: f"openai:org:org-sybil{i}", lambda i: "attacker.example")

    assert len(units) == 40
    assert _recovered(compute(units)) is None


def test_the_same_population_with_ten_independent_peers_publishes() -> None:
    """The control: with distinct organisations and domains the bucket publishes (and the attack then needs ten real
    paying organisations run from ten domains)."""
    units = _rows_and_identities(lambda i: f"openai:org:org-peer{i}", lambda i: f"peer{i}.example")

    recovered = _recovered(compute(units))
    assert recovered is not None
    assert abs(recovered - VICTIM) <= Decimal("0.015")
