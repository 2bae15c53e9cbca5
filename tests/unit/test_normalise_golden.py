"""Golden tests: provider bodies shaped exactly like the documented examples → exact normalised figures.

The bodies are JSON text, decoded by the real clients, so "string vs number" amounts are what the wire carries.
Expected figures are derived by hand in the comments from the list prices in provider-apis.md §4.1.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import SecretStr

from shared.adapters.anthropic_admin import AnthropicAdmin
from shared.adapters.openai_admin import OpenAIAdmin
from shared.domain.usage.records import CostKind, DayStatus, ServiceTier, TokenType
from tests.support.provider_mock import FAST_POLICY, MockProvider, empty_openai_page, json_response

pytestmark = pytest.mark.anyio

OPENAI_KEY = "sk-admin-golden-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-admin01-golden-0123456789abcdef"
DAY1, DAY2, END = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)

# 2026-10-01T00:00Z = 1790812800, 2026-10-02 = 1790899200, 2026-10-03 = 1790985600.
OPENAI_COMPLETIONS = r"""{"object": "page", "has_more": false, "next_page": null, "some_new_envelope_field": 1,
 "data": [
  {"object": "bucket", "start_time": 1790812800, "end_time": 1790899200, "results": [
    {"object": "organization.usage.completions.result", "input_tokens": 1000, "input_cached_tokens": 200,
     "input_cache_write_tokens": 100, "input_uncached_tokens": 700, "output_tokens": 300, "num_model_requests": 5,
     "input_text_tokens": 700, "brand_new_counter": 17,
     "project_id": "proj_1", "user_id": null, "api_key_id": "key_1", "model": "gpt-4o-2024-08-06",
     "batch": false, "service_tier": "default"},
    {"object": "organization.usage.completions.result", "input_tokens": 4000, "input_cached_tokens": 0,
     "output_tokens": 1000, "num_model_requests": 40,
     "project_id": "proj_1", "user_id": null, "api_key_id": "key_1", "model": "gpt-4o-2024-08-06",
     "batch": true, "service_tier": null},
    {"object": "organization.usage.completions.result", "input_tokens": 500, "output_tokens": 100,
     "num_model_requests": 1,
     "project_id": "proj_1", "user_id": null, "api_key_id": "key_1", "model": "gpt-4o-2024-08-06",
     "batch": false, "service_tier": null}
  ]},
  {"object": "bucket", "start_time": 1790899200, "end_time": 1790985600, "results": []}
 ]}"""

OPENAI_EMBEDDINGS = r"""{"object": "page", "has_more": false, "next_page": null, "data": [
  {"object": "bucket", "start_time": 1790812800, "end_time": 1790899200, "results": [
    {"object": "organization.usage.embeddings.result", "input_tokens": 10000, "num_model_requests": 3,
     "project_id": "proj_2", "user_id": null, "api_key_id": null, "model": "text-embedding-3-small"}]},
  {"object": "bucket", "start_time": 1790899200, "end_time": 1790985600, "results": []}]}"""

OPENAI_IMAGES = r"""{"object": "page", "has_more": false, "next_page": null, "data": [
  {"object": "bucket", "start_time": 1790812800, "end_time": 1790899200, "results": [
    {"object": "organization.usage.images.result", "images": 4, "num_model_requests": 2, "source": null,
     "size": null, "project_id": "proj_1", "user_id": null, "api_key_id": "key_1", "model": "dall-e-3"}]},
  {"object": "bucket", "start_time": 1790899200, "end_time": 1790985600, "results": []}]}"""

OPENAI_COSTS = r"""{"object": "page", "has_more": false, "next_page": null, "data": [
  {"object": "bucket", "start_time": 1790812800, "end_time": 1790899200, "results": [
    {"object": "organization.costs.result", "amount": {"value": "0.0040", "currency": "usd"},
     "line_item": "gpt-4o-2024-08-06, input", "project_id": "proj_1", "quantity": null, "quantity_unit": null},
    {"object": "organization.costs.result", "amount": {"value": 0.0085, "currency": "usd"},
     "line_item": "gpt-4o-2024-08-06, output", "project_id": "proj_1"},
    {"object": "organization.costs.result", "amount": {"value": "0.5617712500000000", "currency": "usd"},
     "line_item": "web search tool calls", "project_id": "proj_1"},
    {"object": "organization.costs.result", "amount": {"value": 0, "currency": "usd"},
     "line_item": "Fine-tuning training", "project_id": null}]},
  {"object": "bucket", "start_time": 1790899200, "end_time": 1790985600, "results": []}]}"""


async def test_openai_golden_day() -> None:
    mock = MockProvider(routes={"/v1/organization/costs": lambda r: json_response(OPENAI_COSTS)})
    for report in ("moderations", "audio_speeches", "audio_transcriptions", "vector_stores"):
        mock.routes[f"/v1/organization/usage/{report}"] = empty_openai_page
    for report in ("code_interpreter_sessions", "file_search_calls", "web_search_calls"):
        mock.routes[f"/v1/organization/usage/{report}"] = empty_openai_page
    mock.routes["/v1/organization/usage/completions"] = lambda r: json_response(OPENAI_COMPLETIONS)
    mock.routes["/v1/organization/usage/embeddings"] = lambda r: json_response(OPENAI_EMBEDDINGS)
    mock.routes["/v1/organization/usage/images"] = lambda r: json_response(OPENAI_IMAGES)

    async with mock.client() as http:
        client = OpenAIAdmin(
            SecretStr(OPENAI_KEY), base_url="https://api.test", http=http, policy=FAST_POLICY, sleep=mock.sleep
        )
        pull = await client.pull(DAY1, END)

    day = pull.days[DAY1]
    assert day.status is DayStatus.OK
    rows = {(r.model, r.project_id, r.api_key_id, r.service_tier, r.token_type): r.quantity for r in day.records}
    gpt, std, batch = "gpt-4o-2024-08-06", ServiceTier.STANDARD, ServiceTier.BATCH
    assert rows == {
        # standard rows "default" + null tier merge: uncached (1000-200-100) + 500 = 1200; reads 200; writes 100;
        # output 300 + 100 = 400. The batch row is counted once, as batch.
        (gpt, "proj_1", "key_1", std, TokenType.UNCACHED_INPUT): 1200,
        (gpt, "proj_1", "key_1", std, TokenType.CACHE_READ): 200,
        (gpt, "proj_1", "key_1", std, TokenType.CACHE_WRITE_5M): 100,
        (gpt, "proj_1", "key_1", std, TokenType.OUTPUT): 400,
        (gpt, "proj_1", "key_1", batch, TokenType.UNCACHED_INPUT): 4000,
        (gpt, "proj_1", "key_1", batch, TokenType.OUTPUT): 1000,
        ("text-embedding-3-small", "proj_2", None, std, TokenType.UNCACHED_INPUT): 10000,
    }
    # Totals: input = 1000 + 4000 + 500 + 10000 embeddings = 15500; cached 200; writes 100; output 1400.
    totals = day.totals
    assert (totals.input_tokens, totals.cached_tokens, totals.cache_write_tokens, totals.output_tokens) == (
        15500,
        200,
        100,
        1400,
    )
    # List: standard gpt-4o 1200×2.50 + 200×1.25 + 100×2.50 (no write price → input) + 400×10 = 7500 /1M
    #       batch gpt-4o 4000×1.25 + 1000×5 = 10000 /1M; embeddings 10000×0.02 = 200 /1M → $0.0177.
    assert day.list_usd == Decimal("0.0177")
    # Billed: "0.0040" (string) + 0.0085 (number) + "0.5617712500000000" (web search) + 0 = $0.57427125.
    assert day.billed_usd == Decimal("0.57427125")
    kinds = {c.line_item: c.kind for c in day.cost_lines}
    assert kinds["web search tool calls"] is CostKind.OTHER
    assert kinds["gpt-4o-2024-08-06, input"] is CostKind.TOKENS
    # Reconciliation compares tokens with tokens: 0.0040 + 0.0085 + 0 (unclassified) = 0.0125 vs 0.0177.
    recon = day.reconciliation
    assert recon is not None
    assert (recon.billed_usd, recon.list_usd, recon.flagged) == (Decimal("0.0125"), Decimal("0.0177"), False)
    assert recon.ratio == Decimal("0.0125") / Decimal("0.0177")
    # Request counts of the token reports are kept as meters: completions 5 + 40 + 1 = 46, embeddings 3.
    requests = [(m.source, m.quantity) for m in day.meters if m.meter == "num_model_requests"]
    assert requests == [("completions", 5), ("completions", 40), ("completions", 1), ("embeddings", 3)]
    assert [(m.meter, m.quantity) for m in day.meters if m.meter != "num_model_requests"] == [("images", 4)]
    # The empty second bucket is an ok day with nothing in it.
    empty = pull.days[DAY2]
    assert (empty.status, empty.records, empty.cost_lines, empty.billed_usd) == (DayStatus.OK, (), (), Decimal(0))


ANTHROPIC_USAGE = r"""{"has_more": false, "next_page": null, "data": [
  {"starting_at": "2026-10-01T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z", "results": [
    {"uncached_input_tokens": 1500,
     "cache_creation": {"ephemeral_1h_input_tokens": 1000, "ephemeral_5m_input_tokens": 500},
     "cache_read_input_tokens": 200, "output_tokens": 500, "server_tool_use": {"web_search_requests": 10},
     "api_key_id": "apikey_01", "workspace_id": "wrkspc_01", "model": "claude-sonnet-4-5-20250929",
     "service_tier": "standard", "context_window": "0-200k", "inference_geo": "global", "speed": null,
     "account_id": null, "service_account_id": null, "a_field_from_the_future": {"x": 1}},
    {"uncached_input_tokens": 10000,
     "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
     "cache_read_input_tokens": 0, "output_tokens": 2000, "server_tool_use": {"web_search_requests": 0},
     "api_key_id": null, "workspace_id": null, "model": "claude-sonnet-4-5-20250929",
     "service_tier": "batch", "context_window": "0-200k", "inference_geo": "not_available"},
    {"uncached_input_tokens": 300000,
     "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
     "cache_read_input_tokens": 0, "output_tokens": 1000, "server_tool_use": null,
     "api_key_id": "apikey_01", "workspace_id": "wrkspc_01", "model": "claude-sonnet-4-5-20250929",
     "service_tier": "standard", "context_window": "200k-1M", "inference_geo": "global"}]},
  {"starting_at": "2026-10-02T00:00:00Z", "ending_at": "2026-10-03T00:00:00Z", "results": []}]}"""

ANTHROPIC_COSTS = r"""{"has_more": false, "next_page": null, "data": [
  {"starting_at": "2026-10-01T00:00:00Z", "ending_at": "2026-10-02T00:00:00Z", "results": [
    {"currency": "USD", "amount": "123.78912", "workspace_id": "wrkspc_01",
     "description": "Claude Sonnet 4.5 Usage - Input Tokens", "cost_type": "tokens", "context_window": "0-200k",
     "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "token_type": "uncached_input_tokens",
     "inference_geo": "global"},
    {"currency": "USD", "amount": "0.1", "workspace_id": "wrkspc_01",
     "description": "Claude Sonnet 4.5 Usage - Cache Write", "cost_type": "tokens", "context_window": "0-200k",
     "model": "claude-sonnet-4-5-20250929", "service_tier": "standard",
     "token_type": "cache_creation.ephemeral_5m_input_tokens", "inference_geo": "global"},
    {"currency": "USD", "amount": "1500", "workspace_id": null, "description": "Web Search Usage",
     "cost_type": "web_search", "context_window": null, "model": null, "service_tier": null, "token_type": null}]},
  {"starting_at": "2026-10-02T00:00:00Z", "ending_at": "2026-10-03T00:00:00Z", "results": []}]}"""


async def test_anthropic_golden_day() -> None:
    mock = MockProvider(
        routes={
            "/v1/organizations/usage_report/messages": lambda r: json_response(ANTHROPIC_USAGE),
            "/v1/organizations/cost_report": lambda r: json_response(ANTHROPIC_COSTS),
        }
    )
    async with mock.client() as http:
        client = AnthropicAdmin(
            SecretStr(ANTHROPIC_KEY), base_url="https://api.test", http=http, policy=FAST_POLICY, sleep=mock.sleep
        )
        pull = await client.pull(DAY1, END)

    day = pull.days[DAY1]
    assert day.status is DayStatus.OK
    # Totals: input = (1500 + 1000 + 500 + 200) + 10000 + 300000 = 313200; cached 200; writes 1500;
    # output 500 + 2000 + 1000 = 3500.
    t = day.totals
    assert (t.input_tokens, t.cached_tokens, t.cache_write_tokens, t.output_tokens) == (313200, 200, 1500, 3500)
    writes = {r.token_type: r.quantity for r in day.records if r.token_type.value.startswith("cache_write")}
    assert writes == {TokenType.CACHE_WRITE_1H: 1000, TokenType.CACHE_WRITE_5M: 500}  # nested, not flat
    # List (Sonnet 4.5): row 1 1500×3 + 1000×6 (1h) + 500×3.75 (5m) + 200×0.30 + 500×15 = 19935 /1M
    #   row 2 batch 10000×1.50 + 2000×7.50 = 30000 /1M
    #   row 3 long context (200k-1M) 300000×6 + 1000×22.50 = 1822500 /1M
    #   → (19935 + 30000 + 1822500) / 1M = $1.872435
    assert day.list_usd == Decimal("1.872435")
    # Billed, cents → dollars: "123.78912" → $1.2378912; "0.1" → $0.001; "1500" (web search) → $15.
    assert day.billed_usd == Decimal("16.2388912")
    recon = day.reconciliation
    assert recon is not None
    # Tokens only: 1.2378912 + 0.001 = 1.2388912 against 1.872435 → ratio ≈ 0.66, a plausible discount.
    assert (recon.billed_usd, recon.list_usd, recon.flagged) == (Decimal("1.2388912"), Decimal("1.872435"), False)
    by_type = {c.token_type: c for c in day.cost_lines}
    assert by_type[TokenType.CACHE_WRITE_5M].amount_usd == Decimal("0.001")
    assert by_type[None].kind is CostKind.OTHER
    assert [(m.meter, m.quantity, m.project_id) for m in day.meters] == [("web_search_requests", 10, "wrkspc_01")]
    assert pull.days[DAY2].records == ()


async def test_requests_ask_for_every_grouping_at_the_maximum_page_size() -> None:
    mock = MockProvider(
        routes={
            "/v1/organizations/usage_report/messages": lambda r: json_response(ANTHROPIC_USAGE),
            "/v1/organizations/cost_report": lambda r: json_response(ANTHROPIC_COSTS),
        }
    )
    async with mock.client() as http:
        client = AnthropicAdmin(
            SecretStr(ANTHROPIC_KEY), base_url="https://api.test", http=http, policy=FAST_POLICY, sleep=mock.sleep
        )
        pull = await client.pull(DAY1, END)
    by_path = {r.url.path: r for r in mock.requests}
    usage = by_path["/v1/organizations/usage_report/messages"]
    assert sorted(usage.url.params.get_list("group_by[]")) == sorted(
        ["model", "workspace_id", "api_key_id", "service_tier", "context_window"]
    )
    assert (usage.url.params["limit"], usage.url.params["bucket_width"]) == ("31", "1d")
    assert usage.url.params["starting_at"] == "2026-10-01T00:00:00Z"
    assert usage.headers["anthropic-version"] == "2023-06-01"
    cost = by_path["/v1/organizations/cost_report"]
    assert sorted(cost.url.params.get_list("group_by[]")) == ["description", "workspace_id"]
    assert ANTHROPIC_KEY not in repr(pull.raw_pages)
    assert len(pull.raw_pages) == 2
