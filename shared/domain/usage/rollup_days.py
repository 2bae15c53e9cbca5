"""Each day's provider parts inside its month's rollup (``UsageMonth.daily``), in a compact form.

A rollup keeps, for every day with a snapshot, that day's ``ProviderPart``s (with their by-model and by-project
tallies), its failed providers and its index level, so that any range, partial months and provider or model filters
included, is served from one document per month (ADR 0011). A day is one zlib-compressed JSON document (like the raw
provider pages): summable figures are positional lists in the column order of this module (``TALLY`` etc.; ints stay
ints, money a plain decimal string, a missing count ``null``), breakdowns are ``{key: [columns]}``. It is compact
because a large enterprise's month (31 days x 2 providers x 60 models x 10 projects) must stay far below Firestore's
1 MiB per document: about 220 kB compressed, 540 kB as text (``tests/unit/test_rollup_days.py``).

``cr`` and ``pd`` (ADR 0016) are optional keys that a day without credits or pending cost leaves out, so days of
this version written before them read as they did.

``DAILY_VERSION`` names this layout: a rollup of another version (or none) is not decoded, and the reader goes back
to the month's daily snapshots. Changing the columns, or a field of the summed models, means a new version.

Layout of one day (keys left out when empty)::

    {"p": {"openai": {"t": TALLY, "r": RATE_BASIS, "c": COMPARISON, "x": MIX,
                      "m": {model: TALLY}, "j": {project: TALLY},
                      "rr": [reason], "u": [unpriced model], "mu": [model used, when not every key of "m"],
                      "v": [price data version], "s": {opportunity: "usd"}, "cs": cost source unless billed,
                      "cr": "credits usd" unless 0, "pd": pending days unless 0}},
     "f": {provider: error code}, "i": ["level", "index version"]}
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.usage.records import CostSource
from shared.domain.usage.snapshot import IndexLevel, UsageSnapshot
from shared.domain.usage.snapshot_parts import ProviderPart, model_only
from shared.domain.usage.tally import Comparison, Mix, RateBasis, Summable, Tally, plain_decimal

DAILY_VERSION = 3
COMPRESSION = 6

TALLY = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_usd",
    "estimated_cost_usd",
    "list_cost_usd",
    "request_count",
)
RATE_BASIS = ("input_tokens", "output_tokens", "input_cost_usd", "output_cost_usd")
COMPARISON = ("billed_usd", "list_usd", "flagged_days", "unpriced_billed_usd")
MIX = ("batch_tokens", "tokens")
COLUMNS: dict[type[Summable], tuple[str, ...]] = {
    Tally: TALLY,
    RateBasis: RATE_BASIS,
    Comparison: COMPARISON,
    Mix: MIX,
}
"""Version 3's columns of each summed model (version 2 had no comparison ``unpriced_billed_usd``, version 1 no
``estimated_cost_usd`` nor parts' ``cs``); a test keeps them equal to the models' fields."""

S = TypeVar("S", bound=Summable)


class RolledDay(BaseModel):
    """What a day contributes to any range: its provider parts, failures and index level."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    by_provider: dict[str, ProviderPart] = Field(default_factory=dict)
    failed_providers: dict[str, str] = Field(default_factory=dict)
    index: IndexLevel | None = None

    @classmethod
    def of(cls, snapshot: UsageSnapshot) -> RolledDay:
        level = snapshot.benchmark.stci_frontier_blended
        return cls(
            date=snapshot.date,
            by_provider=snapshot.by_provider,
            failed_providers=snapshot.failed_providers,
            index=None if level is None else IndexLevel(blended=level, version=snapshot.index_version or ""),
        )


def encode_day(day: RolledDay) -> bytes:
    """The day in its compact form (deterministic: the same day always gives the same bytes)."""
    doc: dict[str, Any] = {"p": {name: _encode_part(part) for name, part in sorted(day.by_provider.items())}}
    if day.failed_providers:
        doc["f"] = dict(sorted(day.failed_providers.items()))
    if day.index is not None:
        doc["i"] = [plain_decimal(day.index.blended), day.index.version]
    return zlib.compress(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode(), COMPRESSION)


def decode_day(
    day: date, data: bytes, *, provider: str | None = None, model: str | None = None, breakdowns: bool = True
) -> RolledDay:
    """The day back from ``encode_day``'s bytes, decoding only what a filtered view reads (a filtered view of a
    12-month range decodes every day of it, so this is on the read path).

    With ``provider``, other providers' parts are left out; with ``model``, each part is decoded as that filter sees
    it (``shared.domain.usage.snapshot_parts.model_only``) and parts without the model are left out; without
    ``breakdowns``, parts keep no tallies by model or project (enough for a day's headline figures). With none of
    them, the day is exactly the one encoded. Raises ``ValueError``, ``ArithmeticError`` or ``zlib.error`` when
    malformed.
    """
    doc = json.loads(zlib.decompress(data))
    index = doc.get("i")
    parts: dict[str, ProviderPart] = {}
    for name, raw in doc["p"].items():
        if provider is not None and name != provider:
            continue
        if model is None:
            parts[name] = _decode_part(raw, breakdowns=breakdowns)
        elif model in (rows := raw.get("m") or {}):
            tally = _unrow(Tally, rows[model])
            pending = _count(raw.get("pd", 0))
            parts[name] = model_only(model, tally, raw.get("u") or [], raw.get("v") or [], _source(raw), pending)
    return RolledDay(
        date=day,
        by_provider=parts,
        failed_providers=doc.get("f") or {},
        index=None if index is None else IndexLevel(blended=Decimal(index[0]), version=index[1]),
    )


