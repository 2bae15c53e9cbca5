"""Bedrock's billed cost from Cost Explorer (ADR 0022): ``GetDimensionValues`` finds the services whose name holds
"Bedrock" (Amazon Bedrock and the Marketplace "… (Amazon Bedrock Edition)" services, which exact-match filters
cannot guess), then ``GetCostAndUsage`` (``DAILY``, ``UnblendedCost``, filtered to them, grouped by ``USAGE_TYPE``,
paged by ``NextPageToken``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.adapters.aws_json import COST_EXPLORER, COST_EXPLORER_REGION, AwsJson
from shared.adapters.report_pager import days_of
from shared.errors import ProviderResponseError

COST_PERMISSION = "ce:GetCostAndUsage"
MAX_PAGES = 200


async def cost_explorer_rows(aws: AwsJson, start: date, end: date) -> list[dict[str, Any]]:
    """Daily ``UnblendedCost`` of the Bedrock services by usage type, as Cost Explorer's ``ResultsByTime``."""
    period = {"Start": start.isoformat(), "End": end.isoformat()}
    lookup = {"TimePeriod": period, "Dimension": "SERVICE", "SearchString": "Bedrock", "Context": "COST_AND_USAGE"}
    values = await aws.call(COST_EXPLORER, COST_EXPLORER_REGION, "GetDimensionValues", lookup, "ce:GetDimensionValues")
    services = sorted({str(v.get("Value")) for v in values.body.get("DimensionValues") or [] if v.get("Value")})
    if not services:
        return [{"TimePeriod": {"Start": d.isoformat()}, "Groups": []} for d in days_of(start, end)]
    body: dict[str, Any] = {
        "TimePeriod": period,
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "Filter": {"Dimensions": {"Key": "SERVICE", "Values": services}},
        "GroupBy": [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
    }
    results: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = await aws.call(COST_EXPLORER, COST_EXPLORER_REGION, "GetCostAndUsage", body, COST_PERMISSION)
        results += page.body.get("ResultsByTime") or []
        token = page.body.get("NextPageToken")
        if not token:
            return results
        body = {**body, "NextPageToken": token}
    raise ProviderResponseError("Cost Explorer did not stop paging", provider="bedrock")
