"""Cloud Billing export rows (BigQuery ``jobs.query`` results) → Google's billed cost lines per UTC day.

Wire facts: a BigQuery REST result is a ``schema`` (``fields[{name, type, mode, fields}]``) and ``rows`` of
``{"f": [{"v": ...}]}`` cells in schema order; a RECORD cell's ``v`` is again ``{"f": [...]}``, a REPEATED cell's
``v`` a list of ``{"v": ...}``; scalars are strings (``FLOAT64`` too, so money is read exactly as written) or
``null``. Timestamps are int64 microseconds when the query asked for ``useInt64Timestamp``, float seconds otherwise.

Export facts (provider-apis.md §3.2): ``cost`` is in the billing account's ``currency``; ``credits[].amount`` are
negative; the net cost is ``cost + Σ credits.amount``, and USD is that divided by ``currency_conversion_rate``
(local currency per US dollar). Rows are hourly; a row belongs to the UTC day of its ``usage_start_time``.

Every row is kept: rows of the same (day, project, SKU, cost type) are summed into one cost line, classified from
the SKU description (``shared.domain.providers.google.skus``). The rows' ``usage.amount`` of token SKUs (unit ``count``)
is summed too: the bill's own token quantity per meter, which separates cached input and context bands where Cloud
Monitoring does not, so the discount vs list is priced on it (``BilledDays.quantities``). A row of another cost type
than ``regular`` (adjustments, rounding) is a cost of kind ``OTHER``.
A row whose money cannot be read fails its day only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.domain.providers.google.skus import parse_sku
from shared.domain.usage.normalise import DayFailure, RawUsage
from shared.domain.usage.records import ContextBand, CostKind, CostLine, Provider, ServiceTier
from shared.errors import ProviderResponseError

P = Provider.GOOGLE
_MICROSECONDS_THRESHOLD = Decimal(10) ** 14
SERVICES = ("Vertex AI", "Gemini API", "Generative Language API")
"""``service.description`` values whose costs are read (the services Gemini is billed under)."""


def _bad(message: str) -> ProviderResponseError:
    return ProviderResponseError(f"google billing export {message}", provider=P.value)


# --- BigQuery's f/v encoding ---------------------------------------------------------------------------------


def decode_rows(schema: Mapping[str, Any], rows: Sequence[Any]) -> list[dict[str, Any]]:
    """``rows`` as dicts keyed by field name, RECORDs as dicts, REPEATED fields as lists, scalars as strings."""
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    if not isinstance(fields, list):
        raise _bad("result has no schema")
    return [_record(fields, row) for row in rows]


def _record(fields: list[Any], row: Any) -> dict[str, Any]:
    cells = row.get("f") if isinstance(row, Mapping) else None
    if not isinstance(cells, list) or len(cells) != len(fields):
        raise _bad("row does not match its schema")
    out: dict[str, Any] = {}
    for spec, cell in zip(fields, cells, strict=True):
        if not isinstance(spec, Mapping) or not isinstance(cell, Mapping):
            raise _bad("row cell is malformed")
        out[str(spec.get("name"))] = _cell(spec, cell.get("v"))
    return out


def _cell(spec: Mapping[str, Any], value: Any) -> Any:
    if value is None:
        return [] if spec.get("mode") == "REPEATED" else None
    if spec.get("mode") == "REPEATED":
        if not isinstance(value, list):
            raise _bad("repeated cell is not a list")
        single = {**spec, "mode": "NULLABLE"}
        return [_cell(single, item.get("v") if isinstance(item, Mapping) else None) for item in value]
    if spec.get("type") in ("RECORD", "STRUCT"):
        return _record(list(spec.get("fields") or []), value)
    if not isinstance(value, str):
        raise _bad("scalar cell is not a string")
    return value


# --- Rows to cost lines --------------------------------------------------------------------------------------


@dataclass
class BilledDays:
    """Cost lines by day, and the days whose rows could not be read."""

    lines: dict[date, list[CostLine]] = field(default_factory=dict)
    failures: dict[date, DayFailure] = field(default_factory=dict)
    quantities: dict[date, list[RawUsage]] = field(default_factory=dict)
    """The bill's own token quantities per (project, SKU): the list side of the discount (``list_quantities``)."""


