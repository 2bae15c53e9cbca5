"""``FirestoreSnapshots`` and ``FirestoreSyncTargets`` on the Firestore emulator."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.adapters.firestore_enterprises import FirestoreEnterprises, enterprise_doc
from shared.adapters.firestore_raw_pages import MAX_RAW_BODY_BYTES, read_pages
from shared.adapters.firestore_snapshots import MAX_BATCH_WRITES, FirestoreSnapshots, _chunks
from shared.adapters.firestore_sync_targets import FirestoreSyncTargets
from shared.adapters.provider_http import JsonText
from shared.domain.enterprise.model import (
    Enterprise,
    EnterpriseSettings,
    Member,
    ProviderName,
    ProviderState,
    ProviderStatus,
    Role,
)
from shared.domain.usage.month import rollup_month
from shared.domain.usage.records import Provider, TokenType
from shared.domain.usage.snapshot import IndexLevel, build_snapshot
from shared.domain.usage.snapshot_parts import provider_part
from shared.ports import RawPage
from tests.support.random_usage import large_month
from tests.support.usage_days import anthropic_day, line, openai_day, provider_day, record

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
D1, D2 = date(2026, 11, 20), date(2026, 11, 21)
INDEX = IndexLevel(blended=Decimal("9.18"), version="v1")


def enterprise(i: int, providers: dict[ProviderName, ProviderStatus], *, hourly: bool = False) -> Enterprise:
    return Enterprise(
        id=f"ent_{i:05d}",
        name=f"E{i}",
        created_at=NOW,
        updated_at=NOW,
        created_by="u",
        members={"u": Member(email=None, role=Role.ADMIN, added_at=NOW)},
        member_uids=["u"],
        settings=EnterpriseSettings(sync_frequency="hourly" if hourly else "daily"),
        providers={p: ProviderState(connected=s is ProviderStatus.CONNECTED, status=s) for p, s in providers.items()},
    )


def snapshots(*days: date) -> list[Any]:
    out = []
    for day in days:
        parts = {p.provider.value: provider_part(p, "0.2.3") for p in (openai_day(day), anthropic_day(day))}
        out.append(build_snapshot(day, parts, index=INDEX, retention_months=24))
    return out


def test_days_and_months_round_trip_exactly(firestore_db: Any) -> None:
    store = FirestoreSnapshots(firestore_db)
    days = snapshots(D1, D2)
    month = rollup_month("2026-11", days, retention_months=24)
    assert month is not None
    store.save("ent_1", days, [month], synced_at=NOW)

    read = store.days("ent_1", ["2026-11", "2026-10"])
    assert read == {d.date: d for d in days}
    assert store.month("ent_1", "2026-11") == month
    assert store.month("ent_1", "2026-10") is None
    assert store.rollups("ent_1", ["2026-10", "2026-11"]) == {"2026-11": month}
    assert month.has_daily
    raw = firestore_db.document("enterprises/ent_1/usage_snapshots/2026-11-20").get().to_dict()
    assert raw["totals"]["total_cost_usd"] == "15.10"  # money is a string, never a float
    assert raw["expire_at"] == datetime(2028, 11, 21, tzinfo=UTC)  # a timestamp: the TTL field
    assert raw["synced_at"] == NOW
    rollup = firestore_db.document("enterprises/ent_1/usage_months/2026-11").get().to_dict()
    assert isinstance(rollup["daily"]["2026-11-20"], bytes)  # compressed days (ADR 0011); sums stay readable
    assert rollup["totals"]["total_cost_usd"] == "30.20"


def test_a_large_enterprises_rollup_is_stored_and_read_back_whole(firestore_db: Any) -> None:
    days = large_month(models=60, projects=10)  # 31 days x 2 providers x (60 models + 10 projects)
    month = rollup_month("2026-01", days, retention_months=24)
    assert month is not None
    assert month.has_daily
    store = FirestoreSnapshots(firestore_db)
    store.save("ent_1", days, [month], synced_at=NOW)
    assert store.rollups("ent_1", ["2026-01"]) == {"2026-01": month}


def test_a_month_is_never_split_from_its_days_across_batches() -> None:
    groups = [[(f"m{m}", {"d": d}) for d in range(32)] for m in range(20)]  # 20 months of 31 days + rollup
    chunks = list(_chunks(groups))
    assert len(chunks) == 2  # 640 writes, at most 400 per batch
    assert all(len(chunk) % 32 == 0 and len(chunk) <= MAX_BATCH_WRITES for chunk in chunks)
    assert [ref for chunk in chunks for ref, _ in chunk] == [ref for group in groups for ref, _ in group]


def test_model_names_with_dots_slashes_and_colons_survive_as_map_keys(firestore_db: Any) -> None:
    p = Provider.OPENAI
    names = ["gpt-4.1", "ft:gpt-4o:acme:custom/v2", "o3.pro`x"]
    records = [record(p, D1, name, TokenType.OUTPUT, 1000, "8") for name in names]
    day = provider_day(p, D1, records, [line(p, D1, "0.024")])
    snap = build_snapshot(D1, {"openai": provider_part(day, "0.2.3")}, index=None, retention_months=24)
    store = FirestoreSnapshots(firestore_db)
    store.save("ent_1", [snap], [], synced_at=NOW)
    assert sorted(store.days("ent_1", ["2026-11"])[D1].by_model) == sorted(names)


def test_only_the_asked_months_are_read(firestore_db: Any) -> None:
    store = FirestoreSnapshots(firestore_db)
    store.save("ent_1", snapshots(date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 30)), [], synced_at=NOW)
    store.save("ent_2", snapshots(date(2026, 11, 2)), [], synced_at=NOW)
    assert sorted(store.days("ent_1", ["2026-11"])) == [date(2026, 11, 1), date(2026, 11, 30)]


def test_raw_pages_expire_and_keep_their_body(firestore_db: Any) -> None:
    store = FirestoreSnapshots(firestore_db)
    body = {"data": [{"results": [{"amount": {"value": "0.01"}}]}], "has_more": False}
    page = {"report": "costs", "path": "/v1/organization/costs", "query": [["limit", "180"]], "body": body}
    other = {"report": "usage", "path": "/v1/messages", "query": [], "body": {"data": []}}
    expire = NOW + timedelta(days=7)
    pages = [RawPage(Provider.OPENAI, D1, D2, 0, page), RawPage(Provider.ANTHROPIC, D1, D2, 0, other)]
    assert store.save_raw_pages("ent_1", pages, expire_at=expire) == 2
    docs = list(firestore_db.collection("enterprises/ent_1/raw_responses").stream())
    assert [d.id for d in docs] == ["20261120_20261121_anthropic+openai_00"]  # one write for the task
    stored = docs[0].to_dict()
    assert stored["expire_at"] == expire
    assert (stored["pages"], stored["chunk"], stored["chunks"]) == (2, 0, 1)
    first, second = read_pages(stored)
    assert (first["provider"], first["query"], first["body"]) == ("openai", ["limit=180"], body)
    assert (second["provider"], second["path"]) == ("anthropic", "/v1/messages")


def test_a_page_kept_as_received_is_stored_as_the_json_it_was(firestore_db: Any) -> None:
    # The clients keep a page's body as the text received (``JsonText``), not decoded and encoded again.
    text = '{"object":"page","data":[{"amount":{"value":0.0123456789012345678,"currency":"usd"}}],"has_more":false}'
    page = {"report": "costs", "path": "/v1/organization/costs", "query": [["page", "p2"]], "body": JsonText(text)}
    store = FirestoreSnapshots(firestore_db)
    store.save_raw_pages("ent_1", [RawPage(Provider.OPENAI, D1, D2, 0, page)], expire_at=NOW)
    [doc] = [d.to_dict() for d in firestore_db.collection("enterprises/ent_1/raw_responses").stream()]
    [kept] = read_pages(doc)
    assert kept["body"] == json.loads(text)
    assert (kept["provider"], kept["report"], kept["query"]) == ("openai", "costs", ["page=p2"])


def _noise(seed: int, size: int) -> str:
    """Text zlib cannot shrink much (random hex), so compressed sizes are predictable."""
    return random.Random(seed).randbytes(size).hex()


def test_raw_pages_past_a_documents_limit_split_into_chunks_and_a_huge_page_loses_its_body(
    firestore_db: Any,
) -> None:
    # Three pages of ~400 kB compressed each do not fit one 1 MiB document; the oversized fourth fits none.
    pages = [
        RawPage(Provider.OPENAI, D1, D2, n, {"report": "usage", "path": "/p", "body": {"n": _noise(n, 400_000)}})
        for n in range(3)
    ]
    pages.append(RawPage(Provider.OPENAI, D1, D2, 3, {"report": "usage", "path": "/p", "body": _noise(9, 1_200_000)}))
    store = FirestoreSnapshots(firestore_db)
    assert store.save_raw_pages("ent_1", pages, expire_at=NOW) == 4
    docs = [d.to_dict() for d in firestore_db.collection("enterprises/ent_1/raw_responses").stream()]
    assert len(docs) > 1
    assert all(len(d["body_json_zlib"]) <= MAX_RAW_BODY_BYTES and d["chunks"] == len(docs) for d in docs)
    kept = [p for d in sorted(docs, key=lambda d: d["chunk"]) for p in read_pages(d)]
    assert [p["index"] for p in kept] == [0, 1, 2, 3]  # every page, in order
    assert [p["body"]["n"] for p in kept[:3]] == [_noise(n, 400_000) for n in range(3)]
    assert kept[3]["body"] is None
    assert kept[3]["body_omitted"]


def test_last_sync_is_set_per_provider(firestore_db: Any) -> None:
    enterprises = FirestoreEnterprises(firestore_db)
    both = {ProviderName.OPENAI: ProviderStatus.CONNECTED, ProviderName.ANTHROPIC: ProviderStatus.CONNECTED}
    enterprises.create(enterprise(1, both))
    FirestoreSnapshots(firestore_db).record_last_sync("ent_00001", [ProviderName.OPENAI], NOW)
    FirestoreSnapshots(firestore_db).record_last_sync("ent_missing", [ProviderName.OPENAI], NOW)  # no error
    stored = enterprises.get("ent_00001")
    assert stored is not None
    assert stored.providers[ProviderName.OPENAI].last_sync == NOW
    assert stored.providers[ProviderName.ANTHROPIC].last_sync is None


def test_sync_targets_page_through_active_enterprises_with_a_connected_provider(firestore_db: Any) -> None:
    batch = firestore_db.batch()
    expected_daily, expected_hourly = set(), set()
    for i in range(230):
        status = ProviderStatus.CONNECTED if i % 10 else ProviderStatus.KEY_FAILED
        e = enterprise(i, {ProviderName.ANTHROPIC: status}, hourly=i % 3 == 0)
        if i == 7:
            e = e.model_copy(update={"status": "closing"})
        batch.set(firestore_db.collection("enterprises").document(e.id), enterprise_doc(e))
        if status is ProviderStatus.CONNECTED and i != 7:
            expected_daily.add(e.id)
            if i % 3 == 0:
                expected_hourly.add(e.id)
    batch.commit()
    targets = FirestoreSyncTargets(firestore_db)
    pages = list(targets.pages(hourly_only=False, page_size=100))
    assert len(pages) == 3  # 229 active enterprises read 100 at a time
    found = [t.enterprise_id for page in pages for t in page]
    assert found == sorted(expected_daily)
    assert {t.providers for page in pages for t in page} == {(ProviderName.ANTHROPIC,)}
    hourly = {t.enterprise_id for page in targets.pages(hourly_only=True, page_size=100) for t in page}
    assert hourly == expected_hourly
