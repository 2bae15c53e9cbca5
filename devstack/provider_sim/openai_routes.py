"""OpenAI Admin API: ``/v1/organization/usage/*``, ``/v1/organization/costs``, ``/v1/organization/projects``.

Wire contract: provider-apis.md §1 and §5. Bearer admin keys; ``start_time``/``end_time`` integer epochs; arrays as
``k[]=v`` or repeated ``k=v``; one bucket per interval including empty ones, the first starting at ``start_time``;
grouping fields always present (``null`` unless grouped); opaque ``page_...`` cursors. Cost ``amount.value`` is
exact USD, written alternately as a JSON number and a JSON string; ``line_item`` is ``"<model>, input"``,
``", cached input"`` or ``", output"``, prefixed ``"batch | "``, ``"flex | "`` or ``"priority | "`` off the
default tier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.routing import Route

from devstack.provider_sim import ledger
from devstack.provider_sim.catalog import OPENAI_PROJECT_NAMES, catalog
from devstack.provider_sim.flavors import OpenAIFlavor
from devstack.provider_sim.gateway import Call, NotFound, endpoint
from devstack.provider_sim.jsonio import plain
from devstack.provider_sim.models import TokenType
from devstack.provider_sim.params import USAGE_LIMITS, BadRequest, openai_cursor, openai_page, parse_openai_cursor
from devstack.provider_sim.simulator import ProviderSimulator

MALFORMED = "not-a-number"
_METERS = {"uncached_input": "input", "cache_read": "cached input", "output": "output"}
_METERS |= {"cache_write_5m": "cache write", "cache_write_1h": "cache write"}
_METERS |= {"audio_input": "audio, input", "audio_cache_read": "audio, cached input", "audio_output": "audio, output"}
_METERS |= {"image_input": "image, input", "image_cache_read": "image, cached input"}


@dataclass(frozen=True)
class UsageReport:
    """One ``/v1/organization/usage/<name>`` endpoint (endpoint matrix §1.2)."""

    name: str
    result_object: str
    group_by: tuple[str, ...]
    filters: tuple[str, ...]
    """Array filters: query name → the grouping field it filters (``project_ids`` → ``project_id``)."""
    build: Callable[[list[ledger.Slice]], dict[str, Any]] | None = None
    """Counts of an aggregated group; ``None`` for reports the synthetic organisations have no traffic in."""


_COMMON = ("project_id", "user_id", "api_key_id", "model")
_COMMON_FILTERS = ("project_ids", "user_ids", "api_key_ids", "models")


def _completions(slices: list[ledger.Slice]) -> dict[str, Any]:
    def total(*token_types: TokenType) -> int:
        return sum((s.count(t) for s in slices for t in token_types), 0)

    uncached, read = total("uncached_input"), total("cache_read")
    write, output = total("cache_write_5m", "cache_write_1h"), total("output")
    audio_in, audio_read, audio_out = total("audio_input"), total("audio_cache_read"), total("audio_output")
    image_in, image_read = total("image_input"), total("image_cache_read")
    # Every modality is in the totals; the per-modality fields split them (``input_audio_tokens`` and
    # ``input_image_tokens`` are the uncached part, provider-apis.md §1.4).
    return {
        "input_tokens": uncached + read + write + audio_in + audio_read + image_in + image_read,
        "output_tokens": output + audio_out,
        "input_cached_tokens": read + audio_read + image_read,
        "input_cache_write_tokens": write,
        "input_uncached_tokens": uncached + audio_in + image_in,
        "input_text_tokens": uncached,
        "output_text_tokens": output,
        "input_cached_text_tokens": read,
        "input_audio_tokens": audio_in,
        "input_cached_audio_tokens": audio_read,
        "output_audio_tokens": audio_out,
        "input_image_tokens": image_in,
        "input_cached_image_tokens": image_read,
        "output_image_tokens": 0,
        "num_model_requests": sum(s.requests for s in slices),
    }


def _embeddings(slices: list[ledger.Slice]) -> dict[str, Any]:
    tokens = sum(n for s in slices for _t, n in s.tokens)
    return {"input_tokens": tokens, "num_model_requests": sum(s.requests for s in slices)}


REPORTS = {
    r.name: r
    for r in (
        UsageReport(
            "completions",
            "organization.usage.completions.result",
            (*_COMMON, "batch", "service_tier"),
            _COMMON_FILTERS,
            _completions,
        ),
        UsageReport("embeddings", "organization.usage.embeddings.result", _COMMON, _COMMON_FILTERS, _embeddings),
        UsageReport("moderations", "organization.usage.moderations.result", _COMMON, _COMMON_FILTERS),
        UsageReport(
            "images",
            "organization.usage.images.result",
            (*_COMMON, "size", "source"),
            (*_COMMON_FILTERS, "sources", "sizes"),
        ),
        UsageReport("audio_speeches", "organization.usage.audio_speeches.result", _COMMON, _COMMON_FILTERS),
        UsageReport("audio_transcriptions", "organization.usage.audio_transcriptions.result", _COMMON, _COMMON_FILTERS),
        UsageReport("vector_stores", "organization.usage.vector_stores.result", ("project_id",), ("project_ids",)),
        UsageReport(
            "code_interpreter_sessions",
            "organization.usage.code_interpreter_sessions.result",
            ("project_id",),
            ("project_ids",),
        ),
        UsageReport(
            "file_search_calls",
            "organization.usage.file_searches.result",
            ("project_id", "user_id", "api_key_id", "vector_store_id"),
            ("project_ids", "user_ids", "api_key_ids", "vector_store_ids"),
        ),
        UsageReport(
            "web_search_calls",
            "organization.usage.web_searches.result",
            (*_COMMON, "context_level"),
            (*_COMMON_FILTERS, "context_levels"),
        ),
    )
}


def _epoch(call: Call, name: str, *, required: bool) -> int | None:
    raw = call.args.one(name)
    if raw is None:
        if required:
            raise BadRequest(f"Missing required parameter: '{name}'.", name)
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Invalid '{name}': expected an integer (Unix seconds), got {raw!r}.", name) from None
    if value < 0:
        raise BadRequest(f"Invalid '{name}': must not be negative.", name)
    return value


def _paged(
    call: Call, width: str, limit: int, results: Callable[[int, int, int], list[dict[str, Any]]]
) -> dict[str, Any]:
    start = _epoch(call, "start_time", required=True)
    end = _epoch(call, "end_time", required=False)
    assert start is not None
    if end is not None and end <= start:
        raise BadRequest("'end_time' must be after 'start_time'.", "end_time")
    cursor = call.args.one("page")
    first = parse_openai_cursor(cursor) if cursor else start
    now = int(call.now.timestamp())
    page = openai_page(first, end, now, width, limit)
    data = [
        {"object": "bucket", "start_time": s, "end_time": e, "results": results(i, s, e)}
        for i, (s, e) in enumerate(page.buckets)
    ]
    next_page = openai_cursor(page.next_start, end or now) if page.next_start is not None else None
    return {"object": "page", "data": data, "has_more": next_page is not None, "next_page": next_page}


def _dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _filtered(call: Call, report_filters: tuple[str, ...], slices: list[ledger.Slice]) -> list[ledger.Slice]:
    wanted = {f.removesuffix("s"): set(call.args.many(f)) for f in report_filters}
    batch = call.args.one("batch")
    if batch is not None and batch not in ("true", "false"):
        raise BadRequest("Invalid 'batch': expected true or false.", "batch")
    kept = []
    for s in slices:
        if any(values and getattr(s.stream, field, None) not in values for field, values in wanted.items()):
            continue
        if batch is not None and bool(s.stream.batch) != (batch == "true"):
            continue
        kept.append(s)
    return kept


def usage_handler(report: UsageReport) -> Callable[[Call], dict[str, Any]]:
    def handle(call: Call) -> dict[str, Any]:
        width = call.args.width(USAGE_LIMITS)
        limit = call.args.limit(*USAGE_LIMITS[width])
        dims = call.args.many("group_by", report.group_by)
        if report.name != "completions" and call.args.one("batch") is not None:
            raise BadRequest("Unrecognized request argument supplied: batch", "batch")
        endpoint_name = f"usage/{report.name}"

        def results(_index: int, s: int, e: int) -> list[dict[str, Any]]:
            if report.build is None:
                return []
            slices = [
                x for x in ledger.usage_window(call.org, _dt(s), _dt(e), call.now) if x.stream.endpoint == report.name
            ]
            slices = _filtered(call, report.filters, slices)
            rows = []
            for key, members in ledger.grouped(slices, lambda x: tuple(getattr(x.stream, d) for d in dims)):
                row: dict[str, Any] = {"object": report.result_object, **report.build(members)}
                row |= dict.fromkeys(report.group_by)
                row |= dict(zip(dims, key, strict=True))
                rows.append(row)
            if call.sim.is_malformed("openai", endpoint_name, _dt(s).date()):
                _malform(rows, {"object": report.result_object, "input_tokens": MALFORMED}, "input_tokens")
            return rows

        return _paged(call, width, limit, results)

    return handle


def _malform(rows: list[dict[str, Any]], fallback: dict[str, Any], field: str) -> None:
    if rows:
        rows[0][field] = MALFORMED
    else:
        rows.append(fallback)


def line_item(item: ledger.CostItem) -> str:
    tier = item.stream.price_tier
    prefix = "" if tier == "standard" else f"{tier} | "
    meter = _METERS[item.token_type]
    # Modality variants read "<model> audio, input" (line items observed in the costs report, provider-apis.md §1.4).
    separator = " " if meter.startswith(("audio", "image")) else ", "
    return f"{prefix}{item.stream.model}{separator}{meter}"


def costs_handler(call: Call) -> dict[str, Any]:
    width = call.args.one("bucket_width") or "1d"
    if width != "1d":
        raise BadRequest(f"Invalid 'bucket_width': {width!r}. Only '1d' is supported.", "bucket_width")
    limit = call.args.limit(7, 180)
    dims = call.args.many("group_by", ("project_id", "line_item", "api_key_id"))
    projects, keys = set(call.args.many("project_ids")), set(call.args.many("api_key_ids"))

    def key(item: ledger.CostItem) -> tuple[Any, ...]:
        values = {"project_id": item.stream.project_id, "api_key_id": item.stream.api_key_id}
        return tuple(line_item(item) if d == "line_item" else values[d] for d in dims)

    def results(index: int, s: int, e: int) -> list[dict[str, Any]]:
        day = _dt(s).date()
        if not ledger.cost_reported(call.org, day, call.now):
            return []
        items = [
            i
            for i in ledger.cost_items(call.org, ledger.usage_window(call.org, _dt(s), _dt(e), call.now), day)
            if i.in_cost_report
            and (not projects or i.stream.project_id in projects)
            and (not keys or i.stream.api_key_id in keys)
        ]
        rows: list[dict[str, Any]] = []
        for n, (group, members) in enumerate(ledger.grouped(items, key)):
            amount = sum((m.billed_usd for m in members), Decimal(0))
            grouping = dict(zip(dims, group, strict=True))
            by_line = "line_item" in dims
            rows.append(
                {
                    "object": "organization.costs.result",
                    # Live responses carry the value both as a number and as a numeric string (§1.4).
                    "amount": {"value": amount if (index + n) % 2 == 0 else plain(amount), "currency": "usd"},
                    "line_item": grouping.get("line_item"),
                    "project_id": grouping.get("project_id"),
                    "api_key_id": grouping.get("api_key_id"),
                    "quantity": sum(m.tokens for m in members) if by_line else None,
                    "quantity_unit": "tokens" if by_line else None,
                }
            )
        if call.sim.is_malformed("openai", "costs", day):
            if rows:
                rows[0]["amount"]["value"] = MALFORMED
            else:
                rows.append({"object": "organization.costs.result", "amount": {"value": MALFORMED, "currency": "usd"}})
        return rows

    return _paged(call, "1d", limit, results)


def projects_handler(call: Call) -> dict[str, Any]:
    limit = call.args.limit(20, 100)
    cat = catalog("openai", call.org.org_id, call.org.seed)
    created = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    projects = [
        {
            "id": pid,
            "object": "organization.project",
            "name": OPENAI_PROJECT_NAMES[i],
            "created_at": created + i * 86_400,
            "archived_at": None,
            "status": "active",
        }
        for i, pid in enumerate(cat.scopes)
    ]
    after = call.args.one("after")
    if after is not None:
        ids = [p["id"] for p in projects]
        projects = projects[ids.index(after) + 1 :] if after in ids else []
    page = projects[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(projects) > limit,
    }


def _not_found(call: Call) -> dict[str, Any]:
    raise NotFound(call.path)


def routes(sim: ProviderSimulator) -> list[Route]:
    """The OpenAI routes, to mount at ``/openai``."""
    flavor = OpenAIFlavor()
    table = [
        Route(f"/v1/organization/usage/{name}", endpoint(sim, flavor, usage_handler(report)), methods=["GET"])
        for name, report in REPORTS.items()
    ]
    table += [
        Route("/v1/organization/costs", endpoint(sim, flavor, costs_handler), methods=["GET"]),
        Route("/v1/organization/projects", endpoint(sim, flavor, projects_handler), methods=["GET"]),
        Route("/{rest:path}", endpoint(sim, flavor, _not_found)),
    ]
    return table
