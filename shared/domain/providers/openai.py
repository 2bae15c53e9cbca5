"""OpenAI Admin API usage and cost buckets → ``DayPart``s.

Wire facts (docs/reference provider-apis.md §1): buckets carry ``start_time`` (epoch seconds); completions'
``input_tokens`` is ALL input (uncached + cached + cache-write), ``input_cached_tokens`` the cache reads and
``input_cache_write_tokens`` the writes (both optional, newer); ``batch`` is a grouping column, so batch usage
appears once, as batch rows. Costs' ``amount.value`` is USD as a number or a numeric string. Unknown fields are
ignored; grouping fields may be ``null``.

Token-bearing reports (completions, embeddings, moderations) become priced token usage. The other usage reports
(images, audio, vector stores, code interpreter, file/web search) become non-token ``MeterUsage``; their money is
in the costs report, whose lines are classified so reconciliation compares tokens with tokens. The token reports'
``num_model_requests`` are kept as ``MeterUsage`` with meter ``REQUESTS_METER`` (snapshots count requests from them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.providers.label_meaning import LabelMeaning
from shared.domain.usage.normalise import UNKNOWN_MODEL, DayPart, RawUsage, bucket_results, utc_day_of_epoch
from shared.domain.usage.records import (
    ContextBand,
    CostKind,
    CostLine,
    MeterUsage,
    Provider,
    ProviderAmount,
    ServiceTier,
    TokenType,
)
from shared.errors import ProviderResponseError

log = logging.getLogger(__name__)

P = Provider.OPENAI
Count = Annotated[int, Field(ge=0)]

TOKEN_REPORTS = ("completions", "embeddings", "moderations")
REQUESTS_METER = "num_model_requests"
"""Meter under which the token reports' request counts are kept."""
METER_REPORTS: dict[str, tuple[str, ...]] = {
    # report → the count fields it carries (besides num_model_requests), each kept as a meter
    "images": ("images",),
    "audio_speeches": ("characters",),
    "audio_transcriptions": ("seconds",),
    "vector_stores": ("usage_bytes",),
    "code_interpreter_sessions": ("num_sessions",),
    "file_search_calls": ("num_requests",),
    "web_search_calls": ("num_requests",),
}

_TIERS = {
    None: ServiceTier.STANDARD,
    "default": ServiceTier.STANDARD,
    "auto": ServiceTier.STANDARD,
    "standard": ServiceTier.STANDARD,
    "flex": ServiceTier.FLEX,
    "priority": ServiceTier.PRIORITY,
    "batch": ServiceTier.BATCH,
}


