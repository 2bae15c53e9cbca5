"""Daily snapshots and monthly rollups from hand-built provider days; every expected figure is derived in comments.

The days (``tests/support/usage_days.py``): OpenAI gpt-4o, 1.0M uncached + 0.4M cached input and 0.2M output at
$2.50 / $1.25 / $10 per 1M (list $5.00), billed $2.00 + $0.40 + $1.60 by token type plus $0.30 web search;
Anthropic Sonnet, 2.0M input + 0.5M output at $3 / $15 (list $13.50) billed $10.80 in one unsplit line, plus 1.0M
unpriced Priority Tier input tokens.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.usage.month import rollup_month
from shared.domain.usage.records import CostKind, Provider, TokenType
from shared.domain.usage.snapshot import IndexLevel, build_snapshot, refresh_snapshot
from shared.domain.usage.snapshot_parts import provider_part, sum_parts
from tests.support.usage_days import anthropic_day, failed_day, line, openai_day, provider_day, record, requests

D1, D2 = date(2026, 11, 20), date(2026, 11, 21)
INDEX = IndexLevel(blended=Decimal("9.18"), version="basket-1/0.2.3/abc")


def parts_of(*days: Any) -> dict[str, Any]:
    return {d.provider.value: provider_part(d, "0.2.3") for d in days}


def test_openai_part_keeps_token_money_and_request_figures() -> None:
    part = provider_part(openai_day(D1), "0.2.3")
    t = part.tally
    # input = 1,000,000 + 400,000 cache reads; cost = every line, web search included: 4.00 + 0.30.
    assert (t.input_tokens, t.cached_tokens, t.output_tokens, t.request_count) == (1_400_000, 400_000, 200_000, 120)
    assert (t.cost_usd, t.list_cost_usd) == (Decimal("4.30"), Decimal("5.00"))
    # Rate basis: input side = input + cached input lines (2.00 + 0.40), output = 1.60; tools are not token cost.
    b = part.rate_basis
    assert (b.input_tokens, b.output_tokens, b.input_cost_usd, b.output_cost_usd) == (
        1_400_000,
        200_000,
        Decimal("2.40"),
        Decimal("1.60"),
    )
    assert (part.comparison.billed_usd, part.comparison.list_usd) == (Decimal("4.00"), Decimal("5.00"))
    # By model: only lines naming the model (web search names none); by project: every line.
    assert part.by_model["gpt-4o"].cost_usd == Decimal("4.00")
    assert part.by_project["proj_a"].cost_usd == Decimal("4.30")


def test_a_day_splits_by_model_and_by_project_and_the_splits_add_up() -> None:
    oai = Provider.OPENAI
    records = [
        record(oai, D1, "gpt-4o", TokenType.UNCACHED_INPUT, 1_000_000, "2.50", project="proj_a"),
        record(oai, D1, "gpt-4o", TokenType.CACHE_WRITE_5M, 300_000, "2.50", project="proj_b"),
        record(oai, D1, "gpt-4o-mini", TokenType.OUTPUT, 500_000, "0.60", project=None),
    ]
    lines = [
        line(oai, D1, "2.00", model="gpt-4o", token_type=TokenType.UNCACHED_INPUT, project="proj_a"),
        line(oai, D1, "0.75", model="gpt-4o", token_type=TokenType.CACHE_WRITE_5M, project="proj_b"),
        line(oai, D1, "0.30", model="gpt-4o-mini", token_type=TokenType.OUTPUT, project=None),
        line(oai, D1, "0.40", kind=CostKind.OTHER, project="proj_b"),  # names no model: its project only
    ]
    meters = [requests(oai, D1, "gpt-4o", 70, project="proj_a"), requests(oai, D1, "gpt-4o-mini", 5, project=None)]
    part = provider_part(provider_day(oai, D1, records, lines, meters), "0.2.3")
    tallies = {
        name: (t.input_tokens, t.cache_write_tokens, t.output_tokens, t.cost_usd, t.list_cost_usd, t.request_count)
        for name, t in {"all": part.tally, **part.by_model, **part.by_project}.items()
    }
    # List: 1M × 2.50 = 2.50, 0.3M × 2.50 = 0.75, 0.5M × 0.60 = 0.30.
    assert tallies == {
        "all": (1_300_000, 300_000, 500_000, Decimal("3.45"), Decimal("3.55"), 75),
        "gpt-4o": (1_300_000, 300_000, 0, Decimal("2.75"), Decimal("3.25"), 70),
        "gpt-4o-mini": (0, 0, 500_000, Decimal("0.30"), Decimal("0.30"), 5),
        "proj_a": (1_000_000, 0, 0, Decimal("2.00"), Decimal("2.50"), 70),
        "proj_b": (300_000, 300_000, 0, Decimal("1.15"), Decimal("0.75"), 0),
        "(default)": (0, 0, 500_000, Decimal("0.30"), Decimal("0.30"), 5),
    }
    assert list(part.by_model) == ["gpt-4o", "gpt-4o-mini"]
    assert list(part.by_project) == ["(default)", "proj_a", "proj_b"]
    assert (part.mix.tokens, part.models_used) == (1_800_000, ["gpt-4o", "gpt-4o-mini"])


def test_a_month_sums_its_days_parts_as_adding_them_one_by_one_would() -> None:
    # ``sum_parts`` builds a month's part once; it must equal folding ``plus`` over the days, field for field.
    oai = Provider.OPENAI
    credit = line(oai, D2, "-1.25", kind=CostKind.CREDIT, project=None)
    other_project = record(oai, D2, "gpt-4o-mini", TokenType.OUTPUT, 500_000, "0.60", project="proj_z")
    days = [
        provider_part(openai_day(D1), "0.2.3", {"cache": Decimal("1.5")}),
        provider_part(provider_day(oai, D2, [other_project], [credit]), "0.2.4", {"batch": Decimal("0.25")}),
        provider_part(openai_day(date(2026, 11, 22), scale=3), "0.2.3", {"cache": Decimal("0.75")}),
        provider_part(anthropic_day(date(2026, 11, 23)), "0.2.3"),
    ]
    for count in range(1, len(days) + 1):
        folded = days[0]
        for part in days[1:count]:
            folded = folded.plus(part)
        summed = sum_parts(days[:count])
        assert summed == folded
        assert summed.model_dump_json() == folded.model_dump_json()  # the stored bytes: key order included


def test_unsplit_cost_is_allocated_by_list_cost_and_priority_tier_stays_out_of_rates() -> None:
    part = provider_part(anthropic_day(D1), "0.2.3")
    # 10.80 × 6.00/13.50 = 4.80 to input, 6.00 to output; Priority Tier's 1M input tokens are not in the basis.
    b = part.rate_basis
    assert (b.input_tokens, b.output_tokens) == (2_000_000, 500_000)
    assert (b.input_cost_usd, b.output_cost_usd) == (Decimal("4.80"), Decimal("6.00"))
    assert part.tally.input_tokens == 3_000_000  # totals count every token, priority included
    assert part.tally.request_count is None  # Anthropic reports no request counts: unknown, not 0
    assert list(part.by_project) == ["(default)"]


def test_snapshot_of_both_providers() -> None:
    snap = build_snapshot(D1, parts_of(openai_day(D1), anthropic_day(D1)), index=INDEX, retention_months=24)
    t = snap.totals
    assert (t.input_tokens, t.output_tokens, t.cached_tokens, t.request_count) == (4_400_000, 700_000, 400_000, 120)
    assert (t.total_cost_usd, t.list_cost_usd) == (Decimal("15.10"), Decimal("18.50"))
    # r_in = (2.40 + 4.80) / 3.4M = 2.11764705882…; r_out = (1.60 + 6.00) / 0.7M = 10.857142857142…
    # blended = 0.75 × 2.117647058823529 + 0.25 × 10.857142857142857 = 4.302521008403361
    assert snap.rates.effective_input_rate == Decimal("2.1176470588")
    assert snap.rates.effective_output_rate == Decimal("10.8571428571")
    assert snap.rates.effective_blended_rate == Decimal("4.3025210084")
    # discount = 1 - (4.00 + 10.80) / (5.00 + 13.50) = 1 - 0.8; never (index - R) / index.
    assert snap.benchmark.discount_vs_list == Decimal("0.2")
    assert snap.benchmark.stci_frontier_blended == Decimal("9.18")
    assert snap.benchmark.effective_blended_rate == snap.rates.effective_blended_rate
    assert snap.optimization.cache_hit_rate == Decimal("0.0909090909")  # 400k / 4.4M
    assert snap.optimization.batch_share == Decimal(0)
    assert sorted(snap.by_project) == ["anthropic:(default)", "openai:proj_a"]
    assert snap.by_model["claude-sonnet-4-5"].providers == ["anthropic"]
    assert {p: r.ratio for p, r in snap.reconciliation.items()} == {
        "anthropic": Decimal("0.8"),
        "openai": Decimal("0.8"),
    }
    assert snap.unpriced_models == ["claude-sonnet-4-5"]  # its Priority Tier tokens have no list price
    assert snap.price_data_version == "0.2.3"
    assert snap.index_version == INDEX.version
    assert snap.expire_at == datetime(2028, 11, 21, tzinfo=UTC)  # the day after, plus 24 months


@pytest.mark.parametrize(("input_tokens", "output_tokens"), [(3_000_000, 1_000_000), (100_000, 900_000), (7, 3)])
def test_paying_list_on_one_model_gives_its_blended_list_price_whatever_the_mix(
    input_tokens: int, output_tokens: int
) -> None:
    p = Provider.ANTHROPIC
    records = [
        record(p, D1, "m", TokenType.UNCACHED_INPUT, input_tokens, "3"),
        record(p, D1, "m", TokenType.OUTPUT, output_tokens, "15"),
    ]
    list_cost = sum((r.list_cost_usd or Decimal(0) for r in records), Decimal(0))
    day = provider_day(p, D1, records, [line(p, D1, str(list_cost), model="m")])
    snap = build_snapshot(D1, parts_of(day), index=None, retention_months=24)
    assert snap.rates.effective_blended_rate == Decimal("6")  # 0.75 × 3 + 0.25 × 15
    assert snap.benchmark.discount_vs_list == Decimal(0)


def test_documents_hold_no_floats_and_money_as_plain_strings() -> None:
    snap = build_snapshot(D1, parts_of(openai_day(D1), anthropic_day(D1)), index=INDEX, retention_months=24)
    doc = snap.model_dump(mode="json")

    def walk(value: Any) -> None:
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(doc)
    assert doc["totals"]["total_cost_usd"] == "15.10"
    assert Decimal(doc["by_provider"]["openai"]["tally"]["list_cost_usd"]) == Decimal(5)


def test_tiny_amounts_are_stored_without_an_exponent() -> None:
    p = Provider.OPENAI
    tiny = provider_day(
        p, D1, [record(p, D1, "m", TokenType.OUTPUT, 1, "0.01")], [line(p, D1, "0.00000001", model="m")]
    )
    doc = build_snapshot(D1, parts_of(tiny), index=None, retention_months=24).model_dump(mode="json")
    assert doc["totals"]["list_cost_usd"] == "0.00000001"  # 1 token × $0.01 / 1M, str() would say 1E-8
    assert doc["totals"]["total_cost_usd"] == "0.00000001"


def test_building_twice_gives_identical_documents() -> None:
    first = build_snapshot(D1, parts_of(openai_day(D1), anthropic_day(D1)), index=INDEX, retention_months=24)
    again = build_snapshot(D1, parts_of(anthropic_day(D1), openai_day(D1)), index=INDEX, retention_months=24)
    assert first.model_dump(mode="json") == again.model_dump(mode="json")


def test_refresh_keeps_providers_not_re_pulled_and_replaces_those_that_were() -> None:
    existing = build_snapshot(D1, parts_of(openai_day(D1), anthropic_day(D1)), index=INDEX, retention_months=24)
    restated = openai_day(D1, scale=2)  # the provider restated the day: twice the usage
    after = refresh_snapshot(D1, existing, parts_of(restated), {}, index=INDEX, retention_months=24)
    assert after is not None
    assert after.by_provider["anthropic"] == existing.by_provider["anthropic"]
    assert after.totals.total_cost_usd == Decimal("8.60") + Decimal("10.80")


def test_a_failed_day_never_replaces_good_data() -> None:
    existing = build_snapshot(D1, parts_of(openai_day(D1), anthropic_day(D1)), index=INDEX, retention_months=24)
    after = refresh_snapshot(
        D1,
        existing,
        parts_of(anthropic_day(D1)),
        {"openai": "provider_malformed_response"},
        index=INDEX,
        retention_months=24,
    )
    assert after == existing  # nothing changed, so nothing is written


def test_a_failed_day_without_earlier_data_is_marked_and_cleared_by_good_data() -> None:
    failed = failed_day(Provider.OPENAI, D1)
    assert failed.error_code is not None
    marked = refresh_snapshot(
        D1, None, parts_of(anthropic_day(D1)), {"openai": failed.error_code}, index=None, retention_months=24
    )
    assert marked is not None
    assert marked.failed_providers == {"openai": "provider_malformed_response"}
    assert marked.totals.total_cost_usd == Decimal("10.80")
    healed = refresh_snapshot(D1, marked, parts_of(openai_day(D1)), {}, index=None, retention_months=24)
    assert healed is not None
    assert healed.failed_providers == {}
    assert refresh_snapshot(D1, None, {}, {}, index=None, retention_months=24) is None


def test_month_sums_days_and_derives_rates_from_the_sums() -> None:
    day1 = build_snapshot(D1, parts_of(openai_day(D1)), index=INDEX, retention_months=24)
    day2 = build_snapshot(
        D2, parts_of(anthropic_day(D2)), index=IndexLevel(blended=Decimal("9.20"), version="v2"), retention_months=24
    )
    month = rollup_month("2026-11", [day2, day1], retention_months=24)
    assert month is not None
    assert (month.month, month.days, list(month.by_day)) == ("2026-11", 2, ["2026-11-20", "2026-11-21"])
    assert month.totals.total_cost_usd == Decimal("15.10")
    # Day rates: 2.40/1.4M = 1.714…, 4.80/2M = 2.40; their mean (2.057…) is NOT the month's rate:
    # (2.40 + 4.80) / (1.4M + 2M) = 2.1176470588.
    assert month.rates.effective_input_rate == Decimal("2.1176470588")
    assert month.benchmark.stci_frontier_blended == Decimal("9.19")  # mean of the daily levels 9.18 and 9.20
    assert month.benchmark.discount_vs_list == Decimal("0.2")
    assert month.by_provider["openai"].tally.request_count == 120
    assert month.expire_at == datetime(2028, 12, 1, tzinfo=UTC)  # after the month's last day, plus 24 months
    assert rollup_month("2026-12", [day1], retention_months=24) is None
