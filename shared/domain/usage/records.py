"""The one normalised usage and cost schema, shared by every provider.

A ``UsageRecord`` is one row per (provider, UTC day, model, project/workspace, API key, service tier, context band,
token type), priced at the public list price of that day. A ``CostLine`` is what the provider says it billed. A
``ProviderDay`` holds both for one day, plus their reconciliation; a ``ProviderPull`` holds the days of one window.

Totals semantics, used everywhere (API, snapshots, reports, benchmarks):

* ``input_tokens``  = every input token: uncached + cache reads + cache writes (5m and 1h);
* ``cached_tokens`` = cache reads only;
* ``cache_write_tokens`` = cache writes (5m + 1h), also counted in ``input_tokens``;
* ``output_tokens`` = every output token (text, audio, image, reasoning).

Field names follow FinOps FOCUS where a FOCUS column exists (``charge_period_start``, ``sku_id``,
``consumed_unit``, ``pricing_unit``, ``list_unit_price``); money is ``Decimal`` in USD, times are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, computed_field, model_validator

TOKENS_PER_PRICING_UNIT = Decimal(1_000_000)
"""List prices are quoted per million tokens (FOCUS ``PricingUnit`` "1000000 Tokens")."""

NonNegativeInt = Annotated[int, Field(ge=0)]


class Provider(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GOOGLE = "google"
    BEDROCK = "bedrock"
    """Amazon Bedrock (ADR 0022)."""
    AZURE = "azure"
    """Azure OpenAI (ADR 0023)."""


class TokenType(StrEnum):
    """The priced token meters. Embedding and moderation input is ``uncached_input``; the unqualified meters are
    text (or all modalities, for providers that do not split them)."""

    UNCACHED_INPUT = "uncached_input"
    CACHE_READ = "cache_read"
    CACHE_WRITE_5M = "cache_write_5m"
    """Anthropic 5-minute cache writes; also OpenAI's (single, undifferentiated) cache-write count."""
    CACHE_WRITE_1H = "cache_write_1h"
    OUTPUT = "output"
    AUDIO_INPUT = "audio_input"
    """OpenAI uncached audio input tokens (``input_audio_tokens``)."""
    AUDIO_CACHE_READ = "audio_cache_read"
    AUDIO_OUTPUT = "audio_output"
    IMAGE_INPUT = "image_input"
    IMAGE_CACHE_READ = "image_cache_read"
    IMAGE_OUTPUT = "image_output"

    @property
    def is_input(self) -> bool:
        return self not in _OUTPUT_TYPES

    @property
    def is_cache_read(self) -> bool:
        return self in _CACHE_READ_TYPES

    @property
    def is_cache_write(self) -> bool:
        return self in (TokenType.CACHE_WRITE_5M, TokenType.CACHE_WRITE_1H)


_OUTPUT_TYPES = frozenset({TokenType.OUTPUT, TokenType.AUDIO_OUTPUT, TokenType.IMAGE_OUTPUT})
_CACHE_READ_TYPES = frozenset({TokenType.CACHE_READ, TokenType.AUDIO_CACHE_READ, TokenType.IMAGE_CACHE_READ})


class ServiceTier(StrEnum):
    STANDARD = "standard"
    BATCH = "batch"
    PRIORITY = "priority"
    FLEX = "flex"


class ContextBand(StrEnum):
    """Whether the request's input crossed the provider's long-context threshold (Anthropic ``200k-1M``)."""

    STANDARD = "standard"
    LONG = "long"


class PriceBasis(StrEnum):
    """How a list unit price was obtained; shown next to list costs so nobody mistakes an estimate for a quote."""

    STANDARD = "standard"
    """The model's standard price at the usage date."""
    TIER_VARIANT = "tier_variant"
    """A batch/flex/priority price variant in force at the usage date."""
    TIER_VARIANT_BACKDATED = "tier_variant_backdated"
    """A tier variant recorded after the usage date, applied because the standard prices were unchanged since."""
    BATCH_HALF_PRICE = "batch_half_price"
    """No usable variant: the providers' documented rule (batch and flex = 50% of standard) applied."""
    FREE = "free"
    """The price data lists the model with no charge at all (e.g. OpenAI moderation)."""


