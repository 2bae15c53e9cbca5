"""The provider simulator over real HTTP: wire shapes, pagination, buckets and cost consistency with its truth."""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devstack.provider_sim import ProviderSimulator, RunningSimulator, serve
from tests.support.provider_sim import (
    ANTHROPIC_DISCOUNT,
    OPENAI_DISCOUNT,
    MovableClock,
    anthropic_org,
    body,
    clients,
    epoch,
    openai_org,
    rfc3339,
    running_simulator,
)

NOW = datetime(2026, 9, 15, 13, 30, tzinfo=UTC)
COMPLETIONS = "/v1/organization/usage/completions"
EMBEDDINGS = "/v1/organization/usage/embeddings"
COSTS = "/v1/organization/costs"
MESSAGES = "/v1/organizations/usage_report/messages"
COST_REPORT = "/v1/organizations/cost_report"
SEP_1 = date(2026, 9, 1)
MTOK = Decimal(1_000_000)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    """One server for the read-only tests of this module (none of them sets faults or revokes keys)."""
    with running_simulator(MovableClock(NOW)) as running:
        yield running


@pytest.fixture
def sim_clients(running: RunningSimulator) -> Iterator[tuple[ProviderSimulator, httpx.Client, httpx.Client]]:
    with clients(running) as (oai, ant):
        yield running.sim, oai, ant


