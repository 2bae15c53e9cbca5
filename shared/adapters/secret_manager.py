"""``SecretStore`` on Google Secret Manager: one secret per (enterprise, provider), one version per admin key.

The client is created lazily, once per instance, behind ``SecretManagerStore._client``. With
``SECRET_MANAGER_EMULATOR_HOST`` set (the local stack and the tests, see ``devstack.secret_manager_server``) it talks
plain gRPC to that address with anonymous credentials; otherwise it uses the default credentials of the function's
service account.

Payloads are checksummed both ways with CRC32C, as Google recommends: Secret Manager rejects an added version whose
data does not match, and ``access`` rejects a response whose data does not match. Values stay ``SecretStr`` on our
side of the call; messages, logs and exceptions name secrets and versions, never their data. The client library can
log whole requests and responses (payloads included, base64-encoded) at DEBUG level; that logging is switched off
for this client when it is created, see ``_keep_payloads_out_of_logs``.

Errors are translated (``raise ... from``):

* ``NotFound`` (missing secret/version) and ``FailedPrecondition`` (version disabled or destroyed) → ``NotFound``;
* ``ServiceUnavailable``, ``DeadlineExceeded``, ``ResourceExhausted``, ``InternalServerError``, ``Aborted``,
  retries exhausted, auth transport failures → ``DependencyUnavailable`` (transient);
* ``PermissionDenied``/``Unauthenticated`` → ``PlatformError`` ``secret_store_permission_denied``;
* ``InvalidArgument`` → ``PlatformError`` ``secret_store_rejected``; anything else → ``secret_store_error``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import google_crc32c
import grpc
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager_v1
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)
from pydantic import SecretStr

from shared.config import Settings
from shared.domain.connections.secret_naming import secret_id_for, secret_labels
from shared.errors import DependencyUnavailable, NotFound, PlatformError
from shared.ports import SecretVersionRef

__all__ = ["SecretManagerStore", "secret_id_for", "secret_labels"]

log = logging.getLogger(__name__)

_CLIENT_LOGGER = "google.cloud.secretmanager_v1"
_TRANSPORT_LOGGERS = tuple(
    f"{_CLIENT_LOGGER}.services.secret_manager_service.transports.{name}" for name in ("grpc", "grpc_asyncio", "rest")
)
_DESTROYED = secretmanager_v1.SecretVersion.State.DESTROYED
_DISABLED = secretmanager_v1.SecretVersion.State.DISABLED


class _DropPayloadRecords(logging.Filter):
    """Drops the client library's request/response debug records: they carry payloads."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (hasattr(record, "request") or hasattr(record, "response"))


def _keep_payloads_out_of_logs() -> None:
    """Stop the client library from serialising and logging requests and responses (payloads included).

    Its DEBUG logging is enabled by any DEBUG root level or by ``GOOGLE_SDK_PYTHON_LOGGING_SCOPE``; an explicit
    INFO level on the client's logger beats both, and the filter still drops the records if someone lowers it.
    """
    client_logger = logging.getLogger(_CLIENT_LOGGER)
    if client_logger.level in (logging.NOTSET, logging.DEBUG):
        client_logger.setLevel(logging.INFO)
    for name in _TRANSPORT_LOGGERS:
        transport_logger = logging.getLogger(name)
        if not any(isinstance(f, _DropPayloadRecords) for f in transport_logger.filters):
            transport_logger.addFilter(_DropPayloadRecords())


@contextmanager
def _translated(action: str, resource: str) -> Iterator[None]:
    """Translate Google errors into the platform's; ``resource`` is a secret or version name, never a value."""
    try:
        yield
    except gexc.NotFound as e:
        raise NotFound(f"cannot {action} {resource}: not found", code="secret_not_found") from e
    except gexc.FailedPrecondition as e:
        raise NotFound(
            f"cannot {action} {resource}: the version is disabled or destroyed", code="secret_version_unavailable"
        ) from e
    except (
        gexc.ServiceUnavailable,
        gexc.DeadlineExceeded,
        gexc.ResourceExhausted,
        gexc.InternalServerError,
        gexc.Aborted,
        gexc.RetryError,
        auth_exceptions.TransportError,
    ) as e:
        raise DependencyUnavailable(f"Secret Manager unavailable: cannot {action} {resource}") from e
    except (gexc.PermissionDenied, gexc.Unauthenticated, auth_exceptions.RefreshError) as e:
        raise PlatformError(
            f"not allowed to {action} {resource} in Secret Manager", code="secret_store_permission_denied"
        ) from e
    except gexc.InvalidArgument as e:
        raise PlatformError(f"Secret Manager rejected {action} {resource}", code="secret_store_rejected") from e
    except gexc.GoogleAPICallError as e:
        raise PlatformError(f"Secret Manager failed to {action} {resource}", code="secret_store_error") from e


