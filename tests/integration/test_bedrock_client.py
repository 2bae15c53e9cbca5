"""The Bedrock ``UsageSource`` against the simulator's STS, CloudWatch and Cost Explorer over real HTTP.

Figures are the simulator's ground truth (``sim.bedrock_truth``); every rule the simulator enforces is cited in
``devstack/provider_sim/aws_routes.py``. Tokens come from local mode's identity tokens (``FIREBASE_AUTH_EMULATOR_HOST``
set), as on the local stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from devstack.provider_sim import Faults, RunningSimulator, serve
from devstack.provider_sim.aws_data import MODELS
from devstack.provider_sim.simulator import ProviderSimulator
from shared.adapters.bedrock import BedrockUsage
from shared.adapters.provider_http import RetryPolicy
from shared.config import Settings
from shared.domain.providers.bedrock.connection import bundle
from shared.domain.usage.records import CostSource, DayStatus, OrgIdentity, ProviderPull
from shared.errors import (
    InvalidInput,
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    ProviderRateLimited,
)
from tests.support.bedrock_sim import bedrock_account, connection

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=6)
CENT = Decimal("0.01")
POLICY = RetryPolicy(max_retries=1, backoff_base_s=0.001, backoff_max_s=0.01, concurrency=4)
ACCOUNTS = {
    "ent_bedrock_acme": ("111122223333", {}),
    "ent_bedrock_noce": ("222233334444", {"cost_explorer_enabled": False}),
    "ent_bedrock_nometrics": ("333344445555", {"denied_actions": {"cloudwatch:GetMetricData"}}),
    "ent_bedrock_nocost": ("444455556666", {"denied_actions": {"ce:GetCostAndUsage"}}),
    "ent_bedrock_idle": ("555566667777", {"regions": ()}),  # Bedrock never called
    "ent_bedrock_nocatalogue": ("777788889999", {"denied_actions": {"bedrock:ListInferenceProfiles"}}),
}
LAPSED, DORMANT, BIG = "888899990000", "999900001111", "101020203030"
BIG_LAST_CALL = TODAY - timedelta(days=16)
LAST_NOVA_CALL = TODAY - timedelta(days=20)
"""Past CloudWatch's two-week ``ListMetrics`` horizon."""
KEY_ID, KEY_SECRET = "AKIAEXAMPLESIMKEY001", "s" * 40


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator()
    for enterprise_id, (account_id, changes) in ACCOUNTS.items():
        sim.add_bedrock_account(bedrock_account(enterprise_id, account_id, history_start=START, **changes))
    sim.add_bedrock_account(
        bedrock_account("ent_bedrock_keys", "666677778888", history_start=START, access_keys={KEY_ID: KEY_SECRET})
    )
    # One model stopped being called 20 days ago; every model of the dormant account did.
    lapsed = {"amazon.nova-pro-v1:0": LAST_NOVA_CALL}
    sim.add_bedrock_account(
        bedrock_account("ent_bedrock_lapsed", LAPSED, history_start=TODAY - timedelta(days=40), last_called=lapsed)
    )
    dormant = dict.fromkeys([m.model_id for m in MODELS], LAST_NOVA_CALL)
    sim.add_bedrock_account(
        bedrock_account(
            "ent_bedrock_dormant",
            DORMANT,
            history_start=START - timedelta(days=30),
            regions=("us-east-1",),
            last_called=dormant,
        )
    )
    # A region's catalogue larger than GetMetricData's 500 queries: the probe must split it.
    called_until = dict.fromkeys([m.model_id for m in MODELS], BIG_LAST_CALL)
    sim.add_bedrock_account(
        bedrock_account(
            "ent_bedrock_big",
            BIG,
            history_start=BIG_LAST_CALL - timedelta(days=5),
            regions=("us-east-1",),
            catalogue_extra=600,
            last_called=called_until,
        )
    )
    sim.aws.profiles_per_page = 1  # ListInferenceProfiles pages
    sim.aws.datapoints_per_page = 7  # a series continues on the next page
    sim.aws.days_per_page = 3
    with serve(sim) as running:
        yield running


