"""Local mode's token minter comes from the process's entry point, never from product code reaching into devstack."""

from __future__ import annotations

import base64
import json

import pytest

from shared import local_mode
from shared.adapters.google_identity import identity_tokens
from shared.config import Settings


def test_a_local_mode_process_the_local_stack_did_not_start_says_how_to_start_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local_mode, "_minter", None)
    settings = Settings(project_id="demo-test", firebase_auth_emulator_host="127.0.0.1:9099")
    with pytest.raises(RuntimeError, match=r"devstack\.local_function"):
        identity_tokens(settings, http=None)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_the_installed_minter_makes_the_identity_tokens_of_local_mode() -> None:
    settings = Settings(project_id="demo-test", firebase_auth_emulator_host="127.0.0.1:9099")
    token = (await identity_tokens(settings, http=None)("sts.amazonaws.com")).get_secret_value()  # type: ignore[arg-type]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # Unsigned, as only local mode accepts, with the claims the metadata server would sign.
    assert (json.loads(base64.urlsafe_b64decode(header + "==="))["alg"], signature) == ("none", "")
    assert (claims["aud"], claims["sub"]) == ("sts.amazonaws.com", settings.aws_federation_subjects[0])
