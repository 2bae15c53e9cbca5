"""Demo organisations for ``python -m devstack.provider_sim --demo`` (see the package docstring for their keys).

The Google demo billing account's service-account key is generated when the simulator starts; the local stack's seed
fetches it from ``GET /_sim/google/orgs/{org}/accounts/{account}/key``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import SecretStr

from devstack.provider_sim.aws_data import BedrockAccount
from devstack.provider_sim.azure_data import AzureTenant
from devstack.provider_sim.google_models import GoogleAccount, GoogleProject, GoogleSimOrg
from devstack.provider_sim.models import AdminProvider, SimOrg
from shared.config import Settings

DEMO_HISTORY_START = date(2026, 6, 1)

_DEMO: tuple[tuple[AdminProvider, str, str, int, str], ...] = (
    ("openai", "org-demo-acme", "Acme Corp", 7, "0.18"),
    ("openai", "org-demo-globex", "Globex", 11, "0"),
    ("anthropic", "org-demo-initech", "Initech", 3, "0.12"),
    ("anthropic", "org-demo-umbrella", "Umbrella", 5, "0.25"),
)


def admin_key(provider: AdminProvider, org_id: str) -> str:
    """The demo admin key of an organisation: derived from its id, documented, never printed."""
    return f"sk-admin-sim-{org_id}" if provider == "openai" else f"sk-ant-admin01-sim-{org_id}"


def project_key(provider: AdminProvider, org_id: str) -> str:
    """The demo non-admin key (an OpenAI project key / an Anthropic workspace key)."""
    return f"sk-proj-sim-{org_id}" if provider == "openai" else f"sk-ant-api03-sim-{org_id}"


def demo_orgs() -> list[SimOrg]:
    return [
        SimOrg(
            provider=provider,
            org_id=org_id,
            name=name,
            admin_keys=[SecretStr(admin_key(provider, org_id))],
            project_keys=[SecretStr(project_key(provider, org_id))],
            seed=seed,
            discount=Decimal(discount),
            history_start=DEMO_HISTORY_START,
            late_days=2,
        )
        for provider, org_id, name, seed, discount in _DEMO
    ]


DEMO_GOOGLE_ACCOUNT = "usage-reader"


def demo_google_org() -> GoogleSimOrg:
    """Acme's Google side: Gemini on Vertex AI in one project, the Gemini API in another, a billing export."""
    return GoogleSimOrg(
        org_id="0DE40A-CAFE00-00ACE0",
        name="Acme Corp (Google)",
        host_project="acme-ai-usage",
        projects=[
            GoogleProject(project_id="acme-vertex-prod", api="vertex_ai", seed=13),
            GoogleProject(project_id="acme-gemini-app", api="gemini_api", seed=17),
        ],
        accounts=[GoogleAccount(name=DEMO_GOOGLE_ACCOUNT)],
        billing_table="acme-finops.billing_export.gcp_billing_export_v1_0DE40A_CAFE00_00ACE0",
        discount=Decimal("0.1"),
        history_start=DEMO_HISTORY_START,
    )


DEMO_BEDROCK_ACCOUNT = "123456789012"
DEMO_BEDROCK_ROLE = "usage-tracking-demo"


def demo_bedrock_account() -> BedrockAccount:
    """Acme's AWS side: Bedrock in us-east-1 and eu-central-1, Cost Explorer on. Its role trusts no audience until
    the seed pastes Acme's external id into it (``POST /_sim/aws/accounts/{id}/trust``), as a customer would."""
    return BedrockAccount(
        account_id=DEMO_BEDROCK_ACCOUNT,
        role_name=DEMO_BEDROCK_ROLE,
        external_id="",
        trusted_subjects=frozenset(Settings().aws_federation_subjects),
        seed=23,
        history_start=DEMO_HISTORY_START,
    )


DEMO_AZURE_TENANT = "7a1e0c2d-5b3f-4e6a-9c8d-0123456789ab"
DEMO_AZURE_APP = "3c9d8e7f-6a5b-4c3d-8e2f-abcdefabcdef"
DEMO_AZURE_SUBSCRIPTION = "0d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"


def demo_azure_tenant() -> AzureTenant:
    """Acme's Azure side: two Azure OpenAI accounts, Cost Management on. Its app's federated credential trusts no
    audience until the seed pastes Acme's external id into it (``POST /_sim/azure/tenants/{id}/trust``)."""
    return AzureTenant(
        tenant_id=DEMO_AZURE_TENANT,
        client_id=DEMO_AZURE_APP,
        subscription_id=DEMO_AZURE_SUBSCRIPTION,
        external_id="",
        trusted_subjects=frozenset(Settings().aws_federation_subjects),
        seed=29,
        history_start=DEMO_HISTORY_START,
    )
