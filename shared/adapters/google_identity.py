"""Google-signed OIDC identity tokens of the function's own service account, for web identity federation (AWS).

On Google Cloud the metadata server mints them (``…/service-accounts/default/identity?audience=…&format=full``,
header ``Metadata-Flavor: Google``); the token proves to AWS STS that the caller is our service account, so no AWS
key is ever stored for a role connection. In local mode there is no metadata server: the local stack's minter
(``shared.local_mode``) makes the same claims unsigned, as it does for Cloud Tasks' OIDC tokens, and only the
simulator accepts them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from pydantic import SecretStr

from shared.config import Settings
from shared.errors import ProviderUnavailable
from shared.local_mode import token_minter

IdentityTokens = Callable[[str], Awaitable[SecretStr]]
"""audience → an identity token for it."""


def identity_tokens(settings: Settings, http: httpx.AsyncClient) -> IdentityTokens:
    """The token source for where we run."""
    if settings.local_mode:
        subject, minter = settings.aws_federation_subjects[0], token_minter()

        async def local(audience: str) -> SecretStr:
            return SecretStr(minter.identity_token(subject, audience=audience))

        return local

    async def metadata(audience: str) -> SecretStr:
        try:
            response = await http.get(
                settings.google_identity_token_url,
                params={"audience": audience, "format": "full"},
                headers={"Metadata-Flavor": "Google"},
            )
        except httpx.RequestError as e:
            raise ProviderUnavailable("the metadata server did not answer", provider="google") from e
        if response.status_code != 200:
            raise ProviderUnavailable(f"the metadata server answered {response.status_code}", provider="google")
        return SecretStr(response.text.strip())

    return metadata
