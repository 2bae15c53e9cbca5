"""``SecretManagerStore`` and the real client library, over gRPC, against the in-process Secret Manager server.

The behaviour shared with the fake is in ``test_secret_store_contract.py``; this file covers what only the real
path has: what is stored on the server (labels, replication, checksums), error translation for gRPC statuses,
payloads kept out of logs, and the local server's encrypted persistence.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager_v1
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)
from google.cloud.secretmanager_v1.types import service
from pydantic import SecretStr

from devstack.secret_manager_server import SecretManagerServicer, start_server
from devstack.secret_manager_state import SecretManagerError
from devstack.secret_manager_vault import VaultError
from shared.adapters.secret_manager import SecretManagerStore
from shared.config import Settings
from shared.domain.connections.secret_naming import secret_id_for, secret_labels
from shared.errors import DependencyUnavailable, NotFound, PlatformError
from shared.ports import SecretVersionRef
from tests.support.secret_manager import secret_manager_store

CANARY = "sk-admin-CANARY-5b1e9c2a7d4f4e0c9a8b"
CANARY_FORMS = (CANARY, base64.b64encode(CANARY.encode()).decode(), CANARY.encode().hex())
ENTERPRISE = "ent_0123456789abcdef0123"
SECRET_ID = secret_id_for(ENTERPRISE, "anthropic")
LABELS = secret_labels(ENTERPRISE, "anthropic")
TRANSPORT_LOGGER = "google.cloud.secretmanager_v1.services.secret_manager_service.transports.grpc"


def raw_client(address: str) -> secretmanager_v1.SecretManagerServiceClient:
    """A second, independent client to look at what the server holds."""
    transport = SecretManagerServiceGrpcTransport(
        channel=grpc.insecure_channel(address), credentials=AnonymousCredentials()
    )
    return secretmanager_v1.SecretManagerServiceClient(transport=transport)


@pytest.fixture
def running() -> Iterator[tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient]]:
    with secret_manager_store() as (store, server):
        client = raw_client(server.address)
        yield store, client
        client.transport.close()


def test_first_key_creates_the_secret_with_labels_and_replicas_in_the_deployment_region(
    running: tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient],
) -> None:
    """Automatic replication counts as "global" for the gcp.resourceLocations organisation policy and is refused
    where that policy restricts locations; user-managed replicas are admitted when every location is
    (https://cloud.google.com/secret-manager/docs/choosing-replication)."""
    store, client = running

    store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)

    secret = client.get_secret(name=f"projects/demo-test/secrets/{SECRET_ID}")
    assert dict(secret.labels) == {
        "app": "enterprise-usage-tracking",
        "enterprise": ENTERPRISE,
        "provider": "anthropic",
    }
    assert "automatic" not in secret.replication
    assert [r.location for r in secret.replication.user_managed.replicas] == [Settings().region]


def test_secrets_are_replicated_in_the_configured_locations() -> None:
    with secret_manager_store(replica_locations=("europe-west1", "europe-west4")) as (store, server):
        store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)
        client = raw_client(server.address)
        secret = client.get_secret(name=f"projects/demo-test/secrets/{SECRET_ID}")
        client.transport.close()

    assert [r.location for r in secret.replication.user_managed.replicas] == ["europe-west1", "europe-west4"]


def test_the_local_server_refuses_user_managed_replication_without_replicas(
    running: tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient],
) -> None:
    """``Replication.UserManaged.replicas``: "Required ... Cannot be empty" (the API reference of the client)."""
    _, client = running
    empty = secretmanager_v1.Replication(user_managed=secretmanager_v1.Replication.UserManaged(replicas=[]))
    with pytest.raises(gexc.InvalidArgument):
        client.create_secret(
            parent="projects/demo-test", secret_id="empty-replicas", secret=secretmanager_v1.Secret(replication=empty)
        )


def test_versions_are_added_with_a_checksum(
    running: tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient],
) -> None:
    store, client = running

    ref = store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)

    assert client.get_secret_version(name=ref.name).client_specified_payload_checksum


