"""A Google billing account for the simulator, and the connection a test connects with (keys generated at run time)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from devstack.provider_sim import GoogleAccount, GoogleProject, GoogleSimOrg, ProviderSimulator
from shared.domain.providers.google.connection import bundle, parse_connection

BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
PROJECTS = ["acme-prod-ai", "acme-studio"]
TABLE = "acme-finops.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
READER = "usage-reader"
"""May read everything."""
NO_STUDIO = "no-studio-reader"
"""May not read Cloud Monitoring in ``acme-studio``."""
NO_BILLING = "no-billing-reader"
"""May not query the billing export."""
DISABLED = "disabled-reader"
"""A disabled service account."""


def google_org(**overrides: Any) -> GoogleSimOrg:
    fields: dict[str, Any] = {
        "org_id": BILLING_ACCOUNT,
        "name": "Acme (Google)",
        "host_project": "acme-usage",
        "projects": [
            GoogleProject(project_id=PROJECTS[0], api="vertex_ai", seed=3),
            GoogleProject(project_id=PROJECTS[1], api="gemini_api", seed=5),
        ],
        "accounts": [
            GoogleAccount(name=READER),
            GoogleAccount(name=NO_STUDIO, monitoring_denied=[PROJECTS[1]]),
            GoogleAccount(name=NO_BILLING, billing_denied=True),
            GoogleAccount(name=DISABLED, disabled=True),
        ],
        "billing_table": TABLE,
        "discount": Decimal("0.15"),
        "history_start": date(2026, 6, 1),
        "pending_polls": 2,
    }
    return GoogleSimOrg(**(fields | overrides))


def connection(
    sim: ProviderSimulator,
    account: str = READER,
    *,
    org_id: str = BILLING_ACCOUNT,
    table: str | None = TABLE,
    projects: list[str] = PROJECTS,
    key: dict[str, Any] | None = None,
) -> SecretStr:
    """The stored form of a Google connection with ``account``'s generated key."""
    found = key if key is not None else sim.google.key(org_id, account)
    return parse_connection(bundle(found, projects, table)).to_secret()
