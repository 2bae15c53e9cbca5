"""Deterministic synthetic usage: each organisation's traffic streams and their daily volumes.

A *stream* is one combination of grouping dimensions (model, project/workspace, user, key, tier, context window)
that carries traffic. An organisation's streams and every day's volumes are pure functions of (org id, seed, day),
so a restarted simulator reports identical numbers. Within a day, traffic follows an hourly profile; the tokens of
any window ``[a, b)`` of the day are ``floor(T·F(b)) - floor(T·F(a))`` for the day's total ``T`` and the profile's
cumulative share ``F``, so windows of any alignment add up exactly to the day's total.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from devstack.provider_sim.models import TOKEN_TYPES, Provider, TokenType

Endpoint = Literal["completions", "embeddings", "messages"]

DAY_SECONDS = 86_400
_HOURLY_PROFILE = (2, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 12, 12, 12, 11, 10, 9, 7, 5, 4, 3, 3, 2, 2)
"""Relative traffic per UTC hour before the per-organisation shift."""

OPENAI_PROJECT_NAMES = ("Default project", "Customer support", "Data pipeline")


@dataclass(frozen=True)
class Stream:
    """One combination of grouping dimensions that carries traffic."""

    endpoint: Endpoint
    model: str
    project_id: str | None
    workspace_id: str | None
    user_id: str | None
    api_key_id: str | None
    batch: bool | None
    service_tier: str
    context_window: str | None
    inference_geo: str | None

    @property
    def price_tier(self) -> str:
        """``standard``, ``batch``, ``flex`` or ``priority``, whatever the provider calls it on the wire."""
        if self.batch:
            return "batch"
        return "standard" if self.service_tier == "default" else self.service_tier


@dataclass(frozen=True)
class _Template:
    endpoint: Endpoint
    model: str
    scope: int | None  # index of the project/workspace, None = default workspace
    user: int | None
    key: int | None
    tier: str
    since: date
    base_mtok: Decimal  # uncached input per day at scale 1, millions of tokens
    ratios: tuple[float, float, float, float]  # cache read, cache write 5m, cache write 1h, output (× uncached)
    tokens_per_request: int
    context_window: str | None = None
    modal: tuple[tuple[TokenType, float], ...] = ()
    """Audio and image meters (× uncached input), for models that take or produce them."""


_FT_MODEL = "ft:gpt-4.1-mini-2025-04-14"
_4O, _4O_MINI, _41, _O4_MINI = "gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "o4-mini-2025-04-16"
_EMBED = "text-embedding-3-small"
_REALTIME = "gpt-realtime-2025-08-28"
_C: Endpoint = "completions"
_E: Endpoint = "embeddings"
_M: Endpoint = "messages"
_D = Decimal
# endpoint, model, project, user, key, tier, released, Mtok/day, (read, write 5m, write 1h, output), tokens/request
_OPENAI: tuple[_Template, ...] = (
    _Template(_C, _4O, 0, 0, 0, "default", date(2024, 8, 6), _D(4), (0.5, 0, 0, 0.25), 2500),
    _Template(_C, _4O, 1, 1, 1, "batch", date(2024, 8, 6), _D(6), (0, 0, 0, 0.2), 3000),
    _Template(_C, _4O_MINI, 1, None, 1, "default", date(2024, 7, 18), _D(20), (0.8, 0, 0, 0.3), 1500),
    _Template(_C, _4O_MINI, 2, 2, 2, "priority", date(2024, 7, 18), _D(2), (0.3, 0, 0, 0.3), 1200),
    _Template(_C, _41, 0, 0, 0, "default", date(2025, 4, 14), _D(5), (0.6, 0, 0, 0.2), 4000),
    _Template(_C, _41, 2, None, 3, "batch", date(2025, 4, 14), _D(8), (0.2, 0, 0, 0.15), 5000),
    _Template(_C, _O4_MINI, 0, 1, 2, "flex", date(2025, 4, 16), _D(3), (0.25, 0, 0, 0.9), 2000),
    _Template(_C, _O4_MINI, 2, 2, 2, "default", date(2025, 4, 16), _D("2.5"), (0.4, 0, 0, 1.1), 2000),
    _Template(_C, _FT_MODEL, 1, None, 3, "default", date(2025, 4, 14), _D("1.5"), (0.1, 0, 0, 0.35), 1800),
    _Template(_E, _EMBED, 2, None, 2, "default", date(2024, 1, 25), _D(30), (0, 0, 0, 0), 800),
    _Template(_E, _EMBED, 0, 0, None, "default", date(2024, 1, 25), _D(5), (0, 0, 0, 0), 800),
    # Appended last so the streams above keep their daily volumes (each stream's randomness is keyed by its index).
    # A voice agent on the Realtime API: text, audio and image input (cached too) and audio output, documented in
    # the completions usage object (provider-apis.md §1.4).
    _Template(
        _C,
        _REALTIME,
        0,
        0,
        1,
        "default",
        date(2025, 8, 28),
        _D("0.5"),
        (0.2, 0, 0, 0.3),
        3000,
        modal=(
            ("audio_input", 0.8),
            ("audio_cache_read", 0.2),
            ("audio_output", 0.6),
            ("image_input", 0.1),
            ("image_cache_read", 0.02),
        ),
    ),
    # Batch API embeddings: the embeddings usage report has no batch column; only the costs report's line items
    # ("batch | ...") tell them apart.
    _Template(_E, _EMBED, 1, None, 1, "batch", date(2024, 1, 25), _D(20), (0, 0, 0, 0), 800),
)
_SONNET, _HAIKU, _OPUS = "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-5-20251101"
# endpoint, model, workspace (None = default), -, key, tier, released, Mtok/day, ratios, tokens/request[, window]
_ANTHROPIC: tuple[_Template, ...] = (
    _Template(_M, _SONNET, 0, None, 0, "standard", date(2025, 9, 29), _D(3), (4.0, 0.3, 0, 0.25), 8000),
    _Template(_M, _SONNET, 0, None, 0, "standard", date(2025, 9, 29), _D(2), (1.5, 0.1, 0.2, 0.02), 350_000, "200k-1M"),
    _Template(_M, _SONNET, 1, None, 1, "batch", date(2025, 9, 29), _D(5), (0.5, 0.05, 0, 0.3), 6000),
    _Template(_M, _SONNET, None, None, None, "standard", date(2025, 9, 29), _D("0.3"), (0, 0, 0, 0.4), 3000),
    _Template(_M, _HAIKU, 1, None, 2, "standard", date(2025, 10, 15), _D(10), (2.0, 0.2, 0, 0.2), 4000),
    _Template(_M, _HAIKU, 1, None, 2, "batch", date(2025, 10, 15), _D(12), (0, 0, 0, 0.15), 5000),
    _Template(_M, _OPUS, 0, None, 1, "standard", date(2025, 11, 24), _D("1.5"), (3.0, 0, 0.25, 0.3), 9000),
    _Template(_M, _OPUS, None, None, 0, "priority", date(2025, 11, 24), _D("0.8"), (1.0, 0.1, 0, 0.3), 7000),
)


@dataclass(frozen=True)
class DayRow:
    """A stream's volume over a whole UTC day (before late-data and clock cuts)."""

    stream: Stream
    tokens: tuple[tuple[TokenType, int], ...]
    requests: int