def _settings(running: RunningSimulator) -> Settings:
    env = {k.lower(): v for k, v in running.aws_env().items()}
    return Settings(firebase_auth_emulator_host="127.0.0.1:9099", **env)  # type: ignore[arg-type]


def _pull(
    running: RunningSimulator, key: SecretStr, start: date = START, end: date = TODAY, policy: RetryPolicy = POLICY
) -> ProviderPull:
    async def go() -> ProviderPull:
        async with BedrockUsage(key, settings=_settings(running), policy=policy) as source:
            return await source.pull(start, end)

    return asyncio.run(go())


def _validate(running: RunningSimulator, key: SecretStr) -> OrgIdentity:
    async def go() -> OrgIdentity:
        async with BedrockUsage(key, settings=_settings(running), policy=POLICY) as source:
            return await source.validate()

    return asyncio.run(go())


def test_every_day_equals_the_truth_tokens_exactly_and_billed_cost_to_the_cent(running: RunningSimulator) -> None:
    pull = _pull(running, connection("ent_bedrock_acme"))
    assert pull.failed_days == ()
    for day, provider_day in pull.days.items():
        truth = running.sim.bedrock_truth("111122223333", day)
        assert provider_day.cost_source is CostSource.BILLED
        assert sum(r.quantity for r in provider_day.records) == truth.total_tokens
        assert provider_day.billed_usd.quantize(CENT) == truth.billed_usd.quantize(CENT)
        by_region = {(r.project_id, r.model) for r in provider_day.records}
        assert by_region == {(region, model) for region, model, _ in truth.tokens}


def test_regional_prices_the_data_lack_are_unpriced_never_first_party(running: RunningSimulator) -> None:
    pull = _pull(running, connection("ent_bedrock_acme"))
    records = [r for d in pull.days.values() for r in d.records]
    eu = [r for r in records if r.project_id == "eu-central-1"]
    us = [r for r in records if r.project_id == "us-east-1" and r.model.startswith("anthropic.")]
    assert eu
    assert us
    assert all(not r.priced for r in eu)
    assert all(r.priced for r in us)


def test_a_backfill_reads_models_not_called_for_over_two_weeks(running: RunningSimulator) -> None:
    """CloudWatch's ListMetrics "doesn't return information about metrics if those metrics haven't reported data in
    the past two weeks. To retrieve those metrics, use GetMetricData" (CloudWatch API Reference, ListMetrics,
    docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html). The sync takes the region's
    models from Bedrock's catalogue instead (Amazon Bedrock API Reference, ListFoundationModels and
    ListInferenceProfiles), so a model last called 20 days ago keeps its tokens, and the rate its true cost."""
    running.sim.aws.datapoints_per_page = 100_800  # paging is another test's point; 30 days at 7 a page is slow
    try:
        pull = _pull(running, connection("ent_bedrock_lapsed", LAPSED), TODAY - timedelta(days=30), TODAY)
    finally:
        running.sim.aws.datapoints_per_page = 7
    assert pull.failed_days == ()
    nova_days = 0
    for day, provider_day in pull.days.items():
        truth = running.sim.bedrock_truth(LAPSED, day)
        got: dict[tuple[str, str], int] = {}
        for record in provider_day.records:
            got[(record.project_id, record.model)] = got.get((record.project_id, record.model), 0) + record.quantity
        want: dict[tuple[str, str], int] = {}
        for (region, model, _), tokens in truth.tokens.items():
            want[(region, model)] = want.get((region, model), 0) + tokens
        assert got == want, day
        assert provider_day.billed_usd.quantize(CENT) == truth.billed_usd.quantize(CENT)
        nova_days += ("us-east-1", "amazon.nova-pro-v1:0") in want
    assert nova_days >= 5  # the lapsed model had usage in the window, now all found
    assert all(
        ("us-east-1", "amazon.nova-pro-v1:0") not in running.sim.bedrock_truth(LAPSED, d).tokens
        for d in pull.days
        if d > LAST_NOVA_CALL
    )


