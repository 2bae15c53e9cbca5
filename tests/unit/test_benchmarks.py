"""The anonymous peer benchmark: publication rules R1-R11 on constructed populations.

Populations are built so each expected figure can be worked out by hand: a unit with list cost $1,000 and
realised ratio ``rho`` bills ``1000 rho``; 300M input and 100M output tokens with 60% of the bill on input give
``r_in = 2 rho``, ``r_out = 4 rho`` and a blended rate ``0.75 * 2 rho + 0.25 * 4 rho = 2.5 rho`` USD per 1M tokens.
"""

from __future__ import annotations

import json
import random
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from shared.domain.enterprise.model import Industry
from shared.domain.peers.benchmarks import (
    compute_benchmarks,
    compute_release,
    merge_units,
    unit_buckets,
    unit_metrics,
)
from shared.domain.peers.disclosure import grid_neighbour, noise_factor, p_percent_ok, round_sig
from shared.domain.peers.models import (
    BenchmarkDocument,
    BenchmarkUnit,
    BucketResult,
    DisclosureParams,
    Metric,
    MetricResult,
    ProviderUsageRow,
    UsageFigures,
)
from shared.domain.peers.position import position_for
from shared.domain.peers.release import inputs_hash, membership_token, population_key
from shared.domain.usage.records import Provider

MONTH = "2026-01"
COMPUTED_AT = datetime(2026, 2, 4, 6, 0, tzinfo=UTC)
KEY = b"test-noise-key"
PARAMS = DisclosureParams()
FINANCE, TECH, RETAIL = Industry.FINANCE, Industry.TECHNOLOGY, Industry.RETAIL


def figures(rho: Decimal, list_usd: Decimal = Decimal(1000)) -> UsageFigures:
    billed = list_usd * rho
    scale = list_usd / 1000
    return UsageFigures(
        billed_usd=billed,
        list_usd=list_usd,
        input_tokens=int(300_000_000 * scale),
        output_tokens=int(100_000_000 * scale),
        input_billed_usd=billed * Decimal("0.6"),
        output_billed_usd=billed * Decimal("0.4"),
    )


def unit(
    eid: str,
    rho: Decimal,
    industry: Industry = FINANCE,
    provider: Provider = Provider.OPENAI,
    list_usd: Decimal = Decimal(1000),
) -> BenchmarkUnit:
    return BenchmarkUnit(
        enterprise_id=eid,
        industry=industry,
        providers=frozenset({provider}),
        usage=figures(rho, list_usd),
    )


def grid_population(
    n: int, industry: Industry = FINANCE, prefix: str = "e", offset: str = "0.0003"
) -> list[BenchmarkUnit]:
    """Ratios 0.7003, 0.7103, ...; with ``offset="0"`` every value sits on the 2-s.f. grid, so rounding collides."""
    start = Decimal("0.70") + Decimal(offset)
    return [unit(f"{prefix}{i:03}", start + Decimal("0.01") * i, industry) for i in range(n)]


def with_domains(units: Sequence[BenchmarkUnit]) -> list[BenchmarkUnit]:
    """Every unit without admin domains gets one of its own (the domain rule is tested in ``tests/privacy``)."""
    return [
        u if u.admin_domains else u.model_copy(update={"admin_domains": {f"{u.enterprise_id}.example"}}) for u in units
    ]


def compute(units: Sequence[BenchmarkUnit], params: DisclosureParams = PARAMS, key: bytes = KEY) -> BenchmarkDocument:
    return compute_benchmarks(with_domains(units), MONTH, params, key, COMPUTED_AT)


def price(doc: BenchmarkDocument, bucket: str) -> MetricResult:
    return doc.buckets[bucket].metrics[Metric.PRICE_RATIO]


def is_suppressed(doc: BenchmarkDocument, bucket: str) -> bool:
    result = doc.buckets[bucket]
    return result == BucketResult(status="insufficient_peers")


# --- R1, R2, R6, R11 -------------------------------------------------------------------------------------------


def test_nine_units_publish_nothing_not_even_a_count() -> None:
    doc = compute(grid_population(9))

    assert all(is_suppressed(doc, bucket) for bucket in doc.buckets)
    assert "0.7" not in doc.to_json()  # no statistic of any kind
    assert "fewer than 10" not in doc.to_json()


