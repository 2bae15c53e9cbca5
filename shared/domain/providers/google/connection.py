"""A Google connection: a service-account key, the projects whose Gemini usage is read, and the billing export.

Google has no organisation admin key. An enterprise creates a service account that may read Cloud Monitoring on the
projects that call Gemini (Vertex AI or the Gemini API) and, optionally, the Cloud Billing export in BigQuery, and
hands over its JSON key with the project ids and the export table. The three together are the Google "key": one
Secret Manager version holds them as canonical JSON (``GoogleConnection.to_secret``), so a rotation can change any
of them and the sync needs nothing else. Firestore keeps the project ids and whether billing export is connected.

Checked before any network call, with stable codes and messages that never quote the key:

* ``not_a_service_account_key``: valid JSON whose ``type`` is not ``service_account`` (user credentials
  ``authorized_user``, a workload identity federation ``external_account`` config), or a Gemini API key (``AIza...``);
* ``malformed_key``: not a JSON object, or ``client_email``, ``private_key`` (an RSA private key in PEM),
  ``private_key_id`` or ``project_id`` missing or malformed;
* ``invalid_project_ids``: none, too many, duplicates, or not Google project ids;
* ``invalid_billing_export_table``: not ``project.dataset.table`` made of BigQuery identifier characters. The table
  name is interpolated into SQL (BigQuery cannot take it as a parameter), so only those characters ever get there.

The key's ``token_uri`` (and every other field the platform does not use) is dropped: tokens are always minted at
``Settings.google_token_url``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import BaseModel, ConfigDict, SecretStr

from shared.errors import InvalidInput

MAX_PROJECTS = 50
MAX_KEY_CHARS = 16_384
"""A real key is about 2,400 characters; anything far larger is not one."""
SCOPES = (
    "https://www.googleapis.com/auth/monitoring.read",
    "https://www.googleapis.com/auth/bigquery",
)
"""OAuth scopes the access token is asked for, each one a scope its methods' reference pages list: ``monitoring.read``
for ``projects.timeSeries.list``; ``bigquery`` for ``jobs.query`` and ``jobs.getQueryResults`` (``bigquery.readonly``
is not accepted by ``jobs.query``). What the token may read is bounded by the service account's IAM roles."""

_PROJECT_ID = re.compile(r"(?:[a-z][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}")
_TABLE = re.compile(r"[A-Za-z0-9_-]{1,1024}")
_CLIENT_EMAIL = re.compile(
    r"[a-z0-9][a-z0-9-]{0,62}@[a-z0-9.:-]+\.iam\.gserviceaccount\.com|[0-9]+-compute@developer\.gserviceaccount\.com"
)
_KEY_ID = re.compile(r"[0-9a-f]{16,64}")
_PEM = re.compile(r"-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n?")
_WHERE_TO_CREATE = (
    "create a JSON key for a service account under IAM & Admin → Service accounts → Keys in the Google Cloud console"
)


class ServiceAccountKey(BaseModel):
    """The fields of a service-account JSON key the platform uses; the private key is a ``SecretStr``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_email: str
    private_key: SecretStr
    private_key_id: str
    project_id: str
    """The project the service account belongs to (not necessarily one whose usage is read)."""

    def signing_info(self) -> dict[str, str]:
        """What google-auth's signer needs (read only to sign an assertion)."""
        return {
            "client_email": self.client_email,
            "private_key": self.private_key.get_secret_value(),
            "private_key_id": self.private_key_id,
        }


class BillingTable(BaseModel):
    """A Cloud Billing export table (or a view over one) in BigQuery."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str
    dataset: str
    table: str

    @property
    def name(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"

    @property
    def sql(self) -> str:
        """The table as a quoted identifier, safe to put in SQL: every part was checked against identifier rules."""
        return f"`{self.name}`"


class GoogleConnection(BaseModel):
    """What the Google provider's secret holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_account: ServiceAccountKey
    project_ids: tuple[str, ...]
    billing_export_table: BillingTable | None = None

    def __repr__(self) -> str:
        return f"GoogleConnection(service_account={self.service_account.client_email!r}, projects={self.project_ids})"

    def to_secret(self) -> SecretStr:
        """The canonical JSON stored in Secret Manager (sorted keys: the same connection, the same bytes)."""
        sa = self.service_account
        payload = {
            "service_account_key": {"type": "service_account", **sa.signing_info(), "project_id": sa.project_id},
            "project_ids": list(self.project_ids),
            "billing_export_table": self.billing_export_table.name if self.billing_export_table else None,
        }
        return SecretStr(json.dumps(payload, sort_keys=True, separators=(",", ":")))


def bundle(service_account_key: str | Mapping[str, Any], project_ids: Sequence[str], table: str | None) -> SecretStr:
    """The connect request's three fields as one secret value, unchecked (``parse_connection`` checks it)."""
    payload = {
        "service_account_key": service_account_key,
        "project_ids": list(project_ids),
        "billing_export_table": table,
    }
    return SecretStr(json.dumps(payload, separators=(",", ":")))