class CostKind(StrEnum):
    """Whether a billed cost line is for tokens (comparable with list cost) or for something else."""

    TOKENS = "tokens"
    OTHER = "other"
    """Tool calls, storage, sessions, per-image or per-second products: billed, but not in token list cost."""
    UNKNOWN = "unknown"
    """Not classifiable from the line; reconciliation counts it with tokens rather than hide it."""
    CREDIT = "credit"
    """FOCUS ChargeCategory ``Credit``: a grant, refund or promotional credit (any negative line): money off the
    bill, never the price of a token (``shared.domain.usage.charges``)."""
    ADJUSTMENT = "adjustment"
    """FOCUS ChargeCategory ``Adjustment``: a correction or rounding line, not the price of any usage."""

    @property
    def is_token_cost(self) -> bool:
        """Whether the line enters the token comparison and the effective rates (M1/M2)."""
        return self in (CostKind.TOKENS, CostKind.UNKNOWN)

    @property
    def is_credit(self) -> bool:
        """A credit or an adjustment: in the bill's total, shown as such, never in rates or discounts."""
        return self in (CostKind.CREDIT, CostKind.ADJUSTMENT)


class CostSource(StrEnum):
    """Where a provider's money figures come from."""

    BILLED = "billed"
    """The provider's bill: its cost endpoint (OpenAI, Anthropic) or the Cloud Billing export (Google)."""
    ESTIMATED = "estimated"
    """No bill could be read (Google without a billing export): usage priced at public list prices."""
    MIXED = "mixed"
    """Only in sums over days: some days billed, some estimated."""

    def plus(self, other: CostSource) -> CostSource:
        return self if self is other else CostSource.MIXED


class DayStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"


class ReconciliationReason(StrEnum):
    BILLED_ABOVE_LIST = "billed_above_list"
    RATIO_BELOW_FLOOR = "ratio_below_floor"
    BILLED_WITHOUT_PRICED_USAGE = "billed_without_priced_usage"
    NO_BILLED_COST = "no_billed_cost"
    UNPRICED_USAGE = "unpriced_usage"
    """Some usage has no exact list price; it and its billed lines are left out of the comparison (informational)."""
    LIST_QUANTITIES_INEXACT = "list_quantities_inexact"
    """The provider's usage counts cannot be priced meter by meter (Google Monitoring); nothing is compared."""


_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _parse_amount(value: object) -> object:
    # Providers send money as a JSON number or a numeric string (OpenAI ``amount.value``, Anthropic cents strings);
    # both become an exact Decimal, never a float. bool is not money.
    if isinstance(value, bool):
        raise ValueError("not an amount")
    if isinstance(value, int | str):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation as e:
            raise ValueError("not a decimal amount") from e
    return value


ProviderAmount = Annotated[Decimal, BeforeValidator(_parse_amount), Field(allow_inf_nan=False)]
"""A money amount as a provider sends it, parsed exactly (units are the provider's: dollars or cents)."""


def price_coverage(priced_billed_usd: Decimal, unpriced_billed_usd: Decimal) -> Decimal | None:
    """``priced ÷ (priced + unpriced)`` billed spend: how much of the bill a discount vs list speaks for."""
    total = priced_billed_usd + unpriced_billed_usd
    return priced_billed_usd / total if total > 0 else None


