"""Alert settings in Firestore: the ``AlertSettingsStore`` port.

* ``enterprises/{id}/budgets/current``: budgets, the anomaly switch and what members may know of the webhook (its
  host); members may read it (``firestore.rules``).
* ``enterprises/{id}/private/alert_webhook``: the webhook URL and the *generation* of its signing secret, readable
  by no client, read by the API and the sync identity. The secret itself is derived in memory from the generation
  and the platform's webhook signing key (Secret Manager, ``WEBHOOK_SIGNING_KEY``), so a read of Firestore never
  yields it. A document written before derivation holds its secret (``secret``, no ``generation``): it keeps
  working, and is rewritten without it, when the secret is next generated. Deleted when the webhook is removed.

Both are written in one transaction with the change's audit entries. Money is stored as plain decimal strings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from shared.adapters.firestore_audit import audit_doc, audit_ref
from shared.adapters.firestore_connections import PRIVATE
from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.domain.alerts.budgets import AlertSettings, WebhookTarget
from shared.domain.alerts.webhook_signature import derive_secret
from shared.ports import AlertSettingsChange

log = logging.getLogger(__name__)

BUDGETS = "budgets"
CURRENT = "current"
WEBHOOK_DOC = "alert_webhook"


def _settings_doc(settings: AlertSettings) -> dict[str, Any]:
    doc: dict[str, Any] = settings.model_dump(mode="json")
    doc["updated_at"] = settings.updated_at
    return doc


def _webhook_doc(target: WebhookTarget) -> dict[str, Any]:
    doc: dict[str, Any] = {"url": target.url, "secret_created_at": target.secret_created_at}
    if target.generation is None:  # a secret from before derivation: kept until it is next generated
        doc["secret"] = target.secret.get_secret_value()
    else:
        doc["generation"] = target.generation
    return doc


def _settings_of(snap: Any) -> AlertSettings | None:
    return AlertSettings.model_validate(snap.to_dict()) if snap.exists else None


class FirestoreAlertSettings:
    """Implements ``shared.ports.AlertSettingsStore``.

    Args:
        client: The Firestore client.
        signing_key: The platform's webhook signing key, from which each enterprise's signing secret is derived.
    """

    def __init__(self, client: Any, signing_key: SecretStr) -> None:
        self._db = client
        self._key = signing_key

    def _webhook_of(self, enterprise_id: str, snap: Any) -> WebhookTarget | None:
        if not snap.exists:
            return None
        doc = dict(snap.to_dict())
        generation = doc.get("generation")
        if generation is not None:
            doc["secret"] = derive_secret(self._key, enterprise_id, str(generation))
        return WebhookTarget.model_validate(doc)

    def _refs(self, enterprise_id: str) -> tuple[Any, Any]:
        enterprise = self._db.collection(ENTERPRISES).document(enterprise_id)
        return enterprise.collection(BUDGETS).document(CURRENT), enterprise.collection(PRIVATE).document(WEBHOOK_DOC)

    def get(self, enterprise_id: str) -> AlertSettings | None:
        settings, _ = self._refs(enterprise_id)
        with translated():
            return _settings_of(settings.get())

    def webhook(self, enterprise_id: str) -> WebhookTarget | None:
        _, private = self._refs(enterprise_id)
        with translated():
            return self._webhook_of(enterprise_id, private.get())

    def update(
        self,
        enterprise_id: str,
        change: Callable[[AlertSettings | None, WebhookTarget | None], AlertSettingsChange],
    ) -> AlertSettingsChange:
        from google.cloud import firestore

        settings_ref, private_ref = self._refs(enterprise_id)

        @firestore.transactional
        def write(transaction: Any) -> AlertSettingsChange:
            current = _settings_of(settings_ref.get(transaction=transaction))
            target = self._webhook_of(enterprise_id, private_ref.get(transaction=transaction))
            result = change(current, target)
            transaction.set(settings_ref, _settings_doc(result.settings))
            if result.webhook is None:
                transaction.delete(private_ref)
            else:
                transaction.set(private_ref, _webhook_doc(result.webhook))
            for entry in result.audit:
                transaction.set(audit_ref(self._db, enterprise_id, entry.id), audit_doc(entry))
            return result

        with translated():
            result: AlertSettingsChange = write(self._db.transaction())
        log.info(
            "alert settings saved",
            extra={"enterprise_id": enterprise_id, "budgets": len(result.settings.budgets), "audit": len(result.audit)},
        )
        return result
