"""The real Google client over real HTTP against the provider simulator: token minting (signatures verified by the
simulator), Cloud Monitoring, BigQuery, every refusal and fault. Expected figures are the simulator's truth."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from google.auth import crypt, jwt
from pydantic import SecretStr

from devstack.provider_sim import Faults, ProviderSimulator, RunningSimulator, serve
from devstack.provider_sim.google_keys import generate_key
from shared.adapters.google_cloud import GoogleCloudUsage
from shared.adapters.google_token import AccessTokens
from shared.adapters.provider_http import ProviderHttp, RetryPolicy
from shared.config import Settings
from shared.domain.providers.google.connection import parse_connection
from shared.domain.providers.google.usage import FAMILIES
from shared.domain.usage.records import CostKind, CostSource, DayStatus, Provider, ProviderPull, TokenType
from shared.errors import (
    BillingExportUnreadable,
    ProviderAuthError,
    ProviderPermissionError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)
from tests.support.google_keys import pem_body
from tests.support.google_sim import (
    BILLING_ACCOUNT,
    DISABLED,
    NO_BILLING,
    NO_STUDIO,
    PROJECTS,
    READER,
    connection,
    google_org,
)

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
WINDOW = (date(2026, 11, 1), date(2026, 11, 21))  # today (partial) included
CENT = Decimal("0.01")
POLICY = RetryPolicy(max_retries=3, backoff_base_s=0.01, backoff_max_s=0.5, connect_timeout_s=2, read_timeout_s=2)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator(now=lambda: NOW)
    sim.add_google_org(google_org())
    sim.add_google_org(google_org(org_id="0E0E0E-0E0E0E-0E0E0E", currency="EUR", conversion_rate=Decimal("0.92")))
    with serve(sim) as running:
        yield running


@pytest.fixture
def sim(running: RunningSimulator) -> Iterator[ProviderSimulator]:
    running.sim.set_faults(Faults())
    running.sim.reset_log()
    yield running.sim
    running.sim.set_faults(Faults())


def client(
    running: RunningSimulator, secret: SecretStr, *, page_size: int | None = None, **kw: Any
) -> GoogleCloudUsage:
    settings = Settings(**{k.lower(): v for k, v in running.google_env().items()})
    return GoogleCloudUsage(secret, settings=settings, policy=kw.pop("policy", POLICY), page_size=page_size, **kw)


async def pull(running: RunningSimulator, secret: SecretStr, **kw: Any) -> ProviderPull:
    async with client(running, secret, **kw) as source:
        return await source.pull(*WINDOW)


def days() -> list[date]:
    return [WINDOW[0] + timedelta(days=i) for i in range((WINDOW[1] - WINDOW[0]).days)]


async def test_validation_names_the_service_account_projects_and_whether_costs_are_billed(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    async with client(running, connection(sim)) as source:
        billed = await source.validate()
    async with client(running, connection(sim, table=None)) as source:
        estimated = await source.validate()

    assert billed.principal == f"{READER}@acme-usage.iam.gserviceaccount.com"
    assert (billed.projects, billed.billing_export) == (tuple(PROJECTS), True)
    assert billed.permissions == ("monitoring.timeSeries.list", "billing_export.read")
    assert (estimated.billing_export, estimated.permissions) == (False, ("monitoring.timeSeries.list",))
    dry_runs = [r for r in sim.requests if r.path.endswith("/queries")]
    assert len(dry_runs) == 1  # only the billed connection checks the table


async def test_with_a_billing_export_every_day_equals_the_truth_to_the_cent(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    result = await pull(running, connection(sim), page_size=7)

    for day in days():
        provider_day, truth = result.days[day], sim.google_truth(BILLING_ACCOUNT, day)
        assert (provider_day.status, provider_day.cost_source) == (DayStatus.OK, CostSource.BILLED)
        assert provider_day.billed_usd == truth.billed_cost_usd  # exact, hence to the cent
        totals = provider_day.totals
        assert (totals.input_tokens, totals.output_tokens) == (truth.input_tokens, truth.output_tokens)
        unattributed = sum((c.amount_usd for c in provider_day.cost_lines if c.model is None), Decimal(0))
        assert unattributed == truth.unattributed_cost_usd  # unknown SKUs are kept, not dropped
        for row in truth.rows:  # billed money per model and token type, as the SKUs say
            lines = [c for c in provider_day.cost_lines if (c.project_id, c.model) == (row.project_id, row.model)]
            billed = sum((c.amount_usd for c in lines if c.token_type == TokenType(row.token_type)), Decimal(0))
            assert billed == row.billed_usd, (day, row.model, row.token_type)
        recon = provider_day.reconciliation
        assert recon is not None
        # The 15 % credit shows as itself: list is priced on the export's own quantities per SKU (cache hits at the
        # cached rate), not on Monitoring's counts; unknown SKUs' cost is unpriced, not compared.
        assert recon.ratio is not None
        assert abs((1 - recon.ratio) - Decimal("0.15")) <= Decimal("0.0005"), day
        unknown = sum((c.amount_usd for c in provider_day.cost_lines if c.kind is CostKind.UNKNOWN), Decimal(0))
        assert recon.unpriced_billed_usd == unknown > 0  # the simulator's unknown SKU ("Agent Engine session events")
    # It paged: Monitoring pages of at most 2 series, BigQuery polled twice then followed pageTokens.
    paths = [r.path for r in sim.requests]
    assert sum(p.endswith("/timeSeries") for p in paths) > len(PROJECTS) * 3
    results = [r for r in sim.requests if "/queries/" in r.path]
    assert len(results) > 2
    assert any("pageToken" in r.query for r in results)
    assert sum(p.endswith("/token") for p in paths) == 1  # one token for the whole pull


async def test_without_a_billing_export_the_cost_is_the_list_price_estimate_and_labelled_so(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    result = await pull(running, connection(sim, table=None))

    for day in days():
        provider_day, truth = result.days[day], sim.google_truth(BILLING_ACCOUNT, day)
        assert (provider_day.status, provider_day.cost_source) == (DayStatus.OK, CostSource.ESTIMATED)
        assert provider_day.billed_usd.quantize(CENT) == truth.estimated_cost_usd.quantize(CENT)
        assert provider_day.billed_usd == provider_day.list_usd
        assert provider_day.reconciliation is None
    assert not any("/bigquery/" in r.path for r in sim.requests)


async def test_a_billing_account_in_euros_is_converted_with_each_rows_rate(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    org_id = "0E0E0E-0E0E0E-0E0E0E"
    result = await pull(running, connection(sim, org_id=org_id))
    for day in (date(2026, 11, 10), date(2026, 11, 20)):
        assert result.days[day].billed_usd.quantize(CENT) == sim.google_truth(org_id, day).billed_cost_usd.quantize(
            CENT
        )


async def test_the_keys_token_uri_is_never_called(running: RunningSimulator, sim: ProviderSimulator) -> None:
    key = sim.google.key(BILLING_ACCOUNT, READER)
    key["token_uri"] = f"{running.root_url}/_sim/google/evil-token"

    async with client(running, connection(sim, key=key)) as source:
        await source.validate()

    assert sim.google.evil_hits == 0
    assert any(r.path == "/token" for r in sim.requests)


async def test_raw_pages_keep_what_google_sent_and_no_credential(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    key = sim.google.key(BILLING_ACCOUNT, READER)
    result = await pull(running, connection(sim))
    dumped = json.dumps(result.raw_pages)
    assert {p["report"] for p in result.raw_pages} >= {"monitoring.vertex_ai", "billing_export"}
    assert pem_body(key) not in dumped
    assert "ya29." not in dumped
    assert key["private_key_id"] not in dumped


def _forged(sim: ProviderSimulator) -> dict[str, Any]:
    """The reader's key id and email with another private key: its signatures do not verify."""
    key = sim.google.key(BILLING_ACCOUNT, READER)
    other = generate_key("x", "acme-usage", key["client_email"])
    return key | {"private_key": other.info["private_key"]}


