"""The simulator's own data types: organisations, fault knobs, the request log and the ground truth.

These are *our* inputs (strict, unknown fields refused). Keys are held as ``SecretStr`` so that a ``repr`` or a
JSON dump of an organisation never shows them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

Provider = Literal["openai", "anthropic", "google", "bedrock", "azure"]
AdminProvider = Literal["openai", "anthropic"]
"""Providers read with an admin key (``SimOrg``); Google is simulated by ``google_models.GoogleSimOrg``."""
TokenType = Literal[
    "uncached_input",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "audio_input",
    "audio_cache_read",
    "audio_output",
    "image_input",
    "image_cache_read",
]
"""Provider-neutral token meters, the vocabulary of ``truth()`` rows (same names as the platform's domain)."""

TOKEN_TYPES: tuple[TokenType, ...] = ("uncached_input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
"""The text meters every stream's template gives ratios for (audio and image meters are a template's ``modal``)."""

PriceSource = Literal["genai-prices", "internal", "none"]
"""Where a row's list price came from: genai-prices data, the simulator's own table (models genai-prices does not
know), or nowhere (Anthropic Priority Tier, billed outside the cost report)."""

Fraction = Annotated[Decimal, Field(ge=0, le=1)]


class SimOrg(BaseModel):
    """One synthetic organisation: its keys, its data seed and the discount it negotiated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: AdminProvider
    org_id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")
    """``org-...`` for OpenAI; any id for Anthropic (``/v1/organizations/me`` returns a UUID derived from it)."""
    name: str = Field(min_length=1, max_length=200)
    admin_keys: list[SecretStr] = Field(min_length=1)
    """Keys accepted on the admin usage/cost endpoints of this organisation."""
    project_keys: list[SecretStr] = Field(default_factory=list)
    """Ordinary (project / workspace) keys of this organisation: rejected by the admin endpoints."""
    seed: int = 0
    discount: Annotated[Decimal, Field(ge=0, lt=1)] = Decimal(0)
    """Negotiated discount off list price: billed = list × (1 - discount), exactly."""
    history_start: date
    """No usage before this UTC day."""
    scale: Annotated[Decimal, Field(gt=0, le=1000)] = Decimal(1)
    """Multiplies every stream's daily volume."""
    late_days: Annotated[int, Field(ge=0, le=31)] = 0
    """The ``late_days`` most recent UTC days (today included) report only ``late_fraction`` of their volume."""
    late_fraction: Fraction = Decimal("0.6")
    cost_lag_days: Annotated[int, Field(ge=0, le=7)] = 0
    """The cost endpoints have no amounts yet for the ``cost_lag_days`` most recent UTC days (today included), while
    the usage endpoints already report them: cost data lags usage (provider-apis.md §1.6: "costs may take 24-48 h to
    appear"; cost-accuracy-and-focus.md §3.7). The docs are silent on the exact lag, so it is a knob."""


class Faults(BaseModel):
    """Failure knobs. Counters restart whenever faults are set; ``None``/0 turns a knob off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Provider | None = None
    """Limit rate-limit, error, latency and hang faults to one provider's requests (``None`` = all)."""
    rate_limit_every_n: Annotated[int, Field(ge=1)] | None = None
    """Every Nth in-scope request is answered 429."""
    retry_after_s: Annotated[int, Field(ge=0)] | None = 1
    """Value of the ``retry-after`` header on 429 responses; ``None`` omits the header."""
    error_every_n: Annotated[int, Field(ge=1)] | None = None
    error_status: Literal[500, 502, 503, 529] = 500
    latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    """Every in-scope request is answered this long after it arrived, or when its answer is built if that takes
    longer (the answer is built during the wait); without blocking other requests."""
    hang_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    """Delay before answering, meant to exceed a client's read timeout."""
    malformed_day: date | None = None
    """The bucket of this UTC day carries a non-numeric token/amount field."""
    malformed_provider: Provider | None = None
    malformed_endpoint: str | None = None
    """Endpoint path after ``/v1/organization(s)/``, e.g. ``usage/completions``, ``costs``,
    ``usage_report/messages``, ``cost_report``; Google's ``timeSeries`` (a point's value) or ``queries`` (a billing
    row's cost); ``None`` = every data endpoint of ``malformed_provider``."""
    google_denied: Literal["monitoring", "billing"] | None = None
    """Every Google Monitoring (or BigQuery) request is refused 403, as if the account's role had been removed."""
    google_disabled_api: Literal["monitoring", "bigquery"] | None = None
    """The API is not enabled in the called project: 403 with ErrorInfo reason ``SERVICE_DISABLED``."""
    google_refused_metric: str | None = None
    """``timeSeries.list`` of this metric type is answered 400 INVALID_ARGUMENT (one family's query refused)."""


class RevokeKey(BaseModel):
    """Body of ``POST /_sim/keys/revoke``."""

    model_config = ConfigDict(extra="forbid")

    key: SecretStr


class RequestRecord(BaseModel):
    """One provider request as the simulator saw it. Never holds a key, only a short fingerprint."""

    model_config = ConfigDict(frozen=True)

    provider: Provider
    method: str
    path: str
    """Path below the provider base URL, e.g. ``/v1/organization/costs``."""
    query: dict[str, list[str]]
    status: int
    key_fingerprint: str | None
    """First 8 hex digits of the key's SHA-256, or ``None`` when no key was sent."""
    at: datetime


class TruthRow(BaseModel):
    """What one (model, project/workspace, key, tier, context window, token type) consumed on a day."""

    model_config = ConfigDict(frozen=True)

    model: str
    project_id: str | None
    """OpenAI project (``None`` for Anthropic)."""
    workspace_id: str | None
    """Anthropic workspace (``None`` = default workspace, and for OpenAI)."""
    api_key_id: str | None
    service_tier: str
    """Wire value: OpenAI ``default``/``flex``/``priority``; Anthropic ``standard``/``batch``/``priority``."""
    batch: bool | None
    """OpenAI's ``batch`` flag (``None`` for Anthropic, whose batch usage has ``service_tier="batch"``)."""
    context_window: str | None
    """Anthropic ``0-200k`` / ``200k-1M`` (``None`` for OpenAI)."""
    token_type: TokenType
    tokens: int
    price_source: PriceSource
    unit_price_usd_per_mtok: Decimal | None
    list_cost_usd: Decimal | None
    billed_cost_usd: Decimal
    """``tokens × unit price × (1 - discount)``; 0 for usage absent from the cost report."""
    in_cost_report: bool
    """False for Anthropic Priority Tier usage, which the cost report never shows (and has no list price)."""


class DayTruth(BaseModel):
    """The exact numbers the simulator reports for one organisation and UTC day, as of the simulator's now."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    provider: AdminProvider
    day: date
    complete: bool
    """False for today (partial) and for days still reporting late data."""
    cost_reported: bool = True
    """False while the cost endpoints do not report the day yet (``SimOrg.cost_lag_days``); ``billed_cost_usd``
    is what they will report."""
    rows: list[TruthRow]
    tokens_total: int
    list_cost_usd: Decimal
    """Sum of the priced rows' list cost."""
    billed_cost_usd: Decimal
    """Exactly what the cost endpoint reports for the day (sum of the rows' billed cost)."""

    @model_validator(mode="after")
    def _totals_match_rows(self) -> DayTruth:
        if self.tokens_total != sum(r.tokens for r in self.rows):
            raise ValueError("tokens_total does not match the rows")
        if self.billed_cost_usd != sum((r.billed_cost_usd for r in self.rows), Decimal(0)):
            raise ValueError("billed_cost_usd does not match the rows")
        return self
