"""One call of an AWS JSON API: a SigV4-signed POST with ``X-Amz-Target``, or a signed REST-JSON GET.

CloudWatch speaks AWS JSON 1.0 (``GraniteServiceVersion20100801.<Operation>``) at one endpoint per region; Cost
Explorer AWS JSON 1.1 (``AWSInsightsIndexService.<Operation>``) at its single us-east-1 endpoint; Bedrock's control
plane REST-JSON (``GET /foundation-models``), with the error code in the ``x-amzn-ErrorType`` header, which only the
status reflects here: a code-less 403 is read as ``AccessDeniedException`` and a 429 as throttling. Calls go through
the platform's ``ProviderHttp`` (timeouts, bounded retries, typed errors), refusals are explained by
``aws_errors``, and every page is kept for the debugging copy (bodies only, never a header).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shared.adapters.aws_errors import api_error, error_code, error_message
from shared.adapters.aws_sigv4 import AwsCredentials, SigV4Auth
from shared.adapters.provider_http import JsonResponse, ProviderHttp, RetryPolicy, Sleep
from shared.config import Settings
from shared.domain.usage.records import Provider
from shared.errors import ProviderError


@dataclass(frozen=True)
class AwsApi:
    service: str
    """The SigV4 signing name."""
    target_prefix: str
    content_type: str


CLOUDWATCH = AwsApi("monitoring", "GraniteServiceVersion20100801", "application/x-amz-json-1.0")
COST_EXPLORER = AwsApi("ce", "AWSInsightsIndexService", "application/x-amz-json-1.1")
COST_EXPLORER_REGION = "us-east-1"
BEDROCK = AwsApi("bedrock", "", "application/json")
_CODE_OF_STATUS = {403: "AccessDeniedException", 429: "ThrottlingException"}


class AwsJson:
    """Signs and sends JSON-protocol calls with the credentials ``credentials()`` returns at the time."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        credentials: Callable[[], Awaitable[AwsCredentials]],
        *,
        policy: RetryPolicy,
        sleep: Sleep,
        rng: random.Random | None,
        pages: list[dict[str, Any]],
    ) -> None:
        self._client, self._settings, self._credentials = client, settings, credentials
        self._policy, self._sleep, self._rng = policy, sleep, rng
        self._pages = pages

    async def call(
        self, api: AwsApi, region: str, operation: str, body: Mapping[str, Any], action: str
    ) -> JsonResponse:
        """``operation`` with ``body`` in ``region``; ``action`` is the IAM action a refusal is explained with."""
        headers = {"Content-Type": api.content_type, "X-Amz-Target": f"{api.target_prefix}.{operation}"}
        http = await self._http(api, region, action)
        page = await http.post_json("/", json_body=dict(body), headers=headers, explain=self._explain(api, action))
        self._pages.append({"endpoint": f"{api.service}:{operation}", "region": region, "body": page.text})
        return page

    async def get(
        self, api: AwsApi, region: str, path: str, params: Mapping[str, str], operation: str, action: str
    ) -> JsonResponse:
        """A REST-JSON ``GET path?params`` in ``region`` (``operation`` names it in the debugging copy)."""
        http = await self._http(api, region, action)
        page = await http.get_json(path, tuple(params.items()), explain=self._explain(api, action))
        self._pages.append({"endpoint": f"{api.service}:{operation}", "region": region, "body": page.text})
        return page

    async def _http(self, api: AwsApi, region: str, action: str) -> ProviderHttp:
        credentials = await self._credentials()
        if api is CLOUDWATCH:
            base = self._settings.aws_cloudwatch_url.replace("{region}", region)
        elif api is BEDROCK:
            base = self._settings.aws_bedrock_url.replace("{region}", region)
        else:
            base = self._settings.aws_cost_explorer_url
        return ProviderHttp(
            Provider.BEDROCK,
            base,
            dict,
            http=self._client,
            policy=self._policy,
            sleep=self._sleep,
            rng=self._rng,
            auth=SigV4Auth(credentials, region=region, service=api.service),
        )

    @staticmethod
    def _explain(api: AwsApi, action: str) -> Callable[[int, Any, str], ProviderError | None]:
        def explain(status: int, error_body: Any, message: str) -> ProviderError | None:
            code = error_code(error_body) or _CODE_OF_STATUS.get(status, "")
            return api_error(api.service, action, code, error_message(error_body), message)

        return explain
