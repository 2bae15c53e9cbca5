"""``firestore_direct_reads.read_documents`` on the Firestore emulator: the same fields as ``get_all``, decoded once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.cloud.firestore_v1 import GeoPoint
from google.cloud.firestore_v1.vector import Vector

from shared.adapters.firestore_direct_reads import read_documents, read_paths, read_versions, stream_documents

EVERY_TYPE: dict[str, Any] = {
    "text": "décimal 12.50",
    "count": 2**62,
    "negative": -3,
    "ratio": 0.25,
    "flag": True,
    "off": False,
    "nothing": None,
    "blob": b"\x00\x01zlib",
    "at": datetime(2026, 11, 23, 2, 0, 0, 123456, tzinfo=UTC),
    "list": [1, "two", None, {"three": [3.0]}],
    "empty_list": [],
    "empty_map": {},
    "nested": {"by_provider": {"openai": {"comparison": {"billed_usd": "1.5"}, "models": ["a", "b"]}}},
    "one_key": {"openai": "1"},
    "embedding": Vector([0.5, 1.5]),
    "place": GeoPoint(51.5, -0.12),
}


def test_every_stored_type_reads_back_as_get_all_reads_it(firestore_db: Any) -> None:
    refs = [firestore_db.collection("batch_read").document(name) for name in ("a", "b", "missing")]
    refs[0].set(EVERY_TYPE)
    refs[1].set({**EVERY_TYPE, "reference": refs[0]})

    read = {ref.id: fields for ref, fields in read_documents(firestore_db, refs)}
    expected = {snap.id: snap.to_dict() for snap in firestore_db.get_all(refs) if snap.exists}

    assert read == expected
    assert sorted(read) == ["a", "b"]  # a missing document is left out, not an empty one
    assert read["a"]["at"] == EVERY_TYPE["at"]
    assert read["a"]["at"].tzinfo is not None
    assert read["b"]["reference"].path == refs[0].path


def test_a_read_by_path_reads_what_get_all_reads_masked_and_names_each_document_by_its_path(firestore_db: Any) -> None:
    paths = [f"batch_read_paths/e{i}/months/2026-10" for i in range(3)]
    for path in paths[:2]:
        firestore_db.document(path).set(EVERY_TYPE)
    mask = ["nested.by_provider.openai.comparison", "at"]

    read = dict(read_paths(firestore_db, [*paths, "batch_read_paths/e9/months/2026-10"], field_paths=mask))
    refs = [firestore_db.document(path) for path in paths]
    expected = {snap.reference.path: snap.to_dict() for snap in firestore_db.get_all(refs, mask) if snap.exists}

    assert read == expected
    assert sorted(read) == paths[:2]  # missing documents are left out
    assert read[paths[0]] == {
        "nested": {"by_provider": {"openai": {"comparison": {"billed_usd": "1.5"}}}},
        "at": EVERY_TYPE["at"],
    }
    assert list(read_paths(firestore_db, [])) == []


def test_a_field_mask_brings_only_the_fields_named(firestore_db: Any) -> None:
    ref = firestore_db.collection("batch_read").document("masked")
    ref.set(EVERY_TYPE)

    mask = ["nested.by_provider.openai.comparison"]
    [(got_ref, fields)] = list(read_documents(firestore_db, [ref], field_paths=mask))

    assert got_ref.path == ref.path
    assert fields == {"nested": {"by_provider": {"openai": {"comparison": {"billed_usd": "1.5"}}}}}


def test_each_document_has_fields_of_its_own(firestore_db: Any) -> None:
    """Callers may change what they are given (the usage read pops ``synced_at``) without touching another read."""
    ref = firestore_db.collection("batch_read").document("own")
    ref.set({"synced_at": datetime(2026, 1, 1, tzinfo=UTC), "nested": {"x": 1}})

    [(_, first)] = list(read_documents(firestore_db, [ref]))
    first.pop("synced_at")
    first["nested"]["x"] = 2
    [(_, second)] = list(read_documents(firestore_db, [ref]))

    assert second == {"synced_at": datetime(2026, 1, 1, tzinfo=UTC), "nested": {"x": 1}}


def test_a_streamed_query_reads_what_the_client_stream_reads(firestore_db: Any) -> None:
    from google.cloud.firestore_v1.base_query import FieldFilter

    collection = firestore_db.collection("batch_read_query")
    for i in range(7):
        collection.document(f"e{i}").set({**EVERY_TYPE, "active": i % 2 == 0, "i": i})
    query = (
        collection.where(filter=FieldFilter("active", "==", True)).select(["i", "nested", "at"]).order_by("__name__")
    )

    read = list(stream_documents(query))

    assert read == [(snap.id, snap.to_dict()) for snap in query.stream()]
    assert [fields["i"] for _, fields in read] == [0, 2, 4, 6]
    assert set(read[0][1]) == {"i", "nested", "at"}


def test_a_version_read_is_the_snapshots_update_time_and_changes_with_every_write(firestore_db: Any) -> None:
    ref = firestore_db.collection("batch_read").document("versioned")
    ref.set({"n": 1})
    [first] = read_versions(firestore_db, [ref])
    assert first.update_time == ref.get().update_time  # what the read-ahead compares against in a transaction
    ref.set({"n": 2})
    [second] = read_versions(firestore_db, [ref])
    assert (second.fields, second.update_time != first.update_time) == ({"n": 2}, True)