class _Grouping(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None


class _CompletionsRow(_Grouping):
    input_tokens: Count
    output_tokens: Count
    input_cached_tokens: Count | None = None
    input_cache_write_tokens: Count | None = None
    input_audio_tokens: Count | None = None
    input_cached_audio_tokens: Count | None = None
    output_audio_tokens: Count | None = None
    input_image_tokens: Count | None = None
    input_cached_image_tokens: Count | None = None
    output_image_tokens: Count | None = None
    batch: bool | None = None
    service_tier: str | None = None
    num_model_requests: Count | None = None


class _InputOnlyRow(_Grouping):
    input_tokens: Count
    num_model_requests: Count | None = None


class _Amount(BaseModel):
    model_config = ConfigDict(extra="ignore")

    value: ProviderAmount
    currency: str = "usd"


class _CostRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount: _Amount
    line_item: str | None = None
    project_id: str | None = None
    quantity: Decimal | None = None
    quantity_unit: str | None = None


def bucket_day(bucket: Mapping[str, Any]) -> date:
    return utc_day_of_epoch(P, bucket.get("start_time"))


def parse_bucket(report: str, bucket: Mapping[str, Any]) -> tuple[date, DayPart]:
    """One bucket of ``report`` (``completions``, ``costs``, ``images``...) as the day's ``DayPart``."""
    day = bucket_day(bucket)
    rows = bucket_results(P, bucket)
    try:
        if report == "costs":
            return day, DayPart(costs=tuple(_cost_line(day, _CostRow.model_validate(r)) for r in rows))
        if report == "completions":
            completions = [_CompletionsRow.model_validate(r) for r in rows]
            usage = [u for row in completions for u in _completions_usage(row)]
            return day, DayPart(usage=tuple(usage), meters=_request_meters(report, day, completions))
        if report in TOKEN_REPORTS:
            inputs = [_InputOnlyRow.model_validate(r) for r in rows]
            usage = [_input_usage(row) for row in inputs]
            return day, DayPart(usage=tuple(usage), meters=_request_meters(report, day, inputs))
        if report in METER_REPORTS:
            return day, DayPart(meters=tuple(m for r in rows for m in _meters(report, day, r)))
    except ValidationError as e:
        raise ProviderResponseError(
            f"openai {report} bucket for {day.isoformat()} is malformed ({e.error_count()} errors)", provider=P.value
        ) from e
    raise ValueError(f"unknown OpenAI report {report!r}")


def service_tier(batch: bool | None, tier: str | None) -> ServiceTier:
    """Batch rows are batch whatever their ``service_tier``; unknown tier names count as standard."""
    if batch:
        return ServiceTier.BATCH
    key = tier.lower() if tier else None
    if key not in _TIERS:
        log.warning("unknown openai service tier counted as standard", extra={"service_tier": tier})
    return _TIERS.get(key, ServiceTier.STANDARD)


def _completions_usage(row: _CompletionsRow) -> list[RawUsage]:
    """One row's tokens split into meters. ``input_tokens`` and ``input_cached_tokens`` count every modality, and
    ``input_audio_tokens``/``input_image_tokens`` are the *uncached* audio/image input (the current spec), so text is
    what remains; likewise for output."""
    reads = row.input_cached_tokens or 0
    writes = row.input_cache_write_tokens or 0
    audio_reads, image_reads = row.input_cached_audio_tokens or 0, row.input_cached_image_tokens or 0
    audio_in, image_in = row.input_audio_tokens or 0, row.input_image_tokens or 0
    audio_out, image_out = row.output_audio_tokens or 0, row.output_image_tokens or 0
    text_reads = reads - audio_reads - image_reads
    uncached = row.input_tokens - reads - writes - audio_in - image_in
    text_out = row.output_tokens - audio_out - image_out
    if min(text_reads, uncached, text_out) < 0:
        raise ProviderResponseError(
            "openai completions row has more cached, cache-write, audio or image tokens than its totals",
            provider=P.value,
        )
    tier = service_tier(row.batch, row.service_tier)
    counts = {
        TokenType.UNCACHED_INPUT: uncached,
        TokenType.CACHE_READ: text_reads,
        TokenType.CACHE_WRITE_5M: writes,
        TokenType.OUTPUT: text_out,
        TokenType.AUDIO_INPUT: audio_in,
        TokenType.AUDIO_CACHE_READ: audio_reads,
        TokenType.AUDIO_OUTPUT: audio_out,
        TokenType.IMAGE_INPUT: image_in,
        TokenType.IMAGE_CACHE_READ: image_reads,
        TokenType.IMAGE_OUTPUT: image_out,
    }
    return [_raw(row, tier, token_type, n) for token_type, n in counts.items() if n]


def _input_usage(row: _InputOnlyRow) -> RawUsage:
    # These reports have no ``batch`` column: a batch embedding shows only in the costs report's line items, so the
    # tier is settled against them when the day is built (``shared.domain.usage.line_tiers``).
    raw = _raw(row, ServiceTier.STANDARD, TokenType.UNCACHED_INPUT, row.input_tokens)
    return replace(raw, tier_reported=False)


def _raw(row: _Grouping, tier: ServiceTier, token_type: TokenType, quantity: int) -> RawUsage:
    return RawUsage(
        model=row.model or UNKNOWN_MODEL,
        project_id=row.project_id,
        api_key_id=row.api_key_id,
        service_tier=tier,
        context_band=ContextBand.STANDARD,
        token_type=token_type,
        quantity=quantity,
    )


def _request_meters(report: str, day: date, rows: Sequence[_CompletionsRow | _InputOnlyRow]) -> tuple[MeterUsage, ...]:
    return tuple(
        MeterUsage(
            provider=P,
            day=day,
            source=report,
            meter=REQUESTS_METER,
            quantity=row.num_model_requests,
            model=row.model or UNKNOWN_MODEL,
            project_id=row.project_id,
            api_key_id=row.api_key_id,
        )
        for row in rows
        if row.num_model_requests
    )


def _meters(report: str, day: date, raw: Mapping[str, Any]) -> list[MeterUsage]:
    grouping = _Grouping.model_validate(raw)
    meters = []
    for field_name in METER_REPORTS[report]:
        quantity = _Count.model_validate({"n": raw.get(field_name)}).n
        if quantity:
            meters.append(
                MeterUsage(
                    provider=P,
                    day=day,
                    source=report,
                    meter=field_name,
                    quantity=quantity,
                    model=grouping.model,
                    project_id=grouping.project_id,
                    api_key_id=grouping.api_key_id,
                )
            )
    return meters


class _Count(BaseModel):
    n: Count


# "<model>[ modality], input|cached input|output[, more]" with an optional "tier | " prefix, e.g.
# "gpt-5.5-2026-04-23, cached input", "gpt-audio-mini-2025-12-15 audio, input", "priority | gpt-5.6-sol, output,
# long context" (provider-apis.md §1.4: line items observed in the costs report grouped by line_item).
_LINE_ITEM = re.compile(
    r"^(?:(?P<tier>[a-z_]+) \| )?(?P<model>[^,|]+?)(?: (?P<modality>text|audio|image))?, "
    r"(?P<meter>cached input|cache write|input|output)(?P<rest>,.*)?$",
    re.IGNORECASE,
)
_TOKEN_WORDS = re.compile(r"\btokens?\b|\binput\b|\boutput\b", re.IGNORECASE)
_OTHER_WORDS = re.compile(
    r"search|storage|vector|session|container|interpreter|tool call|minute|second|character|audio|image",
    re.IGNORECASE,
)
_LINE_METERS = {
    ("text", "input"): TokenType.UNCACHED_INPUT,
    ("text", "cached input"): TokenType.CACHE_READ,
    ("text", "cache write"): TokenType.CACHE_WRITE_5M,
    ("text", "output"): TokenType.OUTPUT,
    ("audio", "input"): TokenType.AUDIO_INPUT,
    ("audio", "cached input"): TokenType.AUDIO_CACHE_READ,
    ("audio", "output"): TokenType.AUDIO_OUTPUT,
    ("image", "input"): TokenType.IMAGE_INPUT,
    ("image", "cached input"): TokenType.IMAGE_CACHE_READ,
    ("image", "output"): TokenType.IMAGE_OUTPUT,
}
_BATCH_WORDS = re.compile(r"\bbatch\b", re.IGNORECASE)
_FLEX_WORDS = re.compile(r"\bflex\b", re.IGNORECASE)
_LONG_CONTEXT = re.compile(r"\blong context\b", re.IGNORECASE)


def classify_line_item(line_item: str | None) -> CostKind:
    """Tokens (comparable with list cost), other products, or unknown (compared with tokens, not hidden).

    OpenAI's vocabulary is not fixed, so this reads words, not an enum: "<model>, input", "Text tokens" and
    "input_tokens" are tokens; "web search tool calls", "Vector storage", "whisper-1, audio" are not.
    """
    if line_item is None:
        return CostKind.UNKNOWN
    if _LINE_ITEM.match(line_item.strip()) or _TOKEN_WORDS.search(line_item.replace("_", " ")):
        return CostKind.TOKENS
    if _OTHER_WORDS.search(line_item):
        return CostKind.OTHER
    return CostKind.UNKNOWN


def _cost_line(day: date, row: _CostRow) -> CostLine:
    if row.amount.currency.lower() != "usd":
        raise ProviderResponseError(f"openai cost in unsupported currency {row.amount.currency!r}", provider=P.value)
    meaning = _line_meaning(row.line_item)
    return CostLine(
        provider=P,
        day=day,
        amount_usd=row.amount.value,
        kind=meaning.kind,
        model=meaning.model,
        token_type=meaning.token_type,
        service_tier=meaning.service_tier,
        context_band=meaning.context_band,
        line_item=row.line_item,
        project_id=row.project_id,
        tokens=_line_tokens(row.quantity, row.quantity_unit),
    )


@lru_cache(maxsize=4096)
def _line_meaning(line_item: str | None) -> LabelMeaning:
    # Cached: a bill names the same few line items day after day.
    kind = classify_line_item(line_item)
    match = _LINE_ITEM.match(line_item.strip()) if line_item else None
    if not match:
        return LabelMeaning(kind)
    rest = match["rest"] or ""
    return LabelMeaning(
        kind,
        model=match["model"].strip(),
        token_type=_LINE_METERS.get(((match["modality"] or "text").lower(), match["meter"].lower())),
        service_tier=_line_tier(match["tier"], rest),
        context_band=ContextBand.LONG if _LONG_CONTEXT.search(rest) else ContextBand.STANDARD,
    )


_TOKEN_UNITS = {"tokens": 1, "1000_tokens": 1000}


def _line_tokens(quantity: Decimal | None, unit: str | None) -> int | None:
    """The tokens a line bills, when its quantity is a whole token count (``quantity_unit`` added 2026-08-21)."""
    scale = _TOKEN_UNITS.get((unit or "").lower())
    if quantity is None or scale is None or quantity < 0:
        return None
    tokens = quantity * scale
    return int(tokens) if tokens == tokens.to_integral_value() else None


def _line_tier(prefix: str | None, rest: str) -> ServiceTier:
    """A line's tier from its prefix (``priority | ...``) or a ``batch``/``flex`` word after the meter.

    Embeddings usage has no ``batch`` column, so a batch embedding shows only in its cost line; the tier a line names
    is what reconciliation matches it on.
    """
    if prefix:
        return service_tier(None, prefix)
    if _BATCH_WORDS.search(rest):
        return ServiceTier.BATCH
    if _FLEX_WORDS.search(rest):
        return ServiceTier.FLEX
    return ServiceTier.STANDARD