def test_twelve_units_publish_the_quartiles_and_mean_but_not_the_tails() -> None:
    doc = compute(grid_population(12))

    result = price(doc, "all")
    assert doc.buckets["all"].count_band == "10–19"
    assert list(result.percentiles) == ["p25", "p50", "p75"]
    assert result.mean is not None
    assert result.weighted_mean is not None
    # ratios 0.70..0.81: mean 0.755; 2% noise keeps it within [0.72, 0.79] (rounded to 2-3 s.f.)
    assert Decimal("0.72") <= result.mean <= Decimal("0.79")
    assert result.average_discount_vs_list == 1 - result.mean


def test_a_unit_whose_discount_speaks_for_less_than_95_percent_of_its_spend_stays_out() -> None:
    """Issue 17: usage without an exact list price leaves M1, so a unit whose priced share is small would enter
    peers' figures with a discount that describes a sliver of its bill."""
    population = grid_population(10)
    assert not is_suppressed(compute(population), "all")
    # $1000 list, rho 0.70: $700 billed and priced; $40 unpriced is 94.6 % coverage, $36 is 95.1 %.
    short = population[0].model_copy(
        update={"usage": population[0].usage.model_copy(update={"unpriced_billed_usd": Decimal(40)})}
    )
    enough = population[0].model_copy(
        update={"usage": population[0].usage.model_copy(update={"unpriced_billed_usd": Decimal(36)})}
    )
    assert is_suppressed(compute([short, *population[1:]]), "all")
    assert not is_suppressed(compute([enough, *population[1:]]), "all")


def test_ineligible_units_do_not_pad_a_bucket() -> None:
    tiny = UsageFigures(
        billed_usd=Decimal(150),
        list_usd=Decimal(200),
        input_tokens=4_000_000,
        output_tokens=1_000_000,
        input_billed_usd=Decimal(100),
        output_billed_usd=Decimal(50),
    )
    by_tokens = tiny.model_copy(update={"input_tokens": 99_000_000})  # 100M tokens: still only $150 billed
    by_money = tiny.model_copy(update={"billed_usd": Decimal(200)})
    population = grid_population(9)
    openai = frozenset({Provider.OPENAI})
    padded = [*population, BenchmarkUnit(enterprise_id="tiny", industry=FINANCE, providers=openai, usage=tiny)]
    by_volume = [*population, BenchmarkUnit(enterprise_id="bulk", industry=FINANCE, providers=openai, usage=by_tokens)]
    paying = [*population, BenchmarkUnit(enterprise_id="pays", industry=FINANCE, providers=openai, usage=by_money)]

    assert doc_status(compute(padded)) == "insufficient_peers"
    assert doc_status(compute(by_volume)) == "insufficient_peers"
    assert doc_status(compute(paying)) == "published"


def doc_status(doc: BenchmarkDocument) -> str:
    return doc.buckets["all"].status


# --- R4: percentiles ----------------------------------------------------------------------------------------------


def test_no_published_percentile_equals_a_unit_value_and_they_are_monotone() -> None:
    population = grid_population(25)
    values = {unit_metrics(u.usage)[Metric.PRICE_RATIO] for u in population}

    result = price(compute(population), "all")

    points = list(result.percentiles.values())
    assert list(result.percentiles) == ["p10", "p25", "p50", "p75", "p90"]
    assert points == sorted(points)
    assert not set(points) & values
    assert result.mean not in values
    assert result.weighted_mean not in values


def test_colliding_percentiles_with_every_neighbour_taken_are_suppressed() -> None:
    # 25 ratios 0.70..0.94; position h = 24q; windows: p10 idx 1-3, p25 5-7, p50 11-13, p75 17-19, p90 21-23
    # window means 0.72, 0.76, 0.82, 0.88, 0.92 all equal a unit value, and so do both grid neighbours of each.
    result = price(compute(grid_population(25, offset="0")), "all")

    assert result.percentiles == {}


