"""Every token on its own meter: audio, image, long context and batch embeddings are priced exactly or left
unpriced, so a list payer's discount is 0 and a flat discount shows as itself (issue 17, review findings 2, 3, 5).

Wire shapes: OpenAI completions usage fields and costs line items, provider-apis.md §1.4 (the completions usage
object's ``input_audio_tokens``, ``input_cached_audio_tokens``, ``output_audio_tokens``, image variants; costs
``line_item`` such as ``"gpt-audio-mini-2025-12-15 audio, input"`` and ``quantity``/``quantity_unit``); Anthropic
``context_window`` ``"200k-1M"``, provider-apis.md §2. List prices: genai-prices 0.2.3 (gpt-realtime text input $4,
audio input $32, audio output $64, image input $5 per 1M; text-embedding-3-small $0.02, batch $0.01).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.providers import openai as openai_reports
from shared.domain.providers.google import billing as google_billing
from shared.domain.usage.normalise import DayPart, RawUsage, build_day
from shared.domain.usage.pricing import Unpriced, UnpricedReason, list_unit_price
from shared.domain.usage.records import ContextBand, CostKind, CostLine, Provider, ServiceTier, TokenType
from shared.errors import ProviderResponseError

DAY = date(2026, 11, 2)
S, SHORT = ServiceTier.STANDARD, ContextBand.STANDARD
START = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp())


def bucket(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"object": "bucket", "start_time": START, "end_time": START + 86400, "results": list(rows)}


def cost(line_item: str, amount: str, tokens: int | None = None) -> dict[str, Any]:
    return {
        "object": "organization.costs.result",
        "amount": {"value": amount, "currency": "usd"},
        "line_item": line_item,
        "project_id": None,
        "quantity": tokens,
        "quantity_unit": None if tokens is None else "tokens",
    }


def openai_day(report: str, rows: list[dict[str, Any]], costs: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    _, usage = openai_reports.parse_bucket(report, bucket(*rows))
    _, billed = openai_reports.parse_bucket("costs", bucket(*costs))
    return build_day(Provider.OPENAI, DAY, [usage, billed])


REALTIME = {
    "object": "organization.usage.completions.result",
    "model": "gpt-realtime",
    "input_tokens": 1_600_000,  # 1M text + 400k audio + 200k image
    "input_cached_tokens": 0,
    "input_audio_tokens": 400_000,
    "input_image_tokens": 200_000,
    "output_tokens": 300_000,  # 100k text + 200k audio
    "output_audio_tokens": 200_000,
    "num_model_requests": 10,
    "batch": None,
    "service_tier": "default",
    "project_id": None,
    "api_key_id": None,
}


def test_audio_and_image_tokens_are_their_own_meters_and_a_list_payer_pays_list() -> None:
    """Review finding 2: audio priced as text made a list-price gpt-realtime user show rho 5.5."""
    # List: text in 1M × $4 = $4; audio in 0.4M × $32 = $12.80; image in 0.2M × $5 = $1; text out 0.1M × $16 = $1.60;
    # audio out 0.2M × $64 = $12.80. Billed at list.
    costs = [
        cost("gpt-realtime, input", "4", 1_000_000),
        cost("gpt-realtime audio, input", "12.80", 400_000),
        cost("gpt-realtime image, input", "1", 200_000),
        cost("gpt-realtime, output", "1.60", 100_000),
        cost("gpt-realtime audio, output", "12.80", 200_000),
    ]
    day = openai_day("completions", [REALTIME], costs)
    by_type = {r.token_type: r.quantity for r in day.records}
    assert by_type == {
        TokenType.UNCACHED_INPUT: 1_000_000,
        TokenType.AUDIO_INPUT: 400_000,
        TokenType.IMAGE_INPUT: 200_000,
        TokenType.OUTPUT: 100_000,
        TokenType.AUDIO_OUTPUT: 200_000,
    }
    assert (day.totals.input_tokens, day.totals.output_tokens) == (1_600_000, 300_000)
    recon = day.reconciliation
    assert recon is not None
    assert (recon.list_usd, recon.billed_usd, recon.ratio, recon.unpriced_billed_usd) == (
        Decimal("32.2"),
        Decimal("32.2"),
        1,
        0,
    )


def test_a_row_with_more_audio_than_input_is_refused() -> None:
    with pytest.raises(ProviderResponseError):
        openai_reports.parse_bucket("completions", bucket({**REALTIME, "input_audio_tokens": 2_000_000}))


def test_audio_of_a_model_without_an_audio_price_is_unpriced_not_priced_as_text() -> None:
    price = list_unit_price(
        Provider.OPENAI, "gpt-4o", TokenType.AUDIO_INPUT, ServiceTier.STANDARD, ContextBand.STANDARD, DAY
    )
    assert price == Unpriced(UnpricedReason.NO_PRICE_FOR_METER)


def test_long_context_without_a_tier_in_the_price_data_is_unpriced() -> None:
    """Review finding 3: ``200k-1M`` usage of a model without tiered prices was priced at the base rate."""
    untiered = list_unit_price(
        Provider.ANTHROPIC, "claude-sonnet-4", TokenType.UNCACHED_INPUT, ServiceTier.STANDARD, ContextBand.LONG, DAY
    )
    tiered = list_unit_price(
        Provider.ANTHROPIC, "claude-sonnet-4-5", TokenType.UNCACHED_INPUT, ServiceTier.STANDARD, ContextBand.LONG, DAY
    )
    assert untiered == Unpriced(UnpricedReason.NO_CONTEXT_TIER)
    assert not isinstance(tiered, Unpriced)
    assert tiered.usd_per_mtok == 6  # Sonnet 4.5 above 200k: $6


def test_long_context_usage_without_a_price_leaves_the_discount_alone() -> None:
    def raw(band: ContextBand) -> RawUsage:
        return RawUsage("claude-sonnet-4", None, None, ServiceTier.STANDARD, band, TokenType.UNCACHED_INPUT, 10**6)

    def line(amount: str, band: ContextBand) -> CostLine:
        return CostLine(
            provider=Provider.ANTHROPIC,
            day=DAY,
            amount_usd=Decimal(amount),
            kind=CostKind.TOKENS,
            model="claude-sonnet-4",
            token_type=TokenType.UNCACHED_INPUT,
            service_tier=ServiceTier.STANDARD,
            context_band=band,
        )

    # List payer: 1M standard input $3, 1M long-context input $6 (Anthropic's 2× above 200k): rho 1 on the priced.
    lines = (line("3", ContextBand.STANDARD), line("6", ContextBand.LONG))
    usage = (raw(ContextBand.STANDARD), raw(ContextBand.LONG))
    recon = build_day(Provider.ANTHROPIC, DAY, [DayPart(usage=usage, costs=lines)]).reconciliation
    assert recon is not None
    assert (recon.ratio, recon.unpriced_billed_usd) == (1, 6)


EMBEDDINGS = {
    "object": "organization.usage.embeddings.result",
    "model": "text-embedding-3-small",
    "input_tokens": 10_000_000,
    "num_model_requests": 100,
    "project_id": None,
    "api_key_id": None,
}


def test_batch_embeddings_are_found_in_the_cost_line_items_and_priced_at_batch() -> None:
    """Review finding 5: batch embeddings priced at the standard rate made a list payer show a 50 % discount."""
    # 4M standard at $0.02 = $0.08; 6M batch at $0.01 = $0.06 (a list payer).
    costs = [
        cost("text-embedding-3-small, input", "0.08", 4_000_000),
        cost("batch | text-embedding-3-small, input", "0.06", 6_000_000),
    ]
    day = openai_day("embeddings", [EMBEDDINGS], costs)
    tiers = {r.service_tier: r.quantity for r in day.records}
    assert tiers == {ServiceTier.STANDARD: 4_000_000, ServiceTier.BATCH: 6_000_000}
    recon = day.reconciliation
    assert recon is not None
    assert (recon.ratio, recon.unpriced_billed_usd) == (1, 0)


def test_batch_embeddings_without_token_counts_are_unpriced_not_guessed() -> None:
    costs = [
        cost("text-embedding-3-small, input", "0.08"),
        cost("batch | text-embedding-3-small, input", "0.06"),
        cost("gpt-realtime, input", "4", 1_000_000),
    ]
    text_only = {"input_tokens": 10**6, "input_audio_tokens": 0, "input_image_tokens": 0, "output_audio_tokens": 0}
    _, chat = openai_reports.parse_bucket("completions", bucket({**REALTIME, **text_only, "output_tokens": 0}))
    _, embeddings = openai_reports.parse_bucket("embeddings", bucket(EMBEDDINGS))
    _, billed = openai_reports.parse_bucket("costs", bucket(*costs))
    day = build_day(Provider.OPENAI, DAY, [chat, embeddings, billed])
    assert day.unpriced_models == ("text-embedding-3-small",)
    recon = day.reconciliation
    assert recon is not None
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd) == (4, 4, Decimal("0.14"))


def billing_row(sku: str, tokens: int, cost: str) -> dict[str, Any]:
    """A decoded Cloud Billing export row (provider-apis.md §3.2: ``usage.amount``, ``usage.unit``, ``cost``)."""
    return {
        "usage_start_time": str(START * 1_000_000),
        "project_id": "acme-prod",
        "sku_description": sku,
        "cost": cost,
        "currency": "USD",
        "currency_conversion_rate": "1",
        "cost_type": "regular",
        "usage_amount": str(tokens),
        "usage_unit": "count",
        "credits": [],
    }


def test_google_cache_hits_are_priced_from_the_export_quantities_so_a_list_payer_pays_list() -> None:
    """Review finding 4: Monitoring counts cache hits as input, so a list payer with 70 % cache hits showed 35 % off.

    gemini-2.5-flash list (genai-prices): input $0.30, cached input $0.03, output $2.50 per 1M. 10M input tokens, 7M
    of them cache hits: Monitoring says 10M input; the export says 3M input ($0.90) and 7M cached ($0.21).
    """
    rows = [
        billing_row("Generate content input token count Gemini 2.5 Flash short input text", 3_000_000, "0.90"),
        billing_row("Generate_content cached text input token count for gemini 2.5 flash", 7_000_000, "0.21"),
        billing_row("Generate content output token count gemini 2.5 flash short output text", 1_000_000, "2.50"),
    ]
    billed = google_billing.cost_lines(rows)
    monitoring = (
        RawUsage("gemini-2.5-flash", "acme-prod", None, S, SHORT, TokenType.UNCACHED_INPUT, 10_000_000),
        RawUsage("gemini-2.5-flash", "acme-prod", None, S, SHORT, TokenType.OUTPUT, 1_000_000),
    )
    parts = [DayPart(usage=monitoring), DayPart(costs=tuple(billed.lines[DAY]))]
    day = build_day(Provider.GOOGLE, DAY, parts, list_usage=billed.quantities[DAY])
    recon = day.reconciliation
    assert recon is not None
    assert (recon.billed_usd, recon.list_usd, recon.ratio, recon.unpriced_billed_usd) == (
        Decimal("3.61"),
        Decimal("3.61"),
        1,
        0,
    )
    assert day.totals.input_tokens == 10_000_000  # the usage shown is still Monitoring's


def test_a_google_sku_without_a_readable_token_quantity_takes_its_model_out_of_the_comparison() -> None:
    rows = [
        billing_row("Generate content input token count Gemini 2.5 Flash short input text", 3_000_000, "0.90"),
        {
            **billing_row("Generate content output token count gemini 2.5 flash short output text", 0, "2.50"),
            "usage_unit": "seconds",
        },
    ]
    billed = google_billing.cost_lines(rows)
    day = build_day(Provider.GOOGLE, DAY, [DayPart(costs=tuple(billed.lines[DAY]))], list_usage=billed.quantities[DAY])
    recon = day.reconciliation
    assert recon is not None
    # The model's output cannot be priced, so its bill cannot be split by meter: the model leaves whole.
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd) == (0, 0, Decimal("3.40"))


def test_an_openai_long_context_line_takes_its_model_out_of_the_comparison() -> None:
    """OpenAI's usage report has no context band, yet its costs report bills long context apart
    (``"priority | gpt-5.6-sol, output, long context"``, provider-apis.md §1.4): that model cannot be priced exactly."""
    rows = [
        {**EMBEDDINGS, "model": "gpt-4o-2024-08-06", "object": "organization.usage.completions.result"},
        {**EMBEDDINGS, "model": "gpt-4o-mini-2024-07-18", "object": "organization.usage.completions.result"},
    ]
    completions = [{**r, "output_tokens": 0, "batch": None, "service_tier": "default"} for r in rows]
    costs = [
        cost("gpt-4o-2024-08-06, input", "20", 8_000_000),
        cost("gpt-4o-2024-08-06, input, long context", "10", 2_000_000),
        cost("gpt-4o-mini-2024-07-18, input", "1.20", 10_000_000),
    ]
    recon = openai_day("completions", completions, costs).reconciliation
    assert recon is not None
    # Only gpt-4o-mini compares: 10M input at $0.15 list = $1.50, billed $1.20 (20 % off).
    assert (recon.billed_usd, recon.list_usd, recon.unpriced_billed_usd) == (Decimal("1.20"), Decimal("1.5"), 30)
