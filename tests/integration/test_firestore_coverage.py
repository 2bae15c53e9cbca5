"""``FirestoreCoverage`` on the Firestore emulator: a record changes only in a transaction, and a sync that changes
nothing (the usual daily run) writes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shared.adapters.firestore_coverage import FirestoreCoverage
from shared.domain.enterprise.model import ProviderName
from shared.domain.sync.coverage import SyncCoverage, after_failure, after_pull

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DAYS = [date(2026, 11, 20), date(2026, 11, 21)]


def test_a_changed_record_is_written_and_an_unchanged_one_is_left_as_it_was(firestore_db: Any) -> None:
    store = FirestoreCoverage(firestore_db)
    ref = firestore_db.document("enterprises/ent_cov/sync_coverage/openai")

    settled = store.update("ent_cov", ProviderName.OPENAI, lambda c: after_pull(c, DAYS, pending=[], failed={}))
    assert settled == SyncCoverage(provider=ProviderName.OPENAI)
    assert not ref.get().exists  # nothing to record: no document written

    lost = store.update("ent_cov", ProviderName.OPENAI, lambda c: after_failure(c, DAYS, code="x", now=NOW))
    assert sorted(lost.missing) == DAYS
    written = ref.get()
    assert written.exists

    again = store.update("ent_cov", ProviderName.OPENAI, lambda c: c.model_copy())
    assert again == lost
    assert ref.get().update_time == written.update_time  # a change that changes nothing writes nothing

    repaired = store.update("ent_cov", ProviderName.OPENAI, lambda c: after_pull(c, DAYS, pending=[], failed={}))
    assert repaired.missing == {}
    assert store.all("ent_cov")[ProviderName.OPENAI] == repaired
