"""A behaving ``BenchmarkStore``: participants and rollup parts held in memory, and the frozen-month record with the
adapter's all-or-nothing, version-claiming ``publish``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from shared.domain.peers.models import BenchmarkDocument
from shared.domain.peers.release import PublishedRun
from shared.domain.usage.snapshot_parts import ProviderPart
from shared.errors import Conflict
from shared.ports import BenchmarkParticipant


class FakeBenchmarkStore:
    def __init__(self) -> None:
        self.documents: dict[str, BenchmarkDocument] = {}
        self.runs: dict[str, PublishedRun] = {}
        self.participant_list: list[BenchmarkParticipant] = []
        self.parts: dict[str, dict[str, dict[str, ProviderPart]]] = {}
        """month -> enterprise id -> provider -> part."""

    def put(self, document: BenchmarkDocument) -> None:
        """Test seeding: a document without a run record."""
        self.documents[document.month] = document

    def participants(self, *, page_size: int) -> Iterator[list[BenchmarkParticipant]]:
        ordered = sorted(self.participant_list, key=lambda p: p.enterprise_id)
        for start in range(0, len(ordered), page_size):
            yield ordered[start : start + page_size]

    def month_parts(self, enterprise_ids: Sequence[str], month: str) -> dict[str, dict[str, ProviderPart]]:
        found = self.parts.get(month, {})
        return {eid: found[eid] for eid in enterprise_ids if eid in found}

    def run(self, month: str) -> PublishedRun | None:
        return self.runs.get(month)

    def publish(self, document: BenchmarkDocument, run: PublishedRun) -> None:
        current = self.runs.get(run.month)
        if current is not None and current.version >= run.version:
            raise Conflict("version taken", code="benchmark_version_taken")
        self.runs[run.month] = run
        self.documents[document.month] = document

    def get(self, month: str) -> BenchmarkDocument | None:
        return self.documents.get(month)

    def latest(self) -> BenchmarkDocument | None:
        return self.documents[max(self.documents)] if self.documents else None
