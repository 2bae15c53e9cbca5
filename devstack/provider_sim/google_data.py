"""Deterministic Gemini usage of a simulated Google billing account: Monitoring counts, billing rows, ground truth.

Every figure is a pure function of (billing account, project, seed, day) and the clock: a project's models each
consume a day's input tokens (part of them cache hits) and output tokens, spread over the day's hours like the
other providers' traffic (``catalog.share``), so today is partial and any window adds up exactly.

* Cloud Monitoring sees input (cache hits included) and output per model; Vertex AI series are split by region,
  Gemini API input is reported once per quota limit (twins), as Google does.
* The billing export has one row per 6-hour block, project and SKU: uncached input, cache hits and output are priced
  at genai-prices list prices of the day, in the account's currency (to the micro-unit), with the negotiated
  discount as a credit. Each Vertex AI project also bills grounding requests and an unknown product, and every
  project a Cloud Storage row that a query for Gemini's services must not return.
* ``truth`` adds the same rows up, so a client that reads them right matches it to the cent.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Literal

from devstack.provider_sim.catalog import DAY_SECONDS, share
from devstack.provider_sim.google_models import GoogleApi, GoogleDayTruth, GoogleProject, GoogleSimOrg, GoogleTruthRow
from devstack.provider_sim.pricing import unit_price

TokenKind = Literal["uncached_input", "cache_read", "output"]
BLOCK_SECONDS = 6 * 3600
MICRO = Decimal("0.000001")
_PER_MTOK = Decimal(1_000_000)
SERVICE = {"vertex_ai": "Vertex AI", "gemini_api": "Gemini API"}
REGIONS = (("us-central1", Decimal("0.7")), ("europe-west4", Decimal("0.3")))
QUOTA_LIMITS = (
    "GenerateContentPaidTierInputTokensPerModelPerMinute",
    "GenerateContentPaidTierInputTokensPerUserPerDay",
)
GEMINI_API_INPUT_METRIC = "generativelanguage.googleapis.com/quota/generate_content_paid_tier_input_token_count/usage"
GEMINI_API_OUTPUT_METRIC = "generativelanguage.googleapis.com/generate_content_usage_output_token_count"
VERTEX_METRIC = "aiplatform.googleapis.com/publisher/online_serving/token_count"
GROUNDING_SKU = "Grounding with Google Search requests"
UNKNOWN_SKU = "Agent Engine session events"
STORAGE_SKU = "Standard Storage US Multi-region"


@dataclass(frozen=True)
class _Template:
    model: str
    display: str
    base_mtok: Decimal
    """Input tokens per day at scale 1, millions."""
    cached: float
    """Share of input served from the cache."""
    output: float
    """Output tokens per input token."""
    embedding: bool = False


_D = Decimal
TEMPLATES: dict[GoogleApi, tuple[_Template, ...]] = {
    "vertex_ai": (
        _Template("gemini-2.5-pro", "Gemini 2.5 Pro", _D(6), 0.3, 0.12),
        _Template("gemini-2.5-flash", "Gemini 2.5 Flash", _D(25), 0.2, 0.08),
        _Template("gemini-2.5-flash-lite", "Gemini 2.5 Flash Lite", _D(40), 0.0, 0.05),
        _Template("gemini-embedding-001", "gemini-embedding-001", _D(10), 0.0, 0.0, embedding=True),
    ),
    "gemini_api": (
        _Template("gemini-2.5-flash", "Gemini 2.5 Flash", _D(8), 0.1, 0.1),
        _Template("gemini-2.0-flash", "Gemini 2.0 Flash", _D(12), 0.0, 0.06),
    ),
}


@dataclass(frozen=True)
class DayVolume:
    """A model's whole-day volume in one project, before the clock cuts today short."""

    template: _Template
    uncached: int
    cached: int
    output: int


@dataclass(frozen=True)
class Credit:
    name: str
    amount: Decimal
    type: str


