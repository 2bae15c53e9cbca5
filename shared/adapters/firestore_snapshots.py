"""Usage snapshots, monthly rollups, raw provider pages and ``last_sync`` in Firestore: the ``SnapshotStore`` port.

* ``enterprises/{id}/usage_snapshots/{YYYY-MM-DD}`` and ``usage_months/{YYYY-MM}``: each document is written whole
  (``set``); a month's days and its rollup always commit in the same batch (several months share a batch while it
  stays below Firestore's limits), so a rollup never disagrees with its days and a month without a rollup has no
  snapshot either: readers take a missing rollup for a month without usage (ADR 0011). Money and ratios are plain
  decimal strings (no float ever), ``expire_at`` a timestamp (the TTL field) and ``synced_at`` the time of the
  write, kept out of the compared content. Rollups are read in one batched round trip, decoded straight from the
  response (``shared.adapters.firestore_direct_reads``).
* A sync updates its months in one transaction (``update_months``, begun by its first read:
  ``shared.adapters.firestore_transactions``): it reads the months' rollups, and each month's days from its rollup
  when it keeps them (ADR 0011; otherwise the days themselves), and the days it changes commit with their recomputed
  rollups. Concurrent syncs of one enterprise (backfill windows sharing a month, two providers
  connected back to back, a daily run beside a backfill) are thereby serialised per month on the rollup
  (ADR 0016, 0025). A sync may ask for its months ahead (``read_ahead``, while the providers answer): the rollup and
  the days decoded from it wait in a small cache, and the transaction, which reads the rollup again, takes them
  instead of decoding the rollup anew only when the rollup it read is the very version read ahead (its
  ``update_time``), so a concurrent writer's days are never missed. Before any transaction, the changes are tried
  on the months as read ahead: committed in one round trip that holds only while no rollup was written since
  (``shared.adapters.firestore_versioned_writes``), or, when they write nothing, confirmed by one read of the
  versions; a month written since goes to the transaction.
* ``enterprises/{id}/raw_responses/{window}_{providers}_{chunk}``: a task's pages in one zlib-compressed document
  (a few chunks only past Firestore's 1 MiB), expiring after ``Settings.raw_response_ttl_days``
  (``shared.adapters.firestore_raw_pages``, ADR 0024).
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from google.api_core import exceptions as gexc
from pydantic import BaseModel, ValidationError

from shared.adapters.firestore_direct_reads import Found, read_documents, read_versions
from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.adapters.firestore_pages import snapshot_fields
from shared.adapters.firestore_raw_pages import raw_documents
from shared.adapters.firestore_transactions import run_read_write
from shared.adapters.firestore_versioned_writes import commit_at_versions, still_at_versions
from shared.domain.enterprise.model import ProviderName
from shared.domain.usage.month import UsageMonth, month_bounds, month_key, month_snapshots
from shared.domain.usage.snapshot import UsageSnapshot
from shared.ports import MonthChange, MonthRead, MonthWrite, RawPage

log = logging.getLogger(__name__)

SNAPSHOTS = "usage_snapshots"
MONTHS = "usage_months"
RAW = "raw_responses"
SYNCED_AT = "synced_at"
EXPIRE_AT = "expire_at"
MAX_BATCH_WRITES = 400
"""Below Firestore's 500 writes per commit."""
MAX_BATCH_BYTES = 8_000_000
"""Below Firestore's 10 MiB per commit request."""
MAX_TRANSACTION_ATTEMPTS = 10
"""A month's update that keeps losing to concurrent syncs of the same enterprise gives up (503: the task retries)."""
READ_AHEAD_MONTHS = 64
"""Months read ahead and not yet taken by their transaction, kept at most (the oldest are dropped)."""

_Ahead = tuple[Any, MonthRead]
"""A month read ahead: its rollup's ``update_time``, the days decoded from it and the rollup."""
VERSION_ONLY = "month"
"""The field a transaction's first read asks of each rollup: a small one, since only the version is wanted then."""


BINARY_FIELDS = frozenset({"daily"})
"""Fields kept as Firestore bytes (``UsageMonth.daily``: compressed days), not as JSON."""


