"""Random but reproducible usage history: daily snapshots built from random provider days by the sync's own code.

Days come and go, providers fail, models are priced or not, cost lines carry a token type or not (so rate bases
hold long quotients), OpenAI counts requests, the index is published on some days, price data versions change
mid-month: everything a monthly rollup must carry for a range to add up exactly.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from shared.domain.snapshot import IndexLevel, UsageSnapshot, build_snapshot
from shared.domain.snapshot_parts import ProviderPart, provider_part
from shared.domain.usage import CostKind, Provider, ServiceTier, TokenType
from tests.support.usage_days import line, provider_day, record, requests

MODELS = {
    Provider.OPENAI: ["gpt-4o", "gpt-4.1-mini", "o3", "ft:gpt-4o:acme:x/v2"],
    Provider.ANTHROPIC: ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"],
}
PROJECTS = {Provider.OPENAI: ["proj_a", "proj_b", None], Provider.ANTHROPIC: ["wrk_1", None]}
PRICES = ["2.50", "1.25", "10", "0.15", "3", "15", "0.8", None]


def _amount(rng: random.Random) -> str:
    return str(Decimal(rng.randint(1, 10**7)).scaleb(-rng.choice([2, 4, 6])))


def random_part(rng: random.Random, provider: Provider, day: date, version: str) -> ProviderPart:
    records, lines, meters = [], [], []
    for model in rng.sample(MODELS[provider], rng.randint(1, len(MODELS[provider]))):
        project = rng.choice(PROJECTS[provider])
        for token_type in rng.sample(list(TokenType), rng.randint(1, 3)):
            tier = rng.choice([ServiceTier.STANDARD, ServiceTier.STANDARD, ServiceTier.BATCH])
            quantity = rng.randint(1, 5_000_000)
            records.append(record(provider, day, model, token_type, quantity, rng.choice(PRICES), project=project))
            records[-1] = records[-1].model_copy(update={"service_tier": tier})
            typed = token_type if rng.random() < 0.5 else None
            lines.append(line(provider, day, _amount(rng), model=model, token_type=typed, project=project))
        if provider is Provider.OPENAI:
            meters.append(requests(provider, day, model, rng.randint(1, 5000), project=project or "proj_a"))
    if rng.random() < 0.3:
        lines.append(line(provider, day, _amount(rng), kind=CostKind.OTHER, project=rng.choice(PROJECTS[provider])))
    savings = {"cache": Decimal(_amount(rng))} if rng.random() < 0.5 else {}
    return provider_part(provider_day(provider, day, records, lines, meters), version, savings)


def random_history(seed: int, first: date, last: date) -> list[UsageSnapshot]:
    """Snapshots of random days in ``[first, last]`` (about four days in five)."""
    rng = random.Random(seed)
    days: list[UsageSnapshot] = []
    day = first
    while day <= last:
        if rng.random() < 0.8:
            version = "0.2.3" if day.day < 15 else "0.2.4"
            parts, failed = {}, {}
            for provider in MODELS:
                roll = rng.random()
                if roll < 0.8:
                    parts[provider.value] = random_part(rng, provider, day, version)
                elif roll < 0.9:
                    failed[provider.value] = "provider_malformed_response"
            level = Decimal(rng.randint(300, 900)).scaleb(-2) if rng.random() < 0.7 else None
            index = None if level is None else IndexLevel(blended=level, version=f"2026.{day.month}")
            if parts or failed:
                days.append(build_snapshot(day, parts, failed=failed, index=index, retention_months=24))
        day += timedelta(days=1)
    return days