@dataclass(frozen=True)
class BillingRow:
    """One billing export row, with its money in the account's currency."""

    usage_start: datetime
    project_id: str
    service: str
    sku_id: str
    sku_description: str
    model: str | None
    token_kind: TokenKind | None
    usage_amount: int
    usage_unit: str
    cost: Decimal
    credits: tuple[Credit, ...]
    list_usd: Decimal
    """Gross cost at list price in USD (exact)."""

    def net_usd(self, rate: Decimal) -> Decimal:
        net = self.cost + sum((c.amount for c in self.credits), Decimal(0))
        return net if rate == 1 else net / rate


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@lru_cache(maxsize=8192)
def day_volumes(org_id: str, project: GoogleProject, day: date) -> tuple[DayVolume, ...]:
    weekend = day.weekday() >= 5
    volumes = []
    for index, t in enumerate(TEMPLATES[project.api]):
        rng = random.Random(f"{org_id}|{project.project_id}|{project.seed}|{day.isoformat()}|{index}")
        if rng.random() < 0.08:  # an idle day for this model
            continue
        level = t.base_mtok * project.scale * _D(str(round(rng.uniform(0.6, 1.4) * (0.5 if weekend else 1), 4)))
        total_in = int(level * 1_000_000)
        cached = int(total_in * t.cached * rng.uniform(0.8, 1.2))
        output = int(total_in * t.output * rng.uniform(0.8, 1.2))
        volumes.append(DayVolume(t, total_in - cached, cached, output))
    return tuple(volumes)


def elapsed_s(day: date, now: datetime) -> int:
    """Seconds of ``day`` that have passed at ``now`` (0 for a future day, a whole day for a past one)."""
    return max(0, min(DAY_SECONDS, int((now - _day_start(day)).total_seconds())))


def monitored(org: GoogleSimOrg, project: GoogleProject, day: date, now: datetime) -> list[tuple[str, int, int]]:
    """``(model, input tokens incl. cache hits, output tokens)`` Cloud Monitoring reports for the day so far."""
    if day < org.history_start:
        return []
    cut = elapsed_s(day, now)
    seed = project.seed
    out = []
    for v in day_volumes(org.org_id, project, day):
        tokens_in = share(v.uncached, seed, 0, cut) + share(v.cached, seed, 0, cut)
        tokens_out = share(v.output, seed, 0, cut)
        if tokens_in or tokens_out:
            out.append((v.template.model, tokens_in, tokens_out))
    return out


def _sku_id(*parts: object) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


def _sku(t: _Template, kind: TokenKind) -> str:
    if t.embedding:
        return f"EmbedContent input token count for {t.model}"
    if kind == "uncached_input":
        return f"Generate content input token count {t.display} short input text"
    if kind == "cache_read":
        return f"Generate_content cached text input token count for {t.display.lower()}"
    return f"Generate content output token count {t.display.lower()} short output text non-thinking"


