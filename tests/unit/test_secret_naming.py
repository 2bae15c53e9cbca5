"""Secret ids and labels for provider keys: always valid for Secret Manager, one secret per (enterprise, provider)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.connections.secret_naming import secret_id_for, secret_labels

# Secret Manager's published constraints on secret ids and on label keys and values (ASCII subset).
SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")

PROVIDERS = st.sampled_from(["openai", "anthropic", "google", "azure-openai"])
ENTERPRISE_IDS = st.text(min_size=1, max_size=300)


def test_usual_enterprise_ids_give_readable_secret_ids() -> None:
    assert secret_id_for("ent_0123456789abcdef0123", "openai") == "provider-key-openai_ent_0123456789abcdef0123"


@given(ENTERPRISE_IDS, PROVIDERS)
def test_any_enterprise_id_gives_a_valid_deterministic_secret_id(enterprise_id: str, provider: str) -> None:
    secret_id = secret_id_for(enterprise_id, provider)

    assert SECRET_ID.fullmatch(secret_id)
    assert secret_id == secret_id_for(enterprise_id, provider)


@given(ENTERPRISE_IDS, PROVIDERS, ENTERPRISE_IDS, PROVIDERS)
def test_different_enterprises_or_providers_never_share_a_secret(e1: str, p1: str, e2: str, p2: str) -> None:
    if (e1, p1) != (e2, p2):
        assert secret_id_for(e1, p1) != secret_id_for(e2, p2)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a_openai", "google"), ("a", "google")),  # an underscore in the enterprise id cannot fake a provider
        (("x" * 300, "openai"), ("x" * 301, "openai")),  # too long for a readable id: hashed, still distinct
        (("ent/1", "openai"), ("ent-1", "openai")),  # unsafe characters are hashed, not replaced
    ],
)
def test_lookalike_keys_get_distinct_secrets(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert secret_id_for(*first) != secret_id_for(*second)


@given(ENTERPRISE_IDS, PROVIDERS)
def test_labels_are_valid_secret_manager_labels(enterprise_id: str, provider: str) -> None:
    labels = secret_labels(enterprise_id, provider)

    assert set(labels) == {"app", "enterprise", "provider"}
    assert labels["provider"] == provider
    assert all(LABEL_KEY.fullmatch(k) and LABEL_VALUE.fullmatch(v) for k, v in labels.items())


@pytest.mark.parametrize("provider", ["", "OpenAI", "open_ai", "open ai", "x" * 64])
def test_invalid_provider_names_are_refused(provider: str) -> None:
    with pytest.raises(ValueError, match="provider"):
        secret_id_for("ent_1", provider)


def test_an_empty_enterprise_id_is_refused() -> None:
    with pytest.raises(ValueError, match="enterprise_id"):
        secret_id_for("", "openai")


def test_every_secret_id_carries_the_prefix_the_iam_conditions_grant() -> None:
    from shared.config import Settings

    prefix = Settings().provider_secret_prefix
    for enterprise_id in ("ent_0123456789abcdef0123", "weird id/with spaces", "x" * 300):
        for provider in ("openai", "anthropic", "google"):
            assert secret_id_for(enterprise_id, provider).startswith(prefix)
