"""An S3 bucket holding a CUR 2.0 Data Export, mounted at ``/aws/s3/{region}`` (path-style).

Each rule is a documented one:

* Layout (AWS Data Exports User Guide, "Understanding export delivery"): data under
  ``<path>/data/BILLING_PERIOD=YYYY-MM/``, manifests under ``<path>/metadata/BILLING_PERIOD=YYYY-MM/``; this bucket
  uses the "create new" delivery option, so each execution has its own folder (``…/<execution-id>/``). The current
  month has two executions: an early one (the month as first delivered, days missing) and the latest (restated);
  the platform must take the newest. Past months have one, final.
* The manifest ("Data Exports manifest file reference"): ``executionId``, ``exportArn``, ``columns`` (``name``,
  ``type``), ``dataFiles`` (full ``s3://`` URIs, ``<export-name>-<part>.<ext>``). Files are gzip/csv or Parquet.
* ``ListObjectsV2`` (S3 API Reference): ``GET /<bucket>?list-type=2&prefix=…&continuation-token=…``; answers
  ``ListBucketResult`` XML (``Contents`` with ``Key``, ``LastModified``, ``ETag``, ``Size``; ``IsTruncated``,
  ``NextContinuationToken``), at most ``max-keys`` (1000) a page. ``GetObject``: ``GET /<bucket>/<key>``.
* Errors are XML ``<Error><Code>``: ``NoSuchBucket``/``NoSuchKey`` (404), ``AccessDenied`` (403), a bucket asked in
  another region ``PermanentRedirect`` (301). Every request is SigV4-signed for ``s3`` and carries a signed
  ``x-amz-content-sha256`` equal to the payload's hash (SigV4 for Amazon S3, "Common request headers").
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from devstack.provider_sim import aws_data
from devstack.provider_sim.aws_auth import Refused, authenticate
from devstack.provider_sim.aws_data import BedrockAccount, CurExport
from devstack.provider_sim.simulator import ProviderSimulator

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
COLUMNS = (
    "bill_billing_period_start_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_line_item_type",
    "line_item_product_code",
    "product_servicecode",
    "line_item_usage_type",
    "line_item_usage_amount",
    "line_item_unblended_cost",
)


TYPES = {
    "bill_billing_period_start_date": "date",
    "line_item_usage_start_date": "timestamp",
    "line_item_usage_end_date": "timestamp",
    "line_item_usage_amount": "double",
    "line_item_unblended_cost": "double",
}
"""Columns of a Parquet export that are not strings (their manifest ``columns[].type``)."""


def s3_error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status, media_type="application/xml")


async def handle(sim: ProviderSimulator, request: Request) -> Response:
    region, bucket = request.path_params["region"], request.path_params["bucket"]
    key = request.path_params.get("key", "")
    body = await request.body()
    try:
        session = await authenticate(sim, request, region, "s3", body)
    except Refused as e:  # the signature checks are shared with the JSON endpoints; S3 answers them in XML
        refusal = json.loads(bytes(e.response.body))
        return s3_error(e.response.status_code, refusal.get("__type", "AccessDenied"), refusal.get("message", ""))
    signed = "x-amz-content-sha256" in request.headers.get("authorization", "")
    if not signed or request.headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
        return s3_error(400, "InvalidRequest", "Missing or unsigned x-amz-content-sha256")
    owner = next((a for a in sim.aws.accounts() if a.cur is not None and a.cur.bucket == bucket), None)
    if owner is None or owner.cur is None:
        return s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
    if owner.cur.region != region:
        return s3_error(301, "PermanentRedirect", "The bucket must be addressed using the specified endpoint")
    action = "s3:GetObject" if key else "s3:ListBucket"
    if owner.account_id != session.account_id or action in owner.denied_actions:
        return s3_error(403, "AccessDenied", "Access Denied")
    objects = _objects(sim, owner, owner.cur)
    if not key:
        return _list(sim, objects, request)
    if key not in objects:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return Response(objects[key][1], 200, media_type="application/octet-stream")


def _list(sim: ProviderSimulator, objects: dict[str, tuple[datetime, bytes]], request: Request) -> Response:
    params = request.query_params
    if params.get("list-type") != "2":
        return s3_error(400, "InvalidArgument", "the simulator serves ListObjectsV2 only")
    prefix = params.get("prefix", "")
    size = min(int(params.get("max-keys", "1000")), sim.aws.keys_per_page)
    keys = sorted(k for k in objects if k.startswith(prefix))
    offset = int(params.get("continuation-token") or 0)
    page = keys[offset : offset + size]
    truncated = offset + size < len(keys)
    contents = "".join(
        f"<Contents><Key>{k}</Key><LastModified>{objects[k][0].strftime('%Y-%m-%dT%H:%M:%S.000Z')}</LastModified>"
        f'<ETag>"{hashlib.md5(objects[k][1]).hexdigest()}"</ETag><Size>{len(objects[k][1])}</Size>'  # noqa: S324 - S3's ETag is an MD5
        "<StorageClass>STANDARD</StorageClass></Contents>"
        for k in page
    )
    token = f"<NextContinuationToken>{offset + size}</NextContinuationToken>" if truncated else ""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{NS}"><Name>bucket</Name>'
        f"<Prefix>{prefix}</Prefix><KeyCount>{len(page)}</KeyCount><MaxKeys>{size}</MaxKeys>"
        f"<IsTruncated>{str(truncated).lower()}</IsTruncated>{contents}{token}</ListBucketResult>"
    )
    return Response(xml, 200, media_type="application/xml")


def _objects(sim: ProviderSimulator, account: BedrockAccount, export: CurExport) -> dict[str, tuple[datetime, bytes]]:
    """Every object of the export: per billing period, its executions' manifests and data files."""
    now = sim.now()
    today = now.date()
    out: dict[str, tuple[datetime, bytes]] = {}
    month = account.history_start.replace(day=1)
    while month <= today:
        following = (month + timedelta(days=32)).replace(day=1)
        last = min(following, today)
        executions = [("final" if following <= today else "latest", last, now - timedelta(hours=1))]
        if following > today:  # the month as first delivered, before restatement: a week of days missing
            executions.append(("early", last - timedelta(days=7), now - timedelta(days=2)))
        for execution, until, at in executions:
            _execution(out, account, export, month, execution, until, at)
        month = following
    return out