def _hex(*parts: object, n: int) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:n]


@dataclass(frozen=True)
class Catalog:
    """An organisation's ids and streams."""

    provider: Provider
    scopes: tuple[str, ...]
    """OpenAI project ids or Anthropic workspace ids (the default workspace is ``None``, not listed)."""
    api_keys: tuple[str, ...]
    streams: tuple[tuple[Stream, _Template], ...]


@lru_cache(maxsize=256)
def catalog(provider: Provider, org_id: str, seed: int) -> Catalog:
    """The organisation's deterministic ids and traffic streams."""
    if provider == "openai":
        scopes = tuple(f"proj_{_hex(org_id, seed, 'project', i, n=24)}" for i in range(3))
        keys = tuple(f"key_{_hex(org_id, seed, 'key', i, n=16)}" for i in range(4))
        users = tuple(f"user-{_hex(org_id, seed, 'user', i, n=24)}" for i in range(3))
        templates = _OPENAI
    else:
        scopes = tuple(f"wrkspc_01{_hex(org_id, seed, 'workspace', i, n=22)}" for i in range(2))
        keys = tuple(f"apikey_01{_hex(org_id, seed, 'key', i, n=22)}" for i in range(3))
        users = ()
        templates = _ANTHROPIC
    ft_suffix = f":{org_id.removeprefix('org-')[:20].lower()}::{_hex(org_id, seed, 'ft', n=4)}"
    streams = []
    for t in templates:
        scope = scopes[t.scope] if t.scope is not None else None
        openai = provider == "openai"
        stream = Stream(
            endpoint=t.endpoint,
            model=t.model + ft_suffix if t.model == _FT_MODEL else t.model,
            project_id=scope if openai else None,
            workspace_id=None if openai else scope,
            user_id=users[t.user] if t.user is not None else None,
            api_key_id=keys[t.key] if t.key is not None else None,
            batch=(t.tier == "batch") if t.endpoint == "completions" else None,
            # Completions carry batch in their ``batch`` column; other endpoints only in their cost lines.
            service_tier="default" if openai and t.tier == "batch" and t.endpoint == "completions" else t.tier,
            context_window=None if openai else (t.context_window or "0-200k"),
            inference_geo=None if openai else "not_available",
        )
        streams.append((stream, t))
    return Catalog(provider, scopes, keys, tuple(streams))