class SecretManagerStore:
    """``SecretStore`` backed by Secret Manager in the settings' project.

    Args:
        settings: Provides ``project_id``, ``secret_locations`` (the replicas of the secrets it creates) and,
            locally, ``secret_manager_emulator_host``.
        timeout_s: Deadline of each call, and of the retries of idempotent calls on transient errors.
    """

    def __init__(self, settings: Settings, *, timeout_s: float = 10.0) -> None:
        self._project_path = f"projects/{settings.project_id}"
        self._emulator_host = settings.secret_manager_emulator_host
        # User-managed replication in named regions: automatic replication counts as "global" for the
        # gcp.resourceLocations organisation policy and is refused where that policy restricts locations.
        self._replication = {"user_managed": {"replicas": [{"location": loc} for loc in settings.secret_locations]}}
        self._timeout_s = timeout_s
        # Idempotent calls retry on transient errors; AddSecretVersion does not, a retry could add a duplicate.
        self._retry = Retry(
            predicate=if_exception_type(gexc.ServiceUnavailable, gexc.ResourceExhausted),
            initial=0.1,
            maximum=2.0,
            multiplier=2.0,
            timeout=timeout_s,
        )
        self._lock = threading.Lock()
        self._client_instance: secretmanager_v1.SecretManagerServiceClient | None = None

    def _client(self) -> secretmanager_v1.SecretManagerServiceClient:
        """The instance's client, created on first use."""
        with self._lock:
            if self._client_instance is None:
                _keep_payloads_out_of_logs()
                try:
                    if self._emulator_host:
                        transport = SecretManagerServiceGrpcTransport(
                            channel=grpc.insecure_channel(self._emulator_host), credentials=AnonymousCredentials()
                        )
                        self._client_instance = secretmanager_v1.SecretManagerServiceClient(transport=transport)
                    else:
                        self._client_instance = secretmanager_v1.SecretManagerServiceClient()
                except auth_exceptions.DefaultCredentialsError as e:
                    raise PlatformError("no credentials for Secret Manager", code="secret_store_misconfigured") from e
            return self._client_instance

    def close(self) -> None:
        """Close the client's channel, if one was opened; a later call opens a new one."""
        with self._lock:
            if self._client_instance is not None:
                self._client_instance.transport.close()
                self._client_instance = None

    def _secret_path(self, secret_id: str) -> str:
        return f"{self._project_path}/secrets/{secret_id}"

    def add_version(self, secret_id: str, value: SecretStr, labels: Mapping[str, str]) -> SecretVersionRef:
        """Create the secret if missing (replicas in ``secret_locations``, ``labels``); add ``value`` as a version."""
        client = self._client()
        data = value.get_secret_value().encode("utf-8")
        with _translated("add a version to", secret_id):
            try:
                client.create_secret(
                    request={
                        "parent": self._project_path,
                        "secret_id": secret_id,
                        "secret": {"replication": self._replication, "labels": dict(labels)},
                    },
                    retry=self._retry,
                    timeout=self._timeout_s,
                )
                log.info("secret created", extra={"secret_id": secret_id})
            except gexc.AlreadyExists:
                pass  # the usual case for a key rotation; its labels were set when it was created
            version = client.add_secret_version(
                request={
                    "parent": self._secret_path(secret_id),
                    "payload": {"data": data, "data_crc32c": google_crc32c.value(data)},
                },
                retry=None,
                timeout=self._timeout_s,
            )
        ref = SecretVersionRef(name=version.name)
        log.info("secret version added", extra={"secret_id": secret_id, "version": ref.version})
        return ref

    def access(self, ref: SecretVersionRef) -> SecretStr:
        """The value of an enabled version; ``NotFound`` if it is disabled, destroyed or missing."""
        client = self._client()
        with _translated("access", ref.name):
            response = client.access_secret_version(
                request={"name": ref.name}, retry=self._retry, timeout=self._timeout_s
            )
        payload = response.payload
        if "data_crc32c" in payload and google_crc32c.value(payload.data) != payload.data_crc32c:
            log.warning("secret payload checksum mismatch", extra={"version_name": ref.name})
            raise DependencyUnavailable(
                f"Secret Manager returned a corrupted payload for {ref.name}", code="secret_checksum_mismatch"
            )
        try:
            text = payload.data.decode("utf-8")
        except UnicodeDecodeError:
            # ``from None``: the decode error holds the raw bytes, which must not travel with the exception.
            raise PlatformError(f"{ref.name} does not hold UTF-8 text", code="secret_not_text") from None
        return SecretStr(text)

    def disable_version(self, ref: SecretVersionRef) -> None:
        """Disable one version. Idempotent: a disabled, destroyed or missing version already cannot be accessed."""
        client = self._client()
        with _translated("disable", ref.name):
            try:
                client.disable_secret_version(request={"name": ref.name}, retry=self._retry, timeout=self._timeout_s)
            except (gexc.FailedPrecondition, gexc.NotFound):
                log.info("secret version already destroyed or gone", extra={"version_name": ref.name})
                return
        log.info("secret version disabled", extra={"version_name": ref.name})

    def destroy_version(self, ref: SecretVersionRef) -> None:
        """Destroy one version (its payload is gone for good). Idempotent: destroyed or missing is done."""
        client = self._client()
        with _translated("destroy", ref.name):
            try:
                client.destroy_secret_version(request={"name": ref.name}, retry=self._retry, timeout=self._timeout_s)
            except (gexc.FailedPrecondition, gexc.NotFound):
                log.info("secret version already destroyed or gone", extra={"version_name": ref.name})
                return
        log.info("secret version destroyed", extra={"version_name": ref.name})

    def destroy_if_disabled(self, ref: SecretVersionRef) -> bool:
        """Destroy a version only while it is disabled; ``False`` (nothing done) when re-enabled, destroyed or gone.

        The destroy carries the etag read with the state, so an operator re-enabling the version in between makes
        Secret Manager refuse it rather than destroy an enabled key (either refusal leaves the key in place).
        """
        client = self._client()
        with _translated("destroy", ref.name):
            try:
                version = client.get_secret_version(
                    request={"name": ref.name}, retry=self._retry, timeout=self._timeout_s
                )
            except gexc.NotFound:
                return False
            if version.state != _DISABLED:
                log.info(
                    "superseded secret version kept", extra={"version_name": ref.name, "state": version.state.name}
                )
                return False
            try:
                client.destroy_secret_version(
                    request={"name": ref.name, "etag": version.etag}, retry=self._retry, timeout=self._timeout_s
                )
            except (gexc.FailedPrecondition, gexc.NotFound, gexc.Aborted):
                log.info("superseded secret version changed meanwhile; kept", extra={"version_name": ref.name})
                return False
        log.info("superseded secret version destroyed", extra={"version_name": ref.name})
        return True

    def destroy_all_versions(self, secret_id: str) -> int:
        """Destroy every version not destroyed yet (payloads are gone for good); returns how many, 0 if none."""
        client = self._client()
        destroyed = 0
        with _translated("destroy the versions of", secret_id):
            try:
                pager = client.list_secret_versions(
                    request={"parent": self._secret_path(secret_id)}, retry=self._retry, timeout=self._timeout_s
                )
            except gexc.NotFound:
                return 0
            for version in pager:
                if version.state == _DESTROYED:
                    continue
                try:
                    client.destroy_secret_version(
                        request={"name": version.name}, retry=self._retry, timeout=self._timeout_s
                    )
                except (gexc.FailedPrecondition, gexc.NotFound):
                    continue  # destroyed (or deleted) concurrently: not ours to count
                destroyed += 1
        log.info("secret versions destroyed", extra={"secret_id": secret_id, "count": destroyed})
        return destroyed

    def delete_secret(self, secret_id: str) -> None:
        """Delete the secret and all its versions; idempotent."""
        client = self._client()
        with _translated("delete", secret_id):
            try:
                client.delete_secret(
                    request={"name": self._secret_path(secret_id)}, retry=self._retry, timeout=self._timeout_s
                )
            except gexc.NotFound:
                log.info("secret already deleted", extra={"secret_id": secret_id})
                return
        log.info("secret deleted", extra={"secret_id": secret_id})