def stored(model: BaseModel, synced_at: datetime | None) -> dict[str, Any]:
    """The document of a snapshot or rollup: JSON-mode fields (Decimals as strings), timestamps and bytes as such."""
    binary = BINARY_FIELDS & set(type(model).model_fields)
    doc: dict[str, Any] = model.model_dump(mode="json", exclude=set(binary))
    doc.update({name: getattr(model, name) for name in binary})
    doc[EXPIRE_AT] = getattr(model, EXPIRE_AT)
    if synced_at is not None:
        doc[SYNCED_AT] = synced_at
    return doc


def _parse(model: type[Any], snap: Any) -> Any | None:
    # Validated into new objects: the snapshot's own fields are not changed.
    return _validated(model, dict(snapshot_fields(snap)), snap.reference.path)


def _validated(model: type[Any], data: dict[str, Any], path: str) -> Any | None:
    data.pop(SYNCED_AT, None)
    try:
        return model.model_validate(data)
    except ValidationError:
        # Never silently: a document we cannot read is rebuilt from fresh data, which loses the parts of providers
        # not re-pulled. A schema change must therefore keep old documents readable.
        log.exception("stored %s is unreadable", model.__name__, extra={"document": path})
        return None


class FirestoreSnapshots:
    """Implements ``shared.ports.SnapshotStore``."""

    def __init__(self, client: Any) -> None:
        self._db = client
        self._ahead: OrderedDict[tuple[str, str], _Ahead] = OrderedDict()
        self._ahead_lock = threading.Lock()

    def _enterprise(self, enterprise_id: str) -> Any:
        return self._db.collection(ENTERPRISES).document(enterprise_id)

    def read_ahead(self, enterprise_id: str, months: Sequence[str], *, retention_months: int) -> dict[str, MonthRead]:
        collection = self._enterprise(enterprise_id).collection(MONTHS)
        refs = [collection.document(m) for m in sorted(set(months))]
        read: dict[str, MonthRead] = {}
        for found in read_versions(self._db, refs):
            rollup = _validated(UsageMonth, found.fields, found.reference.path)
            days = _rolled_days(rollup, enterprise_id, retention_months)
            if rollup is None or days is None:
                continue
            month = read[rollup.month] = (days, rollup)
            with self._ahead_lock:
                self._ahead[(enterprise_id, rollup.month)] = (found.update_time, month)
                while len(self._ahead) > READ_AHEAD_MONTHS:
                    self._ahead.popitem(last=False)
        return read

    def _taken_ahead(self, enterprise_id: str, month: str, update_time: Any) -> MonthRead | None:
        """The days and rollup of the month read ahead, if the rollup read since is that very version; taken once."""
        with self._ahead_lock:
            ahead = self._ahead.pop((enterprise_id, month), None)
        if ahead is None or ahead[0] != update_time:
            return None
        return ahead[1]

    def days(self, enterprise_id: str, months: Sequence[str]) -> dict[date, UsageSnapshot]:
        collection = self._enterprise(enterprise_id).collection(SNAPSHOTS)
        found: dict[date, UsageSnapshot] = {}
        for month in sorted(set(months)):
            with translated():
                found.update(_parsed_days(_month_query(collection, month).stream()))
        return found

    def update_months(
        self,
        enterprise_id: str,
        changes: Mapping[str, MonthChange],
        *,
        synced_at: datetime,
        retention_months: int,
    ) -> dict[str, MonthWrite]:
        enterprise = self._enterprise(enterprise_id)
        months = sorted(changes)
        refs = {month: enterprise.collection(MONTHS).document(month) for month in months}

        def apply(transaction: Any, found: list[Found]) -> dict[str, MonthWrite]:
            # Every read before any write (Firestore's rule for transactions). The rollups are read first, in the
            # read that begins the transaction, for their versions only: a month read ahead at that very version is
            # taken as it was decoded then; the others are read whole, still in the transaction. When a rollup keeps
            # its days (ADR 0011) they are taken from it, one document instead of the month's ~30. Every sync that
            # changes a day rewrites its rollup in the same commit, so the rollups' locks alone serialise the months'
            # writers; a month without decodable days has its days read (and locked) as well.
            versions = {f.reference.id: f.update_time for f in found}
            ahead = {m: self._taken_ahead(enterprise_id, m, versions[m]) for m in months if m in versions}
            unread = [refs[m] for m in months if m in versions and ahead[m] is None]
            whole = {f.reference.id: f for f in read_versions(self._db, unread, transaction=transaction)}
            written: dict[str, MonthWrite] = {}
            read = {
                m: ahead.get(m) or self._read_month(transaction, enterprise_id, whole.get(m), m, retention_months)
                for m in months
            }
            for month in months:
                result = written[month] = changes[month](*read[month])
                for day in result.days:
                    ref = enterprise.collection(SNAPSHOTS).document(day.date.isoformat())
                    transaction.set(ref, stored(day, synced_at))
                if result.rollup is not None:
                    transaction.set(refs[month], stored(result.rollup, synced_at))
            return written

        with translated():
            return run_read_write(
                self._db, list(refs.values()), apply, max_attempts=MAX_TRANSACTION_ATTEMPTS, field_paths=[VERSION_ONLY]
            )

    def update_months_ahead(
        self, enterprise_id: str, changes: Mapping[str, MonthChange], *, synced_at: datetime
    ) -> dict[str, MonthWrite] | None:
        # Every writer of a month's days rewrites its rollup in the same commit, so the rollups' versions alone tell
        # whether a month is still as it was read ahead. A month whose change writes days but not its rollup, or
        # that writes nothing beside one that does, is left to the transaction.
        enterprise = self._enterprise(enterprise_id)
        refs = {month: enterprise.collection(MONTHS).document(month) for month in sorted(changes)}
        with self._ahead_lock:
            ahead = {m: self._ahead.get((enterprise_id, m)) for m in refs}
        read = {m: found for m, found in ahead.items() if found is not None}
        if len(read) < len(refs):
            return None
        written = {m: changes[m](*read[m][1]) for m in refs}
        versions = {refs[m].path: read[m][0] for m in refs}
        if all(not w.days and w.rollup is None for w in written.values()):
            done = still_at_versions(self._db, list(refs.values()), versions, VERSION_ONLY)
        elif all(w.rollup is not None for w in written.values()):
            days = [
                (enterprise.collection(SNAPSHOTS).document(day.date.isoformat()), stored(day, synced_at))
                for w in written.values()
                for day in w.days
            ]
            rollups = [(refs[m], stored(w.rollup, synced_at)) for m, w in written.items() if w.rollup is not None]
            done = commit_at_versions(self._db, days + rollups, versions)
        else:
            return None
        if not done:
            return None
        with self._ahead_lock:
            for m in refs:
                self._ahead.pop((enterprise_id, m), None)
        return written

    def _read_month(
        self, transaction: Any, enterprise_id: str, found: Found | None, month: str, retention_months: int
    ) -> MonthRead:
        """The month's days and rollup, inside ``transaction``; ``found``: its rollup as the transaction read it."""
        rollup, days = None, None
        if found is not None:
            rollup = _validated(UsageMonth, found.fields, found.reference.path)
            days = _rolled_days(rollup, enterprise_id, retention_months)
        if days is None:
            query = _month_query(self._enterprise(enterprise_id).collection(SNAPSHOTS), month)
            days = _parsed_days(transaction.get(query))
            if rollup is not None and rollup.has_daily:
                # Its days could not be decoded: the change must not keep their bytes (it rewrites them).
                rollup = rollup.model_copy(update={"daily": None, "daily_version": None})
        return days, rollup

    def month(self, enterprise_id: str, month: str) -> UsageMonth | None:
        with translated():
            snap = self._enterprise(enterprise_id).collection(MONTHS).document(month).get()
        return _parse(UsageMonth, snap) if snap.exists else None

    def rollups(self, enterprise_id: str, months: Sequence[str]) -> dict[str, UsageMonth]:
        if not months:
            return {}
        collection = self._enterprise(enterprise_id).collection(MONTHS)
        refs = [collection.document(m) for m in sorted(set(months))]
        found: dict[str, UsageMonth] = {}
        # Decoded once from the response, without the client's deep copy (``firestore_direct_reads``): this read is
        # most of a usage request's time.
        for ref, data in read_documents(self._db, refs):
            parsed = _validated(UsageMonth, data, ref.path)
            if parsed is not None:
                found[parsed.month] = parsed
        return found

    def save(
        self, enterprise_id: str, days: Sequence[UsageSnapshot], months: Sequence[UsageMonth], *, synced_at: datetime
    ) -> None:
        enterprise = self._enterprise(enterprise_id)
        groups: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
        for d in days:
            ref = enterprise.collection(SNAPSHOTS).document(d.date.isoformat())
            groups.setdefault(month_key(d.date), []).append((ref, stored(d, synced_at)))
        for m in months:
            ref = enterprise.collection(MONTHS).document(m.month)
            groups.setdefault(m.month, []).append((ref, stored(m, synced_at)))
        chunks = list(_chunks([groups[key] for key in sorted(groups)]))
        if len(chunks) > 1:
            # Larger windows (long backfills) commit in several batches, never splitting a month from its days.
            log.info("snapshots written in several batches", extra={"batches": len(chunks)})
        for chunk in chunks:
            batch = self._db.batch()
            for ref, doc in chunk:
                batch.set(ref, doc)
            with translated():
                batch.commit()

    def save_raw_pages(self, enterprise_id: str, pages: Sequence[RawPage], *, expire_at: datetime) -> int:
        collection = self._enterprise(enterprise_id).collection(RAW)
        writes = [(collection.document(doc_id), doc) for doc_id, doc in raw_documents(pages, expire_at)]
        for chunk in _chunks([[write] for write in writes]):
            batch = self._db.batch()
            for ref, doc in chunk:
                batch.set(ref, doc)
            with translated():
                batch.commit()
        return len(pages)

    def record_last_sync(self, enterprise_id: str, providers: Sequence[ProviderName], at: datetime) -> None:
        if not providers:
            return
        update = {f"providers.{p.value}.last_sync": at for p in sorted(set(providers))}
        try:
            with translated():
                self._enterprise(enterprise_id).update(update)
        except gexc.NotFound:
            log.info("enterprise gone before its sync was recorded", extra={"enterprise_id": enterprise_id})


