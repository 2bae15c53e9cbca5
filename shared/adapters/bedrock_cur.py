"""Bedrock's billed cost from the customer's CUR 2.0 export in S3, read with the same federated role (ADR 0022).

Two S3 calls, SigV4-signed for ``s3`` in the bucket's region, path-style at ``Settings.aws_s3_url``
(S3 API Reference): ``ListObjectsV2`` (``GET /<bucket>?list-type=2&prefix=…``, XML, paged by
``continuation-token``) finds the newest manifest of each billing period, ``GetObject`` reads it and its data files.
What the files hold is ``shared.domain.providers.bedrock.cur``'s business. Refusals have their own codes:

===============================  ======================================================  ============================
code                             S3's answer                                             error class
===============================  ======================================================  ============================
``aws_cur_bucket_not_readable``  ``AccessDenied`` (403) or ``NoSuchBucket`` on listing   ``ProviderPermissionError``
``aws_cur_export_not_found``     no ``<export-name>-Manifest.json`` under the path       ``InvalidInput``
``aws_cur_format_unsupported``   a data file neither ``.csv.gz`` nor ``.parquet``            ``InvalidInput``
===============================  ======================================================  ============================

Throttling (``SlowDown``, 503) and server errors are transient.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from shared.adapters.aws_sigv4 import AwsCredentials, SigV4Auth
from shared.config import Settings
from shared.domain.providers.bedrock.cur import (
    CurExport,
    Listed,
    as_cost_explorer,
    bedrock_costs,
    data_keys,
    is_parquet,
    list_result,
    newest_manifest,
)
from shared.errors import (
    InvalidInput,
    ProviderError,
    ProviderPermissionError,
    ProviderRateLimited,
    ProviderResponseError,
    ProviderUnavailable,
)

B = "bedrock"
MAX_PAGES = 100
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
SETUP = "GET /api/v1/enterprise/connect/bedrock/setup?cur_bucket=…&cur_path=…"


class CurReader:
    """Reads one export with credentials obtained per call (the role's session may be renewed in between)."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings, export: CurExport, credentials: Any) -> None:
        self._client, self._settings, self._export, self._credentials = client, settings, export, credentials

    async def check(self, today: date) -> None:
        """Connect-time check: the bucket is readable, an export exists, its files are gzip/csv or Parquet."""
        keys = await self._manifest_keys(today.strftime("%Y-%m"), any_period=True)
        if not keys:
            raise InvalidInput(
                f"no CUR 2.0 export was found under s3://{self._export.bucket}/{self._export.path}/metadata/: give "
                "the export's S3 prefix followed by its name, and wait for its first delivery (up to 24 hours)",
                code="aws_cur_export_not_found",
            )
        manifest = await self._manifest(max(keys, key=lambda o: (o.last_modified, o.key)).key)
        for key in data_keys(manifest, self._export):
            is_parquet(key)  # refuses a kind of file the platform does not read

    async def rows(self, start: date, end: date, days: list[date]) -> list[dict[str, Any]]:
        """Billed cost of ``days`` from the newest export of each billing period they touch, in Cost Explorer's
        ``ResultsByTime`` shape. A period without an export yet gives its days no cost lines (as Cost Explorer's
        lag does); re-reading the newest manifest on every sync is what makes restatements land idempotently."""
        costs: dict[date, dict[str, Decimal]] = {}
        for month in sorted({d.strftime("%Y-%m") for d in days}):
            key = newest_manifest(await self._manifest_keys(month), self._export)
            if key is None:
                continue
            for data_key in data_keys(await self._manifest(key), self._export):
                bedrock_costs(await self._get(data_key), costs, parquet=is_parquet(data_key))
        return as_cost_explorer(costs, days)

    async def _manifest_keys(self, month: str, *, any_period: bool = False) -> list[Listed]:
        prefix = f"{self._export.path}/metadata/" if any_period else self._export.metadata_prefix(month)
        found: list[Listed] = []
        params: dict[str, str] = {"list-type": "2", "prefix": prefix}
        for _ in range(MAX_PAGES):
            response = await self._send(f"/{self._export.bucket}", params, listing=True)
            objects, token = list_result(response.content)
            found += [o for o in objects if o.key.endswith(f"/{self._export.export_name}-Manifest.json")]
            if token is None:
                return found
            params = {**params, "continuation-token": token}
        raise ProviderResponseError("S3 ListObjectsV2 did not stop paging", provider=B)

    async def _manifest(self, key: str) -> dict[str, Any]:
        body = await self._get(key)
        if len(body) > MAX_MANIFEST_BYTES:
            raise ProviderResponseError("the CUR manifest is larger than the platform reads", provider=B)
        try:
            manifest = json.loads(body)
        except ValueError as e:
            raise ProviderResponseError("the CUR manifest is not JSON", provider=B) from e
        if not isinstance(manifest, dict):
            raise ProviderResponseError("the CUR manifest is not a JSON object", provider=B)
        return manifest

    async def _get(self, key: str) -> bytes:
        return (await self._send(f"/{self._export.bucket}/{key}", {}, listing=False)).content

    async def _send(self, path: str, params: dict[str, str], *, listing: bool) -> httpx.Response:
        credentials: AwsCredentials = await self._credentials()
        base = self._settings.aws_s3_url.replace("{region}", self._export.region).rstrip("/")
        auth = SigV4Auth(credentials, region=self._export.region, service="s3")
        try:
            response = await self._client.get(base + path, params=params, auth=auth)
        except httpx.HTTPError as e:
            raise ProviderUnavailable(f"S3 could not be reached: {type(e).__name__}", provider=B) from e
        if response.status_code == 200:
            return response
        raise _refusal(response, listing)


def _refusal(response: httpx.Response, listing: bool) -> ProviderError:
    status = response.status_code
    code = _error_code(response.content)
    if code == "SlowDown" or status == 429:
        return ProviderRateLimited(f"S3 answered {code or status}", provider=B)
    if status >= 500:
        return ProviderUnavailable(f"S3 answered {status}", provider=B)
    if status in (301, 403) or (listing and code == "NoSuchBucket"):
        hint = (
            "the role may not list or read the CUR bucket (or the bucket is in another region): attach the S3 "
            f"statements from {SETUP}, and check the bucket's region"
        )
        return ProviderPermissionError(
            f"S3 refused the CUR export: {code or status}", provider=B, code="aws_cur_bucket_not_readable", hint=hint
        )
    return ProviderResponseError(f"S3 answered {status} {code}".strip(), provider=B)


def _error_code(body: bytes) -> str:
    start, end = body.find(b"<Code>"), body.find(b"</Code>")
    return body[start + 6 : end].decode("utf-8", "replace") if 0 <= start < end else ""