@pytest.mark.parametrize(
    ("setup", "error", "code", "hint"),
    [
        ("forged", ProviderAuthError, "provider_key_invalid", None),
        ("disabled-key", ProviderAuthError, "provider_key_invalid", None),
        ("disabled-account", ProviderAuthError, "provider_key_invalid", None),
        ("no-studio", ProviderPermissionError, "provider_key_missing_scopes", "on project acme-studio"),
        ("unknown-project", ProviderPermissionError, "google_project_not_found", "project id acme-elsewhere"),
        ("monitoring-disabled", ProviderPermissionError, "google_api_disabled", "Cloud Monitoring API"),
        ("no-billing", BillingExportUnreadable, "billing_export_unreadable", "roles/bigquery.dataViewer"),
        ("wrong-table", BillingExportUnreadable, "billing_export_not_found", "check the table name"),
        ("bigquery-disabled", ProviderPermissionError, "google_api_disabled", "BigQuery API"),
    ],
)
async def test_each_refusal_is_its_own_error(
    running: RunningSimulator, sim: ProviderSimulator, setup: str, error: type[Exception], code: str, hint: str | None
) -> None:
    secret = {
        "forged": lambda: connection(sim, key=_forged(sim)),
        "disabled-key": lambda: connection(sim, key=sim.google.new_key(BILLING_ACCOUNT, READER)),
        "disabled-account": lambda: connection(sim, DISABLED),
        "no-studio": lambda: connection(sim, NO_STUDIO),
        "unknown-project": lambda: connection(sim, projects=[*PROJECTS, "acme-elsewhere"]),
        "no-billing": lambda: connection(sim, NO_BILLING),
        "wrong-table": lambda: connection(sim, table="acme-finops.billing.gcp_billing_export_v1_OTHER"),
        "monitoring-disabled": lambda: connection(sim),
        "bigquery-disabled": lambda: connection(sim),
    }[setup]()
    if setup == "disabled-key":
        sim.google.disable_key(json.loads(secret.get_secret_value())["service_account_key"]["private_key_id"])
    if setup.endswith("-disabled") and setup != "disabled-key":
        sim.set_faults(Faults(google_disabled_api=setup.removesuffix("-disabled")))  # type: ignore[arg-type]

    async with client(running, secret) as source:
        with pytest.raises(error) as raised:
            await source.validate()

    assert raised.value.code == code  # type: ignore[attr-defined]
    if hint:
        assert hint in (raised.value.hint or "")  # type: ignore[attr-defined]
    assert pem_body(json.loads(secret.get_secret_value())["service_account_key"]) not in str(raised.value)


