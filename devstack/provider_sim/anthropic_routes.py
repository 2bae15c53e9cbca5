"""Anthropic Admin API: ``/v1/organizations/usage_report/messages``, ``/cost_report`` and ``/me``.

Wire contract: provider-apis.md §2 and §5. ``x-api-key`` (admin key) and ``anthropic-version`` headers; RFC 3339
``starting_at``/``ending_at``; arrays only as ``k[]=v``; buckets snapped to the width, oldest first, empty ones
included; ``page_<base64(RFC 3339)>`` cursors; a ``request-id`` header on every response. Cost ``amount`` is a
decimal string in cents, ``currency`` ``"USD"``; descriptive fields only with ``group_by[]=description``;
Priority Tier usage never appears in the cost report.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.routing import Route

from devstack.provider_sim import ledger
from devstack.provider_sim.flavors import AnthropicFlavor
from devstack.provider_sim.gateway import Call, NotFound, endpoint
from devstack.provider_sim.jsonio import plain
from devstack.provider_sim.models import TokenType
from devstack.provider_sim.params import (
    USAGE_LIMITS,
    BadRequest,
    anthropic_cursor,
    anthropic_page,
    parse_anthropic_cursor,
    parse_rfc3339,
    rfc3339,
)
from devstack.provider_sim.simulator import ProviderSimulator

MALFORMED = "not-a-number"
TOKEN_TYPES: dict[TokenType, str] = {
    "uncached_input": "uncached_input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_input_tokens",
    "cache_write_5m": "cache_creation.ephemeral_5m_input_tokens",
    "cache_write_1h": "cache_creation.ephemeral_1h_input_tokens",
}
_DESCRIPTIONS: dict[TokenType, str] = {
    "uncached_input": "Input Tokens",
    "output": "Output Tokens",
    "cache_read": "Prompt Caching Read",
    "cache_write_5m": "Prompt Caching Write (5m)",
    "cache_write_1h": "Prompt Caching Write (1h)",
}
_USAGE_GROUPS = ("api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo")
_EXTRA_GROUPS = ("speed", "account_id", "service_account_id")  # accepted; the synthetic data has no values
_FILTERS = {
    "api_key_ids": ("api_key_id", None),
    "workspace_ids": ("workspace_id", None),
    "models": ("model", None),
    "service_tiers": (
        "service_tier",
        ("standard", "batch", "priority", "priority_on_demand", "flex", "flex_discount"),
    ),
    "context_window": ("context_window", ("0-200k", "200k-1M")),
    "inference_geos": ("inference_geo", ("global", "us", "not_available")),
    "speeds": ("speed", ("standard", "fast")),
    "account_ids": ("account_id", None),
    "service_account_ids": ("service_account_id", None),
}


def _window(call: Call, width: str, limit: int, results: Callable[[int, int], list[dict[str, Any]]]) -> dict[str, Any]:
    raw_start = call.args.one("starting_at")
    if raw_start is None:
        raise BadRequest("starting_at: field required", "starting_at")
    start = parse_rfc3339(raw_start, "starting_at")
    raw_end = call.args.one("ending_at")
    end = parse_rfc3339(raw_end, "ending_at") if raw_end is not None else None
    if end is not None and end <= start:
        raise BadRequest("ending_at must be after starting_at", "ending_at")
    if end is not None and end > int(call.now.timestamp()):
        # Not documented; observed (issue 19): a window ending after now is refused. Clients ask open-ended.
        raise BadRequest("Invalid date range", "ending_at")
    cursor = call.args.one("page")
    first = parse_anthropic_cursor(cursor) if cursor else start
    page = anthropic_page(first, end, int(call.now.timestamp()), width, limit)
    data = [{"starting_at": rfc3339(s), "ending_at": rfc3339(e), "results": results(s, e)} for s, e in page.buckets]
    next_page = anthropic_cursor(page.next_start) if page.next_start is not None else None
    return {"data": data, "has_more": next_page is not None, "next_page": next_page}


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _usage_counts(slices: list[ledger.Slice]) -> dict[str, Any]:
    def total(token_type: TokenType) -> int:
        return sum(s.count(token_type) for s in slices)

    return {
        "uncached_input_tokens": total("uncached_input"),
        "cache_creation": {
            "ephemeral_1h_input_tokens": total("cache_write_1h"),
            "ephemeral_5m_input_tokens": total("cache_write_5m"),
        },
        "cache_read_input_tokens": total("cache_read"),
        "output_tokens": total("output"),
        "server_tool_use": {"web_search_requests": 0},
    }


def usage_handler(call: Call) -> dict[str, Any]:
    width = call.args.width(USAGE_LIMITS)
    limit = call.args.limit(*USAGE_LIMITS[width])
    dims = call.args.many("group_by", _USAGE_GROUPS + _EXTRA_GROUPS)
    filters = {field: set(call.args.many(name, allowed)) for name, (field, allowed) in _FILTERS.items()}

    def results(s: int, e: int) -> list[dict[str, Any]]:
        slices = [
            x
            for x in ledger.usage_window(call.org, _dt(s), _dt(e), call.now)
            if all(not wanted or getattr(x.stream, f, None) in wanted for f, wanted in filters.items())
        ]
        rows = []
        for key, members in ledger.grouped(slices, lambda x: tuple(getattr(x.stream, d, None) for d in dims)):
            row = _usage_counts(members) | dict.fromkeys(_USAGE_GROUPS) | dict(zip(dims, key, strict=True))
            rows.append(row)
        if call.sim.is_malformed("anthropic", "usage_report/messages", _dt(s).date()):
            if rows:
                rows[0]["uncached_input_tokens"] = MALFORMED
            else:
                rows.append(_usage_counts([]) | dict.fromkeys(_USAGE_GROUPS) | {"uncached_input_tokens": MALFORMED})
        return rows

    return _window(call, width, limit, results)


def _display_name(model: str) -> str:
    # "claude-sonnet-4-5-20250929" → "Claude Sonnet 4.5"
    parts = [p for p in model.split("-") if not (p.isdigit() and len(p) == 8)]
    words = [p for p in parts if not p.isdigit()]
    version = ".".join(p for p in parts if p.isdigit())
    return " ".join(w.capitalize() for w in words) + (f" {version}" if version else "")


def description(item: ledger.CostItem) -> tuple[Any, ...]:
    """The descriptive fields of a ``group_by[]=description`` row, in response-key order."""
    s = item.stream
    text = f"{_display_name(s.model)} Usage - {_DESCRIPTIONS[item.token_type]}"
    if s.context_window == "200k-1M":
        text += " - Long Context"
    if s.service_tier == "batch":
        text += " (Batch)"
    return (text, "tokens", s.model, TOKEN_TYPES[item.token_type], s.service_tier, s.context_window, s.inference_geo)


_DESCRIPTION_KEYS = (
    "description",
    "cost_type",
    "model",
    "token_type",
    "service_tier",
    "context_window",
    "inference_geo",
)


def cost_handler(call: Call) -> dict[str, Any]:
    width = call.args.one("bucket_width") or "1d"
    if width != "1d":
        raise BadRequest("bucket_width: only '1d' is supported", "bucket_width")
    limit = call.args.limit(7, 31)
    dims = call.args.many("group_by", ("workspace_id", "description"))
    by_workspace, by_description = "workspace_id" in dims, "description" in dims

    def key(item: ledger.CostItem) -> tuple[Any, ...]:
        workspace = (item.stream.workspace_id,) if by_workspace else ()
        return workspace + (description(item) if by_description else ())

    def results(s: int, e: int) -> list[dict[str, Any]]:
        day = _dt(s).date()
        if not ledger.cost_reported(call.org, day, call.now):
            return []
        slices = ledger.usage_window(call.org, _dt(s), _dt(e), call.now)
        items = [i for i in ledger.cost_items(call.org, slices, day) if i.in_cost_report]
        rows = []
        for group, members in ledger.grouped(items, key):
            cents = sum((m.billed_usd for m in members), Decimal(0)) * 100
            row: dict[str, Any] = {"amount": plain(cents), "currency": "USD", "workspace_id": None}
            row |= dict.fromkeys(_DESCRIPTION_KEYS)
            if by_workspace:
                row["workspace_id"] = group[0]
            if by_description:
                row |= dict(zip(_DESCRIPTION_KEYS, group[-len(_DESCRIPTION_KEYS) :], strict=True))
            rows.append(row)
        if call.sim.is_malformed("anthropic", "cost_report", day):
            if rows:
                rows[0]["amount"] = MALFORMED
            else:
                rows.append({"amount": MALFORMED, "currency": "USD", "workspace_id": None})
        return rows

    return _window(call, "1d", limit, results)


def me_handler(call: Call) -> dict[str, Any]:
    try:
        org_uuid = str(uuid.UUID(call.org.org_id))
    except ValueError:
        org_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"anthropic-org:{call.org.org_id}"))
    return {"id": org_uuid, "name": call.org.name, "type": "organization"}


def _not_found(call: Call) -> dict[str, Any]:
    raise NotFound(call.path)


def routes(sim: ProviderSimulator) -> list[Route]:
    """The Anthropic routes, to mount at ``/anthropic``."""
    flavor = AnthropicFlavor()
    return [
        Route("/v1/organizations/usage_report/messages", endpoint(sim, flavor, usage_handler), methods=["GET"]),
        Route("/v1/organizations/cost_report", endpoint(sim, flavor, cost_handler), methods=["GET"]),
        Route("/v1/organizations/me", endpoint(sim, flavor, me_handler), methods=["GET"]),
        Route("/{rest:path}", endpoint(sim, flavor, _not_found)),
    ]
