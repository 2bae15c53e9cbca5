"""Azure OpenAI's domain: connection checks, the setup, and decoding the documented response shapes.

Shapes follow the API references (values are ours):
* Metrics - List, learn.microsoft.com/rest/api/monitor/metrics/list: ``value[].name.value``, ``timeseries[]
  .metadatavalues[]`` and ``data[].timeStamp`` / ``total`` (omitted for an interval without data);
* Deployments - List, learn.microsoft.com/rest/api/aiservices/accountmanagement/deployments/list:
  ``value[].name`` and ``value[].properties.model.name``;
* Query - Usage, learn.microsoft.com/rest/api/cost-management/query/usage: ``properties.columns[]`` (``name``,
  ``type``) and ``properties.rows`` in column order, ``UsageDate`` a number ``yyyymmdd``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import SecretStr

from shared.domain.connections.provider_keys import org_keys_for
from shared.domain.enterprise.model import ProviderName
from shared.domain.providers.azure.connection import bundle, federated_credential, parse_connection, role_assignments
from shared.domain.providers.azure.usage import (
    Deployment,
    MetricDays,
    cost_lines,
    deployment_models,
    metric_days,
    parse_meter,
)
from shared.domain.usage.normalise import price_records
from shared.domain.usage.pricing import Unpriced, list_unit_price
from shared.domain.usage.records import (
    ContextBand,
    CostKind,
    OrgIdentity,
    Provider,
    ServiceTier,
    TokenType,
)
from shared.errors import InvalidInput, ProviderResponseError

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
SUB = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/aoai-eastus"
DAY = date(2026, 11, 30)


def test_a_connection_round_trips_and_never_shows_its_secret() -> None:
    stored = bundle(
        external_id="usage-tracking-x",
        tenant_id=TENANT.upper(),
        client_id=CLIENT,
        accounts=[ACCOUNT + "/"],
        cost_management=True,
        client_secret=SecretStr(" s3cr3t~value "),
    )
    connection = parse_connection(stored)
    assert (connection.tenant_id, connection.accounts, connection.subscription_id) == (TENANT, (ACCOUNT,), SUB)
    assert connection.client_secret is not None
    assert connection.client_secret.get_secret_value() == "s3cr3t~value"
    assert "s3cr3t" not in repr(connection)


def test_a_stored_value_that_is_not_an_azure_connection_is_malformed() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_connection(SecretStr('{"kind": "bedrock"}'))
    assert caught.value.code == "malformed_key"


def test_the_setup_trusts_only_the_platform_subject_with_this_enterprises_audience() -> None:
    credential = federated_credential("usage-tracking-abc", "1234567890")
    assert (credential["issuer"], credential["subject"], credential["audiences"]) == (
        "https://accounts.google.com",
        "1234567890",
        ["usage-tracking-abc"],
    )
    scopes = {r["role"]: r["scope"] for r in role_assignments([ACCOUNT])}
    assert scopes["Cost Management Reader"] == f"/subscriptions/{SUB}"


def test_deployments_map_to_their_models() -> None:
    body = {
        "value": [
            {
                "name": "Prod-4o",
                "sku": {"name": "DataZoneStandard", "capacity": 50},
                "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "x"}},
            },
            {"name": "no-sku", "properties": {"model": {"format": "OpenAI", "name": "o3-mini", "version": "x"}}},
            {"name": "broken", "properties": {}},
        ]
    }
    assert deployment_models(body) == {
        "prod-4o": Deployment("gpt-4o", "DataZoneStandard"),
        "no-sku": Deployment("o3-mini", None),
    }


@pytest.mark.parametrize(
    ("sku", "priced", "reason"),
    [
        ("GlobalStandard", True, None),
        ("GlobalBatch", True, None),
        ("DataZoneStandard", False, "no_deployment_type_price"),
        ("Standard", False, "no_deployment_type_price"),
        ("ProvisionedManaged", False, "provisioned_throughput"),
        ("GlobalProvisionedManaged", False, "provisioned_throughput"),
        ("DataZoneProvisionedManaged", False, "provisioned_throughput"),
        (None, False, "no_deployment_type_price"),
    ],
)
def test_only_deployment_types_whose_price_the_data_carry_are_priced_per_token(
    sku: str | None, priced: bool, reason: str | None
) -> None:
    """Azure OpenAI deployment types (learn.microsoft.com/azure/ai-services/openai/how-to/deployment-types): standard
    types are billed per token at prices that depend on the data zone; provisioned ones per hour of PTUs. genai-prices'
    ``azure`` prices are the Global ones, so a Data Zone or regional deployment stays unpriced, never at the Global
    or first-party price, and a provisioned deployment's tokens have no per-token price at all."""
    point = {"timeStamp": "2026-11-30T00:00:00Z", "total": 1000.0}
    meta = [{"name": {"value": "modeldeploymentname"}, "value": "reasoning"}]
    body = {
        "value": [{"name": {"value": "GeneratedTokens"}, "timeseries": [{"metadatavalues": meta, "data": [point]}]}]
    }
    out = MetricDays()
    metric_days(body, "aoai-eastus", {"reasoning": Deployment("o3-mini", sku)}, [DAY], out)
    (record,) = price_records(Provider.AZURE, DAY, out.usage[DAY])
    assert record.priced is priced
    assert record.unpriced_reason == reason
    if priced:
        assert record.list_cost_usd is not None
        assert record.list_cost_usd > 0


