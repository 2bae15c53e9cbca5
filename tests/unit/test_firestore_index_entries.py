"""Large map fields are exempt from indexing, so an enterprise's documents stay far below Firestore's 40,000 index
entries per document whatever its number of projects and models. The emulator does not enforce that limit: the
entries are counted by Firestore's published rules (``tests.support.firestore_index_entries``, which cites them)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.firestore_raw_pages import raw_documents
from shared.adapters.firestore_snapshots import MONTHS, RAW, SNAPSHOTS, stored
from shared.domain.usage.month import rollup_month
from shared.domain.usage.records import Provider
from shared.ports import RawPage
from tests.support.firestore_index_entries import MAX_INDEX_ENTRIES, index_entries, overrides_for
from tests.support.random_usage import large_month

CONFIG = json.loads((Path(__file__).resolve().parents[2] / "firestore.indexes.json").read_text())
SYNCED = datetime(2026, 1, 3, tzinfo=UTC)


def _documents(projects_per_provider: int) -> dict[str, dict[str, Any]]:
    """The day snapshot and month rollup of an enterprise with two providers, each with that many projects."""
    days = large_month(models=20, projects=projects_per_provider, days_in_month=2)
    month = rollup_month("2026-01", days, retention_months=24)
    assert month is not None
    return {SNAPSHOTS: stored(days[0], SYNCED), MONTHS: stored(month, SYNCED)}


@pytest.fixture(scope="module")
def large() -> dict[str, dict[str, Any]]:
    return _documents(1_000)  # 2,000 projects


def test_a_2000_project_enterprises_documents_are_far_below_the_index_entry_limit(
    large: dict[str, dict[str, Any]],
) -> None:
    for group, document in large.items():
        entries = index_entries(document, overrides_for(CONFIG, group))
        print(f"{group}: {entries} index entries for 2,000 projects")  # noqa: T201 - shown with -s
        assert entries < MAX_INDEX_ENTRIES // 100


def test_without_the_exemptions_the_same_documents_would_be_refused(large: dict[str, dict[str, Any]]) -> None:
    # The count is realistic: Firestore's default indexing would put these documents over the limit.
    for document in large.values():
        assert index_entries(document, {}) > MAX_INDEX_ENTRIES


def test_index_entries_do_not_grow_with_projects(large: dict[str, dict[str, Any]]) -> None:
    small = _documents(3)
    for group in (SNAPSHOTS, MONTHS):
        overrides = overrides_for(CONFIG, group)
        assert index_entries(large[group], overrides) == index_entries(small[group], overrides)


def _raw(query_params: int, body_items: int) -> dict[str, Any]:
    query = [(f"project_ids[{i}]", f"proj_{i}") for i in range(query_params)]
    page = {"report": "usage", "path": "/v1/x", "query": query, "body": {"data": list(range(body_items))}}
    [(_, doc)] = raw_documents([RawPage(Provider.OPENAI, date(2026, 1, 1), date(2026, 1, 2), 0, page)], SYNCED)
    return doc


def test_a_raw_response_keeps_its_body_and_query_out_of_the_indexes() -> None:
    overrides = overrides_for(CONFIG, RAW)
    assert index_entries(_raw(500, 5000), overrides) == index_entries(_raw(1, 1), overrides)


def test_the_counting_follows_the_documented_defaults() -> None:
    # Scalars 2 each, map subfields 2 each, an array one array-contains entry per distinct element.
    document = {"city": "SF", "temperatures": {"day": 20, "night": 12}, "neighborhoods": ["a", "b", "a"]}
    assert index_entries(document, {}) == 2 + 4 + 2
    assert index_entries(document, {"temperatures": []}) == 2 + 2
    assert index_entries(document, {"city": [{"order": "ASCENDING", "queryScope": "COLLECTION"}]}) == 1 + 4 + 2


def test_queried_fields_keep_their_indexes() -> None:
    # The exemptions must not take away what the retention sweep and the readers query on.
    for group, field in ((SNAPSHOTS, "date"), (MONTHS, "month"), (RAW, "expire_at")):
        assert overrides_for(CONFIG, group)[field], f"{group}.{field} lost its indexes"