def _pages(client: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    pages, page = [], None
    while True:
        response = client.get(path, params=params | ({"page": page} if page else {}))
        assert response.status_code == 200, response.text
        pages.append(body(response))
        page = pages[-1]["next_page"]
        if not pages[-1]["has_more"]:
            assert page is None
            return pages


def _token_sum(row: dict[str, Any]) -> int:
    """All token counts of a usage row (OpenAI input+output; Anthropic every meter)."""
    if "uncached_input_tokens" in row:
        cache = row["cache_creation"]
        return int(
            row["uncached_input_tokens"]
            + row["cache_read_input_tokens"]
            + cache["ephemeral_5m_input_tokens"]
            + cache["ephemeral_1h_input_tokens"]
            + row["output_tokens"]
        )
    return int(row["input_tokens"]) + int(row.get("output_tokens", 0))


def test_openai_accepts_bracket_and_repeated_arrays_but_not_comma_joined(sim_clients: Any) -> None:
    _sim, oai, _ant = sim_clients
    window = {"start_time": epoch(SEP_1), "end_time": epoch(date(2026, 9, 4))}
    brackets = oai.get(COMPLETIONS, params=window | {"group_by[]": ["model", "project_id"]})
    repeated = oai.get(COMPLETIONS, params=window | {"group_by": ["model", "project_id"]})
    comma = oai.get(COMPLETIONS, params=window | {"group_by": "model,project_id"})

    assert brackets.status_code == repeated.status_code == 200
    assert body(brackets) == body(repeated)
    rows = [r for bucket in body(brackets)["data"] for r in bucket["results"]]
    assert rows
    assert all(r["model"] and r["project_id"].startswith("proj_") for r in rows)
    assert all(r["user_id"] is None and r["api_key_id"] is None and r["batch"] is None for r in rows)
    assert comma.status_code == 400


def test_three_months_at_max_limit_take_three_pages_of_contiguous_daily_buckets(sim_clients: Any) -> None:
    _sim, oai, ant = sim_clients
    start, end = date(2026, 6, 1), date(2026, 9, 1)  # 30 + 31 + 31 = 92 days
    expected_days = [start + timedelta(days=i) for i in range(92)]

    oai_pages = _pages(oai, COMPLETIONS, {"start_time": epoch(start), "end_time": epoch(end), "limit": 31})
    ant_pages = _pages(
        ant, MESSAGES, {"starting_at": rfc3339(start), "ending_at": rfc3339(end), "limit": 31, "bucket_width": "1d"}
    )

    assert [len(p["data"]) for p in oai_pages] == [31, 31, 30]
    assert [len(p["data"]) for p in ant_pages] == [31, 31, 30]
    oai_buckets = [b for p in oai_pages for b in p["data"]]
    assert [(b["start_time"], b["end_time"]) for b in oai_buckets] == [
        (epoch(d), epoch(d + timedelta(days=1))) for d in expected_days
    ]
    assert all(p["object"] == "page" for p in oai_pages)
    assert all(b["object"] == "bucket" for b in oai_buckets)
    assert [b["starting_at"] for p in ant_pages for b in p["data"]] == [rfc3339(d) for d in expected_days]
    # Anthropic's cursor is documented as "page_" + base64(RFC 3339 start of the next bucket).
    assert base64.b64decode(ant_pages[0]["next_page"].removeprefix("page_")).decode() == "2026-07-02T00:00:00Z"
    assert oai_pages[0]["next_page"].startswith("page_")


def test_buckets_before_history_start_are_present_and_empty(sim_clients: Any) -> None:
    _sim, oai, ant = sim_clients
    start, end = date(2026, 5, 25), date(2026, 6, 3)

    oai_data = body(oai.get(COMPLETIONS, params={"start_time": epoch(start), "end_time": epoch(end)}))["data"]
    ant_data = body(ant.get(MESSAGES, params={"starting_at": rfc3339(start), "ending_at": rfc3339(end), "limit": 9}))

    assert len(oai_data) == 7  # the default limit for 1d
    assert [b["results"] for b in oai_data] == [[]] * 7
    assert [len(b["results"]) for b in ant_data["data"]][:7] == [0] * 7
    assert all(len(b["results"]) == 1 for b in ant_data["data"][7:])


def test_first_openai_bucket_starts_at_an_unaligned_start_and_ends_at_midnight(sim_clients: Any) -> None:
    sim, oai, _ant = sim_clients
    start = epoch(SEP_1, 10, 17)
    data = body(oai.get(COMPLETIONS, params={"start_time": start, "limit": 2}))["data"]

    assert (data[0]["start_time"], data[0]["end_time"]) == (start, epoch(date(2026, 9, 2)))
    assert (data[1]["start_time"], data[1]["end_time"]) == (epoch(date(2026, 9, 2)), epoch(date(2026, 9, 3)))
    full_day = sum(r.tokens for r in sim.truth("org-acme", SEP_1).rows if r.model != "text-embedding-3-small")
    assert 0 < _token_sum(data[0]["results"][0]) < full_day


def test_hourly_and_minute_buckets_add_up_to_the_daily_bucket(sim_clients: Any) -> None:
    _sim, oai, ant = sim_clients
    day = date(2026, 9, 2)
    daily = body(oai.get(COMPLETIONS, params={"start_time": epoch(day), "limit": 1}))["data"][0]["results"][0]
    hourly = body(oai.get(COMPLETIONS, params={"start_time": epoch(day), "bucket_width": "1h", "limit": 24}))
    assert len(hourly["data"]) == 24
    assert sum(_token_sum(r) for b in hourly["data"] for r in b["results"]) == _token_sum(daily)

    hour_ant = {"starting_at": "2026-09-02T09:00:00Z", "ending_at": "2026-09-02T10:00:00Z", "bucket_width": "1h"}
    one_hour = body(ant.get(MESSAGES, params=hour_ant))["data"][0]["results"][0]
    minutes = {"starting_at": "2026-09-02T09:00:00Z", "bucket_width": "1m", "limit": 60}
    minute_data = body(ant.get(MESSAGES, params=minutes))["data"]
    assert minute_data[0]["starting_at"] == "2026-09-02T09:00:00Z"
    assert len(minute_data) == 60
    assert sum(_token_sum(r) for b in minute_data for r in b["results"]) == _token_sum(one_hour)


def test_no_data_after_now_and_todays_bucket_is_partial(sim_clients: Any) -> None:
    sim, oai, ant = sim_clients
    today = NOW.date()
    hourly = body(oai.get(COMPLETIONS, params={"start_time": epoch(today), "bucket_width": "1h"}))["data"]
    assert hourly[-1]["start_time"] == epoch(today, 13)  # the bucket holding "now" is the last one
    future = ant.get(
        MESSAGES,
        params={"starting_at": "2026-09-15T00:00:00Z", "ending_at": "2026-09-16T00:00:00Z", "bucket_width": "1h"},
    )
    assert future.status_code == 400  # observed at Anthropic: "Invalid date range" for an end after now
    assert "Invalid date range" in future.text
    open_ended = body(ant.get(MESSAGES, params={"starting_at": "2026-09-15T00:00:00Z", "bucket_width": "1h"}))["data"]
    assert len(open_ended) == 14  # up to the bucket holding "now"
    assert open_ended[-1]["results"] != []
    assert not sim.truth("org-acme", today).complete
    assert sim.truth("org-acme", SEP_1).complete
    assert sim.truth("org-acme", today + timedelta(days=1)).rows == []


def test_openai_cost_buckets_equal_truth_and_values_come_as_numbers_and_strings(sim_clients: Any) -> None:
    sim, oai, _ant = sim_clients
    start, end = SEP_1, date(2026, 9, 15)
    response = oai.get(COSTS, params={"start_time": epoch(start), "end_time": epoch(end), "limit": 30})
    data = body(response)["data"]

    assert len(data) == 14
    kinds = set()
    for i, bucket in enumerate(data):
        (row,) = bucket["results"]
        assert row["object"] == "organization.costs.result"
        assert row["amount"]["currency"] == "usd"
        kinds.add(type(row["amount"]["value"]))
        amount = Decimal(str(row["amount"]["value"]))
        truth = sim.truth("org-acme", start + timedelta(days=i))
        assert amount == truth.billed_cost_usd
        assert amount.quantize(Decimal("0.01")) == truth.billed_cost_usd.quantize(Decimal("0.01"))
        assert row["line_item"] is None
        assert row["project_id"] is None
        assert row["quantity"] is None
    assert kinds == {str, Decimal}


def test_anthropic_cost_report_cents_equal_truth_and_exclude_priority_tier(sim_clients: Any) -> None:
    sim, _oai, ant = sim_clients
    params = {"starting_at": rfc3339(SEP_1), "ending_at": rfc3339(date(2026, 9, 8))}
    plain = body(ant.get(COST_REPORT, params=params))["data"]
    described = body(ant.get(COST_REPORT, params=params | {"group_by[]": "description"}))["data"]
    usage = body(ant.get(MESSAGES, params=params | {"group_by[]": "service_tier"}))["data"]

    for i, bucket in enumerate(plain):
        (row,) = bucket["results"]
        assert isinstance(row["amount"], str)
        assert row["currency"] == "USD"
        assert row["description"] is None
        assert row["model"] is None
        assert row["token_type"] is None
        assert Decimal(row["amount"]) / 100 == sim.truth("org-initech", SEP_1 + timedelta(days=i)).billed_cost_usd
    rows = [r for b in described for r in b["results"]]
    assert {r["service_tier"] for r in rows} == {"standard", "batch"}
    assert {r["cost_type"] for r in rows} == {"tokens"}
    assert all(r["description"] and r["model"] for r in rows)
    assert "200k-1M" in {r["context_window"] for r in rows}
    assert "priority" in {r["service_tier"] for b in usage for r in b["results"]}


@pytest.mark.parametrize(
    ("provider_path", "grouping"),
    [
        ("openai", ["line_item"]),
        ("openai", ["project_id"]),
        ("openai", ["api_key_id", "project_id", "line_item"]),
        ("anthropic", ["description"]),
        ("anthropic", ["workspace_id"]),
        ("anthropic", ["workspace_id", "description"]),
    ],
)
def test_ungrouped_cost_equals_sum_of_grouped_rows(sim_clients: Any, provider_path: str, grouping: list[str]) -> None:
    _sim, oai, ant = sim_clients
    if provider_path == "openai":
        client, path = oai, COSTS
        params: dict[str, Any] = {"start_time": epoch(SEP_1), "end_time": epoch(date(2026, 9, 6))}

        def amount(row: dict[str, Any]) -> Decimal:
            return Decimal(str(row["amount"]["value"]))
    else:
        client, path = ant, COST_REPORT
        params = {"starting_at": rfc3339(SEP_1), "ending_at": rfc3339(date(2026, 9, 6))}

        def amount(row: dict[str, Any]) -> Decimal:
            return Decimal(row["amount"])

    whole = body(client.get(path, params=params))["data"]
    parts = body(client.get(path, params=params | {"group_by[]": grouping}))["data"]

    assert len(whole) == len(parts) == 5
    for total, grouped in zip(whole, parts, strict=True):
        assert len(grouped["results"]) > 1
        assert amount(total["results"][0]) == sum(amount(r) for r in grouped["results"])


@pytest.mark.parametrize(
    ("model", "tier", "window", "token_type", "usd_per_mtok"),
    [
        # provider-apis.md §4.1 list prices (USD per 1M tokens)
        ("gpt-4o-2024-08-06", "default", None, "uncached_input", "2.50"),
        ("gpt-4o-2024-08-06", "default", None, "cache_read", "1.25"),
        ("gpt-4o-2024-08-06", "batch", None, "uncached_input", "1.25"),
        ("gpt-4o-2024-08-06", "batch", None, "output", "5.00"),
        ("o4-mini-2025-04-16", "default", None, "output", "4.40"),
        ("text-embedding-3-small", "default", None, "uncached_input", "0.02"),
        ("claude-sonnet-4-5-20250929", "standard", "0-200k", "uncached_input", "3.00"),
        ("claude-sonnet-4-5-20250929", "standard", "0-200k", "cache_read", "0.30"),
        ("claude-sonnet-4-5-20250929", "standard", "0-200k", "cache_write_5m", "3.75"),
        ("claude-sonnet-4-5-20250929", "standard", "200k-1M", "uncached_input", "6.00"),  # long-context tier
        ("claude-haiku-4-5-20251001", "batch", "0-200k", "output", "2.50"),
        ("claude-opus-4-5-20251101", "standard", "0-200k", "cache_write_1h", "10.00"),
    ],
)
def test_billed_cost_is_tokens_times_documented_list_price_less_discount(
    sim_clients: Any, model: str, tier: str, window: str | None, token_type: str, usd_per_mtok: str
) -> None:
    sim, _oai, _ant = sim_clients
    openai = not model.startswith("claude")
    week = [sim.truth("org-acme" if openai else "org-initech", SEP_1 + timedelta(days=i)) for i in range(7)]
    discount = OPENAI_DISCOUNT if openai else ANTHROPIC_DISCOUNT

    def matches(r: Any) -> bool:
        row_tier = "batch" if r.batch else r.service_tier
        return r.model == model and row_tier == tier and r.context_window == window and r.token_type == token_type

    rows = [r for truth in week for r in truth.rows if matches(r)]
    assert rows
    for row in rows:
        list_cost = row.tokens * Decimal(usd_per_mtok) / MTOK
        assert row.unit_price_usd_per_mtok == Decimal(usd_per_mtok)
        assert row.list_cost_usd == list_cost
        assert row.billed_cost_usd == list_cost * (1 - discount)


def test_usage_tokens_match_truth_and_cost_line_quantities(sim_clients: Any) -> None:
    sim, oai, ant = sim_clients
    day = {"start_time": epoch(SEP_1), "end_time": epoch(date(2026, 9, 2))}
    completions = body(oai.get(COMPLETIONS, params=day | {"group_by": "model"}))["data"][0]["results"]
    embeddings = body(oai.get(EMBEDDINGS, params=day | {"group_by": "model"}))["data"][0]["results"]
    lines = body(oai.get(COSTS, params=day | {"group_by[]": "line_item"}))["data"][0]["results"]
    messages = body(ant.get(MESSAGES, params={"starting_at": rfc3339(SEP_1), "limit": 1}))["data"][0]["results"]

    usage_by_model = {r["model"]: _token_sum(r) for r in completions + embeddings}
    assert sum(usage_by_model.values()) == sim.truth("org-acme", SEP_1).tokens_total
    assert sum(_token_sum(r) for r in messages) == sim.truth("org-initech", SEP_1).tokens_total
    quantity_by_model: dict[str, int] = defaultdict(int)
    for line in lines:
        match = re.fullmatch(r"(?:(\w+) \| )?(.+?)(?: audio| image)?, (input|cached input|output)", line["line_item"])
        assert match, line["line_item"]
        assert line["quantity_unit"] == "tokens"
        quantity_by_model[match[2]] += int(line["quantity"])
    assert quantity_by_model == usage_by_model
    fine_tune = next(m for m in usage_by_model if m.startswith("ft:"))
    assert any(line["line_item"].startswith(fine_tune) for line in lines)
    assert {r.price_source for r in sim.truth("org-acme", SEP_1).rows if r.model == fine_tune} == {"internal"}


def test_two_simulator_instances_report_identical_numbers() -> None:
    clock = MovableClock(NOW)
    requests: list[tuple[str, dict[str, Any]]] = [
        (COMPLETIONS, {"start_time": epoch(SEP_1), "group_by[]": ["model", "api_key_id", "batch"], "limit": 10}),
        (COSTS, {"start_time": epoch(SEP_1), "group_by[]": "line_item", "limit": 10}),
    ]
    bodies = []
    for seed in (7, 7, 8):
        sim = ProviderSimulator(now=clock)
        sim.add_org(openai_org(seed=seed))
        with serve(sim) as running, clients(running) as (oai, _ant):
            bodies.append([oai.get(path, params=params).text for path, params in requests])
    assert bodies[0] == bodies[1]
    assert bodies[0] != bodies[2]


def test_late_days_report_a_fraction_and_are_restated_later() -> None:
    clock = MovableClock(NOW)
    sim = ProviderSimulator(now=clock)
    sim.add_org(anthropic_org(late_days=2, late_fraction=Decimal("0.5")))
    yesterday = NOW.date() - timedelta(days=1)
    params = {"starting_at": rfc3339(yesterday), "ending_at": rfc3339(NOW.date())}
    with serve(sim) as running, clients(running) as (_oai, ant):
        early = body(ant.get(COST_REPORT, params=params))["data"][0]["results"][0]["amount"]
        early_truth = sim.truth("org-initech", yesterday)
        clock.advance(timedelta(days=2))
        late = body(ant.get(COST_REPORT, params=params))["data"][0]["results"][0]["amount"]
        late_truth = sim.truth("org-initech", yesterday)

    assert not early_truth.complete
    assert late_truth.complete
    assert 0.45 < early_truth.tokens_total / late_truth.tokens_total < 0.55
    assert Decimal(early) / 100 == early_truth.billed_cost_usd
    assert Decimal(late) / 100 == late_truth.billed_cost_usd > early_truth.billed_cost_usd
