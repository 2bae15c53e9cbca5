"""``UsageSourceFactory`` for the real providers: a client per (provider, key), opened for one use.

OpenAI and Anthropic open on an admin key; Google on its connection (service-account key, project ids, billing
export table; ``shared.domain.providers.google.connection``); Bedrock on its role or access key, regions and Cost
Explorer choice (``shared.domain.providers.bedrock.connection``); Azure OpenAI on its service principal, accounts and
Cost Management choice (``shared.domain.providers.azure.connection``).

Each call builds a client that owns its own ``httpx.AsyncClient``; leaving the ``async with`` block closes it. A
client is never kept between requests: its connection pool belongs to the event loop it first ran on.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from pydantic import SecretStr

from shared.adapters.anthropic_admin import AnthropicAdmin
from shared.adapters.azure import AzureUsage
from shared.adapters.bedrock import BedrockUsage
from shared.adapters.google_cloud import GoogleCloudUsage
from shared.adapters.openai_admin import OpenAIAdmin
from shared.adapters.provider_http import RetryPolicy
from shared.adapters.provider_sends import send_gate
from shared.config import Settings
from shared.domain.usage.records import Provider
from shared.errors import InvalidInput
from shared.ports import Clock, UsageSource


class ProviderUsageSources:
    """Opens provider clients at the settings' URLs with the settings' retry policy.

    Args:
        settings: Base URLs, timeouts, retries and concurrency (``provider_*``).
        clock: Passed to the OpenAI and Anthropic clients: the validation asks for the last day's costs, and a window
            ending after now is asked open-ended.
    """

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._policy = RetryPolicy.from_settings(settings)

    def __call__(self, provider: Provider, api_key: SecretStr) -> AbstractAsyncContextManager[UsageSource]:
        if provider is Provider.OPENAI:
            return OpenAIAdmin(api_key, base_url=self._settings.openai_base_url, policy=self._policy, clock=self._clock)
        if provider is Provider.ANTHROPIC:
            return AnthropicAdmin(
                api_key, base_url=self._settings.anthropic_base_url, policy=self._policy, clock=self._clock
            )
        if provider is Provider.GOOGLE:
            return GoogleCloudUsage(api_key, settings=self._settings, policy=self._policy)
        if provider is Provider.BEDROCK:
            return BedrockUsage(api_key, settings=self._settings, policy=self._policy)
        if provider is Provider.AZURE:
            return AzureUsage(api_key, settings=self._settings, policy=self._policy)
        raise InvalidInput(f"{provider.value} usage cannot be read", code="unsupported_provider")

    async def requests_out(self) -> None:
        await send_gate().first_out()
