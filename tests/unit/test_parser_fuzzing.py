"""Every parser of a provider response, fed malformed input (Hypothesis): a typed ``ProviderResponseError``, never
a crash. Each parser gets arbitrary JSON, and valid-looking documents with any one part replaced by arbitrary JSON
(the shape a provider change or a broken proxy produces)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.providers import anthropic as anthropic_reports
from shared.domain.providers import openai as openai_reports
from shared.domain.providers.google import billing as google_billing
from shared.domain.providers.google import usage as google_usage
from shared.domain.usage import normalise
from shared.domain.usage.records import Provider
from shared.errors import ProviderResponseError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=12)
)
json_values = st.recursive(
    scalars | st.decimals(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def _replace_somewhere(doc: Any, data: st.DataObject) -> Any:
    """``doc`` with one value (chosen by Hypothesis, at any depth) replaced by arbitrary JSON."""
    if isinstance(doc, dict) and doc and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(doc)))
        return {**doc, key: _replace_somewhere(doc[key], data)}
    if isinstance(doc, list) and doc and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(doc) - 1))
        return [*doc[:i], _replace_somewhere(doc[i], data), *doc[i + 1 :]]
    return data.draw(json_values)


def _typed_or_fine(parse: Callable[[], object]) -> None:
    """Parse; a ``ProviderResponseError`` is the typed refusal wanted, any other exception fails the test."""
    with contextlib.suppress(ProviderResponseError):
        parse()


DAY = 1_763_856_000  # 2025-11-23T00:00:00Z
OPENAI_BUCKETS = {
    "completions": {
        "start_time": DAY,
        "end_time": DAY + 86400,
        "results": [
            {
                "object": "organization.usage.completions.result",
                "input_tokens": 1000,
                "output_tokens": 200,
                "input_cached_tokens": 100,
                "input_audio_tokens": 0,
                "output_audio_tokens": 0,
                "num_model_requests": 3,
                "project_id": "proj_a",
                "model": "gpt-4o",
                "batch": False,
                "service_tier": "default",
            }
        ],
    },
    "costs": {
        "start_time": DAY,
        "end_time": DAY + 86400,
        "results": [{"amount": {"value": 1.5, "currency": "usd"}, "line_item": "gpt-4o, input", "project_id": "p"}],
    },
}
ANTHROPIC_BUCKETS = {
    "usage": {
        "starting_at": "2025-11-23T00:00:00Z",
        "ending_at": "2025-11-24T00:00:00Z",
        "results": [
            {
                "uncached_input_tokens": 1000,
                "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 0},
                "cache_read_input_tokens": 5,
                "output_tokens": 100,
                "server_tool_use": {"web_search_requests": 1},
                "model": "claude-sonnet-4-5",
                "workspace_id": None,
                "service_tier": "standard",
                "context_window": "0-200k",
            }
        ],
    },
    "costs": {
        "starting_at": "2025-11-23T00:00:00Z",
        "ending_at": "2025-11-24T00:00:00Z",
        "results": [{"currency": "USD", "amount": "150.5", "model": "claude-sonnet-4-5", "cost_type": "tokens"}],
    },
}


@FUZZ
@given(body=json_values)
def test_report_page_envelopes(body: Any) -> None:
    for provider in (Provider.OPENAI, Provider.ANTHROPIC):
        _typed_or_fine(lambda p=provider: normalise.parse_page(p, body))


@FUZZ
@given(report=st.sampled_from(sorted(OPENAI_BUCKETS)), data=st.data())
def test_openai_buckets(report: str, data: st.DataObject) -> None:
    bucket = _replace_somewhere(OPENAI_BUCKETS[report], data)
    _typed_or_fine(lambda: openai_reports.parse_bucket(report, bucket) if isinstance(bucket, dict) else None)


@FUZZ
@given(report=st.sampled_from(sorted(ANTHROPIC_BUCKETS)), data=st.data())
def test_anthropic_buckets(report: str, data: st.DataObject) -> None:
    bucket = _replace_somewhere(ANTHROPIC_BUCKETS[report], data)
    _typed_or_fine(lambda: anthropic_reports.parse_bucket(report, bucket) if isinstance(bucket, dict) else None)


GOOGLE_PAGE = {
    "timeSeries": [
        {
            "metric": {
                "type": "aiplatform.googleapis.com/publisher/online_serving/token_count",
                "labels": {"type": "input"},
            },
            "resource": {
                "type": "aiplatform.googleapis.com/PublisherModel",
                "labels": {"model_user_id": "gemini-2.5-pro"},
            },
            "points": [
                {
                    "interval": {"startTime": "2025-11-23T00:00:00Z", "endTime": "2025-11-24T00:00:00Z"},
                    "value": {"int64Value": "1000"},
                }
            ],
        }
    ],
    "nextPageToken": "",
}


@FUZZ
@given(data=st.data())
def test_google_monitoring_pages(data: st.DataObject) -> None:
    page = _replace_somewhere(GOOGLE_PAGE, data)
    for family in google_usage.FAMILIES:
        _typed_or_fine(lambda f=family: google_usage.parse_page(f, "proj-a", page))


BILLING_SCHEMA = {
    "fields": [
        {"name": "usage_start_time", "type": "TIMESTAMP"},
        {"name": "cost", "type": "FLOAT"},
        {"name": "currency", "type": "STRING"},
        {"name": "currency_conversion_rate", "type": "FLOAT"},
        {"name": "sku_description", "type": "STRING"},
        {"name": "project_id", "type": "STRING"},
        {"name": "credits", "type": "RECORD", "mode": "REPEATED", "fields": [{"name": "amount", "type": "FLOAT"}]},
    ]
}
BILLING_ROW = {
    "f": [
        {"v": "1.763856E9"},
        {"v": "12.5"},
        {"v": "USD"},
        {"v": "1.0"},
        {"v": "Gemini 2.5 Pro Input Tokens"},
        {"v": "proj-a"},
        {"v": [{"v": {"f": [{"v": "-0.5"}]}}]},
    ]
}


@FUZZ
@given(data=st.data())
def test_google_billing_rows(data: st.DataObject) -> None:
    schema = _replace_somewhere(BILLING_SCHEMA, data) if data.draw(st.booleans()) else BILLING_SCHEMA
    rows = _replace_somewhere([BILLING_ROW], data)

    def parse() -> object:
        decoded = google_billing.decode_rows(schema, rows if isinstance(rows, list) else [rows])
        return google_billing.cost_lines(decoded)

    _typed_or_fine(parse)


def test_the_samples_are_valid_so_mutations_start_from_a_real_shape() -> None:
    assert openai_reports.parse_bucket("completions", OPENAI_BUCKETS["completions"])[1].usage
    assert openai_reports.parse_bucket("costs", OPENAI_BUCKETS["costs"])[1].costs
    assert anthropic_reports.parse_bucket("usage", ANTHROPIC_BUCKETS["usage"])[1].usage
    assert anthropic_reports.parse_bucket("costs", ANTHROPIC_BUCKETS["costs"])[1].costs[0].amount_usd == Decimal(
        "1.505"
    )
    assert google_usage.parse_page(google_usage.FAMILIES[0], "proj-a", GOOGLE_PAGE).points
    billed = google_billing.cost_lines(google_billing.decode_rows(BILLING_SCHEMA, [BILLING_ROW]))
    assert [line.amount_usd for lines in billed.lines.values() for line in lines] == [Decimal("12.0")]
