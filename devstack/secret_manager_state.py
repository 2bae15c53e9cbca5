"""The state behind the local Secret Manager server: secrets, numbered versions and their lifecycle.

It mirrors Secret Manager's semantics so code tested against it behaves the same on Google Cloud:

* a secret id is ``[A-Za-z0-9_-]{1,255}``; creating an existing id fails with ``ALREADY_EXISTS``;
* versions are numbered 1..n per secret and never renumbered; ``latest`` is the most recently created version
  whatever its state (so accessing ``latest`` fails once that version is disabled);
* a version is ENABLED, DISABLED or DESTROYED; only ENABLED versions can be accessed (``FAILED_PRECONDITION``
  otherwise) and a destroyed version has lost its payload for good;
* a secret's replication is automatic or user-managed with at least one replica location, fixed at creation
  (``replica_locations``: ``None`` for automatic);
* a payload is at most 64 KiB and, if the client sent a CRC32C checksum, it must match (``INVALID_ARGUMENT``).

With a store path the state is persisted after every change, encrypted with Fernet (see
``devstack.secret_manager_vault``). Nothing here logs a payload.
"""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import google_crc32c
import grpc

from devstack.secret_manager_vault import EncryptedJsonFile

MAX_PAYLOAD_BYTES = 64 * 1024
_SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_PROJECT = re.compile(r"projects/([^/]+)")
_SECRET_NAME = re.compile(r"projects/([^/]+)/secrets/([^/]+)")
_VERSION_NAME = re.compile(r"projects/([^/]+)/secrets/([^/]+)/versions/([^/]+)")


class VersionState(StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    DESTROYED = "DESTROYED"


class SecretManagerError(Exception):
    """A failed call, carrying the gRPC status the server answers with. Messages name resources, never data."""

    def __init__(self, status: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class StoredVersion:
    number: int
    state: VersionState
    payload: bytes | None
    client_checksum: bool
    create_time: datetime
    destroy_time: datetime | None = None

    def __repr__(self) -> str:  # the payload stays out of tracebacks and debuggers' output
        return f"StoredVersion(number={self.number}, state={self.state.value})"


@dataclass
class StoredSecret:
    name: str
    labels: dict[str, str]
    create_time: datetime
    versions: list[StoredVersion] = field(default_factory=list)
    replica_locations: list[str] | None = None
    """User-managed replicas' locations; ``None`` for automatic replication."""


def _now() -> datetime:
    return datetime.now(UTC)


def _match(pattern: re.Pattern[str], name: str, what: str) -> re.Match[str]:
    found = pattern.fullmatch(name)
    if found is None:
        raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, f"malformed {what} name: {name!r}")
    return found


class SecretManagerState:
    """Thread-safe secrets and versions, optionally persisted (encrypted) to ``store_path`` after each change."""

    def __init__(self, store_path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._file = EncryptedJsonFile(store_path) if store_path is not None else None
        self._secrets: dict[str, StoredSecret] = {}
        if self._file is not None:
            self._secrets = _decode(self._file.load())

    # --- secrets -------------------------------------------------------------------------------------------

    def create_secret(
        self, parent: str, secret_id: str, labels: dict[str, str], replica_locations: list[str] | None = None
    ) -> StoredSecret:
        _match(_PROJECT, parent, "project")
        if replica_locations is not None and (not replica_locations or not all(replica_locations)):
            raise SecretManagerError(
                grpc.StatusCode.INVALID_ARGUMENT, "user_managed replication needs replicas, each with a location"
            )
        if not _SECRET_ID.fullmatch(secret_id):
            raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid secret id: {secret_id!r}")
        _check_labels(labels)
        name = f"{parent}/secrets/{secret_id}"
        with self._lock:
            if name in self._secrets:
                raise SecretManagerError(grpc.StatusCode.ALREADY_EXISTS, f"Secret [{name}] already exists.")
            secret = StoredSecret(
                name=name, labels=dict(labels), create_time=_now(), replica_locations=replica_locations
            )
            self._secrets[name] = secret
            self._save()
            return secret

    def get_secret(self, name: str) -> StoredSecret:
        with self._lock:
            return self._secret(name)

    def delete_secret(self, name: str) -> None:
        with self._lock:
            self._secret(name)
            del self._secrets[name]
            self._save()

    # --- versions ------------------------------------------------------------------------------------------

    def add_version(self, parent: str, data: bytes, crc32c: int | None) -> tuple[StoredSecret, StoredVersion]:
        if len(data) > MAX_PAYLOAD_BYTES:
            raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, "payload exceeds 65536 bytes")
        if crc32c is not None and crc32c != google_crc32c.value(data):
            raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, "payload data_crc32c does not match")
        with self._lock:
            secret = self._secret(parent)
            version = StoredVersion(
                number=len(secret.versions) + 1,
                state=VersionState.ENABLED,
                payload=data,
                client_checksum=crc32c is not None,
                create_time=_now(),
            )
            secret.versions.append(version)
            self._save()
            return secret, version

    def get_version(self, name: str) -> tuple[StoredSecret, StoredVersion]:
        with self._lock:
            return self._version(name)

    def access_version(self, name: str) -> tuple[StoredSecret, StoredVersion, bytes]:
        with self._lock:
            secret, version = self._version(name)
            if version.state is not VersionState.ENABLED or version.payload is None:
                raise SecretManagerError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"{secret.name}/versions/{version.number} is in {version.state.value} state.",
                )
            return secret, version, version.payload

    def list_versions(self, parent: str) -> tuple[StoredSecret, list[StoredVersion]]:
        """Versions newest first, as Secret Manager lists them."""
        with self._lock:
            secret = self._secret(parent)
            return secret, list(reversed(secret.versions))

    def set_state(self, name: str, target: VersionState) -> tuple[StoredSecret, StoredVersion]:
        """Enable, disable or destroy a version; a destroyed version can change no more."""
        with self._lock:
            secret, version = self._version(name)
            if version.state is VersionState.DESTROYED:
                raise SecretManagerError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"{secret.name}/versions/{version.number} is in DESTROYED state.",
                )
            version.state = target
            if target is VersionState.DESTROYED:
                version.payload = None
                version.destroy_time = _now()
            self._save()
            return secret, version

    # --- internals (callers hold the lock) -----------------------------------------------------------------

    def _secret(self, name: str) -> StoredSecret:
        _match(_SECRET_NAME, name, "secret")
        secret = self._secrets.get(name)
        if secret is None:
            raise SecretManagerError(grpc.StatusCode.NOT_FOUND, f"Secret [{name}] not found.")
        return secret

    def _version(self, name: str) -> tuple[StoredSecret, StoredVersion]:
        project, secret_id, version_id = _match(_VERSION_NAME, name, "secret version").groups()
        secret = self._secret(f"projects/{project}/secrets/{secret_id}")
        if version_id == "latest":
            number = len(secret.versions)
        elif version_id.isdigit():
            number = int(version_id)
        else:
            raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid version id: {version_id!r}")
        if not 1 <= number <= len(secret.versions):
            raise SecretManagerError(grpc.StatusCode.NOT_FOUND, f"Secret Version [{name}] not found.")
        return secret, secret.versions[number - 1]

    def _save(self) -> None:
        if self._file is not None:
            self._file.save(_encode(self._secrets))


