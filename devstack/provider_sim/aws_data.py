"""Amazon Bedrock's simulated accounts: the CloudWatch metrics and the Cost Explorer bill they report.

Every figure is a pure function of (account, region, model, seed, day): CloudWatch's daily sums of
``InputTokenCount``, ``OutputTokenCount``, ``CacheReadInputTokenCount``, ``CacheWriteInputTokenCount`` and
``Invocations`` per ``ModelId``, and the bill, one Cost Explorer usage type per (region, model, token kind) costing
``tokens × the simulator's price × (1 - discount)``. ``truth`` gives the numbers both APIs report for a day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

NAMESPACE = "AWS/Bedrock"
MTOK = Decimal(1_000_000)
AMOUNT = Decimal("0.0000000001")
"""Cost Explorer's amounts carry ten decimals."""
LOCATIONS = {"us-east-1": "USE1", "us-west-2": "USW2", "eu-central-1": "EUC1", "eu-west-1": "EUW1"}
KINDS = ("input", "output", "cache_read", "cache_write")
METRIC_OF = {
    "input": "InputTokenCount",
    "output": "OutputTokenCount",
    "cache_read": "CacheReadInputTokenCount",
    "cache_write": "CacheWriteInputTokenCount",
}
USAGE_SUFFIX = {
    "input": "input-tokens",
    "output": "output-tokens",
    "cache_read": "cache-read-input-token-count",
    "cache_write": "cache-write-input-token-count",
}


@dataclass(frozen=True)
class BedrockModel:
    model_id: str
    """CloudWatch's ``ModelId``: a model id or an inference profile id."""
    label: str
    """How the model appears in its Cost Explorer usage types."""
    prices: tuple[Decimal, Decimal, Decimal, Decimal]
    """USD per million tokens: input, output, cache read, cache write."""


MODELS = (
    BedrockModel(
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "Claude3.5Sonnet",
        (Decimal(3), Decimal(15), Decimal("0.3"), Decimal("3.75")),
    ),
    BedrockModel("amazon.nova-pro-v1:0", "NovaPro", (Decimal("0.8"), Decimal("3.2"), Decimal("0.2"), Decimal("0.8"))),
    BedrockModel(
        "meta.llama3-3-70b-instruct-v1:0", "Llama3.3-70B", (Decimal("0.72"), Decimal("0.72"), Decimal(0), Decimal(0))
    ),
)


@dataclass(frozen=True)
class CurExport:
    """Where an account's CUR 2.0 export is delivered (``aws_s3_routes``), and as what."""

    bucket: str
    path: str
    """The export's prefix and name."""
    region: str = "us-east-1"
    parquet: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class BedrockAccount:
    """One AWS account with a role the platform may assume, and what its Bedrock use looks like."""

    account_id: str
    role_name: str
    external_id: str
    """The audience its role's trust policy pins (``accounts.google.com:oaud``)."""
    trusted_subjects: frozenset[str]
    """The Google service-account ids its trust policy pins (``accounts.google.com:aud`` and ``:sub``)."""
    regions: tuple[str, ...] = ("us-east-1", "eu-central-1")
    seed: int = 1
    discount: Decimal = Decimal("0.12")
    history_start: date = date(2026, 6, 1)
    cost_explorer_enabled: bool = True
    denied_actions: set[str] = field(default_factory=set)
    """IAM actions the role's permissions policy lacks, e.g. ``{"ce:GetCostAndUsage"}``."""
    access_keys: dict[str, str] = field(default_factory=dict)
    """Long-lived access keys (the fallback): id → secret."""
    cur: CurExport | None = None
    """Its CUR 2.0 export, if it has one."""
    catalogue_extra: int = 0
    """Foundation models the catalogue lists beyond the simulated ones (never called)."""
    last_called: dict[str, date] = field(default_factory=dict)
    """Model id → the last day it was called (a model the enterprise stopped using); absent: called to this day."""

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"

    def models(self, region: str) -> tuple[BedrockModel, ...]:
        # eu-central-1 calls one model through an EU cross-region profile, as enterprises in the EU do.
        if region == "eu-central-1":
            return (BedrockModel("eu." + MODELS[0].model_id, MODELS[0].label, MODELS[0].prices),)
        return MODELS


@dataclass(frozen=True)
class ModelDay:
    region: str
    model: BedrockModel
    tokens: dict[str, int]
    invocations: int


def model_days(account: BedrockAccount, day: date) -> list[ModelDay]:
    """What every model of every region did on ``day`` (nothing before the account's history starts)."""
    if day < account.history_start:
        return []
    out = []
    for region in account.regions:
        for model in account.models(region):
            if day > account.last_called.get(model.model_id, day):
                continue
            rng = random.Random(f"{account.account_id}|{region}|{model.model_id}|{account.seed}|{day.isoformat()}")
            if rng.random() < 0.1:  # some days a model is not called at all
                continue
            invocations = rng.randint(50, 5_000)
            tokens = {
                "input": invocations * rng.randint(200, 4_000),
                "output": invocations * rng.randint(50, 800),
                "cache_read": invocations * rng.randint(0, 2_000) if model.prices[2] else 0,
                "cache_write": invocations * rng.randint(0, 300) if model.prices[3] else 0,
            }
            out.append(ModelDay(region, model, tokens, invocations))
    return out


UNUSED_FOUNDATION_MODELS = ("amazon.titan-embed-text-v2:0", "mistral.mistral-large-2402-v1:0")
"""Models the catalogue offers that no simulated account calls."""


def foundation_models(account: BedrockAccount, region: str) -> list[str]:
    """``ListFoundationModels``' model ids in ``region``: every base model (a profile's model is a base model), and
    the account's extra never-called ones (a catalogue larger than one GetMetricData request)."""
    extra = {f"sim.unused-model-{i}-v1:0" for i in range(account.catalogue_extra)}
    return sorted({m.model_id for m in MODELS} | set(UNUSED_FOUNDATION_MODELS) | extra)


def system_profiles(region: str) -> list[str]:
    """``ListInferenceProfiles``' ``SYSTEM_DEFINED`` ids in ``region``: its geography's and the global profile."""
    geography = region.split("-", 1)[0]
    return [f"{prefix}.{MODELS[0].model_id}" for prefix in sorted({geography, "global"})]


def usage_type(region: str, model: BedrockModel, kind: str) -> str:
    return f"{LOCATIONS.get(region, 'USE1')}-{model.label}-{USAGE_SUFFIX[kind]}"


def bill(account: BedrockAccount, day: date) -> dict[str, Decimal]:
    """Cost Explorer's ``UnblendedCost`` by usage type for ``day``."""
    lines: dict[str, Decimal] = {}
    factor = 1 - account.discount
    for md in model_days(account, day):
        for kind, price in zip(KINDS, md.model.prices, strict=True):
            tokens = md.tokens[kind]
            if tokens and price:
                amount = (Decimal(tokens) * price / MTOK * factor).quantize(AMOUNT, ROUND_HALF_EVEN)
                key = usage_type(md.region, md.model, kind)
                lines[key] = lines.get(key, Decimal(0)) + amount
    return lines


@dataclass(frozen=True)
class BedrockDayTruth:
    day: date
    tokens: dict[tuple[str, str, str], int]
    """(region, model id, kind) → tokens."""
    billed_usd: Decimal

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens.values())


def truth(account: BedrockAccount, day: date) -> BedrockDayTruth:
    tokens = {
        (md.region, md.model.model_id, k): n for md in model_days(account, day) for k, n in md.tokens.items() if n
    }
    return BedrockDayTruth(day, tokens, sum(bill(account, day).values(), Decimal(0)))


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
