"""Bedrock's billed cost from a CUR 2.0 export in the simulator's S3, over real HTTP (ADR 0022, amendment).

Sources of the simulator's rules (``devstack/provider_sim/aws_s3_routes.py``): AWS Data Exports User Guide,
"Understanding export delivery" (docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html: layout,
one manifest per billing period, refreshed) and "Data Exports manifest file reference" (``dataFiles``); S3 API
Reference, ListObjectsV2 and GetObject; "Signature Version 4 for Amazon S3" (signed ``x-amz-content-sha256``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from devstack.provider_sim import RunningSimulator, serve
from devstack.provider_sim.aws_data import CurExport as SimCur
from devstack.provider_sim.simulator import ProviderSimulator
from shared.adapters.aws_sigv4 import AwsCredentials, signature_headers
from shared.adapters.bedrock import BedrockUsage
from shared.adapters.provider_http import RetryPolicy
from shared.config import Settings
from shared.domain.providers.bedrock.cur import CurExport
from shared.domain.usage.records import CostSource, OrgIdentity, ProviderPull
from shared.errors import InvalidInput, ProviderPermissionError
from tests.support.bedrock_sim import bedrock_account, connection

TODAY = datetime.now(UTC).date()
CENT = Decimal("0.01")
POLICY = RetryPolicy(max_retries=1, backoff_base_s=0.001, backoff_max_s=0.01, concurrency=4)
CUR = "121212121212"
PARQUET = "131313131313"
LOCKED = "141414141414"
EXPORT = CurExport(bucket="acme-billing", path="cur/bedrock-cur2", region="eu-west-1")
PARQUET_EXPORT = CurExport(bucket="parquet-billing", path=EXPORT.path, region="eu-west-1")


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    sim = ProviderSimulator()
    start = TODAY - timedelta(days=40)
    # Cost Explorer is off in every account: a billed day can only come from the export.
    off = {"cost_explorer_enabled": False, "regions": ("us-east-1",)}
    sim.add_bedrock_account(
        bedrock_account(
            "ent_cur", CUR, history_start=start, cur=SimCur("acme-billing", EXPORT.path, "eu-west-1"), **off
        )
    )
    parquet = SimCur("parquet-billing", EXPORT.path, "eu-west-1", parquet=True)
    sim.add_bedrock_account(bedrock_account("ent_cur_parquet", PARQUET, history_start=start, cur=parquet, **off))
    locked = SimCur("locked-billing", EXPORT.path, "eu-west-1")
    sim.add_bedrock_account(
        bedrock_account(
            "ent_cur_locked", LOCKED, history_start=start, cur=locked, denied_actions={"s3:ListBucket"}, **off
        )
    )
    sim.aws.keys_per_page = 2  # listings page
    with serve(sim) as running:
        yield running


def _settings(running: RunningSimulator) -> Settings:
    env = {k.lower(): v for k, v in running.aws_env().items()}
    return Settings(firebase_auth_emulator_host="127.0.0.1:9099", **env)  # type: ignore[arg-type]


def _key(enterprise: str, account: str, export: CurExport = EXPORT) -> SecretStr:
    return connection(enterprise, account, regions=("us-east-1",), cost_explorer=False, cur=export)


def _pull(running: RunningSimulator, key: SecretStr, start: date, end: date) -> ProviderPull:
    async def go() -> ProviderPull:
        async with BedrockUsage(key, settings=_settings(running), policy=POLICY) as source:
            return await source.pull(start, end)

    return asyncio.run(go())


def _validate(running: RunningSimulator, key: SecretStr) -> OrgIdentity:
    async def go() -> OrgIdentity:
        async with BedrockUsage(key, settings=_settings(running), policy=POLICY) as source:
            return await source.validate()

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("enterprise", "account", "export"),
    [("ent_cur", CUR, EXPORT), ("ent_cur_parquet", PARQUET, PARQUET_EXPORT)],
    ids=["gzip-csv", "parquet"],
)
def test_every_billed_day_equals_the_truth_to_the_cent_from_the_newest_export(
    running: RunningSimulator, enterprise: str, account: str, export: CurExport
) -> None:
    """The window spans billing periods, and the current one has an early and a restated execution: only the
    newest manifest's files count, so the days the early one lacked are billed too. Data Exports writes either
    format ("Data Exports manifest file reference"); Parquet's typed columns (timestamps, doubles) give the same
    cents as the CSV's text."""
    start = TODAY - timedelta(days=35)
    pull = _pull(running, _key(enterprise, account, export), start, TODAY)
    assert pull.failed_days == ()
    for day, provider_day in pull.days.items():
        truth = running.sim.bedrock_truth(account, day)
        assert provider_day.cost_source is CostSource.BILLED
        assert provider_day.billed_usd.quantize(CENT) == truth.billed_usd.quantize(CENT), day
    assert pull.days[TODAY - timedelta(days=1)].billed_usd > 0  # restated days, absent from the early execution


