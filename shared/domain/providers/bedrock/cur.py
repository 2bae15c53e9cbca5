"""A CUR 2.0 Data Export in S3 → Bedrock's billed cost per UTC day and usage type (ADR 0022, amendment).

Where AWS puts an export (AWS Data Exports User Guide, "Understanding export delivery",
docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html): data under
``s3://<bucket>/<prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/`` and, per billing period, a manifest under
``…/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/`` named ``<export-name>-Manifest.json``, rewritten at every refresh
(with the "create new" delivery option each execution writes its own, under its execution id). CUR is restated during
the month and finalised after it, so the newest manifest of a billing period (by ``LastModified``) is the one read.

The manifest (User Guide, "Data Exports manifest file reference") lists ``dataFiles``: full ``s3://`` URIs of gzip/csv
(``.csv.gz``) or Parquet (``.parquet``) files, and ``columns``. Both are read; a file of any other kind is refused
(``aws_cur_format_unsupported``). Parquet's columns are typed (timestamps, doubles): each value is taken as the text
the CSV would hold, so one reading of a row serves both (a double's shortest round-trip text is the amount AWS wrote).

Bedrock rows are those whose ``line_item_product_code`` is ``AmazonBedrock`` or whose product names Bedrock (the
Marketplace "… (Amazon Bedrock Edition)" services); each gives ``line_item_usage_type`` (the same usage types as
Cost Explorer's, parsed by ``bedrock.usage.cost_lines``), ``line_item_unblended_cost`` (USD, a decimal string, the
metric Cost Explorer's path reads too) and ``line_item_usage_start_date`` (UTC).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from shared.errors import InvalidInput, ProviderResponseError

_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
_PATH = re.compile(r"[A-Za-z0-9!_.*'()/-]{1,512}")
PRODUCT_CODE = "AmazonBedrock"
MAX_CSV_BYTES = 512 * 1024 * 1024
"""A bound on one decompressed data file (a month of a large account's CUR is tens of MB, Bedrock rows or not)."""
_COLUMNS = (
    "line_item_product_code",
    "product_servicecode",
    "product_product_name",
    "line_item_usage_type",
    "line_item_unblended_cost",
    "line_item_usage_start_date",
)
"""What is read of a Parquet file (its columns are read alone; a CSV row is read whole)."""


class CurExport(BaseModel):
    """Where the customer's CUR 2.0 export is: ``s3://bucket/path/`` with ``path`` = ``<prefix>/<export-name>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str
    path: str
    """The export's folder: the prefix given to Data Exports, then the export's name (its last segment)."""
    region: str
    """The bucket's region (S3 requests are signed for it)."""

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.fullmatch(value) or ".." in value:
            raise InvalidInput("cur_bucket must be an S3 bucket name such as my-billing-exports", code="invalid_cur")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.strip("/")
        if not _PATH.fullmatch(value) or "//" in value or ".." in value.split("/"):
            raise InvalidInput(
                "cur_path must be the export's S3 prefix and name, e.g. cur/bedrock-cur2", code="invalid_cur"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.fullmatch(value):
            raise InvalidInput("the CUR bucket's region must be an AWS region such as us-east-1", code="invalid_cur")
        return value

    @property
    def export_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def metadata_prefix(self, month: str) -> str:
        return f"{self.path}/metadata/BILLING_PERIOD={month}/"


@dataclass(frozen=True)
class Listed:
    key: str
    last_modified: datetime


def list_result(xml: bytes) -> tuple[list[Listed], str | None]:
    """A ``ListObjectsV2`` answer's objects and continuation token (S3 API Reference, ListObjectsV2)."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise ProviderResponseError("S3 sent an unexpected listing", provider="bedrock")
    try:
        root = ET.fromstring(xml)  # noqa: S314 - no DTD or entity can be in it (checked above)
    except ET.ParseError as e:
        raise ProviderResponseError("S3 sent a listing that is not XML", provider="bedrock") from e
    out = []
    for item in root.iter(f"{_S3_NS}Contents"):
        key, modified = item.findtext(f"{_S3_NS}Key"), item.findtext(f"{_S3_NS}LastModified")
        if key and modified:
            stamp = datetime.fromisoformat(modified.replace("Z", "+00:00")).astimezone(UTC)
            out.append(Listed(key, stamp))
    truncated = (root.findtext(f"{_S3_NS}IsTruncated") or "false").lower() == "true"
    return out, root.findtext(f"{_S3_NS}NextContinuationToken") if truncated else None


def newest_manifest(objects: Iterable[Listed], export: CurExport) -> str | None:
    """The newest ``<export-name>-Manifest.json`` of the listing, or ``None``."""
    manifests = [o for o in objects if o.key.endswith(f"/{export.export_name}-Manifest.json")]
    return max(manifests, key=lambda o: (o.last_modified, o.key)).key if manifests else None


def data_keys(manifest: Mapping[str, Any], export: CurExport) -> list[str]:
    """The keys of the manifest's data files, all in the export's bucket (raises otherwise)."""
    files = manifest.get("dataFiles")
    if not isinstance(files, list):
        raise ProviderResponseError("the CUR manifest lists no dataFiles", provider="bedrock")
    keys = []
    for uri in files:
        prefix = f"s3://{export.bucket}/"
        if not isinstance(uri, str) or not uri.startswith(prefix):
            raise ProviderResponseError("the CUR manifest names a file outside the export's bucket", provider="bedrock")
        keys.append(uri[len(prefix) :])
    return keys


def is_parquet(key: str) -> bool:
    """Whether a data file is Parquet (else gzip/csv); raises ``aws_cur_format_unsupported`` for any other kind."""
    lowered = key.lower()
    if lowered.endswith(".parquet"):
        return True
    if lowered.endswith(".csv.gz"):
        return False
    raise InvalidInput(
        "a CUR 2.0 data file is neither gzip/csv nor Parquet: create the export with one of Data Exports' two "
        "formats, or connect with Cost Explorer instead",
        code="aws_cur_format_unsupported",
    )


def bedrock_costs(data: bytes, into: dict[date, dict[str, Decimal]], *, parquet: bool = False) -> None:
    """Add one data file's Bedrock rows to ``into`` (day → usage type → unblended cost)."""
    for row in _parquet_rows(data) if parquet else _csv_rows(data):
        if not _is_bedrock(row):
            continue
        usage_type = row.get("line_item_usage_type") or ""
        try:
            amount = Decimal(row.get("line_item_unblended_cost") or "0")
            day = datetime.fromisoformat(str(row["line_item_usage_start_date"]).replace("Z", "+00:00"))
        except (KeyError, InvalidOperation, ValueError) as e:
            raise ProviderResponseError("a CUR row has no usable cost or usage date", provider="bedrock") from e
        if not amount.is_finite():
            raise ProviderResponseError("a CUR row's cost is not a number", provider="bedrock")
        utc_day = (day if day.tzinfo else day.replace(tzinfo=UTC)).astimezone(UTC).date()
        by_type = into.setdefault(utc_day, {})
        by_type[usage_type] = by_type.get(usage_type, Decimal(0)) + amount


def _csv_rows(gz: bytes) -> Iterable[Mapping[str, str | None]]:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(gz)) as unzipped:
            text = unzipped.read(MAX_CSV_BYTES + 1)  # bounded: a small file may inflate enormously
    except (OSError, EOFError) as e:
        raise ProviderResponseError("a CUR data file is not gzip", provider="bedrock") from e
    if len(text) > MAX_CSV_BYTES:
        raise ProviderResponseError("a CUR data file is larger than the platform reads", provider="bedrock")
    return csv.DictReader(io.StringIO(text.decode("utf-8-sig")))


def _parquet_rows(data: bytes) -> Iterator[Mapping[str, str | None]]:
    if len(data) > MAX_CSV_BYTES:
        raise ProviderResponseError("a CUR data file is larger than the platform reads", provider="bedrock")
    import pyarrow as pa  # only Parquet exports pay its import (a third of a second)
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        table = parquet.read(columns=[c for c in _COLUMNS if c in parquet.schema_arrow.names])
    except (pa.ArrowException, OSError, ValueError) as e:
        raise ProviderResponseError("a CUR data file is not Parquet", provider="bedrock") from e
    for batch in table.to_batches():
        for row in batch.to_pylist():
            yield {name: _as_text(value) for name, value in row.items()}


def _as_text(value: object) -> str | None:
    """A typed Parquet value as the CSV's text: ``repr`` of a double is its shortest round-trip decimal."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def as_cost_explorer(costs: Mapping[date, Mapping[str, Decimal]], days: Iterable[date]) -> list[dict[str, Any]]:
    """The costs in Cost Explorer's ``ResultsByTime`` shape, so one parser (``cost_lines``) reads both sources."""
    return [
        {
            "TimePeriod": {"Start": day.isoformat()},
            "Groups": [
                {"Keys": [usage], "Metrics": {"UnblendedCost": {"Amount": str(amount), "Unit": "USD"}}}
                for usage, amount in sorted(costs.get(day, {}).items())
            ],
        }
        for day in days
    ]


def _is_bedrock(row: Mapping[str, str | None]) -> bool:
    if (row.get("line_item_product_code") or "") == PRODUCT_CODE:
        return True
    names = (row.get("product_servicecode") or "") + " " + (row.get("product_product_name") or "")
    return "bedrock" in names.lower()
