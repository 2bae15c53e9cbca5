"""Use cases of the provider-key audit log: read it page by page, and record a key read.

Page tokens are opaque to clients: URL-safe base64 of the last entry's (time, id). A token that does not decode is
a 400 ``invalid_page_token``; a token from another enterprise only positions a cursor inside this enterprise's log,
so it reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from shared.domain.connections.provider_keys import key_id_for
from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry, versioned_entry_id
from shared.domain.enterprise.model import ProviderName
from shared.domain.text import is_document_id
from shared.errors import InvalidInput
from shared.ports import AuditCursor, AuditLog, Clock, SecretVersionRef

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
"""Firestore document ids may not contain ``/``; read ids are task names or similar, kept readable."""


@dataclass(frozen=True)
class AuditLogPage:
    entries: list[AuditEntry]
    next_page_token: str | None


def encode_page_token(cursor: AuditCursor) -> str:
    raw = json.dumps({"at": cursor.at.isoformat(), "id": cursor.entry_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> AuditCursor:
    """The cursor in ``token``; ``InvalidInput`` (``invalid_page_token``) if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        at = datetime.fromisoformat(data["at"])
        entry_id = data["id"]
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise InvalidInput("page_token is not a token this API issued", code="invalid_page_token") from e
    if at.tzinfo is None or not isinstance(entry_id, str) or not is_document_id(entry_id):
        raise InvalidInput("page_token is not a token this API issued", code="invalid_page_token")
    return AuditCursor(at=at, entry_id=entry_id)


def list_audit_log(
    audit_log: AuditLog, enterprise_id: str, *, limit: int = DEFAULT_PAGE_SIZE, page_token: str | None = None
) -> AuditLogPage:
    """One page of ``enterprise_id``'s audit log, newest first, and the token of the next page (if any)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", code="invalid_limit")
    after = decode_page_token(page_token) if page_token else None
    page = audit_log.page(enterprise_id, limit=limit, after=after)
    return AuditLogPage(list(page.entries), encode_page_token(page.next) if page.next else None)


def record_key_read(
    audit_log: AuditLog,
    clock: Clock,
    enterprise_id: str,
    provider: ProviderName,
    version: SecretVersionRef,
    *,
    read_id: str,
    actor: Actor | None = None,
) -> AuditEntry:
    """Record that the platform read a stored key (the sync worker, before pulling usage).

    Args:
        read_id: What the read was for, unique per read and stable across retries of it: the task name, say.
            A retried task then rewrites the same entry instead of adding one.
        actor: Defaults to ``Actor.system("sync_worker")``.
    """
    entry = AuditEntry(
        id=versioned_entry_id(AuditAction.KEY_READ, provider, int(version.version), _ID_UNSAFE.sub("_", read_id)),
        at=clock.now(),
        action=AuditAction.KEY_READ,
        provider=provider,
        actor=actor or Actor.system("sync_worker"),
        secret_version=int(version.version),
        key_id=key_id_for(version.name),
    )
    audit_log.record(enterprise_id, entry)
    return entry