def parse_connection(secret: SecretStr) -> GoogleConnection:
    """The connection in ``secret`` (a ``bundle`` or a stored ``to_secret`` value), checked.

    Raises:
        InvalidInput: with one of the codes of the module docstring.
    """
    try:
        payload = json.loads(secret.get_secret_value())
    except ValueError:
        raise _malformed("the connection is not JSON") from None
    if not isinstance(payload, dict):
        raise _malformed("the connection is not a JSON object")
    return GoogleConnection(
        service_account=parse_service_account_key(payload.get("service_account_key")),
        project_ids=parse_project_ids(payload.get("project_ids")),
        billing_export_table=parse_billing_table(payload.get("billing_export_table")),
    )


def parse_service_account_key(raw: object) -> ServiceAccountKey:
    """A service-account key given as its JSON text or as the decoded object."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("AIza"):
            raise InvalidInput(
                f"this is a Gemini API key, not a service-account key: {_WHERE_TO_CREATE}",
                code="not_a_service_account_key",
            )
        if len(text) > MAX_KEY_CHARS:
            raise _malformed("the service-account key is too long to be one")
        try:
            raw = json.loads(text)
        except ValueError:
            raise _malformed("the service-account key is not valid JSON") from None
    if not isinstance(raw, dict):
        raise _malformed("the service-account key must be a JSON object")
    kind = raw.get("type")
    if kind != "service_account":
        shown = kind if isinstance(kind, str) and re.fullmatch(r"[a-z_]{1,40}", kind) else "missing"
        raise InvalidInput(
            f"this is not a service-account key (its type is {shown}): {_WHERE_TO_CREATE}",
            code="not_a_service_account_key",
        )
    fields = {name: raw.get(name) for name in ("client_email", "private_key", "private_key_id", "project_id")}
    missing = sorted(name for name, value in fields.items() if not isinstance(value, str) or not value.strip())
    if missing:
        raise _malformed(f"the service-account key lacks {', '.join(missing)}")
    email, pem, key_id, project = (str(fields[n]).strip() for n in fields)
    if not _CLIENT_EMAIL.fullmatch(email):
        raise _malformed("the service-account key's client_email is not a service-account address")
    if not _KEY_ID.fullmatch(key_id):
        raise _malformed("the service-account key's private_key_id is malformed")
    if not _PROJECT_ID.fullmatch(project):
        raise _malformed("the service-account key's project_id is not a Google Cloud project id")
    pem = pem.replace("\r\n", "\n") + ("" if pem.endswith("\n") else "\n")
    _check_private_key(pem)
    return ServiceAccountKey(client_email=email, private_key=SecretStr(pem), private_key_id=key_id, project_id=project)


def parse_project_ids(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_PROJECTS:
        raise InvalidInput(f"give between 1 and {MAX_PROJECTS} project ids", code="invalid_project_ids")
    ids = [p.strip() if isinstance(p, str) else p for p in raw]
    if not all(isinstance(p, str) and _PROJECT_ID.fullmatch(p) for p in ids):
        raise InvalidInput(
            "project ids are 6 to 30 lowercase letters, digits and hyphens, starting with a letter",
            code="invalid_project_ids",
        )
    if len(set(ids)) != len(ids):
        raise InvalidInput("a project id is listed twice", code="invalid_project_ids")
    return tuple(str(p) for p in ids)


def parse_billing_table(raw: object) -> BillingTable | None:
    if raw is None:
        return None
    message = (
        "the billing export table must be written project.dataset.table, "
        "e.g. my-project.billing.gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX"
    )
    if not isinstance(raw, str) or len(raw) > 1100:
        raise InvalidInput(message, code="invalid_billing_export_table")
    parts = raw.strip().rsplit(".", 2)
    if len(parts) != 3:
        raise InvalidInput(message, code="invalid_billing_export_table")
    project, dataset, table = parts
    if not (_PROJECT_ID.fullmatch(project) and _DATASET.fullmatch(dataset) and _TABLE.fullmatch(table)):
        raise InvalidInput(message, code="invalid_billing_export_table")
    return BillingTable(project=project, dataset=dataset, table=table)


def _check_private_key(pem: str) -> None:
    if not _PEM.fullmatch(pem):
        raise _malformed("the service-account key's private_key is not a PEM private key")
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):  # the library's error is dropped: nothing about key material travels on
        raise _malformed("the service-account key's private_key cannot be read") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise _malformed("the service-account key's private_key is not a 2048-bit or larger RSA key")


def _malformed(reason: str) -> InvalidInput:
    return InvalidInput(f"{reason}: {_WHERE_TO_CREATE}", code="malformed_key")