def test_server_checks_and_returns_crc32c_checksums(
    running: tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient],
) -> None:
    store, client = running
    ref = store.add_version(SECRET_ID, SecretStr("first"), LABELS)

    accepted = client.add_secret_version(
        parent=f"projects/demo-test/secrets/{ref.secret_id}",
        payload=secretmanager_v1.SecretPayload(data=b"123456789", data_crc32c=0xE3069283),
    )
    assert client.access_secret_version(name=accepted.name).payload.data_crc32c == 0xE3069283
    with pytest.raises(gexc.InvalidArgument):
        client.add_secret_version(
            parent=f"projects/demo-test/secrets/{ref.secret_id}",
            # 0xE3069283 is CRC32C's published check value for "123456789"; one bit off must be refused.
            payload=secretmanager_v1.SecretPayload(data=b"123456789", data_crc32c=0xE3069283 ^ 1),
        )


def test_destroyed_versions_lose_their_payload_for_good(
    running: tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient],
) -> None:
    store, client = running
    ref = store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)
    store.disable_version(ref)
    client.enable_secret_version(name=ref.name)  # a disabled version can be re-enabled...
    assert store.access(ref).get_secret_value() == CANARY

    store.destroy_all_versions(SECRET_ID)

    with pytest.raises(gexc.FailedPrecondition):
        client.enable_secret_version(name=ref.name)  # ...a destroyed one cannot
    version = client.get_secret_version(name=ref.name)
    assert version.state == secretmanager_v1.SecretVersion.State.DESTROYED
    assert "destroy_time" in version


def test_creating_an_existing_secret_is_already_exists(
    running: tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient],
) -> None:
    store, client = running
    store.add_version(SECRET_ID, SecretStr("v1"), LABELS)

    with pytest.raises(gexc.AlreadyExists):
        client.create_secret(
            parent="projects/demo-test",
            secret_id=SECRET_ID,
            secret=secretmanager_v1.Secret(replication={"automatic": {}}),
        )


def test_version_listing_pages_newest_first(
    running: tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient],
) -> None:
    store, client = running
    for n in range(5):
        store.add_version(SECRET_ID, SecretStr(f"v{n}"), LABELS)

    pager = client.list_secret_versions(request={"parent": f"projects/demo-test/secrets/{SECRET_ID}", "page_size": 2})

    assert [v.name.rsplit("/", 1)[1] for v in pager] == ["5", "4", "3", "2", "1"]


class CorruptingServicer(SecretManagerServicer):
    """Returns a wrong checksum, as a payload corrupted in transit or at rest would show."""

    def AccessSecretVersion(self, request: service.AccessSecretVersionRequest) -> service.AccessSecretVersionResponse:
        response = super().AccessSecretVersion(request)
        response.payload.data_crc32c ^= 1
        return response


def test_access_refuses_a_payload_that_fails_its_checksum() -> None:
    with secret_manager_store(servicer_class=CorruptingServicer) as (store, _server):
        ref = store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)

        with pytest.raises(DependencyUnavailable) as raised:
            store.access(ref)

    assert raised.value.code == "secret_checksum_mismatch"
    assert CANARY not in str(raised.value)


def _failing_servicer(status: grpc.StatusCode) -> type[SecretManagerServicer]:
    class Failing(SecretManagerServicer):
        def AccessSecretVersion(
            self, request: service.AccessSecretVersionRequest
        ) -> service.AccessSecretVersionResponse:
            raise SecretManagerError(status, "simulated")

    return Failing


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [
        (grpc.StatusCode.UNAVAILABLE, DependencyUnavailable, "dependency_unavailable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, DependencyUnavailable, "dependency_unavailable"),
        (grpc.StatusCode.PERMISSION_DENIED, PlatformError, "secret_store_permission_denied"),
        (grpc.StatusCode.UNAUTHENTICATED, PlatformError, "secret_store_permission_denied"),
        (grpc.StatusCode.FAILED_PRECONDITION, NotFound, "secret_version_unavailable"),
        (grpc.StatusCode.NOT_FOUND, NotFound, "secret_not_found"),
        (grpc.StatusCode.DATA_LOSS, PlatformError, "secret_store_error"),
    ],
)
def test_grpc_statuses_become_platform_errors(
    status: grpc.StatusCode, expected: type[PlatformError], code: str
) -> None:
    with secret_manager_store(servicer_class=_failing_servicer(status), timeout_s=0.5) as (store, _server):
        ref = store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)

        with pytest.raises(expected) as raised:
            store.access(ref)

    assert raised.value.code == code
    assert raised.value.transient is (expected is DependencyUnavailable)
    assert isinstance(raised.value.__cause__, gexc.GoogleAPIError)