def test_metrics_land_on_their_utc_day_per_deployment_model_and_account() -> None:
    def series(deployment: str, total: float | None) -> dict[str, object]:
        point: dict[str, object] = {"timeStamp": "2026-11-30T00:00:00Z"}
        if total is not None:
            point["total"] = total
        meta = [
            {"name": {"value": "modeldeploymentname", "localizedValue": "ModelDeploymentName"}, "value": deployment}
        ]
        return {"metadatavalues": meta, "data": [point, {"timeStamp": "2026-12-01T00:00:00Z", "total": 9.0}]}

    body = {
        "value": [
            {
                "name": {"value": "ProcessedPromptTokens"},
                "timeseries": [series("prod-4o", 1200.0), series("gone", 5.0)],
            },
            {"name": {"value": "GeneratedTokens"}, "timeseries": [series("prod-4o", None)]},
            {"name": {"value": "AzureOpenAIRequests"}, "timeseries": [series("prod-4o", 3.0)]},
        ]
    }
    out = MetricDays()
    metric_days(body, "aoai-eastus", {"prod-4o": Deployment("gpt-4o", "GlobalStandard")}, [DAY], out)
    got = {(r.model, r.project_id, r.token_type, r.quantity) for r in out.usage[DAY]}
    assert got == {
        ("gpt-4o", "aoai-eastus", TokenType.UNCACHED_INPUT, 1200),
        ("gone", "aoai-eastus", TokenType.UNCACHED_INPUT, 5),  # a deleted deployment keeps its own name
    }


def test_a_metric_value_that_is_not_a_count_is_an_error_of_the_response() -> None:
    body = {
        "value": [
            {
                "name": {"value": "GeneratedTokens"},
                "timeseries": [{"data": [{"timeStamp": "2026-11-30T00:00:00Z", "total": -1}]}],
            }
        ]
    }
    with pytest.raises(ProviderResponseError):
        metric_days(body, "a", {}, [DAY], MetricDays())


@pytest.mark.parametrize(
    ("meter", "model", "kind"),
    [
        ("gpt-4o-0806 Inp glbl 1M Tokens", "gpt-4o-0806", TokenType.UNCACHED_INPUT),
        ("gpt-4o-0806-Outp-glbl 1K Tokens", "gpt-4o-0806", TokenType.OUTPUT),
        ("gpt 4o mini cached Input Tokens", "gpt 4o mini", TokenType.CACHE_READ),
        ("Standard Provisioned Throughput Unit", None, None),
    ],
)
def test_a_meter_name_gives_the_model_and_token_kind_as_far_as_it_tells(
    meter: str, model: str | None, kind: TokenType | None
) -> None:
    parsed = parse_meter(meter)
    assert (parsed.model, parsed.token_type) == (model, kind)


def test_cost_rows_are_read_by_column_name_whatever_their_order() -> None:
    properties = {
        "columns": [
            {"name": "UsageDate", "type": "Number"},
            {"name": "ResourceId", "type": "String"},
            {"name": "Meter", "type": "String"},
            {"name": "PreTaxCost", "type": "Number"},
            {"name": "Currency", "type": "String"},
        ],
        "rows": [
            [20261130, ACCOUNT.lower(), "gpt-4o-0806 Inp glbl 1M Tokens", Decimal("1.234567"), "USD"],
            [20261130, ACCOUNT.lower(), "Standard Provisioned Throughput Unit", Decimal("10"), "USD"],
            [20261130, ACCOUNT.lower(), "o3-mini Outp glbl 1M Tokens", 0, "USD"],
        ],
    }
    [tokens, unknown] = cost_lines(properties)[DAY]
    assert (tokens.amount_usd, tokens.kind, tokens.project_id) == (Decimal("1.234567"), CostKind.TOKENS, "aoai-eastus")
    assert (unknown.amount_usd, unknown.kind) == (Decimal(10), CostKind.UNKNOWN)  # billed, never dropped


def test_a_bill_in_another_currency_fails_rather_than_being_called_usd() -> None:
    properties = {
        "columns": [{"name": "Cost"}, {"name": "UsageDate"}, {"name": "Currency"}],
        "rows": [[Decimal("3.5"), 20261130, "EUR"]],
    }
    with pytest.raises(ProviderResponseError):
        cost_lines(properties)


def test_azure_usage_is_never_priced_at_the_first_party_openai_price() -> None:
    """genai-prices falls back from azure to openai for a model it lacks: that is refused."""
    args = (TokenType.UNCACHED_INPUT, ServiceTier.STANDARD, ContextBand.STANDARD, DAY)
    assert not isinstance(list_unit_price(Provider.OPENAI, "gpt-4o", *args), Unpriced)
    assert isinstance(list_unit_price(Provider.AZURE, "gpt-4o", *args), Unpriced)
    assert not isinstance(list_unit_price(Provider.AZURE, "o3-mini", *args), Unpriced)


def test_the_benchmark_organisation_is_the_tenant_and_account_names_identify_nothing() -> None:
    identity = OrgIdentity(
        provider=Provider.AZURE,
        org_id=TENANT,
        org_name=None,
        permissions=(),
        principal=CLIENT,
        projects=("aoai-eastus",),
        billing_export=True,
    )
    assert org_keys_for(ProviderName.AZURE, identity) == [f"azure:org:{TENANT}"]