def test_a_colliding_percentile_moves_to_the_grid_point_on_the_side_of_the_unrounded_value() -> None:
    # 12 ratios 0.7003 + 0.0137 i and one more at exactly 0.78, the rounded p50 of the others' window.
    population = [unit(f"e{i:02}", Decimal("0.7003") + Decimal("0.0137") * i) for i in range(11)]
    population.append(unit("exact", Decimal("0.78")))
    # sorted: ... idx 5 = 0.7688, idx 6 = 0.78, idx 7 = 0.7825; p50 position 5.5 -> window 5,6,7 -> 0.7771 -> 0.78.
    # 0.78 is a unit value: the unrounded 0.7771 lies below it, so the published point is 0.77, with two figures.
    assert price(compute(population), "all").percentiles["p50"] == Decimal("0.77")


def test_grid_neighbours_stay_on_the_two_figure_grid_across_a_decade() -> None:
    assert grid_neighbour(Decimal("1.0"), upward=False) == Decimal("0.99")
    assert grid_neighbour(Decimal("0.99"), upward=True) == Decimal("1.0")
    assert grid_neighbour(Decimal("0.10"), upward=False) == Decimal("0.099")
    assert grid_neighbour(Decimal("9.9"), upward=True) == Decimal("10")
    assert grid_neighbour(Decimal("0"), upward=True) is None


def test_percentiles_off_the_grid_are_the_rounded_window_mean() -> None:
    # ratios 0.7003 + 0.0137 i (i = 0..11): p50 position 5.5 -> window idx 5,6,7 -> mean 0.7003 + 0.0137*6 = 0.7825
    population = [unit(f"e{i:02}", Decimal("0.7003") + Decimal("0.0137") * i) for i in range(12)]

    result = price(compute(population), "all")

    assert result.percentiles["p50"] == Decimal("0.78")


def test_round_sig_keeps_two_significant_figures_across_a_decade() -> None:
    assert round_sig(Decimal("0.996")) == Decimal("1.0")
    assert round_sig(Decimal("123.4")) == Decimal("120")
    assert round_sig(Decimal("0.01234")) == Decimal("0.012")


@settings(max_examples=60, deadline=None)
@given(
    ratios=st.lists(
        st.decimals(min_value=Decimal("0.30"), max_value=Decimal("1.20"), places=2), min_size=20, max_size=60
    )
)
def test_property_percentiles_monotone_and_never_a_unit_value(ratios: list[Decimal]) -> None:
    population = [unit(f"e{i:03}", rho) for i, rho in enumerate(ratios)]
    values = {metric: {unit_metrics(u.usage)[metric] for u in population} for metric in Metric}

    doc = compute(population)

    for metric in Metric:
        result = doc.buckets["all"].metrics[metric]
        points = list(result.percentiles.values())
        assert len(points) <= 5  # a point whose grid neighbours are unit values too is suppressed
        assert points == sorted(points)
        assert not set(points) & values[metric]


# --- R7, R8: complements and partitions ------------------------------------------------------------------------------


def test_industry_differing_from_all_by_fewer_than_ten_units_is_suppressed() -> None:
    population = grid_population(20, FINANCE) + grid_population(5, TECH, prefix="t")

    doc = compute(population)

    assert doc.buckets["all"].status == "published"
    assert is_suppressed(doc, "industry:finance")  # 20 units, but all minus finance would be 5 units
    assert is_suppressed(doc, "industry:technology")


def test_provider_differing_from_all_by_fewer_than_ten_units_is_suppressed() -> None:
    population = grid_population(20) + [unit(f"a{i}", Decimal("0.9"), FINANCE, Provider.ANTHROPIC) for i in range(5)]

    doc = compute(population)

    assert doc.buckets["all"].status == "published"
    assert doc.buckets["industry:finance"].status == "published"  # the same 25 units as "all"
    assert is_suppressed(doc, "provider:openai")  # 20 of 25: the 5 Anthropic users would be its complement
    assert is_suppressed(doc, "provider:anthropic")