def test_an_unreachable_server_is_a_transient_error() -> None:
    with start_server() as server:
        address = server.address
    store = SecretManagerStore(Settings(secret_manager_emulator_host=address), timeout_s=0.5)
    try:
        with pytest.raises(DependencyUnavailable):
            store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)
        with pytest.raises(DependencyUnavailable):
            store.access(SecretVersionRef(f"projects/demo-test/secrets/{SECRET_ID}/versions/1"))
    finally:
        store.close()


# --- Payloads never reach logs ---------------------------------------------------------------------------------


class RawRecords(logging.Handler):
    """Keeps every record's full text, including extra fields, before any redaction can rewrite it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.texts.append(f"{record.getMessage()}\n{vars(record)!r}\n{exc}")


@pytest.fixture
def raw_logs(caplog: pytest.LogCaptureFixture) -> Iterator[RawRecords]:
    """Everything logged at DEBUG, by us and by the client library, as if library debug logging were on."""
    handler = RawRecords()
    root, google, transport = logging.getLogger(), logging.getLogger("google"), logging.getLogger(TRANSPORT_LOGGER)
    caplog.set_level(logging.DEBUG)
    previous_level = transport.level
    transport.setLevel(logging.DEBUG)
    root.handlers.insert(0, handler)  # ahead of the capture handler, whose redaction rewrites records in place
    google.addHandler(handler)  # the client library stops "google" records from propagating to the root
    yield handler
    root.removeHandler(handler)
    google.removeHandler(handler)
    transport.setLevel(previous_level)


def test_a_key_never_appears_in_logs_reprs_or_errors(raw_logs: RawRecords, caplog: pytest.LogCaptureFixture) -> None:
    with secret_manager_store() as (store, _server):
        first = store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)
        second = store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)
        value = store.access(first)
        store.disable_version(first)
        with pytest.raises(NotFound) as raised:
            store.access(first)
        store.destroy_all_versions(SECRET_ID)
        store.delete_secret(SECRET_ID)

    assert value.get_secret_value() == CANARY
    assert any("secret version added" in text for text in raw_logs.texts)  # the capture did see the calls
    shown = [repr(first), str(second), repr(value), str(value), repr(raised.value), str(raised.value)]
    for text in [*raw_logs.texts, *shown, caplog.text]:
        assert not any(form in text for form in CANARY_FORMS)


# --- Encrypted persistence of the local server -----------------------------------------------------------------


def test_versions_survive_a_restart_and_the_store_file_is_encrypted(tmp_path: Path) -> None:
    store_file = tmp_path / "secrets.enc"
    with secret_manager_store(store_path=store_file) as (store, _server):
        first = store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)
        second = store.add_version(SECRET_ID, SecretStr(CANARY + "-2"), LABELS)
        store.disable_version(first)

    content = store_file.read_bytes()
    assert not any(form.encode() in content for form in CANARY_FORMS)
    assert SECRET_ID.encode() not in content  # names are encrypted too
    key_file = tmp_path / "secrets.enc.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store_file.stat().st_mode) == 0o600

    with secret_manager_store(store_path=store_file) as (store, _server):
        assert store.access(second).get_secret_value() == CANARY + "-2"
        with pytest.raises(NotFound):
            store.access(first)  # still disabled
        assert store.add_version(SECRET_ID, SecretStr("third"), LABELS).version == "3"


def test_a_store_without_its_key_is_refused_not_overwritten(tmp_path: Path) -> None:
    store_file = tmp_path / "secrets.enc"
    with secret_manager_store(store_path=store_file) as (store, _server):
        store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)
    before = store_file.read_bytes()
    os.remove(tmp_path / "secrets.enc.key")

    with pytest.raises(VaultError):
        start_server(store_path=store_file)

    assert store_file.read_bytes() == before


def test_a_superseded_version_re_enabled_during_its_grace_is_kept(
    running: tuple[SecretManagerStore, secretmanager_v1.SecretManagerServiceClient],
) -> None:
    """An operator may re-enable a replaced key during the grace period (the reason for having one)."""
    store, client = running
    replaced = store.add_version(SECRET_ID, SecretStr(CANARY), LABELS)
    store.add_version(SECRET_ID, SecretStr("sk-admin-second-0000000000"), LABELS)
    store.disable_version(replaced)
    client.enable_secret_version(name=replaced.name)

    assert store.destroy_if_disabled(replaced) is False
    assert store.access(replaced).get_secret_value() == CANARY
