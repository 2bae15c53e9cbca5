"""The Azure OpenAI ``UsageSource`` against the simulator's Entra ID, Azure Monitor, deployments and Cost Management
over real HTTP.

Figures are the simulator's ground truth (``sim.azure_truth``); every rule the simulator enforces is cited in
``devstack/provider_sim/azure_routes.py``. Assertions are local mode's Google ID tokens
(``FIREBASE_AUTH_EMULATOR_HOST`` set), as on the local stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from devstack.provider_sim import Faults, RunningSimulator, serve
from devstack.provider_sim.azure_data import AzureTenant
from devstack.provider_sim.simulator import ProviderSimulator
from shared.adapters.azure import AzureUsage
from shared.adapters.provider_http import RetryPolicy
from shared.config import Settings
from shared.domain.usage.records import CostSource, DayStatus, OrgIdentity, ProviderPull
from shared.errors import InvalidInput, ProviderAuthError, ProviderError, ProviderPermissionError, ProviderRateLimited
from tests.support.azure_sim import azure_tenant, connection

TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=6)
CENT = Decimal("0.01")
POLICY = RetryPolicy(max_retries=1, backoff_base_s=0.001, backoff_max_s=0.01, concurrency=4)
SECRET = "Zq8~sim.client-secret_value"
TENANTS = {
    "ent_azure_acme": azure_tenant("ent_azure_acme", history_start=START),
    "ent_azure_nocm": azure_tenant("ent_azure_nocm", history_start=START, cost_management_enabled=False),
    "ent_azure_nomon": azure_tenant("ent_azure_nomon", history_start=START, denied_roles={"Monitoring Reader"}),
    "ent_azure_nocost": azure_tenant("ent_azure_nocost", history_start=START, denied_roles={"Cost Management Reader"}),
    "ent_azure_ptu": azure_tenant(
        "ent_azure_ptu",
        history_start=START,
        cost_management_enabled=False,
        deployment_skus={"o3-mini": "ProvisionedManaged"},
    ),
    "ent_azure_secret": azure_tenant(
        "ent_azure_secret", history_start=START, trusted_subjects=frozenset(), client_secrets=frozenset({SECRET})
    ),
}


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator()
    for tenant in TENANTS.values():
        sim.add_azure_tenant(tenant)
    sim.azure.rows_per_page = 7  # the bill continues on next pages
    with serve(sim) as running:
        yield running


def _settings(running: RunningSimulator) -> Settings:
    env = {k.lower(): v for k, v in running.azure_env().items()}
    return Settings(firebase_auth_emulator_host="127.0.0.1:9099", **env)  # type: ignore[arg-type]


def _pull(running: RunningSimulator, key: SecretStr, start: date = START, end: date = TODAY) -> ProviderPull:
    async def go() -> ProviderPull:
        async with AzureUsage(key, settings=_settings(running), policy=POLICY) as source:
            return await source.pull(start, end)

    return asyncio.run(go())


def _validate(running: RunningSimulator, key: SecretStr) -> OrgIdentity:
    async def go() -> OrgIdentity:
        async with AzureUsage(key, settings=_settings(running), policy=POLICY) as source:
            return await source.validate()

    return asyncio.run(go())


def _acme() -> AzureTenant:
    return TENANTS["ent_azure_acme"]


def test_every_day_equals_the_truth_tokens_exactly_and_billed_cost_to_the_cent(running: RunningSimulator) -> None:
    pull = _pull(running, connection("ent_azure_acme", _acme()))
    assert pull.failed_days == ()
    for day, provider_day in pull.days.items():
        truth = running.sim.azure_truth(_acme().tenant_id, day)
        assert provider_day.cost_source is CostSource.BILLED
        assert sum(r.quantity for r in provider_day.records) == truth.total_tokens
        assert provider_day.billed_usd.quantize(CENT) == truth.billed_usd.quantize(CENT)
        # Deployments are reported under the model they serve, per account.
        assert {(r.project_id, r.model) for r in provider_day.records} == {(a, m) for a, m, _ in truth.tokens}


def test_models_genai_prices_lacks_on_azure_are_unpriced_never_first_party(running: RunningSimulator) -> None:
    """gpt-4o has first-party (OpenAI) prices but none of Azure's in the price data: its usage stays unpriced."""
    pull = _pull(running, connection("ent_azure_acme", _acme()), TODAY - timedelta(days=3))
    records = [r for d in pull.days.values() for r in d.records]
    assert {r.model for r in records if not r.priced} >= {"gpt-4o"}
    assert all(r.priced for r in records if r.model == "o3-mini")


def test_without_cost_management_days_are_labelled_estimated(running: RunningSimulator) -> None:
    pull = _pull(running, connection("ent_azure_nocm", TENANTS["ent_azure_nocm"], cost_management=False))
    assert {d.cost_source for d in pull.days.values()} == {CostSource.ESTIMATED}
    assert all(d.status is DayStatus.OK for d in pull.days.values())


