"""Azure OpenAI's simulated tenants: the app registration the platform signs in as, the accounts and deployments,
the Azure Monitor token metrics and the Cost Management bill they report.

Every figure is a pure function of (tenant, account, deployment, seed, day): the daily totals of
``ProcessedPromptTokens`` (cached prompt tokens included, as Azure counts them) and ``GeneratedTokens`` per
deployment, and the bill, one meter per (model, token kind) costing ``tokens × the simulator's price ×
(1 - discount)``, cached prompt tokens on their own meter. ``truth`` gives the numbers both APIs report for a day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

MTOK = Decimal(1_000_000)
AMOUNT = Decimal("0.000001")
RESOURCE_GROUP = "rg-ai"


@dataclass(frozen=True)
class AzureModel:
    name: str
    """``properties.model.name`` of a deployment."""
    version: str
    meter: str
    """How the model appears in its meters' names."""
    prices: tuple[Decimal, Decimal, Decimal]
    """USD per million tokens: input, output, cached input."""


MODELS = {
    "gpt4o-prod": AzureModel("gpt-4o", "2024-08-06", "gpt-4o-0806", (Decimal("2.5"), Decimal(10), Decimal("1.25"))),
    "mini-batchless": AzureModel(
        "gpt-4o-mini", "2024-07-18", "gpt-4o-mini-0718", (Decimal("0.15"), Decimal("0.6"), Decimal("0.075"))
    ),
    "o3-mini": AzureModel("o3-mini", "2025-01-31", "o3-mini-0131", (Decimal("1.1"), Decimal("4.4"), Decimal("0.55"))),
}
"""Deployment name → what it serves (deployment names are the customer's own, unlike the model's)."""


@dataclass
class AzureTenant:
    """One Entra ID tenant with an app registration the platform may sign in as, and its Azure OpenAI accounts."""

    tenant_id: str
    client_id: str
    subscription_id: str
    external_id: str
    """The audience the app's federated credential trusts."""
    trusted_subjects: frozenset[str]
    """The Google service-account ids the federated credentials name as subject."""
    accounts: tuple[str, ...] = ("aoai-eastus", "aoai-swedencentral")
    seed: int = 1
    discount: Decimal = Decimal("0.08")
    history_start: date = date(2026, 6, 1)
    cost_management_enabled: bool = True
    denied_roles: set[str] = field(default_factory=set)
    """Role assignments the service principal lacks, e.g. ``{"Monitoring Reader"}``."""
    client_secrets: frozenset[str] = frozenset()
    idle_accounts: frozenset[str] = frozenset()
    """Accounts with no model deployed yet (an empty deployments list, no token metrics)."""
    deployment_skus: dict[str, str] = field(default_factory=dict)
    """Deployment name → its deployment type (``sku.name``) where it is not ``GlobalStandard``. The simulated bill
    stays per token whatever the type: only the estimate reads the type."""

    def resource_id(self, account: str) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{RESOURCE_GROUP}"
            f"/providers/Microsoft.CognitiveServices/accounts/{account}"
        )

    def deployments(self, account: str) -> dict[str, AzureModel]:
        if account in self.idle_accounts:
            return {}
        # The Sweden account serves one model only, as data-residency deployments often do.
        return {"gpt4o-prod": MODELS["gpt4o-prod"]} if account.endswith("sweden" + "central") else dict(MODELS)


@dataclass(frozen=True)
class DeploymentDay:
    account: str
    deployment: str
    model: AzureModel
    prompt: int
    """All prompt tokens (cached ones included)."""
    cached: int
    generated: int


def deployment_days(tenant: AzureTenant, day: date) -> list[DeploymentDay]:
    if day < tenant.history_start:
        return []
    out = []
    for account in tenant.accounts:
        for deployment, model in tenant.deployments(account).items():
            rng = random.Random(f"{tenant.tenant_id}|{account}|{deployment}|{tenant.seed}|{day.isoformat()}")
            if rng.random() < 0.1:  # some days a deployment is not called
                continue
            calls = rng.randint(50, 4_000)
            prompt = calls * rng.randint(200, 3_000)
            out.append(
                DeploymentDay(account, deployment, model, prompt, prompt * rng.randint(0, 40) // 100, calls * 300)
            )
    return out


def meter(model: AzureModel, kind: str) -> str:
    return f"{model.meter} {'cached Inp' if kind == 'cached' else kind} glbl 1M Tokens"


def bill(tenant: AzureTenant, day: date) -> dict[tuple[str, str], Decimal]:
    """Cost Management's cost by (account resource id, lower-cased as Cost Management reports it; meter)."""
    lines: dict[tuple[str, str], Decimal] = {}
    factor = 1 - tenant.discount
    for dd in deployment_days(tenant, day):
        tokens = {"Inp": dd.prompt - dd.cached, "Outp": dd.generated, "cached": dd.cached}
        for (kind, n), price in zip(tokens.items(), dd.model.prices, strict=True):
            if n:
                amount = (Decimal(n) * price / MTOK * factor).quantize(AMOUNT, ROUND_HALF_EVEN)
                key = (tenant.resource_id(dd.account).lower(), meter(dd.model, kind))
                lines[key] = lines.get(key, Decimal(0)) + amount
    return lines


@dataclass(frozen=True)
class AzureDayTruth:
    day: date
    tokens: dict[tuple[str, str, str], int]
    """(account, model, ``prompt`` or ``generated``) → tokens."""
    billed_usd: Decimal

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens.values())


def truth(tenant: AzureTenant, day: date) -> AzureDayTruth:
    tokens: dict[tuple[str, str, str], int] = {}
    for dd in deployment_days(tenant, day):
        for kind, n in (("prompt", dd.prompt), ("generated", dd.generated)):
            key = (dd.account, dd.model.name, kind)
            tokens[key] = tokens.get(key, 0) + n
    return AzureDayTruth(day, tokens, sum(bill(tenant, day).values(), Decimal(0)))