@lru_cache(maxsize=8192)
def day_rows(provider: Provider, org_id: str, seed: int, scale: Decimal, day: date) -> tuple[DayRow, ...]:
    """Every stream's full-day volume on ``day``: a pure function of its arguments."""
    rows = []
    weekend = day.weekday() >= 5
    for index, (stream, t) in enumerate(catalog(provider, org_id, seed).streams):
        if day < t.since:
            continue
        rng = random.Random(f"{org_id}|{seed}|{day.isoformat()}|{index}")
        if rng.random() < 0.08:  # an idle day for this stream: some groups are missing some days
            continue
        level = t.base_mtok * scale * Decimal(str(round(rng.uniform(0.6, 1.4) * (0.45 if weekend else 1), 4)))
        uncached = int(level * 1_000_000)
        counts = [uncached] + [int(uncached * r * rng.uniform(0.8, 1.2)) for r in t.ratios]
        total_input = sum(counts[:4])
        requests = max(1, total_input // t.tokens_per_request)
        tokens = tuple((tt, n) for tt, n in zip(TOKEN_TYPES, counts, strict=True) if n)
        tokens += tuple((tt, n) for tt, r in t.modal if (n := int(uncached * r * rng.uniform(0.8, 1.2))))
        if tokens:
            rows.append(DayRow(stream, tokens, requests))
    return tuple(rows)


@lru_cache(maxsize=64)
def _profile(shift: int) -> tuple[tuple[int, ...], int]:
    weights = tuple(_HOURLY_PROFILE[(h - shift) % 24] for h in range(24))
    cumulative = [0]
    for w in weights:
        cumulative.append(cumulative[-1] + w * 3600)
    return tuple(cumulative), cumulative[-1]


def share(total: int, seed: int, start_s: int, end_s: int) -> int:
    """How much of a day's ``total`` falls in seconds ``[start_s, end_s)`` of the day (exactly additive)."""
    if end_s <= start_s or total == 0:
        return 0
    if start_s <= 0 and end_s >= DAY_SECONDS:
        return total  # the whole day (what a daily bucket asks): the sum below gives exactly this
    cumulative, denominator = _profile(seed % 9)

    def upto(second: int) -> int:
        second = min(max(second, 0), DAY_SECONDS)
        hour, rest = divmod(second, 3600)
        weight = (cumulative[hour + 1] - cumulative[hour]) // 3600 if hour < 24 else 0
        return total * (cumulative[hour] + weight * rest) // denominator

    return upto(end_s) - upto(start_s)