def test_one_small_industry_suppresses_the_smallest_passing_one_so_it_cannot_be_derived() -> None:
    members = {
        TECH: [f"t{i:02}" for i in range(14)],
        FINANCE: [f"f{i:02}" for i in range(12)],
        RETAIL: [f"r{i:02}" for i in range(4)],
        Industry.MEDIA: [f"m{i:02}" for i in range(13)],
    }
    pairs = [(industry, eid) for industry, ids in members.items() for eid in ids]
    population = [
        unit(eid, Decimal("0.6") + Decimal("0.0071") * n, industry) for n, (industry, eid) in enumerate(pairs)
    ]

    doc = compute(population)

    assert doc.buckets["all"].status == "published"
    assert is_suppressed(doc, "industry:retail")
    assert is_suppressed(doc, "industry:finance")  # the smallest passing industry (12 units)
    assert doc.buckets["industry:technology"].status == doc.buckets["industry:media"].status == "published"
    # What "all" minus the published industries reveals: retail pooled with finance, 16 units, never retail alone.
    published = [i for i in members if doc.buckets[f"industry:{i.value}"].status == "published"]
    derivable = {eid for ids in members.values() for eid in ids} - {eid for i in published for eid in members[i]}
    assert derivable != set(members[RETAIL])
    assert len(derivable) >= PARAMS.min_units


# --- R3: weighted statistics and the p% rule -------------------------------------------------------------------------


def test_weighted_mean_with_one_unit_over_a_quarter_of_the_weight_is_suppressed() -> None:
    # 11 units at $1,000 list and one at $5,000: 5000 / 16000 = 31% of the list-spend weight.
    population = [*grid_population(11), unit("big", Decimal("0.5"), list_usd=Decimal(5000))]

    result = price(compute(population), "all")

    assert result.weighted_mean is None
    assert result.mean is not None
    assert list(result.percentiles) == ["p25", "p50", "p75"]


def test_weighted_mean_failing_the_p_percent_rule_is_suppressed() -> None:
    # Cap lifted so only the p% rule acts: weights 5000, 4800 and ten of 45 -> remainder 450 < 0.10 * 5000.
    params = DisclosureParams(dominance_cap=Decimal(1), min_billed_usd=Decimal(30))
    small = [unit(f"s{i:02}", Decimal("0.8"), list_usd=Decimal(45)) for i in range(10)]  # $36 each: eligible here
    big = [unit("big1", Decimal("0.7"), list_usd=Decimal(5000)), unit("big2", Decimal("0.75"), list_usd=Decimal(4800))]
    population = small + big

    result = price(compute(population, params), "all")
    without_rule = price(compute(population, params.model_copy(update={"p_percent": Decimal(0)})), "all")

    assert result.weighted_mean is None
    assert result.mean is not None
    assert without_rule.weighted_mean is not None  # the p% rule, not anything else, hid it


def test_unweighted_mean_failing_the_p_percent_rule_on_its_values_is_suppressed() -> None:
    # Blended rates: ten at 2.5 * 0.8 = 2.0, one at 2.5 * 0.9 = 2.25, and one enterprise on a premium model at
    # 0.75 * 540/1.5 + 0.25 * 360/0.5 = 450 per 1M tokens: the rest (20) is under 10% of 450, so its mean is hidden.
    premium = UsageFigures(
        billed_usd=Decimal(900),
        list_usd=Decimal(1000),
        input_tokens=1_500_000,
        output_tokens=500_000,
        input_billed_usd=Decimal(540),
        output_billed_usd=Decimal(360),
    )
    population = [unit(f"e{i:02}", Decimal("0.8")) for i in range(10)]
    population += [unit("mid", Decimal("0.9")), unit("premium", Decimal("0.9")).model_copy(update={"usage": premium})]

    doc = compute(population)

    blended = doc.buckets["all"].metrics[Metric.BLENDED_RATE]
    assert blended.mean is None
    assert blended.percentiles
    assert price(doc, "all").mean is not None  # ratios 0.8 .. 0.9: the p% rule passes


def test_p_percent_rule_boundary() -> None:
    assert not p_percent_ok([Decimal(100), Decimal(50), Decimal(5), Decimal(4)], Decimal("0.10"))
    assert p_percent_ok([Decimal(100), Decimal(50), Decimal(6), Decimal(4)], Decimal("0.10"))


# --- R5, R9: noise and reproducibility -------------------------------------------------------------------------------