def billing_rows(org: GoogleSimOrg, project: GoogleProject, day: date, now: datetime) -> Iterator[BillingRow]:
    """The export's rows of the project for the day so far (every service, not only Gemini's)."""
    if day < org.history_start:
        return
    cut = elapsed_s(day, now)
    for block in range(DAY_SECONDS // BLOCK_SECONDS):
        a, b = block * BLOCK_SECONDS, min(cut, (block + 1) * BLOCK_SECONDS)
        if b <= a:
            return
        start = _day_start(day) + timedelta(seconds=a)
        for v in day_volumes(org.org_id, project, day):
            counts: tuple[tuple[TokenKind, int], ...] = (
                ("uncached_input", v.uncached),
                ("cache_read", v.cached),
                ("output", v.output),
            )
            for kind, total in counts:
                tokens = share(total, project.seed, a, b)
                if tokens:
                    yield _token_row(org, project, day, start, v.template, kind, tokens)
        yield from _other_rows(org, project, day, start, block)


def _token_row(
    org: GoogleSimOrg, project: GoogleProject, day: date, start: datetime, t: _Template, kind: TokenKind, tokens: int
) -> BillingRow:
    price = unit_price("google", t.model, kind, "standard", None, day).usd_per_mtok
    assert price is not None, f"no list price for {t.model} {kind}"
    list_usd = Decimal(tokens) * price / _PER_MTOK
    cost, credits = _money(org, list_usd)
    return BillingRow(
        usage_start=start,
        project_id=project.project_id,
        service=SERVICE[project.api],
        sku_id=_sku_id(project.api, t.model, kind),
        sku_description=_sku(t, kind),
        model=t.model,
        token_kind=kind,
        usage_amount=tokens,
        usage_unit="count",
        cost=cost,
        credits=credits,
        list_usd=list_usd,
    )


def _other_rows(
    org: GoogleSimOrg, project: GoogleProject, day: date, start: datetime, block: int
) -> Iterator[BillingRow]:
    rng = random.Random(f"{org.org_id}|{project.project_id}|{day.isoformat()}|{block}|other")
    others = [(STORAGE_SKU, "Cloud Storage", "byte-seconds", rng.randint(10**9, 10**10), _D("0.000000000026"))]
    if project.api == "vertex_ai":
        others.append((GROUNDING_SKU, "Vertex AI", "requests", rng.randint(10, 200), _D("0.035")))
        others.append((UNKNOWN_SKU, "Vertex AI", "count", rng.randint(100, 5000), _D("0.00025")))
    for description, service, unit, amount, price in others:
        list_usd = amount * price
        cost, credits = _money(org, list_usd)
        yield BillingRow(
            usage_start=start,
            project_id=project.project_id,
            service=service,
            sku_id=_sku_id(service, description),
            sku_description=description,
            model=None,
            token_kind=None,
            usage_amount=amount,
            usage_unit=unit,
            cost=cost,
            credits=credits,
            list_usd=list_usd,
        )


def _money(org: GoogleSimOrg, list_usd: Decimal) -> tuple[Decimal, tuple[Credit, ...]]:
    """The row's cost in the billing currency and its credits (negative), each rounded to the micro-unit."""
    rate = org.conversion_rate
    cost = (list_usd * rate).quantize(MICRO, ROUND_HALF_EVEN)
    if not org.discount:
        return cost, ()
    discount = -(list_usd * org.discount * rate).quantize(MICRO, ROUND_HALF_EVEN)
    return cost, (Credit("Enterprise agreement discount", discount, "DISCOUNT"),)


def truth(org: GoogleSimOrg, day: date, now: datetime) -> GoogleDayTruth:
    """What the endpoints report for the day, as of ``now``."""
    rows: dict[tuple[str, str, TokenKind], GoogleTruthRow] = {}
    billed = unattributed = estimated = Decimal(0)
    tokens_in = tokens_out = 0
    exported = org.billing_table is not None
    for project in org.projects:
        for model, n_in, n_out in monitored(org, project, day, now):
            tokens_in, tokens_out = tokens_in + n_in, tokens_out + n_out
            for kind, n in (("uncached_input", n_in), ("output", n_out)):
                if n:
                    price = unit_price("google", model, kind, "standard", None, day).usd_per_mtok
                    assert price is not None
                    estimated += Decimal(n) * price / _PER_MTOK
        for row in billing_rows(org, project, day, now):
            if row.service not in SERVICE.values():
                continue
            net = row.net_usd(org.conversion_rate) if exported else Decimal(0)
            billed += net
            if row.model is None or row.token_kind is None:
                unattributed += net
                continue
            key = (row.project_id, row.model, row.token_kind)
            found = rows.get(key)
            rows[key] = GoogleTruthRow(
                project_id=row.project_id,
                model=row.model,
                api=project.api,
                token_type=row.token_kind,
                tokens=(found.tokens if found else 0) + row.usage_amount,
                list_cost_usd=(found.list_cost_usd if found else Decimal(0)) + row.list_usd,
                billed_usd=(found.billed_usd if found else Decimal(0)) + net,
            )
    return GoogleDayTruth(
        org_id=org.org_id,
        day=day,
        rows=[rows[k] for k in sorted(rows)],
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        estimated_cost_usd=estimated,
        billed_cost_usd=billed,
        unattributed_cost_usd=unattributed,
    )