def test_a_catalogue_larger_than_one_request_is_probed_in_requests_of_500(running: RunningSimulator) -> None:
    """GetMetricData takes at most 500 queries a request (CloudWatch API Reference, GetMetricData; the simulator
    refuses more), and the account's models all fell out of ListMetrics' two weeks."""
    running.sim.aws.datapoints_per_page = 100_800  # paging is another test's point
    try:
        key = connection("ent_bedrock_big", BIG, regions=("us-east-1",))
        pull = _pull(running, key, BIG_LAST_CALL - timedelta(days=4), BIG_LAST_CALL + timedelta(days=2))
    finally:
        running.sim.aws.datapoints_per_page = 7
    assert pull.failed_days == ()
    for day, provider_day in pull.days.items():
        assert sum(r.quantity for r in provider_day.records) == running.sim.bedrock_truth(BIG, day).total_tokens
    assert any(provider_day.records for provider_day in pull.days.values())


def test_a_daily_sync_needs_no_catalogue_within_list_metrics_two_weeks(running: RunningSimulator) -> None:
    """Within ListMetrics' two weeks every model with data is listed (CloudWatch API Reference, ListMetrics), so a
    daily or hourly window never asks Bedrock's catalogue: a role made from the policy handed out before the
    catalogue was needed keeps syncing its recent days (only a backfill past two weeks needs the new permission)."""
    key = connection("ent_bedrock_nocatalogue", "777788889999", regions=("us-east-1",))
    pull = _pull(running, key, TODAY - timedelta(days=3), TODAY)
    assert pull.failed_days == ()
    assert any(provider_day.records for provider_day in pull.days.values())
    for day, provider_day in pull.days.items():
        truth = running.sim.bedrock_truth("777788889999", day).tokens
        want = sum(tokens for (region, _, _), tokens in truth.items() if region == "us-east-1")
        assert sum(r.quantity for r in provider_day.records) == want


def test_an_account_idle_for_three_weeks_still_connects(running: RunningSimulator) -> None:
    """Validation looks back over the backfill window, not ListMetrics' two weeks (same sources as above)."""
    identity = _validate(running, connection("ent_bedrock_dormant", DORMANT, regions=("us-east-1",)))
    assert identity.org_id == DORMANT


def test_without_cost_explorer_days_are_labelled_estimated(running: RunningSimulator) -> None:
    key = connection("ent_bedrock_noce", "222233334444", cost_explorer=False)
    pull = _pull(running, key)
    assert {d.cost_source for d in pull.days.values()} == {CostSource.ESTIMATED}
    assert all(d.status is DayStatus.OK and d.reconciliation is None for d in pull.days.values())


def test_validation_reveals_the_account_and_what_the_role_may_read(running: RunningSimulator) -> None:
    identity = _validate(running, connection("ent_bedrock_acme"))
    assert identity.org_id == "111122223333"
    assert identity.permissions == ("cloudwatch:GetMetricData", "bedrock:ListFoundationModels", "ce:GetCostAndUsage")
    assert identity.projects == ("us-east-1", "eu-central-1")
    assert identity.billing_export is True


def test_an_access_key_works_as_the_fallback(running: RunningSimulator) -> None:
    key = bundle(
        external_id="unused",
        regions=["us-east-1"],
        cost_explorer=True,
        access_key_id=KEY_ID,
        secret_access_key=SecretStr(KEY_SECRET),
    )
    pull = _pull(running, key, TODAY - timedelta(days=2))
    day = TODAY - timedelta(days=2)
    truth = running.sim.bedrock_truth("666677778888", day)
    us_truth = sum(n for (region, _, _), n in truth.tokens.items() if region == "us-east-1")
    assert sum(r.quantity for r in pull.days[day].records) == us_truth