def day_start(day: date) -> datetime:
    """00:00 UTC of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


class UsageRecord(BaseModel):
    """Tokens of one meter on one UTC day for one (model, project, key, tier, band), priced at list."""

    model_config = _FROZEN

    provider: Provider
    day: date
    """UTC day of the provider's daily bucket."""
    model: str
    """Model as the provider reports it (dated snapshot names included)."""
    project_id: str | None
    """OpenAI project or Anthropic workspace; ``None`` = default workspace / not attributed."""
    api_key_id: str | None
    """``None`` = not attributed (e.g. Anthropic Console usage)."""
    service_tier: ServiceTier
    context_band: ContextBand
    token_type: TokenType
    quantity: NonNegativeInt
    """Tokens (FOCUS ``ConsumedQuantity``)."""
    list_unit_price: Decimal | None
    """USD per 1,000,000 tokens at list price on ``day``; ``None`` = unpriced."""
    list_cost_usd: Decimal | None
    """``quantity × list_unit_price / 1e6``; ``None`` = unpriced (never 0 for an unknown model)."""
    price_basis: PriceBasis | None = None
    unpriced_reason: str | None = None
    """Why the usage has no per-token list price when the channel says so (``pricing.UnpricedReason``), e.g. an
    Azure provisioned deployment billed per hour; ``None`` when priced or for the price data's own gaps."""

    @model_validator(mode="after")
    def _price_is_consistent(self) -> UsageRecord:
        if self.unpriced_reason is not None and self.list_unit_price is not None:
            raise ValueError("a priced record has no unpriced_reason")
        if (self.list_unit_price is None) != (self.list_cost_usd is None):
            raise ValueError("list_unit_price and list_cost_usd must both be set or both be None")
        if (self.list_unit_price is None) != (self.price_basis is None):
            raise ValueError("price_basis is set exactly when the record is priced")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def priced(self) -> bool:
        return self.list_cost_usd is not None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def charge_period_start(self) -> datetime:
        return day_start(self.day)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def charge_period_end(self) -> datetime:
        return day_start(self.day + timedelta(days=1))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sku_id(self) -> str:
        return f"{self.model}/{self.token_type.value}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sku_price_id(self) -> str:
        return f"{self.model}/{self.token_type.value}/{self.service_tier.value}/{self.context_band.value}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def consumed_unit(self) -> str:
        return "Tokens"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pricing_unit(self) -> str:
        return "1000000 Tokens"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pricing_quantity(self) -> Decimal:
        return Decimal(self.quantity) / TOKENS_PER_PRICING_UNIT

    @property
    def key(self) -> tuple[str, ...]:
        """The record's identity: every dimension except the quantity and the price."""
        return (
            self.provider.value,
            self.day.isoformat(),
            self.model,
            self.project_id or "",
            self.api_key_id or "",
            self.service_tier.value,
            self.context_band.value,
            self.token_type.value,
        )


class CostLine(BaseModel):
    """An amount the provider's cost endpoint reports for one day (FOCUS ``BilledCost``), in USD."""

    model_config = _FROZEN

    provider: Provider
    day: date
    amount_usd: Decimal
    kind: CostKind
    model: str | None = None
    token_type: TokenType | None = None
    service_tier: ServiceTier | None = None
    context_band: ContextBand | None = None
    line_item: str | None = None
    """The provider's own label (OpenAI ``line_item``, Anthropic ``description``)."""
    project_id: str | None = None
    tokens: NonNegativeInt | None = None
    """Tokens the line bills, when the provider says (OpenAI ``quantity`` in ``tokens`` or ``1000_tokens``)."""


def metered_cost_line(
    provider: Provider,
    day: date,
    amount_usd: Decimal,
    *,
    model: str | None,
    token_type: TokenType | None,
    line_item: str,
    project_id: str | None,
) -> CostLine:
    """A cloud bill's line (a Bedrock usage type, an Azure meter) once its label is parsed: standard-tier tokens when
    the label names a kind of token, money of unknown kind otherwise."""
    return CostLine(
        provider=provider,
        day=day,
        amount_usd=amount_usd,
        kind=CostKind.TOKENS if token_type else CostKind.UNKNOWN,
        model=model,
        token_type=token_type,
        service_tier=ServiceTier.STANDARD if token_type else None,
        line_item=line_item,
        project_id=project_id,
    )


