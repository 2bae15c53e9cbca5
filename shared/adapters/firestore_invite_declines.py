"""Declined invites in Firestore: ``invite_declines/{sha256 of the email}``, one document per invitee.

Not client-readable (``firestore.rules`` denies everything it does not allow). The document id is a digest so the
collection's ids are not a list of addresses; the document holds ``enterprises.{id}: declined_at`` and nothing else.
A decline is a merge of one map key: no read-modify-write, so two declines at once cannot lose one another.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from shared.adapters.firestore_errors import translated

INVITE_DECLINES = "invite_declines"


def _doc_id(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()


class FirestoreInviteDeclines:
    def __init__(self, db: Any) -> None:
        self._db = db

    def declined(self, email: str) -> frozenset[str]:
        with translated():
            snap = self._db.collection(INVITE_DECLINES).document(_doc_id(email)).get()
        data = (snap.to_dict() or {}) if snap.exists else {}
        return frozenset(data.get("enterprises", {}))

    def decline(self, email: str, enterprise_id: str, at: datetime) -> None:
        ref = self._db.collection(INVITE_DECLINES).document(_doc_id(email))
        with translated():
            ref.set({"enterprises": {enterprise_id: at}}, merge=True)