def test_a_second_sync_reads_the_same_export_to_the_same_days(running: RunningSimulator) -> None:
    window = (TODAY - timedelta(days=3), TODAY)
    first, second = (_pull(running, _key("ent_cur", CUR), *window) for _ in range(2))
    assert {d: p.cost_lines for d, p in first.days.items()} == {d: p.cost_lines for d, p in second.days.items()}


def test_validation_reads_the_export_and_reports_billed_cost(running: RunningSimulator) -> None:
    identity = _validate(running, _key("ent_cur", CUR))
    assert identity.billing_export is True
    assert "s3:GetObject" in identity.permissions


@pytest.mark.parametrize(
    ("enterprise", "account", "export", "error", "code"),
    [
        (
            "ent_cur_locked",
            LOCKED,
            CurExport(bucket="locked-billing", path=EXPORT.path, region="eu-west-1"),
            ProviderPermissionError,
            "aws_cur_bucket_not_readable",
        ),
        (
            "ent_cur",
            CUR,
            CurExport(bucket="acme-billing", path="cur/other-name", region="eu-west-1"),
            InvalidInput,
            "aws_cur_export_not_found",
        ),
        (
            "ent_cur",
            CUR,
            CurExport(bucket="acme-billing", path=EXPORT.path, region="us-east-1"),
            ProviderPermissionError,
            "aws_cur_bucket_not_readable",
        ),
    ],
    ids=["not-readable", "no-export", "wrong-region"],
)
def test_each_export_problem_has_its_own_code(
    running: RunningSimulator, enterprise: str, account: str, export: CurExport, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as caught:
        _validate(running, _key(enterprise, account, export))
    assert getattr(caught.value, "code", None) == code


def test_the_simulated_bucket_refuses_unsigned_requests_and_unsigned_payload_hashes(running: RunningSimulator) -> None:
    """S3 requires SigV4 and, on every SigV4 request, a signed ``x-amz-content-sha256`` ("Signature Version 4 for
    Amazon S3", common request headers)."""
    url = _settings(running).aws_s3_url.replace("{region}", "eu-west-1") + "/acme-billing?list-type=2"
    unsigned = httpx.get(url)
    assert unsigned.status_code == 403
    assert "<Code>MissingAuthenticationTokenException</Code>" in unsigned.text
    session = running.sim.aws.issue(running.sim.aws.account(CUR), datetime.now(UTC), 900)
    credentials = AwsCredentials(
        session.access_key_id, SecretStr(session.secret_access_key), SecretStr(session.session_token or "")
    )
    request = httpx.Request("GET", url)
    request.headers.update(
        signature_headers(
            "GET",
            request.url,
            {"host": request.headers["host"]},
            b"",
            credentials,
            region="eu-west-1",
            service="s3",
            now=datetime.now(UTC),
        )
    )
    with httpx.Client() as client:
        no_hash = client.send(request)
    assert (no_hash.status_code, "<Code>InvalidRequest</Code>" in no_hash.text) == (400, True)
