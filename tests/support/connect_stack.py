"""The simulated provider organisations and keys the end-to-end connect tests use.

Every key is distinctive (``E2E`` or ``CANARY`` in its body) so a test can search for it anywhere it must not be.
"""

from __future__ import annotations

from datetime import date

from pydantic import SecretStr

from devstack.provider_sim import ProviderSimulator, SimOrg

OPENAI_ORG_ID = "org-e2eacme"
ANTHROPIC_ORG_ID = "org-e2e-initech"
ANTHROPIC_ORG_NAME = "Initech (E2E)"

OPENAI_KEY = "sk-admin-E2E-openai-first-0000000000000000"
OPENAI_KEY_2 = "sk-admin-E2E-openai-second-111111111111111"
OPENAI_REVOKED = "sk-admin-E2E-openai-revoked-22222222222222"
OPENAI_RESTRICTED = "sk-admin-E2E-openai-restricted-333333333333"
"""Admin-shaped, but the organisation knows it as a key without the usage scope (403 "Missing scopes")."""
OPENAI_UNKNOWN = "sk-admin-E2E-openai-unknown-44444444444444"
ANTHROPIC_KEY = "sk-ant-admin01-E2E-anthropic-first-000000000000"
ANTHROPIC_KEY_2 = "sk-ant-admin01-E2E-anthropic-second-11111111111"
ANTHROPIC_UNKNOWN = "sk-ant-admin01-E2E-anthropic-unknown-2222222222"

CANARY_MARK = "CANARY7e2e"
OPENAI_CANARY = f"sk-admin-{CANARY_MARK}-openai-9f8e7d6c5b4a3928"
OPENAI_CANARY_2 = f"sk-admin-{CANARY_MARK}-openai-rotated-0a1b2c3d4e"
ANTHROPIC_CANARY = f"sk-ant-admin01-{CANARY_MARK}-anthropic-1a2b3c4d5e6f"
CANARY_REFUSED = (
    f"sk-admin-{CANARY_MARK}-unknown-5e6f7a8b9c",
    f"sk-proj-{CANARY_MARK}-project-6f7a8b9c0d",
    f"sk-ant-api03-{CANARY_MARK}-workspace-7a8b9c0d1e",
)
"""Refused at each step: unknown to the provider, a project key, a workspace key."""


def simulator() -> ProviderSimulator:
    sim = ProviderSimulator()
    sim.add_org(
        SimOrg(
            provider="openai",
            org_id=OPENAI_ORG_ID,
            name="Acme (E2E)",
            admin_keys=[
                SecretStr(k) for k in (OPENAI_KEY, OPENAI_KEY_2, OPENAI_REVOKED, OPENAI_CANARY, OPENAI_CANARY_2)
            ],
            project_keys=[SecretStr(OPENAI_RESTRICTED)],
            history_start=date(2026, 6, 1),
        )
    )
    sim.add_org(
        SimOrg(
            provider="anthropic",
            org_id=ANTHROPIC_ORG_ID,
            name=ANTHROPIC_ORG_NAME,
            admin_keys=[SecretStr(k) for k in (ANTHROPIC_KEY, ANTHROPIC_KEY_2, ANTHROPIC_CANARY)],
            history_start=date(2026, 6, 1),
        )
    )
    return sim