def cost_lines(rows: Iterable[Mapping[str, Any]]) -> BilledDays:
    """The rows of ``decode_rows`` (aliased as in ``shared.adapters.google_bigquery.BILLING_SQL``) as cost lines."""
    sums: dict[tuple[date, str | None, str, str], Decimal] = {}
    tokens: dict[tuple[date, str | None, str, str], int | None] = {}
    out = BilledDays()
    for row in rows:
        day = _usage_day(row.get("usage_start_time"))
        try:
            amount = net_usd(row)
        except ProviderResponseError as e:
            out.failures[day] = DayFailure.of(e)
            continue
        key = (day, row.get("project_id"), str(row.get("sku_description") or ""), str(row.get("cost_type") or ""))
        sums[key] = sums.get(key, Decimal(0)) + amount
        count = token_count(row)
        tokens[key] = None if count is None or tokens.get(key, 0) is None else (tokens.get(key) or 0) + count
    for (day, project, sku, cost_type), amount in sorted(sums.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if day in out.failures:
            continue
        line = _line(day, project, sku, cost_type, amount)
        out.lines.setdefault(day, []).append(line)
        quantity = list_quantity(line, tokens[(day, project, sku, cost_type)])
        if quantity is not None:
            out.quantities.setdefault(day, []).append(quantity)
    return out


TOKEN_UNITS = frozenset({"count", "token", "tokens"})
"""``usage.unit`` values of token SKUs: a count of tokens (the export's unit for Gemini token SKUs is ``count``)."""


def token_count(row: Mapping[str, Any]) -> int | None:
    """The row's ``usage.amount`` when it is a whole number of tokens, else ``None`` (unknown, never 0)."""
    unit = str(row.get("usage_unit") or "").lower()
    raw = row.get("usage_amount")
    if unit not in TOKEN_UNITS or not isinstance(raw, str):
        return None
    try:
        amount = Decimal(raw.strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount != amount.to_integral_value():
        return None
    return int(amount)


def list_quantity(line: CostLine, tokens: int | None) -> RawUsage | None:
    """The token meter a token line's SKU names, with the tokens the bill counted for it; ``None`` when the SKU
    names no model or meter or its quantity is unreadable (the line is then unpriced in the comparison)."""
    if line.kind is not CostKind.TOKENS or line.model is None or line.token_type is None or tokens is None:
        return None
    return RawUsage(
        model=line.model,
        project_id=line.project_id,
        api_key_id=None,
        service_tier=line.service_tier or ServiceTier.STANDARD,
        context_band=line.context_band or ContextBand.STANDARD,
        token_type=line.token_type,
        quantity=tokens,
    )


def net_usd(row: Mapping[str, Any]) -> Decimal:
    """``(cost + Σ credits) / currency_conversion_rate``: what the row cost after credits, in US dollars."""
    cost = _money(row.get("cost"), "cost")
    credits = row.get("credits") or []
    if not isinstance(credits, list):
        raise _bad("credits are not a list")
    for credit in credits:
        if not isinstance(credit, Mapping):
            raise _bad("credit is malformed")
        cost += _money(credit.get("amount"), "credit amount")
    currency = str(row.get("currency") or "").upper()
    rate_raw = row.get("currency_conversion_rate")
    if rate_raw is None:
        if currency != "USD":
            raise _bad(f"row in {currency or 'no currency'} has no conversion rate")
        return cost
    rate = _money(rate_raw, "currency conversion rate")
    if rate <= 0:
        raise _bad("currency conversion rate is not positive")
    return cost if currency == "USD" and rate == 1 else cost / rate


def _line(day: date, project: str | None, sku: str, cost_type: str, amount: Decimal) -> CostLine:
    if cost_type not in ("", "regular"):
        return CostLine(provider=P, day=day, amount_usd=amount, kind=CostKind.OTHER, line_item=f"{cost_type}: {sku}")
    meaning = parse_sku(sku)
    return CostLine(
        provider=P,
        day=day,
        amount_usd=amount,
        kind=meaning.kind,
        model=meaning.model,
        token_type=meaning.token_type,
        service_tier=meaning.service_tier,
        context_band=meaning.context_band,
        line_item=sku or None,
        project_id=project,
    )


def _money(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _bad(f"{what} is missing")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as e:
        raise _bad(f"{what} is not a number") from e
    if not amount.is_finite():
        raise _bad(f"{what} is not finite")
    return amount


def _usage_day(value: object) -> date:
    """The UTC day of ``usage_start_time``: int64 microseconds, or (float) seconds such as ``1.7172E9``."""
    if not isinstance(value, str):
        raise _bad("row has no usage_start_time")
    try:
        number = Decimal(value.strip())
    except InvalidOperation as e:
        raise _bad("usage_start_time is not a timestamp") from e
    if not number.is_finite():
        raise _bad("usage_start_time is not a timestamp")
    # Microseconds since the epoch are above 1e14 for any date after 1973; seconds stay below 1e11 until year 5138.
    seconds = number / 1_000_000 if number >= _MICROSECONDS_THRESHOLD else number
    try:
        return datetime.fromtimestamp(float(seconds), tz=UTC).date()
    except (OverflowError, OSError, ValueError) as e:
        raise _bad("usage_start_time is out of range") from e
