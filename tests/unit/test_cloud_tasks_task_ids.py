"""Task ids: Cloud Tasks accepts only ``[A-Za-z0-9_-]{1,500}``, and distinct task names must stay distinct."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.cloud_tasks import task_id_for

VALID_ID = re.compile(r"[A-Za-z0-9_-]{1,500}")


def test_a_name_that_is_already_a_valid_id_is_kept_so_ids_stay_readable() -> None:
    assert task_id_for("sync-ent_0123-2026-11-23") == "sync-ent_0123-2026-11-23"


def test_names_that_differ_only_in_disallowed_characters_get_distinct_ids() -> None:
    ids = {task_id_for(name) for name in ("sync/ent:a", "sync:ent/a", "sync ent a", "sync_ent_a")}

    assert len(ids) == 4
    assert "sync_ent_a" in ids  # the valid one is untouched; the others carry a hash of their original name


def test_a_long_name_is_shortened_to_500_characters_and_stays_distinct() -> None:
    first, second = task_id_for("x" * 600 + "1"), task_id_for("x" * 600 + "2")

    assert len(first) == len(second) == 500
    assert first != second


@given(st.text(max_size=700))
def test_every_name_maps_to_a_valid_id(name: str) -> None:
    assert VALID_ID.fullmatch(task_id_for(name))


@given(st.text(max_size=80), st.text(max_size=80))
def test_distinct_names_map_to_distinct_ids(first: str, second: str) -> None:
    if first != second:
        assert task_id_for(first) != task_id_for(second)
