"""CUR 2.0 export parsing (``shared.domain.providers.bedrock.cur``), from the AWS documentation's shapes.

Layout and manifest: AWS Data Exports User Guide, "Understanding export delivery" and "Data Exports manifest file
reference"; listing: S3 API Reference, ListObjectsV2 (response syntax); columns: CUR 2.0 table dictionary
(``line_item_product_code``, ``line_item_usage_type``, ``line_item_unblended_cost``, ``line_item_usage_start_date``).
"""

from __future__ import annotations

import gzip
from datetime import date
from decimal import Decimal

import pytest

from shared.domain.providers.bedrock.connection import permissions_policy
from shared.domain.providers.bedrock.cur import (
    CurExport,
    bedrock_costs,
    data_keys,
    is_parquet,
    list_result,
    newest_manifest,
)
from shared.errors import InvalidInput, ProviderResponseError

EXPORT = CurExport(bucket="acme-billing", path="/cur/bedrock-cur2/", region="us-east-1")
LISTING = b"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>acme-billing</Name><Prefix>cur/bedrock-cur2/metadata/BILLING_PERIOD=2026-11/</Prefix><KeyCount>3</KeyCount>
  <MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
  <Contents><Key>cur/bedrock-cur2/metadata/BILLING_PERIOD=2026-11/a1/bedrock-cur2-Manifest.json</Key>
    <LastModified>2026-11-20T03:00:00.000Z</LastModified><ETag>"1"</ETag><Size>10</Size></Contents>
  <Contents><Key>cur/bedrock-cur2/metadata/BILLING_PERIOD=2026-11/b2/bedrock-cur2-Manifest.json</Key>
    <LastModified>2026-12-02T03:00:00.000Z</LastModified><ETag>"2"</ETag><Size>10</Size></Contents>
  <Contents><Key>cur/bedrock-cur2/metadata/BILLING_PERIOD=2026-11/b2/other-Manifest.json</Key>
    <LastModified>2026-12-03T03:00:00.000Z</LastModified><ETag>"3"</ETag><Size>10</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>"""


def test_the_newest_manifest_of_the_export_is_the_one_read() -> None:
    objects, token = list_result(LISTING)
    assert token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
    assert (
        newest_manifest(objects, EXPORT)
        == "cur/bedrock-cur2/metadata/BILLING_PERIOD=2026-11/b2/bedrock-cur2-Manifest.json"
    )


def test_only_bedrock_rows_count_with_their_utc_day_and_unblended_cost() -> None:
    rows = (
        "line_item_usage_start_date,line_item_product_code,product_servicecode,line_item_usage_type,"
        "line_item_unblended_cost\n"
        "2026-11-18T00:00:00Z,AmazonBedrock,AmazonBedrock,USE1-Claude3.5Sonnet-input-tokens,1.2500000000\n"
        "2026-11-18T00:00:00Z,AmazonBedrock,AmazonBedrock,USE1-Claude3.5Sonnet-input-tokens,0.2500000000\n"
        "2026-11-18T00:00:00Z,prod-abc,Claude 3.5 Sonnet (Amazon Bedrock Edition),USE1-MP:Units,3\n"
        "2026-11-18T00:00:00Z,AmazonEC2,AmazonEC2,BoxUsage:m5.large,2.3\n"
    )
    costs: dict[date, dict[str, Decimal]] = {}
    bedrock_costs(gzip.compress(rows.encode()), costs)
    assert costs == {
        date(2026, 11, 18): {"USE1-Claude3.5Sonnet-input-tokens": Decimal("1.5"), "USE1-MP:Units": Decimal(3)}
    }


def test_a_manifest_naming_another_bucket_is_refused() -> None:
    """A manifest is the customer's file: it must not make the platform read (or sign for) another bucket."""
    assert data_keys({"dataFiles": ["s3://acme-billing/cur/x-00001.csv.gz"]}, EXPORT) == ["cur/x-00001.csv.gz"]
    with pytest.raises(ProviderResponseError):
        data_keys({"dataFiles": ["s3://someone-else/cur/x-00001.csv.gz"]}, EXPORT)


@pytest.mark.parametrize(
    "fields",
    [
        {"bucket": "Not_A_Bucket", "path": "cur/x", "region": "us-east-1"},
        {"bucket": "acme-billing", "path": "cur/../x", "region": "us-east-1"},
        {"bucket": "acme-billing", "path": "cur/x", "region": "moon-1"},
    ],
)
def test_an_export_location_is_checked_before_it_is_stored(fields: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        CurExport(**fields)
    assert caught.value.code == "invalid_cur"


def test_the_permissions_policy_reads_only_the_exports_folder() -> None:
    statements = permissions_policy(cur=EXPORT)["Statement"]
    s3 = {s["Action"]: s["Resource"] for s in statements if str(s["Action"]).startswith("s3:")}
    assert s3 == {
        "s3:ListBucket": "arn:aws:s3:::acme-billing",
        "s3:GetObject": "arn:aws:s3:::acme-billing/cur/bedrock-cur2/*",
    }


@pytest.mark.parametrize("key", ["cur/x/data/BILLING_PERIOD=2026-11/x-00001.csv", "cur/x/data/x-00001.json.gz"])
def test_a_data_file_of_neither_format_is_refused_with_its_code(key: str) -> None:
    """Data Exports writes gzip/csv or Parquet ("Data Exports manifest file reference"); nothing else is guessed at."""
    with pytest.raises(InvalidInput) as caught:
        is_parquet(key)
    assert caught.value.code == "aws_cur_format_unsupported"
    assert is_parquet("cur/x/data/x-00001.snappy.parquet")
    assert not is_parquet("cur/x/data/x-00001.csv.gz")
