"""The peer benchmark's Firestore side: the ``BenchmarkStore`` port.

* Participants: one query over ``enterprises`` (``status == "active"`` and ``settings.share_anonymous_benchmarks ==
  true``) in pages ordered by document id, reading only ``industry`` (``select``). An enterprise that opts out is
  simply not found by the next aggregation.
* Rollups: ``enterprises/{id}/usage_months/{YYYY-MM}`` read with batched ``get_all`` and a field mask naming only
  each provider's ``comparison`` and ``rate_basis`` (the figures of M1 and M2), never the breakdowns by model or
  project, so 10,000 enterprises cost a few dozen small round trips.
* ``benchmarks/{YYYY-MM}``: the published document, written whole with ``set``; ``written_at`` is kept beside it,
  out of the compared content.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError

from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.adapters.firestore_pages import query_pages
from shared.adapters.firestore_snapshots import MONTHS
from shared.domain.benchmark_models import BenchmarkDocument
from shared.domain.enterprise import Industry
from shared.domain.snapshot_parts import ProviderPart
from shared.domain.usage import Provider
from shared.ports import BenchmarkParticipant, Clock

log = logging.getLogger(__name__)

BENCHMARKS = "benchmarks"
WRITTEN_AT = "written_at"
GET_ALL_BATCH = 300
"""Documents per ``get_all`` call: large enough to amortise round trips, small enough for one response."""
PART_FIELDS = ("comparison", "rate_basis")
"""The parts of a provider's monthly figures a benchmark uses."""

_FIELD_MASK = [f"by_provider.{p.value}.{name}" for p in Provider for name in PART_FIELDS]


def _industry(value: Any) -> Industry:
    try:
        return Industry(value)
    except ValueError:
        return Industry.OTHER


def _parts(enterprise_id: str, data: dict[str, Any]) -> dict[str, ProviderPart]:
    parts: dict[str, ProviderPart] = {}
    for provider, raw in (data.get("by_provider") or {}).items():
        try:
            parts[provider] = ProviderPart.model_validate(raw or {})
        except ValidationError:
            # One unreadable part must not stop the month's benchmark; the enterprise is then counted without it.
            log.exception("rollup part unreadable", extra={"enterprise_id": enterprise_id, "provider": provider})
    return parts


class FirestoreBenchmarks:
    """Implements ``shared.ports.BenchmarkStore``."""

    def __init__(self, client: Any, clock: Clock) -> None:
        self._db = client
        self._clock = clock

    def participants(self, *, page_size: int) -> Iterator[list[BenchmarkParticipant]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self._db.collection(ENTERPRISES)
            .where(filter=FieldFilter("status", "==", "active"))
            .where(filter=FieldFilter("settings.share_anonymous_benchmarks", "==", True))
            .select(["industry"])
        )
        for snaps in query_pages(query, page_size=page_size):
            yield [BenchmarkParticipant(s.id, _industry((s.to_dict() or {}).get("industry"))) for s in snaps]

    def month_parts(self, enterprise_ids: Sequence[str], month: str) -> dict[str, dict[str, ProviderPart]]:
        enterprises = self._db.collection(ENTERPRISES)
        found: dict[str, dict[str, ProviderPart]] = {}
        for start in range(0, len(enterprise_ids), GET_ALL_BATCH):
            refs = [
                enterprises.document(eid).collection(MONTHS).document(month)
                for eid in enterprise_ids[start : start + GET_ALL_BATCH]
            ]
            with translated():
                snaps = list(self._db.get_all(refs, field_paths=_FIELD_MASK))
            for snap in snaps:
                if snap.exists:
                    enterprise_id = snap.reference.parent.parent.id
                    found[enterprise_id] = _parts(enterprise_id, snap.to_dict() or {})
        return found

    def put(self, document: BenchmarkDocument) -> None:
        doc: dict[str, Any] = document.model_dump(mode="json")
        doc[WRITTEN_AT] = self._clock.now()
        with translated():
            self._db.collection(BENCHMARKS).document(document.month).set(doc)

    def get(self, month: str) -> BenchmarkDocument | None:
        with translated():
            snap = self._db.collection(BENCHMARKS).document(month).get()
        return _document(snap) if snap.exists else None

    def latest(self) -> BenchmarkDocument | None:
        # By the ``month`` field (same order as the ids): Firestore cannot scan document ids in descending order.
        query = self._db.collection(BENCHMARKS).order_by("month", direction="DESCENDING").limit(1)
        with translated():
            snaps = list(query.stream())
        return _document(snaps[0]) if snaps else None


def _document(snap: Any) -> BenchmarkDocument | None:
    data = dict(snap.to_dict() or {})
    data.pop(WRITTEN_AT, None)
    try:
        return BenchmarkDocument.model_validate(data)
    except ValidationError:
        log.exception("stored benchmark is unreadable", extra={"document": snap.reference.path})
        return None