def _month_query(collection: Any, month: str) -> Any:
    """The month's daily snapshots, by document id (``YYYY-MM-DD``)."""
    from google.cloud.firestore_v1.base_query import FieldFilter
    from google.cloud.firestore_v1.field_path import FieldPath

    first, last = month_bounds(month)
    return collection.where(
        filter=FieldFilter(FieldPath.document_id(), ">=", collection.document(first.isoformat()))
    ).where(filter=FieldFilter(FieldPath.document_id(), "<=", collection.document(last.isoformat())))


def _rolled_days(
    rollup: UsageMonth | None, enterprise_id: str, retention_months: int
) -> dict[date, UsageSnapshot] | None:
    """The month's days rebuilt from its rollup; ``None`` when it keeps none we can decode (no rollup, an older
    layout, a month too large for its days, or a malformed one): then the days are read themselves."""
    if rollup is None:
        return None
    try:
        return month_snapshots(rollup, retention_months=retention_months)
    except (ValueError, ArithmeticError, zlib.error):
        log.exception("rollup days unreadable", extra={"enterprise_id": enterprise_id, "month": rollup.month})
        return None


def _parsed_days(snaps: Iterable[Any]) -> dict[date, UsageSnapshot]:
    found: dict[date, UsageSnapshot] = {}
    for snap in snaps:
        parsed = _parse(UsageSnapshot, snap)
        if parsed is not None:
            found[parsed.date] = parsed
    return found


Write = tuple[Any, dict[str, Any]]


def _chunks(groups: list[list[Write]]) -> Iterator[list[Write]]:
    """Batches below Firestore's limits, each group of writes whole in one batch (a group alone may exceed them)."""
    chunk: list[Write] = []
    size = 0
    for group in groups:
        weight = sum(_approximate_size(doc) for _, doc in group)
        if chunk and (len(chunk) + len(group) > MAX_BATCH_WRITES or size + weight > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.extend(group)
        size += weight
    if chunk:
        yield chunk


def _approximate_size(doc: dict[str, Any]) -> int:
    blobs = {k: v for k, v in doc.items() if isinstance(v, bytes)}
    rest = {k: v for k, v in doc.items() if k not in blobs}
    return sum(len(b) for b in blobs.values()) + len(json.dumps(rest, default=str))
