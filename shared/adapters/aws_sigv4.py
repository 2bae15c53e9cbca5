"""AWS Signature Version 4 for the few AWS calls the platform makes (CloudWatch, Cost Explorer).

Written against the AWS General Reference "Create a signed AWS API request" (canonical request → string to sign →
derived signing key → ``Authorization`` header) and pinned by the documented test vectors
(``tests/unit/test_aws_sigv4.py``). botocore's signer would do the same, but importing botocore costs a cold start
about 100 times this module's (ADR 0022); the signer is 60 lines of hashlib.

``SigV4Auth`` is an ``httpx.Auth``: it signs the request httpx actually sends (final URL, query and body bytes), so
nothing signed can differ from what goes on the wire.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

import httpx
from pydantic import SecretStr

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class AwsCredentials:
    """An access key pair, with the session token of temporary (STS) credentials."""

    access_key_id: str
    secret_access_key: SecretStr
    session_token: SecretStr | None = None
    expiration: datetime | None = None

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key_id={self.access_key_id[:4]}…)"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(query: str) -> str:
    """Parameters sorted by encoded name then value, each name and value URI-encoded once."""
    pairs = []
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        pairs.append((_encode(httpx.QueryParams(f"n={name}")["n"]), _encode(httpx.QueryParams(f"v={value}")["v"])))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def signature_headers(
    method: str,
    url: httpx.URL,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AwsCredentials,
    *,
    region: str,
    service: str,
    now: datetime,
) -> dict[str, str]:
    """The headers to add to a request so AWS accepts it: ``X-Amz-Date``, ``Authorization`` and, for temporary
    credentials, ``X-Amz-Security-Token``. ``headers`` must already hold ``host`` and every header to sign."""
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    added = {"x-amz-date": amz_date}
    if credentials.session_token is not None:
        added["x-amz-security-token"] = credentials.session_token.get_secret_value()
    signed = {k.lower(): " ".join(str(v).split()) for k, v in {**headers, **added}.items()}
    names = sorted(signed)
    canonical = "\n".join(
        [
            method.upper(),
            _canonical_path(url.raw_path.split(b"?", 1)[0].decode("ascii") or "/", service),
            canonical_query(url.query.decode("ascii")),
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _hmac(f"AWS4{credentials.secret_access_key.get_secret_value()}".encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {"X-Amz-Date": amz_date, "Authorization": authorization} | (
        {"X-Amz-Security-Token": added["x-amz-security-token"]} if "x-amz-security-token" in added else {}
    )


def _canonical_path(path: str, service: str) -> str:
    # Every AWS service but S3 encodes each already-encoded path segment once more (RFC 3986 unreserved kept); S3
    # encodes the object key once ("Do not normalize URI paths ... URI-encode once", SigV4 for Amazon S3).
    if service == "s3":
        return "/".join(_encode(unquote(segment)) for segment in path.split("/"))
    return "/".join(_encode(segment) for segment in path.split("/"))


class SigV4Auth(httpx.Auth):
    """Signs each request httpx sends with ``credentials`` for ``service`` in ``region``."""

    def __init__(self, credentials: AwsCredentials, *, region: str, service: str) -> None:
        self._credentials = credentials
        self._region = region
        self._service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        to_sign = {"host": request.headers["host"]}
        if self._service == "s3":  # S3 requires the payload's hash, signed, on every SigV4 request
            request.headers["x-amz-content-sha256"] = hashlib.sha256(request.content).hexdigest()
        for name in ("content-type", "x-amz-target", "x-amz-content-sha256"):
            if name in request.headers:
                to_sign[name] = request.headers[name]
        request.headers.update(
            signature_headers(
                request.method,
                request.url,
                to_sign,
                request.content,
                self._credentials,
                region=self._region,
                service=self._service,
                now=datetime.now(UTC),
            )
        )
        yield request
