"""``FakeSecretStore``: an in-memory ``SecretStore`` with Secret Manager's semantics, for unit tests of services.

It behaves like ``shared.adapters.secret_manager.SecretManagerStore`` against Secret Manager: versions numbered 1..n,
``latest`` meaning the most recently created version whatever its state, disabled and destroyed versions not
accessible, destroyed payloads gone, invalid ids and oversized payloads rejected with the same error codes.
``tests/integration/test_secret_store_contract.py`` runs the same cases against both, so the two cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from shared.errors import DependencyUnavailable, NotFound, PlatformError
from shared.ports import SecretVersionRef

_SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_VERSION_NAME = re.compile(r"projects/([^/]+)/secrets/([^/]+)/versions/([^/]+)")
MAX_PAYLOAD_BYTES = 64 * 1024


@dataclass
class _Version:
    state: str  # ENABLED, DISABLED or DESTROYED
    value: SecretStr | None


@dataclass
class _Secret:
    labels: dict[str, str]
    versions: list[_Version] = field(default_factory=list)


class FakeSecretStore:
    """In-memory ``SecretStore``.

    Args:
        project_id: Project in the version names, as the real store uses the settings' project.

    Attributes:
        unavailable: Set to ``True`` to make every call raise ``DependencyUnavailable`` (a Secret Manager outage).
    """

    def __init__(self, project_id: str = "demo-test") -> None:
        self.project_id = project_id
        self.unavailable = False
        self._secrets: dict[str, _Secret] = {}

    # --- inspection helpers for tests ----------------------------------------------------------------------

    def secret_ids(self) -> list[str]:
        """Ids of the secrets that exist (not deleted), sorted."""
        return sorted(self._secrets)

    def labels_of(self, secret_id: str) -> dict[str, str]:
        return dict(self._secrets[secret_id].labels)

    def states_of(self, secret_id: str) -> list[str]:
        """Version states, oldest (version 1) first."""
        return [v.state for v in self._secrets[secret_id].versions]

    # --- SecretStore -----------------------------------------------------------------------------------------

    def add_version(self, secret_id: str, value: SecretStr, labels: Mapping[str, str]) -> SecretVersionRef:
        self._check_available()
        if not _SECRET_ID.fullmatch(secret_id):
            raise PlatformError(f"Secret Manager rejected add a version to {secret_id}", code="secret_store_rejected")
        if any(not _LABEL_KEY.fullmatch(k) or not _LABEL_VALUE.fullmatch(v) for k, v in labels.items()):
            raise PlatformError(f"Secret Manager rejected add a version to {secret_id}", code="secret_store_rejected")
        secret = self._secrets.setdefault(secret_id, _Secret(labels=dict(labels)))
        if len(value.get_secret_value().encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise PlatformError(f"Secret Manager rejected add a version to {secret_id}", code="secret_store_rejected")
        secret.versions.append(_Version(state="ENABLED", value=value))
        return SecretVersionRef(name=f"projects/{self.project_id}/secrets/{secret_id}/versions/{len(secret.versions)}")

    def access(self, ref: SecretVersionRef) -> SecretStr:
        self._check_available()
        version = self._version(ref)
        if version is None:
            raise NotFound(f"cannot access {ref.name}: not found", code="secret_not_found")
        if version.state != "ENABLED" or version.value is None:
            raise NotFound(
                f"cannot access {ref.name}: the version is disabled or destroyed", code="secret_version_unavailable"
            )
        return version.value

    def disable_version(self, ref: SecretVersionRef) -> None:
        self._check_available()
        version = self._version(ref)
        if version is not None and version.state != "DESTROYED":
            version.state = "DISABLED"

    def destroy_version(self, ref: SecretVersionRef) -> None:
        self._check_available()
        version = self._version(ref)
        if version is not None:
            version.state, version.value = "DESTROYED", None

    def destroy_if_disabled(self, ref: SecretVersionRef) -> bool:
        self._check_available()
        version = self._version(ref)
        if version is None or version.state != "DISABLED":
            return False
        version.state, version.value = "DESTROYED", None
        return True

    def destroy_all_versions(self, secret_id: str) -> int:
        self._check_available()
        secret = self._secrets.get(secret_id)
        if secret is None:
            return 0
        destroyed = 0
        for version in secret.versions:
            if version.state != "DESTROYED":
                version.state, version.value = "DESTROYED", None
                destroyed += 1
        return destroyed

    def delete_secret(self, secret_id: str) -> None:
        self._check_available()
        self._secrets.pop(secret_id, None)

    # --- internals -----------------------------------------------------------------------------------------------

    def _check_available(self) -> None:
        if self.unavailable:
            raise DependencyUnavailable("Secret Manager unavailable (fake outage)")

    def _version(self, ref: SecretVersionRef) -> _Version | None:
        found = _VERSION_NAME.fullmatch(ref.name)
        if found is None:
            raise PlatformError(f"Secret Manager rejected {ref.name}", code="secret_store_rejected")
        project, secret_id, version_id = found.groups()
        secret = self._secrets.get(secret_id) if project == self.project_id else None
        if secret is None:
            return None
        if version_id == "latest":
            number = len(secret.versions)
        elif version_id.isdigit():
            number = int(version_id)
        else:
            raise PlatformError(f"Secret Manager rejected {ref.name}", code="secret_store_rejected")
        return secret.versions[number - 1] if 1 <= number <= len(secret.versions) else None
