"""The enterprises a sync dispatch covers, read from Firestore in pages: the ``SyncTargets`` port.

Each page is one query over ``enterprises`` (``status == "active"``, and ``settings.sync_frequency == "hourly"`` for
the hourly job) ordered by document id, continuing after the previous page's last document, and reading only the
providers' ``status`` fields (``select``), so 10,000 enterprises cost a handful of small queries. Equality filters
with the id order need no composite index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_pages import query_pages
from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.ports import SyncTarget

log = logging.getLogger(__name__)

_STATUS_FIELDS = [f"providers.{p.value}.status" for p in ProviderName]


def _target(snap: Any) -> SyncTarget | None:
    providers = (snap.to_dict() or {}).get("providers") or {}
    connected = tuple(
        p for p in ProviderName if (providers.get(p.value) or {}).get("status") == ProviderStatus.CONNECTED.value
    )
    return SyncTarget(snap.id, connected) if connected else None


class FirestoreSyncTargets:
    """Implements ``shared.ports.SyncTargets``."""

    def __init__(self, client: Any) -> None:
        self._db = client

    def pages(self, *, hourly_only: bool, page_size: int) -> Iterator[list[SyncTarget]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = self._db.collection(ENTERPRISES).where(filter=FieldFilter("status", "==", "active"))
        if hourly_only:
            query = query.where(filter=FieldFilter("settings.sync_frequency", "==", "hourly"))
        for snaps in query_pages(query.select(_STATUS_FIELDS), page_size=page_size):
            targets = [t for t in (_target(s) for s in snaps) if t is not None]
            log.debug("sync targets page", extra={"read": len(snaps), "targets": len(targets)})
            yield targets
