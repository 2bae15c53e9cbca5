"""Use case: members read the enterprise's alerts, newest first, page by page.

Page tokens are the audit log's (``shared.services.enterprise.audit``): opaque URL-safe base64 of the last alert's
(time, id); a token that does not decode is a 400 ``invalid_page_token``.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.alerts.records import Alert
from shared.errors import InvalidInput
from shared.ports import AlertStore
from shared.services.enterprise.audit import decode_page_token, encode_page_token

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class AlertHistoryPage:
    alerts: list[Alert]
    next_page_token: str | None


def list_alerts(
    store: AlertStore, enterprise_id: str, *, limit: int = DEFAULT_PAGE_SIZE, page_token: str | None = None
) -> AlertHistoryPage:
    """One page of ``enterprise_id``'s alerts, newest first, and the token of the next page (if any)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", code="invalid_limit")
    after = decode_page_token(page_token) if page_token else None
    page = store.page(enterprise_id, limit=limit, after=after)
    return AlertHistoryPage(list(page.alerts), encode_page_token(page.next) if page.next else None)
