"""Random but reproducible usage history: daily snapshots built from random provider days by the sync's own code.

Days come and go, providers fail, models are priced or not, cost lines carry a token type or not (so rate bases
hold long quotients), OpenAI counts requests, the index is published on some days, price data versions change
mid-month: everything a monthly rollup must carry for a range to add up exactly.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from shared.domain.usage.records import CostKind, Provider, ServiceTier, TokenType
from shared.domain.usage.snapshot import IndexLevel, UsageSnapshot, build_snapshot
from shared.domain.usage.snapshot_parts import ProviderPart, provider_part
from shared.domain.usage.tally import Comparison, Mix, RateBasis, Tally
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


def _big_part(rng: random.Random, provider: str, models: int, projects: int) -> ProviderPart:
    def tally() -> Tally:
        return Tally(
            input_tokens=rng.randint(10**8, 10**10),
            output_tokens=rng.randint(10**7, 10**9),
            cached_tokens=rng.randint(10**7, 10**9),
            cache_write_tokens=rng.randint(10**6, 10**8),
            cost_usd=Decimal(rng.randint(10**9, 10**11)).scaleb(-6),  # "123456.789012"
            list_cost_usd=Decimal(rng.randint(10**12, 10**14)).scaleb(-9),
            request_count=rng.randint(10**4, 10**6),
        )

    third = Decimal(1) / Decimal(3)  # rate bases hold 28-digit quotients
    return ProviderPart(
        tally=tally(),
        rate_basis=RateBasis(input_tokens=10**10, output_tokens=10**9, input_cost_usd=third, output_cost_usd=third),
        comparison=Comparison(billed_usd=Decimal("123456.789012"), list_usd=Decimal("234567.890123")),
        mix=Mix(batch_tokens=10**9, tokens=10**10),
        by_model={f"{provider}-model-name-{i:02d}-2025-08-07": tally() for i in range(models)},
        by_project={f"proj_{provider}_{i:02d}_abcdefghijklmnop": tally() for i in range(projects)},
        reconciliation_reasons=["unpriced_usage"],
        unpriced_models=[f"{provider}-model-name-00-2025-08-07"],
        price_data_versions=["0.2.30"],
        savings_usd={"batch": Decimal("1234.567890"), "cache": Decimal("234.567890"), "model_mix": Decimal("1.5")},
    )


def large_month(models: int, projects: int, *, days_in_month: int = 31) -> list[UsageSnapshot]:
    """January 2026 of a large enterprise: every day (the first ``days_in_month``), both providers, ``models`` and
    ``projects`` each, wide values."""
    rng = random.Random(7)
    level = IndexLevel(blended=Decimal("5.2512345678"), version="2026.01/0.2.30/0123456789ab")
    days = []
    for i in range(days_in_month):
        parts = {p: _big_part(rng, p, models, projects) for p in ("anthropic", "openai")}
        days.append(build_snapshot(date(2026, 1, 1) + timedelta(days=i), parts, index=level, retention_months=24))
    return days