def test_recomputing_a_month_gives_byte_identical_json_whatever_the_input_order() -> None:
    population = grid_population(30) + grid_population(12, TECH, prefix="t")
    shuffled = population[:]
    random.Random(7).shuffle(shuffled)

    assert compute(population).to_json() == compute(shuffled).to_json()
    assert (
        compute_benchmarks(with_domains(population), MONTH, PARAMS, SecretStr("k"), COMPUTED_AT).to_json()
        == compute(shuffled, key=b"k").to_json()
    )


def test_noise_depends_on_the_key_not_on_chance() -> None:
    ids = [f"e{i}" for i in range(15)]

    same = noise_factor(KEY, ids, MONTH, "price_ratio.mean", Decimal("0.02"))
    assert same == noise_factor(KEY, reversed(ids), MONTH, "price_ratio.mean", Decimal("0.02"))
    assert same != noise_factor(b"another-key", ids, MONTH, "price_ratio.mean", Decimal("0.02"))
    assert same != noise_factor(KEY, ids, "2026-02", "price_ratio.mean", Decimal("0.02"))


def test_noise_has_the_stated_spread() -> None:
    factors = [float(noise_factor(KEY, [f"e{i}"], MONTH, "m", Decimal("0.02"))) for i in range(2000)]

    assert statistics.fmean(factors) == pytest.approx(1.0, abs=0.002)
    assert statistics.stdev(factors) == pytest.approx(0.02, rel=0.1)
    assert min(factors) > 0


# --- Units: merging provider keys ------------------------------------------------------------------------------------


def test_two_provider_keys_of_one_company_count_once() -> None:
    rows = [
        ProviderUsageRow(enterprise_id=f"e{i}", provider=Provider.OPENAI, usage=figures(Decimal("0.8")))
        for i in range(8)
    ]
    rows += [
        ProviderUsageRow(enterprise_id="acme", provider=Provider.OPENAI, usage=figures(Decimal("0.7"))),
        ProviderUsageRow(enterprise_id="acme", provider=Provider.OPENAI, usage=figures(Decimal("0.9"))),
    ]

    units = merge_units(rows, {})

    assert len(units) == 9
    acme = next(u for u in units if u.enterprise_id == "acme")
    assert acme.usage.list_usd == Decimal(2000)
    assert acme.usage.billed_usd == Decimal(1600)
    assert is_suppressed(compute(units), "all")  # 9 enterprises, not 10 keys


def test_provider_buckets_use_that_providers_figures_and_minimum() -> None:
    rows = [
        ProviderUsageRow(enterprise_id="acme", provider=Provider.OPENAI, usage=figures(Decimal("0.8"))),
        ProviderUsageRow(enterprise_id="acme", provider=Provider.ANTHROPIC, usage=figures(Decimal("0.5"))),
        ProviderUsageRow(enterprise_id="acme", provider=Provider.GOOGLE, usage=figures(Decimal("0.9"), Decimal(10))),
    ]

    [acme] = merge_units(rows, {"acme": FINANCE})
    placed = unit_buckets(acme, PARAMS)

    assert set(placed) == {
        "all",
        "industry:finance",
        "provider:openai",
        "provider:anthropic",
    }  # $9 at Google pads nothing
    assert unit_metrics(placed["provider:anthropic"])[Metric.PRICE_RATIO] == Decimal("0.5")


# --- R10, R11: position ------------------------------------------------------------------------------------------


def document(buckets: dict[str, BucketResult]) -> BenchmarkDocument:
    return BenchmarkDocument(month=MONTH, computed_at=COMPUTED_AT, buckets=buckets)


QUARTILES = BucketResult(
    status="published",
    count_band="10–19",
    metrics={
        Metric.PRICE_RATIO: MetricResult(
            status="published",
            percentiles={"p25": Decimal("0.60"), "p50": Decimal("0.80"), "p75": Decimal("0.90")},
        )
    },
)
SUPPRESSED = BucketResult(status="insufficient_peers")