def test_a_provisioned_deployment_is_not_estimated_per_token(running: RunningSimulator) -> None:
    """Provisioned deployments are billed per hour of PTUs, not per token (Azure OpenAI deployment types,
    learn.microsoft.com/azure/ai-services/openai/how-to/deployment-types): the same o3-mini that a Global Standard
    deployment prices (test above) is unpriced, with its reason, and adds nothing to the estimate."""
    tenant = TENANTS["ent_azure_ptu"]
    pull = _pull(running, connection("ent_azure_ptu", tenant, cost_management=False), TODAY - timedelta(days=3))
    o3 = [r for d in pull.days.values() for r in d.records if r.model == "o3-mini"]
    assert o3
    assert all(not r.priced and r.unpriced_reason == "provisioned_throughput" for r in o3)
    for day in pull.days.values():
        assert day.cost_source is CostSource.ESTIMATED
        assert not any("o3-mini" in (line.model or "") for line in day.cost_lines)


def test_validation_reveals_the_tenant_and_what_the_principal_may_read(running: RunningSimulator) -> None:
    identity = _validate(running, connection("ent_azure_acme", _acme()))
    assert identity.org_id == _acme().tenant_id
    assert identity.permissions == ("Microsoft.Insights/metrics/read", "Microsoft.CostManagement/query/action")
    assert identity.projects == _acme().accounts
    assert identity.billing_export is True


def test_a_client_secret_works_as_the_fallback(running: RunningSimulator) -> None:
    tenant = TENANTS["ent_azure_secret"]
    day = TODAY - timedelta(days=2)
    pull = _pull(running, connection("ent_azure_secret", tenant, client_secret=SECRET), day, day + timedelta(days=1))
    assert (
        sum(r.quantity for r in pull.days[day].records) == running.sim.azure_truth(tenant.tenant_id, day).total_tokens
    )


@pytest.mark.parametrize(
    ("enterprise", "tenant", "changes", "error", "code"),
    [
        # Another enterprise naming Acme's tenant and app: its audience is not the one Acme's credential trusts.
        ("ent_azure_someone_else", "ent_azure_acme", {}, ProviderAuthError, "azure_federation_refused"),
        (
            "ent_azure_secret",
            "ent_azure_secret",
            {"client_secret": "wrong-secret"},
            ProviderAuthError,
            "provider_key_invalid",
        ),
        ("ent_azure_nomon", "ent_azure_nomon", {}, ProviderPermissionError, "azure_missing_role"),
        ("ent_azure_nocost", "ent_azure_nocost", {}, ProviderPermissionError, "azure_missing_role"),
        ("ent_azure_nocm", "ent_azure_nocm", {}, ProviderPermissionError, "azure_cost_management_unavailable"),
        (
            "ent_azure_acme",
            "ent_azure_acme",
            {"accounts": ("aoai-deleted",)},
            ProviderPermissionError,
            "azure_account_not_found",
        ),
    ],
    ids=["audience-mismatch", "wrong-secret", "no-monitoring-reader", "no-cost-reader", "cm-unsupported", "gone"],
)
def test_each_refusal_has_its_own_code_and_a_hint_without_secrets(
    running: RunningSimulator,
    enterprise: str,
    tenant: str,
    changes: dict[str, object],
    error: type[Exception],
    code: str,
) -> None:
    key = connection(enterprise, TENANTS[tenant], **changes)  # type: ignore[arg-type]
    with pytest.raises(error) as caught:
        _validate(running, key)
    assert getattr(caught.value, "code", None) == code
    assert isinstance(caught.value, ProviderError)
    assert caught.value.hint
    assert SECRET not in str(caught.value)
    assert "wrong-secret" not in str(caught.value)
    assert "eyJ0eXAiOiJKV1Qi" not in str(caught.value)


def test_an_account_without_deployments_is_metrics_empty(running: RunningSimulator) -> None:
    idle = ("aoai-idle",)
    tenant = azure_tenant("ent_azure_idle", history_start=START, accounts=idle, idle_accounts=frozenset(idle))
    running.sim.add_azure_tenant(tenant)
    with pytest.raises(InvalidInput) as caught:
        _validate(running, connection("ent_azure_idle", tenant))
    assert caught.value.code == "azure_metrics_empty"


def test_throttling_is_retried_then_reported_as_rate_limited(running: RunningSimulator) -> None:
    running.sim.set_faults(Faults(provider="azure", rate_limit_every_n=1, retry_after_s=None))
    try:
        with pytest.raises(ProviderRateLimited):
            _validate(running, connection("ent_azure_acme", _acme()))
    finally:
        running.sim.set_faults(Faults())
