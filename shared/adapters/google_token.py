"""OAuth 2.0 access tokens for a Google service account (the JWT-bearer grant, RFC 7523).

google-auth signs the assertion (``google.auth.crypt.RSASigner`` from the key's ``private_key``, RS256, the key id
in the header); the exchange itself goes through the platform's ``ProviderHttp`` so it has the same timeouts,
retries and error mapping as every provider call. The assertion's audience and the URL it is posted to are
``Settings.google_token_url``, never the key's own ``token_uri``: a key pasted by an attacker could otherwise have
our server send a signed assertion (usable for an hour) to a host of their choosing.

A refused key is ``ProviderAuthError`` (``provider_key_invalid``): Google answers 400 ``invalid_grant`` for a
deleted or disabled key and 401 for a disabled account. Any other 400 (``invalid_scope``, ``invalid_request``...)
is the platform's request, not the key, and an ``invalid_grant`` about the assertion's times is our clock
(``google_errors.token``): neither marks the key failed. A token is reused until a minute before it expires.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from google.auth import crypt, jwt
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from shared.adapters import google_errors
from shared.adapters.provider_http import ProviderHttp
from shared.domain.providers.google.connection import ServiceAccountKey
from shared.domain.usage.records import Provider
from shared.errors import InvalidInput, ProviderResponseError

ASSERTION_LIFETIME_S = 3600
REFRESH_MARGIN_S = 60
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class _TokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: SecretStr
    expires_in: int = Field(default=3600, gt=0)
    token_type: str = "Bearer"  # noqa: S105 - a scheme name


@dataclass(frozen=True)
class _Token:
    value: SecretStr
    expires_at: float


class AccessTokens:
    """Access tokens of one service account, minted at ``token_url`` and cached while valid.

    Args:
        account: The service account's key; its private key is only read to sign an assertion.
        http: Posts the token request (its base URL is empty: ``token_url`` is absolute).
        token_url: ``Settings.google_token_url``; also the assertion's audience.
        scopes: OAuth scopes to ask for.
    """

    def __init__(self, account: ServiceAccountKey, http: ProviderHttp, token_url: str, scopes: Sequence[str]) -> None:
        self._account = account
        self._http = http
        self._token_url = token_url
        self._scopes = " ".join(scopes)
        self._token: _Token | None = None
        self._minting = asyncio.Lock()
        """Concurrent requests wait for one token instead of each minting its own."""

    def __repr__(self) -> str:
        return f"AccessTokens(account={self._account.client_email!r})"

    async def headers(self) -> dict[str, str]:
        """``Authorization`` for a Google API call, minting a token when none is valid."""
        return {"Authorization": f"Bearer {(await self.token()).get_secret_value()}"}

    async def token(self) -> SecretStr:
        async with self._minting:
            now = time.time()
            if self._token is None or self._token.expires_at - REFRESH_MARGIN_S <= now:
                self._token = await self._mint(now)
            return self._token.value

    async def _mint(self, now: float) -> _Token:
        response = await self._http.post_json(
            self._token_url,
            form={"grant_type": GRANT_TYPE, "assertion": self._assertion(int(now))},
            explain=google_errors.token,
        )
        try:
            parsed = _TokenResponse.model_validate(response.body)
        except ValidationError as e:
            raise ProviderResponseError("google token response is malformed", provider=Provider.GOOGLE.value) from e
        return _Token(parsed.access_token, now + parsed.expires_in)

    def _assertion(self, now: int) -> str:
        try:
            signer = crypt.RSASigner.from_service_account_info(self._account.signing_info())
        except ValueError:  # checked at connect; only a corrupted stored key gets here
            raise InvalidInput("the stored service-account key cannot sign", code="malformed_key") from None
        payload = {
            "iss": self._account.client_email,
            "scope": self._scopes,
            "aud": self._token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
        }
        return str(jwt.encode(signer, payload).decode("ascii"))