async def test_the_token_endpoint_checks_the_audience_and_the_grant(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    key = sim.google.key(BILLING_ACCOUNT, READER)
    signer = crypt.RSASigner.from_service_account_info(key)
    now = int(datetime.now(UTC).timestamp())
    claims = {"iss": key["client_email"], "scope": "x", "iat": now, "exp": now + 600}

    def post(assertion: str, grant: str = "urn:ietf:params:oauth:grant-type:jwt-bearer") -> httpx.Response:
        return httpx.post(running.google_token_url, data={"grant_type": grant, "assertion": assertion})

    google_audience = jwt.encode(signer, claims | {"aud": "https://oauth2.googleapis.com/token"}).decode()
    ours = jwt.encode(signer, claims | {"aud": running.google_token_url}).decode()
    assert (post(google_audience).status_code, post(google_audience).json()["error"]) == (400, "invalid_grant")
    assert post(ours, grant="password").json()["error"] == "unsupported_grant_type"
    assert post("not.a.jwt").status_code == 400
    granted = post(ours)
    assert granted.status_code == 200
    assert granted.json()["access_token"].startswith("ya29.")


async def test_transient_faults_are_retried_and_the_result_is_unchanged(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    clean = await pull(running, connection(sim))
    # Concurrent requests share the fault counter, so one request can draw several faults in a row: enough retries
    # that only a fault that never clears could fail the pull.
    patient = RetryPolicy(max_retries=8, backoff_base_s=0.01, backoff_max_s=0.1, connect_timeout_s=2, read_timeout_s=2)
    sim.set_faults(Faults(provider="google", rate_limit_every_n=3, retry_after_s=0))
    flaky = await pull(running, connection(sim), policy=patient)
    sim.set_faults(Faults(provider="google", error_every_n=4, error_status=503))
    failing = await pull(running, connection(sim), policy=patient)

    assert {d: x.billed_usd for d, x in flaky.days.items()} == {d: x.billed_usd for d, x in clean.days.items()}
    assert {d: x.totals for d, x in failing.days.items()} == {d: x.totals for d, x in clean.days.items()}
    assert any(r.status == 429 for r in sim.requests)


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        (Faults(provider="google", error_every_n=1, error_status=503), ProviderUnavailable),
        (Faults(provider="google", rate_limit_every_n=1, retry_after_s=60), ProviderRateLimited),
        (Faults(provider="google", hang_ms=5_000), ProviderUnavailable),
        (Faults(google_denied="monitoring"), ProviderPermissionError),
        (Faults(google_denied="billing"), BillingExportUnreadable),
    ],
    ids=["down", "rate-limited", "hanging", "monitoring-role-removed", "billing-role-removed"],
)
async def test_failures_that_no_retry_fixes_fail_the_pull(
    running: RunningSimulator, sim: ProviderSimulator, faults: Faults, error: type[Exception]
) -> None:
    secret = connection(sim)
    sim.set_faults(faults)
    policy = RetryPolicy(max_retries=1, backoff_base_s=0.01, backoff_max_s=0.5, connect_timeout_s=1, read_timeout_s=0.5)
    with pytest.raises(error):
        await pull(running, secret, policy=policy)