@dataclass(frozen=True)
class DayHeadline:
    """One provider's headline figures of a day: what a provider-filtered chart shows for it (``decode_headline``)."""

    date: date
    provider: str
    tally: Tally
    rate_basis: RateBasis
    credits_usd: Decimal
    pending: bool
    """The provider's usage of the day is in, its bill not yet."""
    failed: bool
    """The provider could not be pulled that day."""


def decode_headline(day: date, data: bytes, provider: str) -> DayHeadline:
    """``provider``'s headline figures of the day from ``encode_day``'s bytes: the same figures as its part in
    ``decode_day(day, data, provider=provider, breakdowns=False)``, without building the part (a provider-filtered
    year decodes every day of it for its chart: this made half of such a request's time). A day without the
    provider has zero figures. Raises ``ValueError``, ``ArithmeticError`` or ``zlib.error`` when malformed."""
    doc = json.loads(zlib.decompress(data))
    raw = doc["p"].get(provider)
    failed = provider in (doc.get("f") or {})
    if raw is None:
        return DayHeadline(day, provider, Tally(), RateBasis(), Decimal(0), pending=False, failed=failed)
    return DayHeadline(
        day,
        provider,
        _unrow(Tally, raw["t"]),
        _unrow(RateBasis, raw["r"]),
        Decimal(raw.get("cr", "0")),
        pending=_count(raw.get("pd", 0)) > 0,
        failed=failed,
    )


def _row(model: Summable) -> list[Any]:
    values = []
    for name in COLUMNS[type(model)]:
        value = getattr(model, name)
        values.append(plain_decimal(value) if isinstance(value, Decimal) else value)
    return values


def _unrow(cls: type[S], row: Sequence[Any]) -> S:
    # Built without validation (decoding is on the read path of every filtered view): the row's shape is checked
    # here, money parsed from its plain decimal string, and counts must be JSON integers (or null).
    columns = COLUMNS[cls]
    if len(row) != len(columns):
        raise ValueError(f"a {cls.__name__} row has {len(row)} values, not {len(columns)}")
    values: dict[str, Any] = {}
    for name, value in zip(columns, row, strict=True):
        if isinstance(value, str):
            values[name] = Decimal(value)
        elif value is None or type(value) is int:
            values[name] = value
        else:
            raise ValueError(f"a {cls.__name__} row holds {value!r}")
    return cast(S, cls.model_construct(**values))


def _rows(tallies: Mapping[str, Tally]) -> dict[str, list[Any]]:
    return {key: _row(tally) for key, tally in sorted(tallies.items())}


def _encode_part(part: ProviderPart) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "t": _row(part.tally),
        "r": _row(part.rate_basis),
        "c": _row(part.comparison),
        "x": _row(part.mix),
    }
    optional: dict[str, Any] = {
        "m": _rows(part.by_model),
        "j": _rows(part.by_project),
        "rr": part.reconciliation_reasons,
        "u": part.unpriced_models,
        "v": part.price_data_versions,
        "s": {k: plain_decimal(v) for k, v in sorted(part.savings_usd.items())},
    }
    raw.update({key: value for key, value in optional.items() if value})
    if part.cost_source is not CostSource.BILLED:
        raw["cs"] = part.cost_source.value  # billed, by far the most common, is left out
    if part.credits_usd:
        raw["cr"] = plain_decimal(part.credits_usd)
    if part.pending_days:
        raw["pd"] = part.pending_days
    if part.models_used != sorted(part.by_model):
        raw["mu"] = part.models_used  # usually every model of the breakdown: then left out
    return raw


def _source(raw: Mapping[str, Any]) -> CostSource:
    return CostSource(raw.get("cs", CostSource.BILLED.value))


def _decode_part(raw: Mapping[str, Any], *, breakdowns: bool) -> ProviderPart:
    by_model = {key: _unrow(Tally, row) for key, row in (raw.get("m") or {}).items()} if breakdowns else {}
    by_project = {key: _unrow(Tally, row) for key, row in (raw.get("j") or {}).items()} if breakdowns else {}
    return ProviderPart(
        cost_source=_source(raw),
        tally=_unrow(Tally, raw["t"]),
        rate_basis=_unrow(RateBasis, raw["r"]),
        comparison=_unrow(Comparison, raw["c"]),
        mix=_unrow(Mix, raw["x"]),
        by_model=by_model,
        by_project=by_project,
        reconciliation_reasons=raw.get("rr") or [],
        unpriced_models=raw.get("u") or [],
        models_used=raw["mu"] if "mu" in raw else sorted(raw.get("m") or {}),
        price_data_versions=raw.get("v") or [],
        savings_usd={k: Decimal(v) for k, v in (raw.get("s") or {}).items()},
        credits_usd=Decimal(raw.get("cr", "0")),
        pending_days=_count(raw.get("pd", 0)),
    )


def _count(value: Any) -> int:
    if type(value) is not int:
        raise ValueError(f"a count holds {value!r}")
    return value
