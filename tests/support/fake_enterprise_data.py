"""``FakeEnterpriseData``: documents below ``enterprises/{id}`` in memory, as ``ErasureStore`` and ``RetentionStore``.

Documents are kept by path (``enterprises/e1/usage_snapshots/2026-01-02``) with their fields; the enterprise
documents themselves are those of a ``FakeEnterpriseStore``, so an erasure's last step removes the enterprise that
``EnterpriseStore.get`` returns. Like Firestore, a document may exist below an enterprise document that does not.

    data = FakeEnterpriseData(store)
    data.put("enterprises/e1/raw_responses/p1", {"expire_at": now})
    assert data.paths_under("e1") == [...]
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared.domain.enterprise.model import Enterprise
from shared.errors import DependencyUnavailable
from shared.ports import ErasureRecord
from tests.support.fakes import FakeEnterpriseStore


class FakeEnterpriseData:
    """In-memory ``ErasureStore`` and ``RetentionStore``.

    Attributes:
        pages_before_outage: When set, that many more pages are deleted and then every call raises
            ``DependencyUnavailable`` (a crash half-way) until it is set back to ``None``.
    """

    def __init__(self, enterprises: FakeEnterpriseStore) -> None:
        self.enterprises = enterprises
        self.documents: dict[str, dict[str, Any]] = {}
        self.tombstones: dict[str, ErasureRecord] = {}
        self.pages_before_outage: int | None = None

    # --- helpers for tests ---------------------------------------------------------------------------------------

    def put(self, path: str, fields: dict[str, Any] | None = None) -> None:
        parts = path.split("/")
        assert parts[0] == "enterprises", path
        assert len(parts) >= 4, path
        assert len(parts) % 2 == 0, path
        self.documents[path] = dict(fields or {})

    def paths_under(self, enterprise_id: str) -> list[str]:
        prefix = f"enterprises/{enterprise_id}/"
        return sorted(p for p in self.documents if p.startswith(prefix))

    # --- ErasureStore ------------------------------------------------------------------------------------------

    def delete_page(self, enterprise_id: str, *, limit: int) -> int:
        self._page()
        doomed = self.paths_under(enterprise_id)[:limit]
        for path in doomed:
            del self.documents[path]
        return len(doomed)

    def finish(self, record: ErasureRecord) -> None:
        self._check()
        self.tombstones[record.enterprise_id] = record
        self.enterprises.docs.pop(record.enterprise_id, None)

    def record(self, enterprise_id: str) -> ErasureRecord | None:
        self._check()
        return self.tombstones.get(enterprise_id)

    # --- RetentionStore ----------------------------------------------------------------------------------------

    def delete_snapshots_before(self, day: date, *, limit: int) -> int:
        return self._delete_where("usage_snapshots", lambda f: str(f["date"]) < day.isoformat(), limit)

    def delete_months_before(self, month: str, *, limit: int) -> int:
        return self._delete_where("usage_months", lambda f: str(f["month"]) < month, limit)

    def delete_raw_responses_expired(self, at: datetime, *, limit: int) -> int:
        return self._delete_where("raw_responses", lambda f: f["expire_at"] <= at, limit)

    def closing_enterprises(self) -> list[Enterprise]:
        self._check()
        return [e for e in self.enterprises.docs.values() if e.status == "closing"]

    def erased_since(self, since: datetime) -> list[ErasureRecord]:
        self._check()
        return [r for r in self.tombstones.values() if r.erased_at >= since]

    def has_orphaned_data(self, enterprise_id: str) -> bool:
        self._check()
        return enterprise_id not in self.enterprises.docs and bool(self.paths_under(enterprise_id))

    # --- internals -----------------------------------------------------------------------------------------------

    def _delete_where(self, collection: str, matches: Any, limit: int) -> int:
        self._page()
        doomed = sorted(p for p, f in self.documents.items() if p.split("/")[-2] == collection and matches(f))[:limit]
        for path in doomed:
            del self.documents[path]
        return len(doomed)

    def _page(self) -> None:
        self._check()
        if self.pages_before_outage is not None:
            self.pages_before_outage -= 1

    def _check(self) -> None:
        if self.pages_before_outage is not None and self.pages_before_outage <= 0:
            raise DependencyUnavailable("the database is temporarily unavailable (fake outage)")