def test_position_band_and_interpolated_percentile_lower_is_better() -> None:
    doc = document({"all": SUPPRESSED, "industry:finance": QUARTILES})

    position = position_for(doc, {Metric.PRICE_RATIO: Decimal("0.86")}, ["industry:finance"])

    mine = position.metrics[Metric.PRICE_RATIO]
    # 0.86 is 60% of the way from p50 (0.80) to p75 (0.90): percentile 50 + 0.6 * 25 = 65
    assert (mine.band, mine.percentile, mine.share_paying_more_pct) == ("between p50 and p75", 65, 35)
    assert mine.bucket_used == "industry:finance"
    assert not mine.fell_back


def test_position_outside_the_published_points_is_only_a_band() -> None:
    doc = document({"all": QUARTILES})

    mine = position_for(doc, {Metric.PRICE_RATIO: Decimal("0.55")}, ["all"]).metrics[Metric.PRICE_RATIO]

    assert mine.band == "below p25"
    assert mine.percentile is None
    assert "75% or more of peers pay more" in mine.summary


def test_position_falls_back_to_the_nearest_published_ancestor() -> None:
    doc = document({"all": QUARTILES, "industry:finance": SUPPRESSED})

    mine = position_for(doc, {Metric.PRICE_RATIO: Decimal("0.70")}, ["industry:finance"]).metrics[Metric.PRICE_RATIO]

    assert mine.bucket_used == "all"
    assert mine.fell_back
    assert (mine.band, mine.percentile) == ("between p25 and p50", 38)  # 25 + 0.5 * 25 = 37.5 -> 38 (half even)


def test_position_when_nothing_is_published_says_so() -> None:
    doc = document({"all": SUPPRESSED, "industry:finance": SUPPRESSED})

    position = position_for(doc, {Metric.PRICE_RATIO: Decimal("0.70")}, ["industry:finance"])

    assert position.market_index_only
    assert position.metrics[Metric.PRICE_RATIO].status == "no_published_benchmark"
    assert position.metrics[Metric.PRICE_RATIO].band is None


def test_position_from_a_computed_document_uses_only_published_points() -> None:
    population = grid_population(25)
    doc = compute(population)

    mine = position_for(doc, {Metric.PRICE_RATIO: Decimal("0.80")}, ["industry:finance"]).metrics[Metric.PRICE_RATIO]

    # published p25 0.761, p50 0.819: (0.80 - 0.761) / 0.058 = 0.672 -> 25 + 16.8 = 41.8 -> 42
    assert (mine.band, mine.percentile) == ("between p25 and p50", 42)


def test_document_never_reveals_ids_extremes_or_parameters() -> None:
    population = grid_population(25)
    text = compute(population).to_json()

    for secret in ("e000", "0.70", "0.94", "min_units", "0.25", "dominance", "noise"):
        assert secret not in text


def test_a_stored_copy_read_back_in_any_key_order_serialises_identically() -> None:
    doc = compute(grid_population(25) + grid_population(12, TECH, prefix="t"))
    stored = json.loads(doc.to_json())
    stored["buckets"] = dict(reversed(stored["buckets"].items()))
    stored["buckets"]["all"]["metrics"]["price_ratio"]["percentiles"] = dict(
        sorted(stored["buckets"]["all"]["metrics"]["price_ratio"]["percentiles"].items(), reverse=True)
    )

    assert BenchmarkDocument.model_validate(stored).to_json() == doc.to_json()


def test_a_document_holds_no_ad_hoc_bucket() -> None:
    with pytest.raises(ValidationError, match="fixed lattice"):
        document({"all": QUARTILES, "industry:finance+retail": QUARTILES})


# --- Units: one customer organisation --------------------------------------------------------------------------------


