"""A behaving ``UsageSourceFactory``: keys registered with the organisation they prove, or the error they cause.

    sources = FakeUsageSources()
    sources.admit("sk-admin-good-0000000000", OrgIdentity(provider=Provider.OPENAI, org_id=None, ...))
    sources.refuse("sk-admin-revoked-000000000", ProviderAuthError("revoked", provider="openai"))

An unregistered key is refused like an unknown key (``ProviderAuthError``). Every opened source is closed when its
``async with`` block ends; ``open_count`` and ``closed_count`` say so.
"""

from __future__ import annotations

import asyncio
from datetime import date
from types import TracebackType

from pydantic import SecretStr

from shared.domain.usage.records import OrgIdentity, Provider, ProviderPull
from shared.errors import ProviderAuthError, ProviderError
from shared.ports import EarlyDays


class _FakeSource:
    def __init__(self, owner: FakeUsageSources, provider: Provider, key: str) -> None:
        self.provider = provider
        self._owner = owner
        self._key = key

    async def __aenter__(self) -> _FakeSource:
        self._owner.open_count += 1
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._owner.closed_count += 1

    async def validate(self) -> OrgIdentity:
        self._owner.validations.append(self.provider)
        if self._owner.delay_s:
            await asyncio.sleep(self._owner.delay_s)
        outcome = self._owner.outcomes.get(self._key)
        if isinstance(outcome, ProviderError):
            raise outcome
        if outcome is None or outcome.provider is not self.provider:
            raise ProviderAuthError(f"{self.provider.value} returned 401: invalid key", provider=self.provider.value)
        return outcome

    async def pull(self, start: date, end_exclusive: date, *, early: EarlyDays | None = None) -> ProviderPull:
        raise NotImplementedError("connect never pulls usage")


class FakeUsageSources:
    """``UsageSourceFactory`` whose keys' outcomes the test decides."""

    def __init__(self) -> None:
        self.outcomes: dict[str, OrgIdentity | ProviderError] = {}
        self.validations: list[Provider] = []
        self.open_count = 0
        self.closed_count = 0
        self.delay_s = 0.0
        """How long every validation takes (a slow provider)."""

    def admit(self, key: str, identity: OrgIdentity) -> None:
        self.outcomes[key] = identity

    def refuse(self, key: str, error: ProviderError) -> None:
        self.outcomes[key] = error

    def __call__(self, provider: Provider, api_key: SecretStr) -> _FakeSource:
        return _FakeSource(self, provider, api_key.get_secret_value())

    async def requests_out(self) -> None:
        return None
