"""The real provider clients over real HTTP against the provider simulator (``devstack.provider_sim``).

The simulator's ground truth (``sim.truth``) says what its endpoints report; list prices are re-derived here from
genai-prices' own calculator on single small requests, independently of ``shared.domain.usage.pricing``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price
from pydantic import SecretStr

from devstack.provider_sim import Faults, ProviderSimulator, RunningSimulator, SimOrg, TruthRow, serve
from shared.adapters.anthropic_admin import PAGE_LIMIT as ANTHROPIC_LIMIT
from shared.adapters.anthropic_admin import AnthropicAdmin
from shared.adapters.openai_admin import COSTS_PAGE_LIMIT, REPORTS, USAGE_PAGE_LIMIT, OpenAIAdmin
from shared.adapters.provider_http import RetryPolicy
from shared.domain.usage.records import (
    ContextBand,
    DayStatus,
    PriceBasis,
    Provider,
    ProviderPull,
    ServiceTier,
    TokenType,
    UsageRecord,
)
from shared.errors import ProviderAuthError, ProviderPermissionError, ProviderUnavailable
from tests.support.fakes import FixedClock

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
# A 31-day window after every genai-prices tier variant took effect (2026-10-12/14), so genai-prices' calculator
# gives tier prices directly, and before today (complete days).
MONTH = (date(2026, 10, 20), date(2026, 11, 20))
OPENAI_ADMIN, OPENAI_PROJECT = "sk-admin-sim-acme-0123456789", "sk-proj-sim-acme-0123456789"
ANTHROPIC_ADMIN, ANTHROPIC_API = "sk-ant-admin01-sim-initech-0123456789", "sk-ant-api03-sim-initech-0123456789"
POLICY = RetryPolicy(max_retries=4, backoff_base_s=0.01, backoff_max_s=2.0, connect_timeout_s=2, read_timeout_s=10)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator(now=lambda: NOW)
    sim.add_org(
        SimOrg(
            provider="openai",
            org_id="org-acme",
            name="Acme",
            admin_keys=[SecretStr(OPENAI_ADMIN)],
            project_keys=[SecretStr(OPENAI_PROJECT)],
            seed=7,
            discount=Decimal("0.18"),
            history_start=date(2026, 5, 1),
        )
    )
    sim.add_org(
        SimOrg(
            provider="anthropic",
            org_id="initech",
            name="Initech",
            admin_keys=[SecretStr(ANTHROPIC_ADMIN)],
            project_keys=[SecretStr(ANTHROPIC_API)],
            seed=3,
            discount=Decimal("0.25"),
            history_start=date(2026, 5, 1),
        )
    )
    with serve(sim, host="127.0.0.1", port=0) as running:
        yield running


@pytest.fixture
def sim(running: RunningSimulator) -> Iterator[ProviderSimulator]:
    running.sim.set_faults(Faults())
    running.sim.reset_log()
    yield running.sim
    running.sim.set_faults(Faults())


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def openai(running: RunningSimulator, key: str = OPENAI_ADMIN, **kw: object) -> OpenAIAdmin:
    kw.setdefault("policy", POLICY)
    return OpenAIAdmin(SecretStr(key), base_url=running.openai_base_url, **kw)  # type: ignore[arg-type]


def anthropic(running: RunningSimulator, key: str = ANTHROPIC_ADMIN, **kw: object) -> AnthropicAdmin:
    kw.setdefault("policy", POLICY)
    return AnthropicAdmin(SecretStr(key), base_url=running.anthropic_base_url, **kw)  # type: ignore[arg-type]


# --- independent expectations ---------------------------------------------------------------------------------


def tier_of(row: TruthRow) -> ServiceTier:
    if row.batch:
        return ServiceTier.BATCH
    return ServiceTier.STANDARD if row.service_tier in ("default", "standard") else ServiceTier(row.service_tier)


def band_of(row: TruthRow) -> ContextBand:
    return ContextBand.LONG if row.context_window == "200k-1M" else ContextBand.STANDARD


def truth_key(row: TruthRow) -> tuple[object, ...]:
    scope = row.project_id if row.project_id is not None else row.workspace_id
    return (row.model, scope, row.api_key_id, tier_of(row), band_of(row), TokenType(row.token_type))


def record_key(r: UsageRecord) -> tuple[object, ...]:
    return (r.model, r.project_id, r.api_key_id, r.service_tier, r.context_band, r.token_type)


_CONTEXT = {
    ServiceTier.STANDARD: None,
    ServiceTier.BATCH: {"processing": "batch"},
    ServiceTier.FLEX: {"service_tier": "flex"},
    ServiceTier.PRIORITY: {"service_tier": "priority"},
}


def genai_list_cost(provider: Provider, r: UsageRecord) -> Decimal:
    """List cost of a record from genai-prices' calculator, priced on one request of ``n`` tokens of its meter.

    ``n`` = 1000 for the standard band (no tier can trigger) and 400,000 for the long-context band (above the
    200k threshold, as the provider's ``200k-1M`` band says each request was); both divide prices exactly.
    """
    n = 400_000 if r.context_band is ContextBand.LONG else 1000
    usage = {
        TokenType.UNCACHED_INPUT: Usage(input_tokens=n),
        TokenType.CACHE_READ: Usage(input_tokens=n, cache_read_tokens=n),
        TokenType.CACHE_WRITE_5M: Usage(input_tokens=n, cache_write_tokens=n),
        TokenType.CACHE_WRITE_1H: Usage(input_tokens=n, cache_write_tokens=n, cache_write_1h_tokens=n),
        TokenType.OUTPUT: Usage(input_tokens=n if r.context_band is ContextBand.LONG else 0, output_tokens=1000),
        TokenType.AUDIO_INPUT: Usage(input_tokens=n, input_audio_tokens=n),
        TokenType.AUDIO_CACHE_READ: Usage(
            input_tokens=n, cache_read_tokens=n, input_audio_tokens=n, cache_audio_read_tokens=n
        ),
        TokenType.AUDIO_OUTPUT: Usage(output_tokens=1000, output_audio_tokens=1000),
        TokenType.IMAGE_INPUT: Usage(input_tokens=n, input_image_tokens=n),
        TokenType.IMAGE_CACHE_READ: Usage(
            input_tokens=n, cache_read_tokens=n, input_image_tokens=n, cache_image_read_tokens=n
        ),
    }[r.token_type]
    # Batch without a batch price in the data: the providers' documented rule, half the standard price.
    half = r.price_basis is PriceBasis.BATCH_HALF_PRICE
    price = calc_price(
        usage,
        r.model,
        provider_id=provider.value,
        genai_request_timestamp=datetime(r.day.year, r.day.month, r.day.day, tzinfo=UTC),
        price_context=None if half else _CONTEXT[r.service_tier],
    )
    per_token = price.input_price / n if r.token_type.is_input else price.output_price / 1000
    return per_token * r.quantity / (2 if half else 1)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def assert_matches_truth(sim: ProviderSimulator, org_id: str, pull: ProviderPull, day: date) -> None:
    provider_day, truth = pull.days[day], sim.truth(org_id, day)
    assert provider_day.status is DayStatus.OK
    # Billed per day equals the cost endpoint's own total, exactly (and so to the cent).
    assert provider_day.billed_usd == truth.billed_cost_usd
    assert provider_day.billed_usd.quantize(Decimal("0.01")) == truth.billed_cost_usd.quantize(Decimal("0.01"))
    # Every token lands on the right (model, project/workspace, key, tier, band, meter): all group-bys were used.
    expected: Counter[tuple[object, ...]] = Counter()
    for row in truth.rows:
        expected[truth_key(row)] += row.tokens
    assert Counter({record_key(r): r.quantity for r in provider_day.records}) == +expected
    # List cost = tokens × genai-prices list price per meter; unpriced exactly where genai-prices has no price.
    for record in provider_day.records:
        if record.priced:
            assert record.list_cost_usd == genai_list_cost(pull.provider, record), record.sku_price_id
    unpriced = {(r.model, r.service_tier) for r in provider_day.records if not r.priced}
    assert unpriced == {(row.model, tier_of(row)) for row in truth.rows if row.price_source != "genai-prices"}


# --- tests ----------------------------------------------------------------------------------------------------


async def test_openai_month_matches_the_simulator_with_minimal_requests(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    async with openai(running) as client:
        pull = await client.pull(*MONTH)
    n_days = (MONTH[1] - MONTH[0]).days
    for day in days(*MONTH):
        assert_matches_truth(sim, "org-acme", pull, day)
    usage_reports = len([r for r in REPORTS if r.name != "costs"])
    minimum = usage_reports * math.ceil(n_days / USAGE_PAGE_LIMIT) + math.ceil(n_days / COSTS_PAGE_LIMIT)
    assert len(sim.requests) == minimum
    completions = next(r for r in sim.requests if r.path.endswith("/usage/completions"))
    assert set(completions.query["group_by[]"]) == {"model", "project_id", "api_key_id", "batch", "service_tier"}
    costs = next(r for r in sim.requests if r.path.endswith("/organization/costs"))
    assert (set(costs.query["group_by[]"]), costs.query["limit"]) == ({"line_item", "project_id"}, ["180"])
    assert OPENAI_ADMIN not in json.dumps(pull.raw_pages)


async def test_anthropic_month_matches_the_simulator_with_minimal_requests(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    async with anthropic(running) as client:
        pull = await client.pull(*MONTH)
    for day in days(*MONTH):
        assert_matches_truth(sim, "initech", pull, day)
    assert len(sim.requests) == 2 * math.ceil((MONTH[1] - MONTH[0]).days / ANTHROPIC_LIMIT)
    usage = next(r for r in sim.requests if r.path.endswith("/usage_report/messages"))
    assert set(usage.query["group_by[]"]) == {"model", "workspace_id", "api_key_id", "service_tier", "context_window"}
    cost = next(r for r in sim.requests if r.path.endswith("/cost_report"))
    assert (set(cost.query["group_by[]"]), cost.query["limit"]) == ({"description", "workspace_id"}, ["31"])
    # Priority Tier usage is not in the cost report and has no list price: it must not flag the days.
    assert not any(pd.reconciliation and pd.reconciliation.flagged for pd in pull.days.values())


async def test_multi_page_windows_follow_every_page(running: RunningSimulator, sim: ProviderSimulator) -> None:
    start, end = date(2026, 5, 1), date(2026, 11, 20)  # 203 days: 7 usage pages, 2 cost pages (OpenAI)
    n_days = (end - start).days
    async with openai(running) as client:
        openai_pull = await client.pull(start, end)
    assert len(sim.requests) == 10 * math.ceil(n_days / USAGE_PAGE_LIMIT) + math.ceil(n_days / COSTS_PAGE_LIMIT)
    sim.reset_log()
    async with anthropic(running) as client:
        anthropic_pull = await client.pull(start, end)
    assert len(sim.requests) == 2 * math.ceil(n_days / ANTHROPIC_LIMIT)
    for pull, org in ((openai_pull, "org-acme"), (anthropic_pull, "initech")):
        assert pull.failed_days == ()
        for day in (start, date(2026, 6, 1), date(2026, 8, 31), date(2026, 11, 19)):
            assert pull.days[day].billed_usd == sim.truth(org, day).billed_cost_usd


async def test_rate_limits_are_retried_after_retry_after(running: RunningSimulator, sim: ProviderSimulator) -> None:
    sim.set_faults(Faults(rate_limit_every_n=3, retry_after_s=1))
    sleeps = Sleeps()
    async with openai(running, sleep=sleeps) as client:
        pull = await client.pull(*MONTH)
    limited = [r for r in sim.requests if r.status == 429]
    assert limited
    assert sleeps.delays == [1.0] * len(limited)
    assert pull.failed_days == ()
    assert pull.days[MONTH[0]].billed_usd == sim.truth("org-acme", MONTH[0]).billed_cost_usd


async def test_overloaded_server_is_retried(running: RunningSimulator, sim: ProviderSimulator) -> None:
    sim.set_faults(Faults(provider="anthropic", error_every_n=2, error_status=529))
    sleeps = Sleeps()
    async with anthropic(running, sleep=sleeps) as client:
        pull = await client.pull(*MONTH)
    assert [r.status for r in sim.requests].count(529) == len(sleeps.delays) > 0
    assert pull.days[MONTH[0]].billed_usd == sim.truth("initech", MONTH[0]).billed_cost_usd


async def test_a_hanging_provider_times_out_as_unavailable(running: RunningSimulator, sim: ProviderSimulator) -> None:
    sim.set_faults(Faults(provider="anthropic", hang_ms=800))
    policy = RetryPolicy(max_retries=1, backoff_base_s=0.01, connect_timeout_s=1, read_timeout_s=0.2)
    async with anthropic(running, policy=policy, sleep=Sleeps()) as client:
        with pytest.raises(ProviderUnavailable):
            await client.validate()


@pytest.mark.parametrize(
    ("provider", "key", "error"),
    [
        ("openai", "sk-admin-sim-unknown-0123456789", ProviderAuthError),
        ("openai", OPENAI_PROJECT, ProviderPermissionError),  # 403 "Missing scopes: api.usage.read"
        ("anthropic", "sk-ant-admin01-sim-unknown-0123456789", ProviderAuthError),
        ("anthropic", ANTHROPIC_API, ProviderAuthError),  # non-admin keys get 401 on the Admin API
    ],
)
async def test_bad_keys_map_to_domain_errors(
    running: RunningSimulator, sim: ProviderSimulator, provider: str, key: str, error: type[Exception]
) -> None:
    client = openai(running, key) if provider == "openai" else anthropic(running, key)
    async with client:
        with pytest.raises(error) as caught:
            await client.validate()
        with pytest.raises(error):
            await client.pull(*MONTH)
    assert key not in str(caught.value)


async def test_a_revoked_key_is_an_auth_error(running: RunningSimulator, sim: ProviderSimulator) -> None:
    revocable = "sk-admin-sim-acme-revocable-0123456789"
    org = sim.org("org-acme")
    sim.add_org(org.model_copy(update={"admin_keys": [*org.admin_keys, SecretStr(revocable)]}))
    async with openai(running, revocable) as client:
        assert "usage.read" in (await client.validate()).permissions
        sim.revoke_key(revocable)
        with pytest.raises(ProviderAuthError):
            await client.pull(*MONTH)


@pytest.mark.parametrize(
    ("provider", "endpoint", "org_id"),
    [("openai", "costs", "org-acme"), ("anthropic", "usage_report/messages", "initech")],
)
async def test_a_malformed_day_fails_only_that_day(
    running: RunningSimulator, sim: ProviderSimulator, provider: str, endpoint: str, org_id: str
) -> None:
    bad = date(2026, 11, 2)
    sim.set_faults(Faults(malformed_day=bad, malformed_provider=provider, malformed_endpoint=endpoint))
    client = openai(running) if provider == "openai" else anthropic(running)
    async with client:
        pull = await client.pull(*MONTH)
    assert pull.failed_days == (bad,)
    assert pull.days[bad].error_code == "provider_malformed_response"
    for day in (MONTH[0], bad - timedelta(days=1), bad + timedelta(days=1)):
        assert_matches_truth(sim, org_id, pull, day)


async def test_validation_reports_the_organisation(running: RunningSimulator, sim: ProviderSimulator) -> None:
    async with anthropic(running) as client:
        org = await client.validate()
    assert (org.org_name, org.permissions, bool(org.org_id)) == ("Initech", ("admin",), True)
    async with openai(running) as client:
        org = await client.validate()
    assert org.permissions == ("usage.read", "management.read")
    # The projects page names the organisation's projects (GET /v1/organization/projects, "data[].id", documented at
    # platform.openai.com/docs/api-reference/projects/list): peer benchmarks use them to count it once.
    assert org.projects
    assert all(project.startswith("proj_") for project in org.projects)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_an_hourly_window_ending_tomorrow_is_asked_open_ended_and_today_is_counted(
    running: RunningSimulator, sim: ProviderSimulator, provider: str
) -> None:
    """Neither provider documents an end time after now, both make it optional (provider-apis.md §1.1, §2.1), and
    Anthropic answers 400 "Invalid date range" for one (observed; the simulator does the same): an hourly sync's
    window, which ends tomorrow, is asked without an end and still yields today's partial day."""
    today = NOW.date()
    make = openai if provider == "openai" else anthropic
    async with make(running, clock=FixedClock(NOW)) as source:
        result = await source.pull(today - timedelta(days=2), today + timedelta(days=1))

    assert not result.failed_days
    assert result.days[today].totals.input_tokens > 0
    ends = {"end_time", "ending_at"}
    assert all(not ends & set(r.query) for r in sim.requests if r.provider == provider and "organization" in r.path)


async def test_a_date_range_refused_near_now_is_asked_again_open_ended(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    """A window that ended in the past by the platform's clock but after now by Anthropic's (clocks drift) is
    refused 400 "Invalid date range"; it is asked again open-ended instead of failing the pull."""
    today = NOW.date()
    ahead = FixedClock(NOW + timedelta(days=2))  # our clock believes tomorrow has already ended
    async with anthropic(running, clock=ahead) as source:
        result = await source.pull(today - timedelta(days=2), today + timedelta(days=1))

    assert not result.failed_days
    statuses = [r.status for r in sim.requests if r.provider == "anthropic"]
    assert 400 in statuses
    assert statuses[-1] == 200
