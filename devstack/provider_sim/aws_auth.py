"""The simulator's AWS authentication: STS ``AssumeRoleWithWebIdentity`` and SigV4 checks on the JSON endpoints.

Rules and their sources are listed in ``aws_routes``' docstring (STS API Reference; General Reference, "Signature
Version 4"; IAM User Guide, "Available keys for AWS web identity federation"). Tokens, sessions and signatures are
judged on the real clock, as AWS judges them; the simulator's data clock only decides which days have usage.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from devstack.provider_sim.aws_data import BedrockAccount
from devstack.provider_sim.aws_state import Session
from devstack.provider_sim.simulator import ProviderSimulator
from shared.adapters.aws_sigv4 import AwsCredentials, signature_headers

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
MAX_SKEW = timedelta(minutes=5)


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def sts_error(status: int, code: str, message: str) -> Response:
    body = (
        f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>sim</RequestId></ErrorResponse>"
    )
    return Response(body, status, media_type="text/xml")


def json_error(status: int, code: str, message: str, content_type: str = "application/x-amz-json-1.1") -> Response:
    return Response(json.dumps({"__type": code, "message": message}), status, media_type=content_type)


# --- STS --------------------------------------------------------------------------------------------------------


def claims_of(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def assume_role(sim: ProviderSimulator, form: dict[str, str]) -> Response:
    for name in ("Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken"):
        if not form.get(name):
            return sts_error(400, "MissingParameter", f"The request must contain the parameter {name}")
    if form["Action"] != "AssumeRoleWithWebIdentity" or form["Version"] != "2011-06-15":
        return sts_error(400, "InvalidAction", "The action or operation requested is invalid.")
    if not _SESSION_NAME.fullmatch(form["RoleSessionName"]):
        return sts_error(400, "ValidationError", "1 validation error detected: Value at 'roleSessionName' failed")
    duration = int(form.get("DurationSeconds") or 3600) if (form.get("DurationSeconds") or "1").isdigit() else -1
    if not 900 <= duration <= 43200:
        return sts_error(400, "ValidationError", "1 validation error detected: Value at 'durationSeconds' failed")
    claims = claims_of(form["WebIdentityToken"])
    now = datetime.now(UTC)  # tokens, sessions and signatures are judged on AWS's real clock, not the data clock
    if claims is None or claims.get("iss") not in ("https://accounts.google.com", "accounts.google.com"):
        return sts_error(400, "InvalidIdentityToken", "The web identity token that was passed could not be validated")
    if int(claims.get("exp") or 0) < now.timestamp():
        return sts_error(400, "ExpiredTokenException", "Token expired")
    account = sim.aws.by_role(form["RoleArn"])
    trusted = account is not None and (
        claims.get("azp") in account.trusted_subjects
        and claims.get("sub") in account.trusted_subjects
        and claims.get("aud") == account.external_id
    )
    if account is None or not trusted:
        return sts_error(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
    session = sim.aws.issue(account, now, duration)
    assert session.expires is not None
    body = (
        f'<AssumeRoleWithWebIdentityResponse xmlns="{STS_NS}"><AssumeRoleWithWebIdentityResult>'
        f"<SubjectFromWebIdentityToken>{claims.get('sub')}</SubjectFromWebIdentityToken>"
        f"<Audience>{claims.get('azp')}</Audience>"
        f"<AssumedRoleUser><Arn>arn:aws:sts::{account.account_id}:assumed-role/{account.role_name}/"
        f"{form['RoleSessionName']}</Arn><AssumedRoleId>AROASIM:{form['RoleSessionName']}</AssumedRoleId>"
        "</AssumedRoleUser>"
        f"<Credentials><SessionToken>{session.session_token}</SessionToken>"
        f"<SecretAccessKey>{session.secret_access_key}</SecretAccessKey>"
        f"<Expiration>{session.expires.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
        f"<AccessKeyId>{session.access_key_id}</AccessKeyId></Credentials>"
        "<Provider>accounts.google.com</Provider>"
        "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata>"
        "</AssumeRoleWithWebIdentityResponse>"
    )
    return Response(body, 200, media_type="text/xml")


# --- SigV4 on the JSON-protocol endpoints --------------------------------------------------------------------


async def authenticate(sim: ProviderSimulator, request: Request, region: str, service: str, body: bytes) -> Session:
    """The session that signed ``request`` for ``service`` in ``region``, or ``Refused`` with AWS's answer."""
    header = request.headers.get("authorization")
    if not header:
        raise Refused(json_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token"))
    match = _AUTH.fullmatch(header.strip())
    amz_date = request.headers.get("x-amz-date", "")
    signed = match["signed"].split(";") if match else []
    if match is None or not amz_date or "host" not in signed or "x-amz-date" not in signed:
        raise Refused(json_error(400, "IncompleteSignatureException", "Authorization header requires Credential"))
    session = sim.aws.session(match["key"])
    if session is None:
        raise Refused(
            json_error(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
        )
    if match["region"] != region or match["service"] != service or match["date"] != amz_date[:8]:
        raise Refused(json_error(400, "InvalidSignatureException", "Credential should be scoped to a valid region."))
    try:
        at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused(json_error(400, "IncompleteSignatureException", "X-Amz-Date is malformed")) from None
    now = datetime.now(UTC)
    if abs(now - at) > MAX_SKEW:
        raise Refused(json_error(400, "InvalidSignatureException", "Signature expired"))
    if session.session_token is not None:
        if request.headers.get("x-amz-security-token") != session.session_token:
            raise Refused(
                json_error(400, "UnrecognizedClientException", "The security token included in the request is invalid")
            )
        if session.expires is not None and session.expires < now:
            raise Refused(
                json_error(400, "ExpiredTokenException", "The security token included in the request is expired")
            )
    to_sign = {n: request.headers.get(n, "") for n in signed if n not in ("x-amz-date", "x-amz-security-token")}
    credentials = AwsCredentials(
        session.access_key_id,
        SecretStr(session.secret_access_key),
        SecretStr(session.session_token) if session.session_token else None,
    )
    url = httpx.URL(str(request.url))
    expected = signature_headers(
        request.method, url, to_sign, body, credentials, region=region, service=service, now=at
    )["Authorization"]
    if expected != header.strip():
        raise Refused(
            json_error(400, "InvalidSignatureException", "The request signature we calculated does not match")
        )
    return session


def denied(account: BedrockAccount, session: Session, action: str, ce: bool) -> None:
    if action in account.denied_actions:
        who = f"arn:aws:sts::{account.account_id}:assumed-role/{account.role_name}/usage-tracking"
        code = "AccessDeniedException" if ce else "AccessDenied"
        raise Refused(json_error(400, code, f"User: {who} is not authorized to perform: {action}"))


def target(request: Request, prefix: str, content_type: str) -> str:
    target = request.headers.get("x-amz-target", "")
    if not target.startswith(prefix + ".") or request.headers.get("content-type", "").split(";")[0] != content_type:
        raise Refused(json_error(400, "UnknownOperationException", "", content_type))
    return target[len(prefix) + 1 :]
