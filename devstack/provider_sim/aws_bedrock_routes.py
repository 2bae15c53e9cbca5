"""Amazon Bedrock's control plane, mounted at ``/aws/bedrock/{region}``: the model catalogue the sync reads.

CloudWatch's ``ListMetrics`` forgets a model two weeks after its last call (ListMetrics, CloudWatch API Reference),
so the sync also asks Bedrock which models and inference profiles exist and reads their metrics directly. Each rule
here is a documented one (Amazon Bedrock API Reference):

* ``GET /foundation-models`` — ``ListFoundationModels``: optional filters ``byProvider``, ``byCustomizationType``
  (``FINE_TUNING`` | ``CONTINUED_PRE_TRAINING`` | ``DISTILLATION``), ``byOutputModality`` (``TEXT`` | ``IMAGE`` |
  ``EMBEDDING``), ``byInferenceType`` (``ON_DEMAND`` | ``PROVISIONED``); answers ``{"modelSummaries": [...]}``, each
  with ``modelArn``, ``modelId``, ``modelName``, ``providerName``, modalities, ``inferenceTypesSupported`` and
  ``modelLifecycle``. It does not page.
* ``GET /inference-profiles`` — ``ListInferenceProfiles``: ``maxResults`` 1–1000, ``nextToken`` (1–2048 characters),
  ``type`` ``SYSTEM_DEFINED`` | ``APPLICATION``; answers ``{"inferenceProfileSummaries": [...], "nextToken"}``, each
  with ``inferenceProfileId``, ``inferenceProfileArn``, ``inferenceProfileName``, ``models``, ``status``, ``type``.
* The REST-JSON protocol: SigV4 with the signing name ``bedrock``; errors carry their code in the
  ``x-amzn-ErrorType`` header and ``{"message": …}`` in the body: ``ValidationException`` (400),
  ``AccessDeniedException`` (403) — an action missing from the role's policy — and ``ThrottlingException`` (429).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from devstack.provider_sim import aws_data
from devstack.provider_sim.aws_auth import Refused, authenticate
from devstack.provider_sim.aws_data import BedrockAccount
from devstack.provider_sim.simulator import ProviderSimulator

REST_TYPE = "application/json"
_ENUMS = {
    "byCustomizationType": {"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"},
    "byOutputModality": {"TEXT", "IMAGE", "EMBEDDING"},
    "byInferenceType": {"ON_DEMAND", "PROVISIONED"},
}
PROFILE_TYPES = {"SYSTEM_DEFINED", "APPLICATION"}


def rest_error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"message": message}), status, media_type=REST_TYPE, headers={"x-amzn-ErrorType": code})


async def catalogue(sim: ProviderSimulator, request: Request, what: str) -> Response:
    region = request.path_params["region"]
    session = await authenticate(sim, request, region, "bedrock", await request.body())
    account = sim.aws.account(session.account_id)
    if what == "foundation-models":
        _allowed(account, "bedrock:ListFoundationModels")
        return _foundation_models(account, region, request)
    _allowed(account, "bedrock:ListInferenceProfiles")
    return _profiles(sim, account, region, request)


def _allowed(account: BedrockAccount, action: str) -> None:
    if action in account.denied_actions:
        who = f"arn:aws:sts::{account.account_id}:assumed-role/{account.role_name}/usage-tracking"
        raise Refused(rest_error(403, "AccessDeniedException", f"User: {who} is not authorized to perform: {action}"))


def _foundation_models(account: BedrockAccount, region: str, request: Request) -> Response:
    for name, allowed in _ENUMS.items():
        value = request.query_params.get(name)
        if value is not None and value not in allowed:
            raise Refused(rest_error(400, "ValidationException", f"Value '{value}' at '{name}' failed to satisfy"))
    summaries = [
        {
            "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
            "modelId": model_id,
            "modelName": model_id.split(".", 1)[-1],
            "providerName": model_id.split(".", 1)[0].title(),
            "inputModalities": ["TEXT"],
            "outputModalities": ["EMBEDDING" if "embed" in model_id else "TEXT"],
            "inferenceTypesSupported": ["ON_DEMAND"],
            "modelLifecycle": {"status": "ACTIVE"},
        }
        for model_id in aws_data.foundation_models(account, region)
    ]
    return Response(json.dumps({"modelSummaries": summaries}), 200, media_type=REST_TYPE)


def _profiles(sim: ProviderSimulator, account: BedrockAccount, region: str, request: Request) -> Response:
    params = request.query_params
    try:
        size = int(params.get("maxResults", "1000"))
    except ValueError:
        size = 0
    token = params.get("nextToken")
    kind = params.get("type")
    if not 1 <= size <= 1000 or (kind is not None and kind not in PROFILE_TYPES):
        message = "maxResults must be 1-1000 and type SYSTEM_DEFINED or APPLICATION"
        raise Refused(rest_error(400, "ValidationException", message))
    if token is not None and (not token.isdigit() or not 1 <= len(token) <= 2048):
        raise Refused(rest_error(400, "ValidationException", "Invalid pagination token"))
    profiles: list[dict[str, Any]] = []
    if kind in (None, "SYSTEM_DEFINED"):
        profiles += [_profile(region, account, p, "SYSTEM_DEFINED") for p in aws_data.system_profiles(region)]
    size = min(size, sim.aws.profiles_per_page)
    offset = int(token or 0)
    out: dict[str, Any] = {"inferenceProfileSummaries": profiles[offset : offset + size]}
    if offset + size < len(profiles):
        out["nextToken"] = str(offset + size)
    return Response(json.dumps(out), 200, media_type=REST_TYPE)


def _profile(region: str, account: BedrockAccount, profile_id: str, kind: str) -> dict[str, Any]:
    base = profile_id.split(".", 1)[1]
    return {
        "inferenceProfileId": profile_id,
        "inferenceProfileArn": f"arn:aws:bedrock:{region}:{account.account_id}:inference-profile/{profile_id}",
        "inferenceProfileName": profile_id,
        "models": [{"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{base}"}],
        "status": "ACTIVE",
        "type": kind,
    }