@pytest.mark.parametrize(
    ("key", "error", "code"),
    [
        # Another enterprise's connection naming this role: its audience is not the one the trust policy pins.
        (connection("ent_bedrock_someone_else"), ProviderAuthError, "aws_role_not_assumable"),
        (connection("ent_bedrock_acme", "999999999999"), ProviderAuthError, "aws_role_not_assumable"),
        (connection("ent_bedrock_nometrics", "333344445555"), ProviderPermissionError, "aws_missing_permission"),
        (connection("ent_bedrock_nocost", "444455556666"), ProviderPermissionError, "aws_missing_permission"),
        (connection("ent_bedrock_noce", "222233334444"), ProviderPermissionError, "aws_cost_explorer_not_enabled"),
        (
            connection("ent_bedrock_idle", "555566667777", regions=("ap-northeast-1",)),
            InvalidInput,
            "bedrock_metrics_empty",
        ),
        (connection("ent_bedrock_nocatalogue", "777788889999"), ProviderPermissionError, "aws_missing_permission"),
    ],
    ids=[
        "external-id-mismatch",
        "no-such-role",
        "no-get-metric-data",
        "no-cost-and-usage",
        "ce-off",
        "empty",
        "no-catalogue",
    ],
)
def test_each_refusal_has_its_own_code_and_a_hint_without_secrets(
    running: RunningSimulator, key: SecretStr, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as caught:
        _validate(running, key)
    assert getattr(caught.value, "code", None) == code
    if isinstance(caught.value, ProviderError):
        assert caught.value.hint
        assert "FwoGZXIvYXdzE" not in str(caught.value)


def test_a_deleted_access_key_is_an_invalid_key(running: RunningSimulator) -> None:
    key = bundle(
        external_id="unused",
        regions=["us-east-1"],
        cost_explorer=False,
        access_key_id="AKIAEXAMPLEDELETED01",
        secret_access_key=SecretStr("d" * 40),
    )
    with pytest.raises(ProviderAuthError) as caught:
        _validate(running, key)
    assert caught.value.code == "provider_key_invalid"


def test_server_errors_are_retried_and_throttling_is_transient(running: RunningSimulator) -> None:
    """CloudWatch and Cost Explorer answer overload with ``ThrottlingException`` (HTTP 400, Common Errors)."""
    key = connection("ent_bedrock_acme")
    day = TODAY - timedelta(days=2)
    try:
        # Every 4th request fails. The count restarts with the knobs, so STS (asked once: a failure there retries the
        # sync task) is request 1; every CloudWatch and Cost Explorer failure is retried.
        running.sim.set_faults(Faults(provider="bedrock", error_every_n=4, error_status=503))
        patient = RetryPolicy(max_retries=4, backoff_base_s=0.001, backoff_max_s=0.01, concurrency=1)
        pull = _pull(running, key, day, day + timedelta(days=1), patient)
        assert pull.failed_days == ()
        assert pull.days[day].billed_usd.quantize(CENT) == running.sim.bedrock_truth(
            "111122223333", day
        ).billed_usd.quantize(CENT)
        running.sim.set_faults(Faults(provider="bedrock", rate_limit_every_n=2))
        with pytest.raises(ProviderRateLimited) as caught:
            _pull(running, key, day, day + timedelta(days=1))
        assert caught.value.transient
    finally:
        running.sim.set_faults(Faults())


def test_the_simulator_logs_who_signed_never_a_secret(running: RunningSimulator) -> None:
    running.sim.reset_log()
    _pull(running, connection("ent_bedrock_acme"), TODAY - timedelta(days=1))
    records = [r for r in running.sim.requests if r.provider == "bedrock"]
    monitoring = {"/monitoring/us-east-1/", "/monitoring/eu-central-1/"}
    assert {r.path for r in records} == {"/sts", "/ce/", *monitoring}  # a recent window asks no catalogue
    assert all(r.key_fingerprint for r in records if r.path != "/sts")
