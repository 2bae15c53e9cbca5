"""Bedrock's pure parts: the connection's checks and policies, CloudWatch and Cost Explorer decoding, regional
pricing. Wire shapes are those of the AWS API references cited in ``shared/domain/providers/bedrock/usage.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr

from shared.domain.connections.federation import external_id_for
from shared.domain.providers.bedrock.connection import (
    bundle,
    parse_connection,
    permissions_policy,
    trust_policy,
)
from shared.domain.providers.bedrock.usage import cost_lines, metric_days, parse_usage_type, queries
from shared.domain.usage.normalise import price_records
from shared.domain.usage.records import ContextBand, CostKind, Provider, ServiceTier, TokenType
from shared.errors import InvalidInput, ProviderResponseError

ROLE = "arn:aws:iam::123456789012:role/usage-tracking"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzCANARYKEY"
DAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"role_arn": "arn:aws:iam::12345:role/x"}, "invalid_role_arn"),
        ({"role_arn": "arn:aws:s3:::bucket"}, "invalid_role_arn"),
        ({"regions": []}, "invalid_aws_regions"),
        ({"regions": ["us-east-1", "us-east-1"]}, "invalid_aws_regions"),
        ({"regions": ["US East"]}, "invalid_aws_regions"),
        ({"role_arn": None}, "invalid_aws_credentials"),
        ({"access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": SecretStr(SECRET)}, "invalid_aws_credentials"),
        ({"role_arn": None, "access_key_id": "ASIA0000", "secret_access_key": SecretStr(SECRET)}, "malformed_key"),
        (
            {"role_arn": None, "access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": SecretStr("x")},
            "malformed_key",
        ),
    ],
)
def test_a_wrong_connection_is_refused_before_any_call_with_its_own_code(changes: dict[str, object], code: str) -> None:
    fields: dict[str, object] = {
        "external_id": "ext",
        "regions": ["us-east-1"],
        "cost_explorer": True,
        "role_arn": ROLE,
    }
    with pytest.raises(InvalidInput) as caught:
        bundle(**{**fields, **changes})  # type: ignore[arg-type]
    assert caught.value.code == code
    assert SECRET not in caught.value.message


def test_the_stored_connection_round_trips_and_never_shows_the_secret_in_its_repr() -> None:
    stored = bundle(
        external_id="ext",
        regions=[" eu-central-1"],
        cost_explorer=False,
        access_key_id="AKIAABCDEFGHIJKLMNOP",
        secret_access_key=SecretStr(SECRET),
    )
    connection = parse_connection(stored)
    assert connection.regions == ("eu-central-1",)
    assert connection.secret_access_key is not None
    assert connection.secret_access_key.get_secret_value() == SECRET
    assert SECRET not in repr(connection)
    assert (
        parse_connection(bundle(external_id="e", regions=["us-east-1"], cost_explorer=True, role_arn=ROLE)).account_id
        == "123456789012"
    )


def test_external_ids_differ_per_enterprise_and_deployment_and_are_stable() -> None:
    ids = {external_id_for(p, e) for p in ("prod", "staging") for e in ("ent_a", "ent_b")}
    assert len(ids) == 4
    assert external_id_for("prod", "ent_a") == external_id_for("prod", "ent_a")


def test_the_trust_policy_pins_our_identity_and_the_enterprises_audience_and_the_permissions_only_read() -> None:
    trust = trust_policy("usage-tracking-abc", "1234567890")
    statement = trust["Statement"][0]
    assert statement["Principal"] == {"Federated": "accounts.google.com"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        "accounts.google.com:aud": "1234567890",
        "accounts.google.com:sub": "1234567890",
        "accounts.google.com:oaud": "usage-tracking-abc",
    }
    actions = permissions_policy()["Statement"][0]["Action"]
    assert sorted(actions) == [
        "bedrock:ListFoundationModels",
        "bedrock:ListInferenceProfiles",
        "ce:GetCostAndUsage",
        "ce:GetDimensionValues",
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
    ]
    assert "ce:GetCostAndUsage" not in permissions_policy(cost_explorer=False)["Statement"][0]["Action"]


@pytest.mark.parametrize(
    ("usage_type", "region", "model", "token_type"),
    [
        ("USE1-Claude3.5Sonnet-input-tokens", "us-east-1", "Claude3.5Sonnet", TokenType.UNCACHED_INPUT),
        ("EUC1-NovaPro-output-tokens", "eu-central-1", "NovaPro", TokenType.OUTPUT),
        ("USW2-Claude3.5Sonnet-cache-read-input-token-count", "us-west-2", "Claude3.5Sonnet", TokenType.CACHE_READ),
        ("APN1-Llama3-cache-write-input-token-count", "ap-northeast-1", "Llama3", TokenType.CACHE_WRITE_5M),
        ("USE1-ModelCustomization-Storage", "us-east-1", None, None),
        ("Something else", "unknown", None, None),
    ],
)
def test_usage_types_are_read_defensively(
    usage_type: str, region: str, model: str | None, token_type: TokenType | None
) -> None:
    parsed = parse_usage_type(usage_type)
    assert (parsed.region, parsed.model, parsed.token_type) == (region, model, token_type)


def test_cost_lines_keep_what_they_do_not_understand_and_refuse_other_currencies() -> None:
    results = [
        {
            "TimePeriod": {"Start": "2026-11-20", "End": "2026-11-21"},
            "Groups": [
                {
                    "Keys": ["USE1-Claude3.5Sonnet-input-tokens"],
                    "Metrics": {"UnblendedCost": {"Amount": "1.2345678901", "Unit": "USD"}},
                },
                {"Keys": ["USE1-ProvisionedThroughput"], "Metrics": {"UnblendedCost": {"Amount": "10", "Unit": "USD"}}},
                {"Keys": ["USE1-NovaPro-output-tokens"], "Metrics": {"UnblendedCost": {"Amount": "0", "Unit": "USD"}}},
            ],
        }
    ]
    lines = cost_lines(results)[DAY]
    assert [(line.kind, line.amount_usd) for line in lines] == [
        (CostKind.TOKENS, Decimal("1.2345678901")),
        (CostKind.UNKNOWN, Decimal(10)),
    ]
    results[0]["Groups"][0]["Metrics"]["UnblendedCost"]["Unit"] = "EUR"  # type: ignore[index]
    with pytest.raises(ProviderResponseError):
        cost_lines(results)


def test_metric_sums_land_on_their_utc_day_rounded_never_truncated() -> None:
    wanted = queries("us-east-1", ["amazon.nova-pro-v1:0"])
    by_id = {q.id: q for q in wanted}
    midnight = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
    results = [
        {"Id": wanted[0].id, "Timestamps": [midnight], "Values": [1999.9999999]},  # InputTokenCount
        {"Id": wanted[4].id, "Timestamps": ["2026-11-20T00:00:00Z"], "Values": [12.0]},  # Invocations
    ]
    days = metric_days(results, by_id, [DAY])
    assert [(u.token_type, u.quantity, u.project_id) for u in days.usage[DAY]] == [
        (TokenType.UNCACHED_INPUT, 2000, "us-east-1")
    ]
    assert [(m.meter, m.quantity) for m in days.meters[DAY]] == [("invocations", 12)]
    with pytest.raises(ProviderResponseError):
        metric_days([{"Id": "zz", "Timestamps": [midnight], "Values": [1]}], by_id, [DAY])
    with pytest.raises(ProviderResponseError):
        metric_days([{"Id": wanted[0].id, "Timestamps": [midnight], "Values": [-1]}], by_id, [DAY])


def _priced(model: str, region: str) -> bool:
    from shared.domain.usage.normalise import RawUsage

    raw = RawUsage(model, region, None, ServiceTier.STANDARD, ContextBand.STANDARD, TokenType.UNCACHED_INPUT, 1000)
    (record,) = price_records(Provider.BEDROCK, DAY, [raw])
    return record.priced


def test_bedrock_is_priced_with_bedrock_prices_only_where_they_apply() -> None:
    assert _priced("anthropic.claude-3-5-sonnet-20240620-v1:0", "us-east-1")
    assert _priced("us.anthropic.claude-sonnet-4-20250514-v1:0", "us-west-2")
    # Another region's prices are not the data's: unpriced rather than priced at US prices.
    assert not _priced("anthropic.claude-3-5-sonnet-20240620-v1:0", "eu-central-1")
    assert not _priced("eu.anthropic.claude-3-5-sonnet-20240620-v1:0", "eu-central-1")
    # A global cross-region profile has one worldwide price.
    assert _priced("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu-central-1")
    # Names only the first-party APIs use find no Bedrock price, and are never priced with first-party data.
    assert not _priced("claude-sonnet-4-5", "us-east-1")
    assert not _priced("gpt-4o", "us-east-1")


def test_the_peer_benchmark_knows_a_bedrock_organisation_by_its_aws_account_never_by_its_regions() -> None:
    from shared.domain.connections.provider_keys import org_keys_for
    from shared.domain.enterprise.model import ProviderName
    from shared.domain.usage.records import OrgIdentity

    def identity(account: str | None) -> OrgIdentity:
        return OrgIdentity(
            provider=Provider.BEDROCK, org_id=account, org_name=None, permissions=(), projects=("us-east-1",)
        )

    assert org_keys_for(ProviderName.BEDROCK, identity("123456789012")) == ["bedrock:org:123456789012"]
    assert org_keys_for(ProviderName.BEDROCK, identity(None)) is None  # an access key: left out of benchmarks
