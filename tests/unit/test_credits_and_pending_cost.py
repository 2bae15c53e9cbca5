"""Credits and late cost never distort what an enterprise is shown to pay (issue #16).

* A credit line (a grant, a refund: a negative amount) is FOCUS ChargeCategory Credit: in the bill's total, shown as
  ``credits_usd``, and never in the effective rates, the discount (M1/M2) or the benchmark.
* Usage whose cost has not arrived (cost data lags usage by up to ~48 h, cost-accuracy-and-focus.md §3.7) is pending:
  it stays out of the rates and the discount until a re-pull brings the cost; the usage API names pending days.
* The benchmark aggregation skips, and logs, a unit whose figures are invalid instead of failing the month for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from devstack.benchmark_seed import part
from shared.config import Settings
from shared.domain.enterprise.model import Industry
from shared.domain.peers.units import UnitIdentity
from shared.domain.usage.month import rollup_month
from shared.domain.usage.normalise import DayPart, RawUsage, build_day
from shared.domain.usage.records import ContextBand, CostKind, CostLine, Provider, ProviderDay, ServiceTier, TokenType
from shared.domain.usage.snapshot import build_snapshot
from shared.domain.usage.snapshot_parts import provider_part
from shared.domain.usage.tally import Comparison
from shared.domain.usage.view import UsageReport, usage_report
from shared.services.peers.aggregate_benchmarks import aggregate_benchmarks
from tests.support.fake_benchmarks import FakeBenchmarkStore
from tests.support.fakes import FixedClock

DAY, NEXT = date(2026, 11, 2), date(2026, 11, 3)
P = Provider.OPENAI


def usage(tokens: int, token_type: TokenType = TokenType.UNCACHED_INPUT) -> RawUsage:
    return RawUsage("gpt-4o", "proj_a", None, ServiceTier.STANDARD, ContextBand.STANDARD, token_type, tokens)


def line(day: date, amount: str, label: str | None, kind: CostKind = CostKind.TOKENS) -> CostLine:
    return CostLine(provider=P, day=day, amount_usd=Decimal(amount), kind=kind, line_item=label)


def day_of(day: date, lines: Sequence[CostLine]) -> ProviderDay:
    # 1M gpt-4o input tokens list at $2.50, 100k output at $1.00 (provider-apis.md §4.1).
    records = (usage(1_000_000), usage(100_000, TokenType.OUTPUT))
    return build_day(P, day, [DayPart(usage=records, costs=tuple(lines))])


def report(*days: ProviderDay, model: str | None = None, from_rollup: bool = True) -> UsageReport:
    snapshots = [
        build_snapshot(d.day, {P.value: provider_part(d, "test")}, index=None, retention_months=24) for d in days
    ]
    if not from_rollup:
        return usage_report(date(2026, 11, 1), date(2026, 11, 30), [], snapshots, model=model)
    month = rollup_month("2026-11", snapshots, retention_months=24)
    assert month is not None
    return usage_report(date(2026, 11, 1), date(2026, 11, 30), [month], [], model=model)


@pytest.mark.parametrize(
    ("amount", "label", "kind"),
    [
        ("-50.00", "Credit grant", CostKind.CREDIT),
        ("-3.10", None, CostKind.CREDIT),  # any negative line: money off the bill, never a token's price
        ("-0.40", "Refund: duplicate charge", CostKind.CREDIT),
        ("0.02", "rounding_error: Gemini 2.5 Pro", CostKind.ADJUSTMENT),  # Google's cost_type (provider-apis §3.2)
        ("2.10", "gpt-4o-2024-08-06, input", CostKind.TOKENS),
    ],
)
def test_credits_and_adjustments_are_their_own_charge_category(amount: str, label: str | None, kind: CostKind) -> None:
    day = day_of(DAY, [line(DAY, "2.20", "gpt-4o-2024-08-06, input"), line(DAY, amount, label)])
    assert day.cost_lines[1].kind is kind


def test_a_credit_is_in_the_total_as_such_and_never_in_rates_or_discount() -> None:
    charged = day_of(DAY, [line(DAY, "2.80", "gpt-4o-2024-08-06, input")])
    credited = day_of(DAY, [line(DAY, "2.80", "gpt-4o-2024-08-06, input"), line(DAY, "-50.00", "Credit grant")])
    plain, with_credit = report(charged), report(credited)
    assert with_credit.totals.total_cost_usd == Decimal("-47.20")
    assert with_credit.totals.credits_usd == Decimal("-50.00")
    assert with_credit.effective_rates == plain.effective_rates
    assert with_credit.benchmark.your_discount == plain.benchmark.your_discount
    assert with_credit.benchmark.your_discount == Decimal("0.2")  # 2.80 of 3.50
    assert with_credit.by_day[0].credits_usd == Decimal("-50.00")
    part_ = provider_part(credited, "test")
    assert part_.comparison.billed_usd == Decimal("2.80")  # what the benchmark reads: never net-negative


def test_usage_without_cost_yet_is_pending_then_settles_when_its_cost_arrives() -> None:
    settled = day_of(DAY, [line(DAY, "2.80", "gpt-4o-2024-08-06, input")])
    early = day_of(NEXT, [])  # usage is in, the cost report has nothing for the day yet
    assert early.cost_pending
    assert early.reconciliation is None  # not "no billed cost": not billed *yet*

    pending_view = report(settled, early)
    only_settled = report(settled)
    assert pending_view.effective_rates == only_settled.effective_rates
    assert pending_view.benchmark.your_discount == Decimal("0.2")  # not 60 %
    assert pending_view.totals.pending_cost_days == 1
    assert [d.pending_providers for d in pending_view.by_day] == [[], ["openai"]]
    assert any("not billed yet" in note for note in pending_view.notes)

    arrived = day_of(NEXT, [line(NEXT, "2.80", "gpt-4o-2024-08-06, input")])  # the next re-pull
    settled_view = report(settled, arrived)
    assert not arrived.cost_pending
    assert settled_view.totals.pending_cost_days == 0
    assert settled_view.totals.total_cost_usd == Decimal("5.60")
    assert [d.pending_providers for d in settled_view.by_day] == [[], []]
    assert not settled_view.notes


@pytest.mark.parametrize("from_rollup", [True, False])
def test_a_view_filtered_by_model_names_the_days_whose_cost_is_pending(from_rollup: bool) -> None:
    """A day whose cost has not arrived is pending for each of its models: a model-filtered view must not show its
    cost as final (it would read as $0 billed)."""
    settled = day_of(DAY, [line(DAY, "2.80", "gpt-4o-2024-08-06, input")])
    early = day_of(NEXT, [])
    view = report(settled, early, model="gpt-4o", from_rollup=from_rollup)
    assert [d.pending_providers for d in view.by_day] == [[], ["openai"]]
    assert view.totals.pending_cost_days == 1
    assert any("not billed yet" in note for note in view.notes)


def test_usage_billed_elsewhere_or_worth_under_a_cent_is_not_pending() -> None:
    tiny = build_day(P, DAY, [DayPart(usage=(usage(1000),))])  # $0.0025 at list
    priority = build_day(
        Provider.ANTHROPIC,
        DAY,
        [
            DayPart(
                usage=(
                    RawUsage(
                        "claude-sonnet-4-5",
                        None,
                        None,
                        ServiceTier.PRIORITY,
                        ContextBand.STANDARD,
                        TokenType.UNCACHED_INPUT,
                        5_000_000,
                    ),
                )
            )
        ],
    )
    assert not tiny.cost_pending
    assert not priority.cost_pending  # Priority Tier is billed outside the cost report (provider-apis.md §2)


def test_one_enterprise_with_invalid_figures_is_skipped_and_the_month_is_still_published(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FakeBenchmarkStore()
    month = "2026-11"
    for i in range(12):
        eid = f"ent_{i:02d}"
        keys = {Provider.OPENAI: frozenset({f"openai:org:{eid}"})}
        store.participant_list.append(UnitIdentity(eid, Industry.TECHNOLOGY, keys, frozenset({f"{eid}.example"})))
        store.parts.setdefault(month, {})[eid] = {"openai": part("1000", "1400", 60_000_000, 20_000_000, "600")}
    # A rollup written before credits were told apart: a grant made its comparable bill negative.
    broken = part("1000", "1400", 60_000_000, 20_000_000, "600")
    broken = broken.model_copy(update={"comparison": Comparison(billed_usd=Decimal("-200"), list_usd=Decimal(1400))})
    keys = {Provider.OPENAI: frozenset({"openai:org:ent_broken"})}
    store.participant_list.append(UnitIdentity("ent_broken", Industry.TECHNOLOGY, keys, frozenset({"broken.example"})))
    store.parts[month]["ent_broken"] = {"openai": broken}
    settings = Settings(project_id="demo-test", benchmark_noise_key="credits-test-key")
    now = FixedClock(datetime(2026, 12, 10, tzinfo=UTC))
    result = aggregate_benchmarks(store, now, settings, month)
    assert result.status == "published"
    assert result.units == 12
    skipped = [r for r in caplog.records if r.getMessage() == "benchmark unit skipped: invalid figures"]
    assert [r.__dict__["enterprise_id"] for r in skipped] == ["ent_broken"]
