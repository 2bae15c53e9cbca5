"""Simulated Entra ID tenants for Azure OpenAI tests, and the connections the platform would store for them."""

from __future__ import annotations

import hashlib
from datetime import date

from pydantic import SecretStr

from devstack.provider_sim.azure_data import AzureTenant
from shared.config import Settings
from shared.domain.connections.federation import external_id_for
from shared.domain.providers.azure.connection import bundle
from tests.conftest import TEST_PROJECT

SUBJECT = Settings().aws_federation_subjects[0]


def guid(seed: str) -> str:
    """A stable GUID per test name (tenants, apps and subscriptions are GUIDs)."""
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def azure_tenant(enterprise_id: str, *, history_start: date, **changes: object) -> AzureTenant:
    """A tenant whose app's federated credential trusts the platform (its default subject) for ``enterprise_id``."""
    fields: dict[str, object] = {
        "tenant_id": guid(f"tenant|{enterprise_id}"),
        "client_id": guid(f"app|{enterprise_id}"),
        "subscription_id": guid(f"sub|{enterprise_id}"),
        "external_id": external_id_for(TEST_PROJECT, enterprise_id),
        "trusted_subjects": frozenset({SUBJECT}),
        "history_start": history_start,
        **changes,
    }
    return AzureTenant(**fields)  # type: ignore[arg-type]


def connection(
    enterprise_id: str,
    tenant: AzureTenant,
    *,
    accounts: tuple[str, ...] | None = None,
    cost_management: bool = True,
    client_secret: str | None = None,
) -> SecretStr:
    """What the connect route stores for ``enterprise_id`` naming ``tenant``'s app and accounts."""
    return bundle(
        external_id=external_id_for(TEST_PROJECT, enterprise_id),
        tenant_id=tenant.tenant_id,
        client_id=tenant.client_id,
        accounts=[tenant.resource_id(a) for a in (accounts or tenant.accounts)],
        cost_management=cost_management,
        client_secret=SecretStr(client_secret) if client_secret else None,
    )
