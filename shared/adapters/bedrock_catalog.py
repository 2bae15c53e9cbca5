"""Which Bedrock model ids a region could have metrics for: Bedrock's own catalogue, not CloudWatch's memory.

CloudWatch's ``ListMetrics`` "doesn't return information about metrics if those metrics haven't reported data in the
past two weeks. To retrieve those metrics, use GetMetricData" (CloudWatch API Reference, ListMetrics). A 90-day
backfill that only asked ``ListMetrics`` would lose every model the enterprise stopped calling more than two weeks
ago. So the sync also lists the region's foundation models (``ListFoundationModels``, which does not page) and its
inference profiles, system-defined and the customer's own (``ListInferenceProfiles``, paged by ``nextToken``, at
most 1000 a page), and asks ``GetMetricData`` about those directly (ADR 0022, amendment).

CloudWatch's ``ModelId`` is the id the caller invoked: a model id, a system profile id (``us.…``, ``global.…``), or
for an application profile its ARN or id (the docs do not say which, so both are asked).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.adapters.aws_json import BEDROCK, AwsJson
from shared.errors import ProviderResponseError

LIST_MODELS = "bedrock:ListFoundationModels"
LIST_PROFILES = "bedrock:ListInferenceProfiles"
PAGE_SIZE = 1000
"""``ListInferenceProfiles``' largest ``maxResults``."""
MAX_PAGES = 50


async def catalogue(aws: AwsJson, region: str) -> set[str]:
    """Every model id and inference profile id (and application profile ARN) of ``region``."""
    page = await aws.get(BEDROCK, region, "/foundation-models", {}, "ListFoundationModels", LIST_MODELS)
    found = _ids(page.body.get("modelSummaries"), ("modelId",))
    params: dict[str, str] = {"maxResults": str(PAGE_SIZE)}
    for _ in range(MAX_PAGES):
        page = await aws.get(BEDROCK, region, "/inference-profiles", params, "ListInferenceProfiles", LIST_PROFILES)
        found |= _ids(page.body.get("inferenceProfileSummaries"), ("inferenceProfileId", "inferenceProfileArn"))
        token = page.body.get("nextToken")
        if not token:
            return found
        params = {**params, "nextToken": str(token)}
    raise ProviderResponseError("Bedrock ListInferenceProfiles did not stop paging", provider="bedrock")


def _ids(summaries: Any, keys: Iterable[str]) -> set[str]:
    """The ids of a listing; a system profile's ARN is not a ``ModelId`` CloudWatch uses, so only the customer's
    own (``APPLICATION``) profiles contribute theirs."""
    if not isinstance(summaries, list):
        return set()
    found: set[str] = set()
    for summary in summaries:
        if not isinstance(summary, Mapping):
            continue
        for key in keys:
            value = summary.get(key)
            is_arn = key.endswith("Arn")
            if isinstance(value, str) and value and (not is_arn or summary.get("type") == "APPLICATION"):
                found.add(value)
    return found