class MeterUsage(BaseModel):
    """A non-token quantity (images, audio seconds, tool calls, storage): kept, not list-priced.

    Its money is in the provider's cost lines (``CostKind.OTHER``), which reconciliation leaves out of the
    token comparison.
    """

    model_config = _FROZEN

    provider: Provider
    day: date
    source: str
    """The provider report it came from, e.g. ``images`` or ``usage_report.server_tool_use``."""
    meter: str
    """What is counted, e.g. ``images``, ``seconds``, ``web_search_requests``, ``usage_bytes``."""
    quantity: NonNegativeInt
    model: str | None = None
    project_id: str | None = None
    api_key_id: str | None = None


class UsageTotals(BaseModel):
    """Token totals with the platform-wide semantics described in the module docstring."""

    model_config = _FROZEN

    input_tokens: int = 0
    uncached_input_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def of(cls, records: Iterable[UsageRecord]) -> UsageTotals:
        inputs = uncached = reads = writes = outputs = 0
        for record in records:
            t, n = record.token_type, record.quantity
            if not t.is_input:
                outputs += n
                continue
            inputs += n
            reads += n if t.is_cache_read else 0
            writes += n if t.is_cache_write else 0
            uncached += 0 if t.is_cache_read or t.is_cache_write else n
        return cls(
            input_tokens=inputs,
            uncached_input_tokens=uncached,
            cached_tokens=reads,
            cache_write_tokens=writes,
            output_tokens=outputs,
        )


class Reconciliation(BaseModel):
    """Billed (provider cost endpoint) against list (usage × list price) for one provider-day.

    Only comparable amounts enter: token cost lines (and unclassifiable ones) against priced token usage of the
    tiers the cost endpoint covers; usage without an exact list price leaves both sides, its billed lines counted in
    ``unpriced_billed_usd`` (``shared.domain.usage.reconcile``). ``ratio`` is billed ÷ list; an enterprise discount
    shows as a ratio below 1.
    """

    model_config = _FROZEN

    billed_usd: Decimal
    list_usd: Decimal
    ratio: Decimal | None
    flagged: bool
    reasons: tuple[ReconciliationReason, ...] = ()
    unpriced_billed_usd: Decimal = Decimal(0)
    """Billed token cost of usage that could not be priced exactly: in neither ``billed_usd`` nor ``list_usd``."""

    @property
    def price_coverage(self) -> Decimal | None:
        """Share of the billed token spend that the comparison covers; ``None`` when nothing was billed."""
        return price_coverage(self.billed_usd, self.unpriced_billed_usd)