def _execution(
    out: dict[str, tuple[datetime, bytes]],
    account: BedrockAccount,
    export: CurExport,
    month: date,
    execution: str,
    until: date,
    at: datetime,
) -> None:
    period = f"BILLING_PERIOD={month.strftime('%Y-%m')}"
    ext = "snappy.parquet" if export.parquet else "csv.gz"
    data_key = f"{export.path}/data/{period}/{execution}/{export.name}-00001.{ext}"
    rows = list(_rows(account, month, until))
    out[data_key] = (at, _parquet(rows) if export.parquet else _csv(rows))
    manifest: dict[str, Any] = {
        "executionId": f"{execution}-{month.isoformat()}",
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{account.account_id}:export/{export.name}",
        "columns": [{"name": c, "type": TYPES.get(c, "string") if export.parquet else "string"} for c in COLUMNS],
        "dataFiles": [f"s3://{export.bucket}/{data_key}"],
    }
    out[f"{export.path}/metadata/{period}/{execution}/{export.name}-Manifest.json"] = (
        at,
        json.dumps(manifest).encode(),
    )


def _rows(account: BedrockAccount, month: date, until: date) -> Iterator[tuple[Any, ...]]:
    for day in aws_data.days_between(month, until):
        start = datetime.combine(day, time(), UTC)
        end = start + timedelta(days=1)
        for usage_type, amount in sorted(aws_data.bill(account, day).items()):
            yield (month, start, end, "Usage", "AmazonBedrock", "AmazonBedrock", usage_type, 1, Decimal(amount))
        # Another service's line: the platform must leave it out.
        yield (month, start, end, "Usage", "AmazonEC2", "AmazonEC2", "BoxUsage:m5.large", 24, Decimal("2.3"))


def _csv(rows: list[tuple[Any, ...]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v for v in row])
    return gzip.compress(text.getvalue().encode(), mtime=0)


def _parquet(rows: list[tuple[Any, ...]]) -> bytes:
    """Typed columns as Data Exports writes them: dates and timestamps, doubles for amounts and costs."""
    import pyarrow as pa  # only Parquet exports need it
    import pyarrow.parquet as pq

    types = {"date": pa.date32(), "timestamp": pa.timestamp("ms", tz="UTC"), "double": pa.float64()}
    columns = {
        name: pa.array(
            [float(r[i]) if TYPES.get(name) == "double" else r[i] for r in rows], types.get(TYPES.get(name, ""))
        )
        for i, name in enumerate(COLUMNS)
    }
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, compression="snappy")
    return sink.getvalue()
