"""Google's wire formats, parsed defensively: Cloud Monitoring pages, BigQuery rows of the billing export, SKU text.

Every page and row here is written by hand in the documented shapes (provider-apis.md §3); expected figures are
derived in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.providers.google.billing import cost_lines, decode_rows
from shared.domain.providers.google.skus import parse_sku
from shared.domain.providers.google.usage import FAMILY_BY_NAME, day_parts, parse_page
from shared.domain.usage.normalise import RawUsage
from shared.domain.usage.records import ContextBand, CostKind, ServiceTier, TokenType
from shared.errors import ProviderResponseError

D1, D2 = date(2026, 11, 19), date(2026, 11, 20)
STANDARD = ServiceTier.STANDARD
VERTEX, API_IN, API_OUT = (FAMILY_BY_NAME[n] for n in ("vertex_ai", "gemini_api_input_paid_tier", "gemini_api_output"))


def _point(day: date, value: Any) -> dict[str, Any]:
    return {
        "interval": {
            "startTime": f"{day.isoformat()}T00:00:00Z",
            "endTime": f"{date.fromordinal(day.toordinal() + 1).isoformat()}T00:00:00Z",
        },
        "value": value,
    }


def _series(
    metric: str, metric_labels: dict[str, str], resource_labels: dict[str, str], *points: Any
) -> dict[str, Any]:
    return {
        "metric": {"type": metric, "labels": metric_labels},
        "resource": {"type": "x", "labels": resource_labels},
        "metricKind": "DELTA",
        "valueType": "INT64",
        "points": list(points),
    }


VERTEX_METRIC = "aiplatform.googleapis.com/publisher/online_serving/token_count"


def _usage(parts: dict[date, Any], day: date) -> dict[tuple[str, TokenType], int]:
    return {(u.model, u.token_type): u.quantity for u in parts[day].usage}


def test_vertex_counts_are_int64_strings_newest_first_one_utc_day_each() -> None:
    body = {
        "timeSeries": [
            _series(
                VERTEX_METRIC,
                {"type": "input"},
                {"model_user_id": "gemini-2.5-pro"},
                _point(D2, {"int64Value": "1200"}),  # newest first
                _point(D1, {"int64Value": "900"}),
            ),
            _series(
                VERTEX_METRIC,
                {"type": "output"},
                {"model_user_id": "publishers/google/models/gemini-2.5-pro@001"},
                _point(D1, {"int64Value": 30}),
            ),
        ],
        "nextPageToken": "next",
    }
    page = parse_page(VERTEX, "acme-prod", body)
    parts = day_parts(page.points, [D1, D2])

    assert page.next_page_token == "next"
    assert _usage(parts, D1) == {
        ("gemini-2.5-pro", TokenType.UNCACHED_INPUT): 900,
        ("gemini-2.5-pro", TokenType.OUTPUT): 30,
    }
    assert _usage(parts, D2) == {("gemini-2.5-pro", TokenType.UNCACHED_INPUT): 1200}
    assert {u.project_id for u in parts[D1].usage} == {"acme-prod"}


def test_an_empty_page_is_no_data_and_a_malformed_value_fails_only_its_day() -> None:
    assert parse_page(VERTEX, "p", {}).points == []
    body = {
        "timeSeries": [
            _series(
                VERTEX_METRIC,
                {"type": "input"},
                {"model_user_id": "m"},
                _point(D2, {"int64Value": "not-a-number"}),
                _point(D1, {"int64Value": "5"}),
            )
        ]
    }
    page = parse_page(VERTEX, "p", body)
    assert set(page.failures) == {D2}
    assert [(p.day, p.quantity) for p in page.points] == [(D1, 5)]


def test_a_page_that_is_not_a_page_is_refused_whole() -> None:
    with pytest.raises(ProviderResponseError):
        parse_page(VERTEX, "p", {"timeSeries": "nope"})


@pytest.mark.parametrize(
    ("interval", "day"),
    [
        ({"startTime": "2026-11-19T00:00:00Z", "endTime": "2026-11-20T00:00:00Z"}, date(2026, 11, 19)),
        ({"endTime": "2026-11-20T00:00:00Z"}, date(2026, 11, 19)),
        ({"startTime": "2026-11-20T00:00:00.000000Z", "endTime": "2026-11-20T00:00:00.000000Z"}, date(2026, 11, 19)),
        ({"startTime": "2026-11-18T00:00:00Z", "endTime": "2026-11-20T00:00:00Z"}, date(2026, 11, 19)),
        ({"startTime": "2026-11-20T00:00:00Z", "endTime": "2026-11-20T06:00:00+00:00"}, date(2026, 11, 20)),
    ],
    ids=["delta", "end-only", "instant", "start-two-days-back", "partial-today"],
)
def test_a_point_is_placed_by_its_end_whatever_the_shape_of_its_interval(interval: dict[str, str], day: date) -> None:
    """``TimeInterval`` (cloud.google.com/monitoring/api/ref_v3/rest/v3/TimeInterval): ``startTime`` is optional and
    defaults to the end; a DELTA point spans (start, end]. The docs do not promise one shape for an aligned daily
    sum, so the day is the one holding the last instant before ``endTime`` and the start is not read."""
    body = {
        "timeSeries": [
            _series(VERTEX_METRIC, {"type": "input"}, {}, {"interval": interval, "value": {"int64Value": "7"}})
        ]
    }

    page = parse_page(VERTEX, "p", body)

    assert not page.failures
    assert [(p.day, p.quantity) for p in page.points] == [(day, 7)]


@pytest.mark.parametrize(
    ("value", "ok"),
    [({"doubleValue": 12.0}, True), ({"doubleValue": 1.5}, False), ({"int64Value": "-3"}, False), ({}, False)],
)
def test_only_whole_non_negative_counts_are_token_counts(value: dict[str, Any], ok: bool) -> None:
    page = parse_page(
        VERTEX,
        "p",
        {"timeSeries": [_series(VERTEX_METRIC, {"type": "input"}, {"model_user_id": "m"}, _point(D1, value))]},
    )
    assert (not page.failures) is ok


def test_gemini_api_quota_twins_count_once_and_free_tier_is_a_meter_not_priced_usage() -> None:
    paid = "generativelanguage.googleapis.com/quota/generate_content_paid_tier_input_token_count/usage"
    free = "generativelanguage.googleapis.com/quota/generate_content_free_tier_input_token_count/usage"
    body = {
        "timeSeries": [
            # The same 700 tokens reported against two quota limits: 700, not 1,400.
            _series(
                paid,
                {"model": "gemini-2.5-flash", "limit_name": "PerModelPerMinute"},
                {},
                _point(D1, {"int64Value": "700"}),
            ),
            _series(
                paid,
                {"model": "gemini-2.5-flash", "limit_name": "PerUserPerDay"},
                {},
                _point(D1, {"int64Value": "700"}),
            ),
            _series(
                free, {"model": "gemini-2.0-flash", "limit_name": "FreeTier"}, {}, _point(D1, {"int64Value": "50"})
            ),
        ]
    }
    out = {
        "timeSeries": [
            _series(
                "generativelanguage.googleapis.com/generate_content_usage_output_token_count",
                {"model": "gemini-2.5-flash"},
                {},
                _point(D1, {"int64Value": "80"}),
            )
        ]
    }
    points = parse_page(API_IN, "studio", body).points + parse_page(API_OUT, "studio", out).points
    parts = day_parts(points, [D1])

    assert set(parts[D1].usage) == {
        RawUsage("gemini-2.5-flash", "studio", None, STANDARD, ContextBand.STANDARD, TokenType.UNCACHED_INPUT, 700),
        RawUsage("gemini-2.5-flash", "studio", None, STANDARD, ContextBand.STANDARD, TokenType.OUTPUT, 80),
    }
    [meter] = parts[D1].meters
    assert (meter.meter, meter.model, meter.quantity) == ("free_tier_input_tokens", "gemini-2.0-flash", 50)


@pytest.mark.parametrize(
    ("description", "kind", "model", "token_type", "tier", "band"),
    [
        (
            "Generate content input token count Gemini 2.5 Pro short input text",
            CostKind.TOKENS,
            "gemini-2.5-pro",
            TokenType.UNCACHED_INPUT,
            ServiceTier.STANDARD,
            ContextBand.STANDARD,
        ),
        (
            "Generate content input token count Gemini 2.5 Pro long input text",
            CostKind.TOKENS,
            "gemini-2.5-pro",
            TokenType.UNCACHED_INPUT,
            ServiceTier.STANDARD,
            ContextBand.LONG,
        ),
        (
            "Generate content output token count gemini 2.5 flash short output text non-thinking",
            CostKind.TOKENS,
            "gemini-2.5-flash",
            TokenType.OUTPUT,
            ServiceTier.STANDARD,
            ContextBand.STANDARD,
        ),
        (
            "Generate_content cached text input token count for gemini 3 flash",
            CostKind.TOKENS,
            "gemini-3-flash",
            TokenType.CACHE_READ,
            ServiceTier.STANDARD,
            None,
        ),
        (
            "EmbedContent input token count for gemini-embedding-001",
            CostKind.TOKENS,
            "gemini-embedding-001",
            TokenType.UNCACHED_INPUT,
            ServiceTier.STANDARD,
            None,
        ),
        (
            "Gemini 2.5 Flash Lite Batch output tokens",
            CostKind.TOKENS,
            "gemini-2.5-flash-lite",
            TokenType.OUTPUT,
            ServiceTier.BATCH,
            None,
        ),
        (
            "Claude Sonnet 4.5 Input Tokens",
            CostKind.TOKENS,
            "claude-sonnet-4-5",
            TokenType.UNCACHED_INPUT,
            ServiceTier.STANDARD,
            None,
        ),
        (
            "Thinking token count for a model we have never heard of",
            CostKind.TOKENS,
            None,
            TokenType.OUTPUT,
            ServiceTier.STANDARD,
            None,
        ),
        ("Gemini 2.5 Pro context cache storage token hours", CostKind.OTHER, "gemini-2.5-pro", None, None, None),
        ("Grounding with Google Search requests", CostKind.OTHER, None, None, None, None),
        ("Agent Engine session events", CostKind.UNKNOWN, None, None, None, None),
    ],
)
def test_sku_descriptions_are_read_as_far_as_they_go(
    description: str,
    kind: CostKind,
    model: str | None,
    token_type: TokenType | None,
    tier: ServiceTier | None,
    band: ContextBand | None,
) -> None:
    meaning = parse_sku(description)
    assert (meaning.kind, meaning.model, meaning.token_type, meaning.service_tier, meaning.context_band) == (
        kind,
        model,
        token_type,
        tier,
        band,
    )


CREDIT_FIELDS = [
    {"name": n, "type": "FLOAT" if n == "amount" else "STRING", "mode": "NULLABLE"} for n in ("name", "amount", "type")
]
SCHEMA = {
    "fields": [
        {"name": "usage_start_time", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "project_id", "type": "STRING", "mode": "NULLABLE"},
        {"name": "sku_description", "type": "STRING", "mode": "NULLABLE"},
        {"name": "cost", "type": "FLOAT", "mode": "NULLABLE"},
        {"name": "currency", "type": "STRING", "mode": "NULLABLE"},
        {"name": "currency_conversion_rate", "type": "FLOAT", "mode": "NULLABLE"},
        {"name": "cost_type", "type": "STRING", "mode": "NULLABLE"},
        {"name": "credits", "type": "RECORD", "mode": "REPEATED", "fields": CREDIT_FIELDS},
    ]
}


def _row(
    start: str,
    sku: str,
    cost: str | None,
    credits: list[tuple[str, str]],
    *,
    currency: str = "USD",
    rate: str | None = "1",
    cost_type: str | None = "regular",
) -> dict[str, Any]:
    cells: list[Any] = [start, "acme-prod", sku, cost, currency, rate, cost_type]
    encoded = [{"v": {"f": [{"v": name}, {"v": amount}, {"v": "DISCOUNT"}]}} for name, amount in credits]
    return {"f": [*({"v": c} for c in cells), {"v": encoded or None}]}


T1 = str(int(datetime(2026, 11, 19, 6, tzinfo=UTC).timestamp()) * 1_000_000)  # int64 microseconds
T1_FLOAT = "1.7950698E9"  # 2026-11-19 06:30 UTC as BigQuery's float seconds
T2 = str(int(datetime(2026, 11, 20, 23, tzinfo=UTC).timestamp()) * 1_000_000)
INPUT_SKU = "Generate content input token count Gemini 2.5 Pro short input text"


def test_billing_rows_are_net_of_every_credit_summed_per_sku_and_day() -> None:
    rows = decode_rows(
        SCHEMA,
        [
            _row(T1, INPUT_SKU, "1.25", [("Enterprise discount", "-0.125"), ("Promotion", "-2.5E-2")]),
            _row(T1_FLOAT, INPUT_SKU, "0.75", []),
            _row(T2, "Agent Engine session events", "0.3", [("Enterprise discount", "-0.03")]),
            _row(T2, "Adjustment for an incident", "-0.05", [], cost_type="adjustment"),
        ],
    )
    billed = cost_lines(rows)

    # D1: (1.25 - 0.125 - 0.025) + 0.75 = 1.85, one line for the SKU.
    [line] = billed.lines[D1]
    assert (line.amount_usd, line.kind, line.model, line.token_type) == (
        Decimal("1.850"),
        CostKind.TOKENS,
        "gemini-2.5-pro",
        TokenType.UNCACHED_INPUT,
    )
    assert (line.project_id, line.line_item) == ("acme-prod", INPUT_SKU)
    # D2: the unknown product is kept (unattributed), the adjustment is kept as another kind of cost.
    by_item = {c.line_item: c for c in billed.lines[D2]}
    assert by_item["Agent Engine session events"].amount_usd == Decimal("0.27")
    assert by_item["Agent Engine session events"].model is None
    assert (
        by_item["adjustment: Adjustment for an incident"].kind,
        by_item["adjustment: Adjustment for an incident"].amount_usd,
    ) == (CostKind.OTHER, Decimal("-0.05"))


def test_other_currencies_are_converted_with_the_rows_rate_and_a_row_without_one_fails_its_day() -> None:
    rows = decode_rows(
        SCHEMA,
        [
            _row(T1, INPUT_SKU, "0.92", [("d", "-0.092")], currency="EUR", rate="0.92"),
            _row(T2, INPUT_SKU, "1", [], currency="EUR", rate=None),
        ],
    )
    billed = cost_lines(rows)
    [line] = billed.lines[D1]
    assert line.amount_usd == Decimal("0.9")  # (0.92 - 0.092) / 0.92 EUR per USD
    assert set(billed.failures) == {D2}
    assert D2 not in billed.lines


def test_an_unreadable_cost_fails_its_day_only() -> None:
    billed = cost_lines(decode_rows(SCHEMA, [_row(T1, INPUT_SKU, "not-a-number", []), _row(T2, INPUT_SKU, "1", [])]))
    assert set(billed.failures) == {D1}
    assert [c.amount_usd for c in billed.lines[D2]] == [Decimal(1)]


@pytest.mark.parametrize(
    ("schema", "rows"),
    [({}, []), (SCHEMA, [{"f": [{"v": "1"}]}]), (SCHEMA, [{"f": [{"v": 1}] * 8}])],
    ids=["no-schema", "short-row", "non-string-scalar"],
)
def test_rows_that_do_not_match_their_schema_are_refused(schema: Any, rows: Any) -> None:
    with pytest.raises(ProviderResponseError):
        decode_rows(schema, rows)