def test_enterprises_sharing_an_organisation_are_one_unit_with_the_figures_of_the_biggest() -> None:
    from shared.domain.peers.units import UnitIdentity, form_units

    def row(eid: str, provider: Provider, rho: str, list_usd: int = 1000) -> ProviderUsageRow:
        return ProviderUsageRow(enterprise_id=eid, provider=provider, usage=figures(Decimal(rho), Decimal(list_usd)))

    def ident(eid: str, **keys: str) -> UnitIdentity:
        org_keys = {Provider(p): frozenset({k}) for p, k in keys.items()}
        return UnitIdentity(eid, FINANCE, org_keys, frozenset({f"{eid}.example"}))

    rows = [
        row("a", Provider.OPENAI, "0.8"),
        row("b", Provider.OPENAI, "0.8", 3000),  # the same OpenAI organisation, read later with more usage
        row("b", Provider.ANTHROPIC, "0.5"),
        row("c", Provider.ANTHROPIC, "0.5"),  # shares b's Anthropic organisation: a, b and c are one company
        row("d", Provider.OPENAI, "0.9"),  # no verified identifier: could be anyone's organisation
        row("e", Provider.OPENAI, "0.7"),
    ]
    identities = [
        ident("a", openai="openai:project:proj_1"),
        ident("b", openai="openai:project:proj_1", anthropic="anthropic:org:u1"),
        ident("c", anthropic="anthropic:org:u1"),
        ident("d"),
        ident("e", openai="openai:org:org-e"),
    ]

    units = form_units(rows, identities)

    assert [u.enterprise_id for u in units] == ["b", "e"]
    assert units[0].usage.list_usd == Decimal(4000)  # b's own figures, never a + b + c summed
    assert units[0].admin_domains == {"b.example"}


def test_the_inputs_hash_of_a_month_is_the_one_its_publication_recorded() -> None:
    """A published month is frozen by its inputs hash: the same units must hash as they did when it was published,
    or every re-run of a published month is refused as changed. The value below was recorded for this population
    under method ``peer-benchmark/2``; merged and per-provider figures, a decimal exponent, a unit without a
    breakdown and admin domains all enter it, in any input order."""
    rows = [
        ProviderUsageRow(enterprise_id="acme", provider=Provider.OPENAI, usage=figures(Decimal("0.7"))),
        ProviderUsageRow(
            enterprise_id="acme", provider=Provider.ANTHROPIC, usage=figures(Decimal("0.5"), Decimal("10.50"))
        ),
        ProviderUsageRow(
            enterprise_id="solo", provider=Provider.GOOGLE, usage=figures(Decimal("0.91"), Decimal("0.0000001"))
        ),
    ]
    merged = [*merge_units(rows, {"acme": FINANCE, "solo": TECH}), unit("e001", Decimal("0.7003"))]
    units = [
        *(u.model_copy(update={"admin_domains": frozenset({f"{u.enterprise_id}.example"})}) for u in merged),
        BenchmarkUnit(
            enterprise_id="both",
            industry=TECH,
            providers=frozenset({Provider.OPENAI, Provider.AZURE}),
            usage=figures(Decimal("0.8")),
            admin_domains=frozenset({"b.example", "a.example"}),
        ),
    ]
    recorded = "6193fc2055d37bd68b69620c48ab24b37273103d07ab69182e22e623c73dc611"

    assert inputs_hash(units, MONTH, PARAMS) == inputs_hash(units[::-1], MONTH, PARAMS) == recorded


def test_each_published_population_holds_the_keyed_token_of_every_members_own_value_in_that_bucket() -> None:
    """The tokens R7 compares across releases, worked out member by member, bucket by bucket: shared work between a
    unit's buckets must not give a bucket another bucket's token (a two-provider unit's provider buckets use that
    provider's figures, its ``all`` and industry buckets the merged ones)."""
    rows = [
        ProviderUsageRow(enterprise_id=f"m{i:02}", provider=p, usage=figures(Decimal("0.5003") + Decimal(i) / 100 + d))
        for i in range(14)
        for p, d in ((Provider.OPENAI, Decimal(0)), (Provider.ANTHROPIC, Decimal("0.2")))
    ]
    units = with_domains(merge_units(rows, {f"m{i:02}": (FINANCE, TECH)[i % 2] for i in range(14)}))

    release = compute_release(units, MONTH, PARAMS, KEY, COMPUTED_AT)

    expected: dict[str, set[bytes]] = {}
    for u in units:
        for bucket, usage in unit_buckets(u, PARAMS).items():
            for metric, value in unit_metrics(usage).items():
                expected.setdefault(population_key(bucket, metric), set()).add(
                    membership_token(KEY, u.enterprise_id, value)
                )
    assert release.populations  # all, both providers and both metrics publish at 14 units
    assert {key: set(tokens) for key, tokens in release.populations.items()} == {
        key: expected[key] for key in release.populations
    }
