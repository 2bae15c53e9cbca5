"""Simulated AWS accounts for Bedrock tests, and the connections the platform would store for them."""

from __future__ import annotations

from datetime import date

from pydantic import SecretStr

from devstack.provider_sim.aws_data import BedrockAccount
from shared.config import Settings
from shared.domain.connections.federation import external_id_for
from shared.domain.providers.bedrock.connection import bundle
from shared.domain.providers.bedrock.cur import CurExport
from tests.conftest import TEST_PROJECT

ACCOUNT = "111122223333"
ROLE = "usage-tracking"
SUBJECT = Settings().aws_federation_subjects[0]


def bedrock_account(
    enterprise_id: str, account_id: str = ACCOUNT, *, history_start: date, **changes: object
) -> BedrockAccount:
    """An account whose role trusts the platform (its default subject) for ``enterprise_id``'s external id."""
    fields: dict[str, object] = {
        "account_id": account_id,
        "role_name": ROLE,
        "external_id": external_id_for(TEST_PROJECT, enterprise_id),
        "trusted_subjects": frozenset({SUBJECT}),
        "history_start": history_start,
        **changes,
    }
    return BedrockAccount(**fields)  # type: ignore[arg-type]


def connection(
    enterprise_id: str,
    account_id: str = ACCOUNT,
    *,
    regions: tuple[str, ...] = ("us-east-1", "eu-central-1"),
    cost_explorer: bool = True,
    cur: CurExport | None = None,
) -> SecretStr:
    """What the connect route stores for ``enterprise_id``'s role in ``account_id``."""
    return bundle(
        external_id=external_id_for(TEST_PROJECT, enterprise_id),
        regions=regions,
        cost_explorer=cost_explorer,
        role_arn=f"arn:aws:iam::{account_id}:role/{ROLE}",
        cur=cur,
    )