@pytest.mark.parametrize("endpoint", ["timeSeries", "queries"])
async def test_a_malformed_day_fails_alone(running: RunningSimulator, sim: ProviderSimulator, endpoint: str) -> None:
    bad = date(2026, 11, 12)
    sim.set_faults(Faults(malformed_day=bad, malformed_provider="google", malformed_endpoint=endpoint))

    result = await pull(running, connection(sim))

    assert result.failed_days == (bad,)
    assert result.days[bad].error_code == "provider_malformed_response"
    good = date(2026, 11, 11)
    assert result.days[good].billed_usd == sim.google_truth(BILLING_ACCOUNT, good).billed_cost_usd
    assert result.provider is Provider.GOOGLE


async def test_a_refused_family_fails_its_own_days_and_the_other_families_are_still_read(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    """One ``timeSeries.list`` query refused (400 INVALID_ARGUMENT) no longer fails the whole Google pull."""
    refused = "generativelanguage.googleapis.com/quota/generate_content_paid_tier_input_token_count/usage"
    sim.set_faults(Faults(google_refused_metric=refused))

    result = await pull(running, connection(sim))

    failure = result.days[WINDOW[0]]
    assert failure.status is DayStatus.FAILED
    assert "gemini_api_input_paid_tier of project acme-studio" in (failure.error_message or "")
    read = {p["report"] for p in result.raw_pages}
    assert {"monitoring.vertex_ai", "monitoring.gemini_api_output", "billing_export"} <= read


async def test_validation_probes_every_family_the_sync_queries(
    running: RunningSimulator, sim: ProviderSimulator
) -> None:
    refused = "generativelanguage.googleapis.com/generate_content_usage_output_token_count"
    sim.set_faults(Faults(google_refused_metric=refused))

    async with client(running, connection(sim)) as source:
        with pytest.raises(ProviderResponseError):
            await source.validate()

    probed = {r.query["filter"][0] for r in sim.requests if r.path.endswith("/timeSeries")}
    assert len(probed) == len(FAMILIES)


async def test_only_a_refused_grant_is_a_revoked_key(running: RunningSimulator, sim: ProviderSimulator) -> None:
    """RFC 6749 §5.2: ``invalid_scope`` is about the request, ``invalid_grant`` about the grant (the key)."""
    settings = Settings(**{k.lower(): v for k, v in running.google_env().items()})
    account = parse_connection(connection(sim)).service_account
    async with httpx.AsyncClient() as http:
        provider = ProviderHttp(Provider.GOOGLE, "", dict, http=http, policy=POLICY, sleep=asyncio.sleep, rng=None)
        with pytest.raises(ProviderResponseError) as raised:
            await AccessTokens(account, provider, settings.google_token_url, scopes=()).token()

    assert raised.value.code == "google_token_refused"
    assert not isinstance(raised.value, ProviderAuthError)
