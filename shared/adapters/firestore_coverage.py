"""The sync's coverage records in Firestore: the ``CoverageStore`` port, ``enterprises/{id}/sync_coverage/{provider}``.

Each record is one small document (days as ``YYYY-MM-DD`` map keys), updated in a transaction and written only when
it changes, so a daily sync that settles nothing new costs one read per provider and no write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.adapters.firestore_direct_reads import read_documents
from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.domain.enterprise.model import ProviderName
from shared.domain.sync.coverage import SyncCoverage

COVERAGE = "sync_coverage"
MAX_TRANSACTION_ATTEMPTS = 10


class FirestoreCoverage:
    """Implements ``shared.ports.CoverageStore``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def _collection(self, enterprise_id: str) -> Any:
        return self._db.collection(ENTERPRISES).document(enterprise_id).collection(COVERAGE)

    def all(self, enterprise_id: str) -> dict[ProviderName, SyncCoverage]:
        with translated():
            snaps = list(self._collection(enterprise_id).stream())
        found = {}
        for snap in snaps:
            record = SyncCoverage.model_validate(snap.to_dict())
            found[record.provider] = record
        return found

    def update(
        self, enterprise_id: str, provider: ProviderName, change: Callable[[SyncCoverage], SyncCoverage]
    ) -> SyncCoverage:
        return self.update_many(enterprise_id, {provider: change})[provider]

    def update_many(
        self, enterprise_id: str, changes: Mapping[ProviderName, Callable[[SyncCoverage], SyncCoverage]]
    ) -> dict[ProviderName, SyncCoverage]:
        refs = {provider: self._collection(enterprise_id).document(provider.value) for provider in sorted(changes)}
        # The records in one round trip (decoded straight from the response).
        found = {ref.id: data for ref, data in read_documents(self._db, list(refs.values()))}
        records: dict[ProviderName, SyncCoverage] = {}
        for provider, ref in refs.items():
            data = found.get(provider.value)
            current = SyncCoverage.model_validate(data) if data is not None else SyncCoverage(provider=provider)
            if changes[provider](current) == current:
                # Most syncs change nothing (every day settled before and after): a change that leaves the record as
                # read is serialisable at that read, so no transaction (3 round trips) is opened for it.
                records[provider] = current
            else:
                records[provider] = self._transact(ref, provider, changes[provider])
        return records

    def _transact(
        self, ref: Any, provider: ProviderName, change: Callable[[SyncCoverage], SyncCoverage]
    ) -> SyncCoverage:
        from google.cloud import firestore

        @firestore.transactional
        def apply(transaction: Any) -> SyncCoverage:
            snap = ref.get(transaction=transaction)
            current = SyncCoverage.model_validate(snap.to_dict()) if snap.exists else SyncCoverage(provider=provider)
            changed = change(current)
            if changed != current:
                transaction.set(ref, changed.model_dump(mode="json"))
            return changed

        with translated():
            result: SyncCoverage = apply(self._db.transaction(max_attempts=MAX_TRANSACTION_ATTEMPTS))
        return result