class ProviderDay(BaseModel):
    """Everything known about one provider on one UTC day, or why it could not be known.

    An ``ESTIMATED`` day has no bill: its cost lines are its priced records at list price (one line per record) and
    it has no reconciliation, since there is nothing billed to compare with.
    """

    model_config = _FROZEN

    provider: Provider
    day: date
    cost_source: CostSource = CostSource.BILLED
    status: DayStatus = DayStatus.OK
    error_code: str | None = None
    """Stable code of the ``ProviderError`` that failed the day (e.g. ``provider_malformed_response``)."""
    error_message: str | None = None
    records: tuple[UsageRecord, ...] = ()
    cost_lines: tuple[CostLine, ...] = ()
    meters: tuple[MeterUsage, ...] = ()
    reconciliation: Reconciliation | None = None
    cost_pending: bool = False
    """Usage is in but the provider has billed nothing for the day yet (cost lags usage by up to ~48 h): the day's
    tokens count, its cost is not final, and it stays out of rates, discount and benchmarks until the cost arrives."""

    @model_validator(mode="after")
    def _status_is_consistent(self) -> ProviderDay:
        if (self.status is DayStatus.FAILED) != (self.error_code is not None):
            raise ValueError("a failed day has an error_code and an ok day has none")
        if self.status is DayStatus.FAILED and (self.records or self.cost_lines or self.meters):
            raise ValueError("a failed day carries no partial data")
        if self.cost_source is CostSource.MIXED:
            raise ValueError("a day's costs are billed or estimated, not mixed")
        if self.cost_source is CostSource.ESTIMATED and self.reconciliation is not None:
            raise ValueError("an estimated day has nothing billed to reconcile")
        if self.cost_pending and (self.cost_lines or self.reconciliation is not None):
            raise ValueError("a day whose cost is pending has no cost lines and nothing reconciled")
        owners = {(r.provider, r.day) for r in self.records}
        owners |= {(c.provider, c.day) for c in self.cost_lines}
        owners |= {(m.provider, m.day) for m in self.meters}
        if owners - {(self.provider, self.day)}:
            raise ValueError("every record belongs to the day's provider and day")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def billed_usd(self) -> Decimal:
        return sum((line.amount_usd for line in self.cost_lines), Decimal(0))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def list_usd(self) -> Decimal:
        """List cost of the priced records (unpriced ones are listed in ``unpriced_models``, not counted as 0)."""
        return sum((r.list_cost_usd for r in self.records if r.list_cost_usd is not None), Decimal(0))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unpriced_models(self) -> tuple[str, ...]:
        return tuple(sorted({r.model for r in self.records if not r.priced}))

    @property
    def totals(self) -> UsageTotals:
        return UsageTotals.of(self.records)


class OrgIdentity(BaseModel):
    """What a key validation established about the provider organisation behind the key."""

    model_config = _FROZEN

    provider: Provider
    org_id: str | None
    """``None`` when the provider does not disclose it (OpenAI admin keys, unless the response header carries it)."""
    org_name: str | None
    permissions: tuple[str, ...]
    """Capabilities verified by the validation calls, e.g. ``usage.read``, ``management.read``."""
    principal: str | None = None
    """Who the credential authenticates as, when it says (a Google service account's email)."""
    projects: tuple[str, ...] = ()
    """Google: the projects whose usage the credential was shown to read."""
    billing_export: bool | None = None
    """Google: whether a readable Cloud Billing export gives billed costs (``False``: costs are estimated)."""


class ProviderPull(BaseModel):
    """One window ``[start, end_exclusive)`` pulled from one provider: every day present, ok or failed."""

    model_config = _FROZEN

    provider: Provider
    start: date
    end_exclusive: date
    days: dict[date, ProviderDay]
    price_data_version: str
    """Version of the list-price data used (the ``genai-prices`` package version)."""
    raw_pages: tuple[dict[str, Any], ...] = ()
    """The provider's pages as received (endpoint, query, body) for debugging; never any credential."""

    @model_validator(mode="after")
    def _days_cover_window(self) -> ProviderPull:
        if self.end_exclusive <= self.start:
            raise ValueError("end_exclusive must be after start")
        expected = {self.start + timedelta(days=i) for i in range((self.end_exclusive - self.start).days)}
        if set(self.days) != expected:
            raise ValueError("days must hold exactly the days of the window")
        if any(d.provider != self.provider or d.day != key for key, d in self.days.items()):
            raise ValueError("days must belong to this provider and be keyed by their day")
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Short: a pull holds every record and raw page of its window, and ``asyncio.run`` in a main thread reprs
        # the finished task that returned the pulls (restoring SIGINT's handler, ``signal.getsignal`` formats the
        # ``partial`` holding that task, CPython 3.11): the full repr walked all of it, tens of ms per sync.
        yield from ((name, getattr(self, name)) for name in ("provider", "start", "end_exclusive"))
        yield "days", len(self.days)
        yield "raw_pages", len(self.raw_pages)

    @property
    def failed_days(self) -> tuple[date, ...]:
        return tuple(sorted(d for d, pd in self.days.items() if pd.status is DayStatus.FAILED))
