"""What a Cloud Billing SKU description says about a cost: token type, model, tier, context band.

The billing export has no structured model or token-type field; ``sku.description`` is free text and its wording is
inconsistent (provider-apis.md §3.2), e.g.::

    Generate content input token count Gemini 2.5 Pro short input text
    Generate content output token count gemini 2.5 flash short output text non-thinking
    Generate_content cached text input token count for gemini 3 flash
    EmbedContent input token count for gemini-embedding-001

So parsing is defensive and partial: a description that mentions tokens is a token cost (its model and direction
when they can be read, ``None`` otherwise), one that names a clearly non-token product (storage, node hours,
grounding requests, provisioned throughput...) is another kind of cost, and anything else is ``UNKNOWN``.
Nothing is ever dropped: a cost whose SKU is not understood stays in the bill, unattributed to any model.
"""

from __future__ import annotations

import re
from functools import lru_cache

from shared.domain.providers.label_meaning import LabelMeaning
from shared.domain.usage.records import ContextBand, CostKind, ServiceTier, TokenType

_NON_TOKEN = re.compile(
    r"\b(storage|hours?|node|training|tuning|grounding|search|requests?|provisioned|throughput|gsu|vcpu|ram|gib|"
    r"gb|endpoint|pipeline|second|minutes?|images?|video|audio)\b"
)
_GEMINI_EMBEDDING = re.compile(r"gemini[\s-]+embedding[\s-]+(\d+)")
_GEMINI = re.compile(
    r"gemini[\s-]+(\d+(?:\.\d+)?)[\s-]+(pro|flash[\s-]+lite|flash-lite|flash|ultra|nano)"
    r"(?:[\s-]+(preview|image|live|tts))?\b"
)
_CLAUDE_NEW = re.compile(r"claude[\s-]+(opus|sonnet|haiku)[\s-]+(\d+)(?:[.\s-](\d))?\b")
_SEPARATORS = re.compile(r"[\s-]+")
_CLAUDE_OLD = re.compile(r"claude[\s-]+(\d)(?:[.\s-](\d))?[\s-]+(opus|sonnet|haiku)\b")


@lru_cache(maxsize=4096)
def parse_sku(description: str) -> LabelMeaning:
    """What ``description`` says; see the module docstring for the rules."""
    text = " ".join(description.lower().replace("_", " ").split())
    tokens = "token" in text
    if "storage" in text or (not tokens and _NON_TOKEN.search(text)):
        return LabelMeaning(CostKind.OTHER, model=sku_model(text))
    if not tokens:
        return LabelMeaning(CostKind.UNKNOWN, model=sku_model(text))
    return LabelMeaning(
        CostKind.TOKENS,
        model=sku_model(text),
        token_type=_token_type(text),
        service_tier=_tier(text),
        context_band=_band(text),
    )


def sku_model(text: str) -> str | None:
    """The model a (lower-cased) description names, spelled like the API's model ids, or ``None``."""
    text = text.lower()
    if found := _GEMINI_EMBEDDING.search(text):
        return f"gemini-embedding-{found.group(1)}"
    if found := _GEMINI.search(text):
        version, variant, suffix = found.groups()
        name = f"gemini-{version}-" + _SEPARATORS.sub("-", variant)
        return f"{name}-{suffix}" if suffix else name
    if found := _CLAUDE_NEW.search(text):
        family, major, minor = found.groups()
        return f"claude-{family}-{major}" + (f"-{minor}" if minor else "")
    if found := _CLAUDE_OLD.search(text):
        major, minor, family = found.groups()
        return f"claude-{major}" + (f"-{minor}" if minor else "") + f"-{family}"
    return None


def _token_type(text: str) -> TokenType | None:
    if "cache" in text:
        return TokenType.CACHE_READ
    if "output" in text or "thinking" in text or "reasoning" in text:
        return TokenType.OUTPUT
    if "input" in text or "embed" in text:
        return TokenType.UNCACHED_INPUT
    return None


def _tier(text: str) -> ServiceTier:
    if "batch" in text:
        return ServiceTier.BATCH
    if "priority" in text:
        return ServiceTier.PRIORITY
    if "flex" in text:
        return ServiceTier.FLEX
    return ServiceTier.STANDARD


def _band(text: str) -> ContextBand | None:
    if re.search(r"\blong\b|>\s*200k|over 200k|above 200k", text):
        return ContextBand.LONG
    if re.search(r"\bshort\b|<=\s*200k|up to 200k", text):
        return ContextBand.STANDARD
    return None