def _check_labels(labels: dict[str, str]) -> None:
    if len(labels) > 64:
        raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, "at most 64 labels are allowed")
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
            raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid label {key!r}: {value!r}")


def _encode(secrets: dict[str, StoredSecret]) -> dict[str, Any]:
    return {
        "secrets": [
            {
                "name": s.name,
                "labels": s.labels,
                "create_time": s.create_time.isoformat(),
                "replica_locations": s.replica_locations,
                "versions": [
                    {
                        "state": v.state.value,
                        "payload": None if v.payload is None else base64.b64encode(v.payload).decode(),
                        "client_checksum": v.client_checksum,
                        "create_time": v.create_time.isoformat(),
                        "destroy_time": None if v.destroy_time is None else v.destroy_time.isoformat(),
                    }
                    for v in s.versions
                ],
            }
            for s in secrets.values()
        ]
    }


def _decode(document: dict[str, Any] | None) -> dict[str, StoredSecret]:
    secrets: dict[str, StoredSecret] = {}
    for s in (document or {}).get("secrets", []):
        secret = StoredSecret(
            name=s["name"],
            labels=dict(s["labels"]),
            create_time=datetime.fromisoformat(s["create_time"]),
            replica_locations=s.get("replica_locations"),  # absent in stores written before it was kept
        )
        for number, v in enumerate(s["versions"], start=1):
            secret.versions.append(
                StoredVersion(
                    number=number,
                    state=VersionState(v["state"]),
                    payload=None if v["payload"] is None else base64.b64decode(v["payload"]),
                    client_checksum=bool(v["client_checksum"]),
                    create_time=datetime.fromisoformat(v["create_time"]),
                    destroy_time=None if v["destroy_time"] is None else datetime.fromisoformat(v["destroy_time"]),
                )
            )
        secrets[secret.name] = secret
    return secrets
