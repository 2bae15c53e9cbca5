"""A local gRPC Secret Manager: the ``google.cloud.secretmanager.v1.SecretManagerService`` calls our adapter makes.

Google ships no Secret Manager emulator, so the local stack and the integration tests run this server and point
the real client library at it (``SECRET_MANAGER_EMULATOR_HOST=host:port``). The installed client package has no
servicer base classes, so the methods are registered as generic handlers that (de)serialise with the client's own
proto-plus message types: what goes over the wire is exactly what Google's service exchanges.

Semantics live in ``devstack.secret_manager_state``. Logs name the method, resource and status, never a payload.

Run it for the local stack::

    python -m devstack.secret_manager_server --port 8085 --store .local/secrets.enc
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import google_crc32c
import grpc
from google.cloud.secretmanager_v1.types import resources, service
from google.protobuf import empty_pb2  # type: ignore[import-untyped]

from devstack.secret_manager_state import (
    SecretManagerError,
    SecretManagerState,
    StoredSecret,
    StoredVersion,
    VersionState,
)

log = logging.getLogger(__name__)

SERVICE_NAME = "google.cloud.secretmanager.v1.SecretManagerService"
_DEFAULT_PAGE_SIZE = 25_000
_STATES = {
    VersionState.ENABLED: resources.SecretVersion.State.ENABLED,
    VersionState.DISABLED: resources.SecretVersion.State.DISABLED,
    VersionState.DESTROYED: resources.SecretVersion.State.DESTROYED,
}


def _replication(secret: StoredSecret) -> resources.Replication:
    if secret.replica_locations is None:
        return resources.Replication(automatic=resources.Replication.Automatic())
    replicas = [resources.Replication.UserManaged.Replica(location=loc) for loc in secret.replica_locations]
    return resources.Replication(user_managed=resources.Replication.UserManaged(replicas=replicas))


def _replica_locations(replication: resources.Replication) -> list[str] | None:
    """``None`` for automatic replication, else the user-managed replicas' locations (validated by the state)."""
    if "user_managed" in replication:
        return [replica.location for replica in replication.user_managed.replicas]
    if "automatic" in replication:
        return None
    raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, "secret.replication needs automatic or user_managed")


def _secret_message(secret: StoredSecret) -> resources.Secret:
    return resources.Secret(
        name=secret.name,
        replication=_replication(secret),
        labels=secret.labels,
        create_time=secret.create_time,
    )


def _version_message(secret: StoredSecret, version: StoredVersion) -> resources.SecretVersion:
    message = resources.SecretVersion(
        name=f"{secret.name}/versions/{version.number}",
        create_time=version.create_time,
        state=_STATES[version.state],
        client_specified_payload_checksum=version.client_checksum,
    )
    if version.destroy_time is not None:
        message.destroy_time = version.destroy_time
    return message


class SecretManagerServicer:
    """One method per RPC, taking the request message and returning the response message."""

    def __init__(self, state: SecretManagerState) -> None:
        self.state = state

    def CreateSecret(self, request: service.CreateSecretRequest) -> resources.Secret:
        if "replication" not in request.secret:
            raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, "secret.replication is required")
        locations = _replica_locations(request.secret.replication)
        secret = self.state.create_secret(request.parent, request.secret_id, dict(request.secret.labels), locations)
        return _secret_message(secret)

    def GetSecret(self, request: service.GetSecretRequest) -> resources.Secret:
        return _secret_message(self.state.get_secret(request.name))

    def DeleteSecret(self, request: service.DeleteSecretRequest) -> empty_pb2.Empty:
        self.state.delete_secret(request.name)
        return empty_pb2.Empty()

    def AddSecretVersion(self, request: service.AddSecretVersionRequest) -> resources.SecretVersion:
        payload = request.payload
        crc32c = payload.data_crc32c if "data_crc32c" in payload else None
        secret, version = self.state.add_version(request.parent, payload.data, crc32c)
        return _version_message(secret, version)

    def GetSecretVersion(self, request: service.GetSecretVersionRequest) -> resources.SecretVersion:
        return _version_message(*self.state.get_version(request.name))

    def AccessSecretVersion(self, request: service.AccessSecretVersionRequest) -> service.AccessSecretVersionResponse:
        secret, version, data = self.state.access_version(request.name)
        return service.AccessSecretVersionResponse(
            name=f"{secret.name}/versions/{version.number}",
            payload=resources.SecretPayload(data=data, data_crc32c=google_crc32c.value(data)),
        )

    def ListSecretVersions(self, request: service.ListSecretVersionsRequest) -> service.ListSecretVersionsResponse:
        if request.filter:
            # Refuse rather than ignore: a caller relying on a filter must not get unfiltered results silently.
            raise SecretManagerError(grpc.StatusCode.INVALID_ARGUMENT, "filter is not supported locally")
        secret, versions = self.state.list_versions(request.parent)
        start = int(request.page_token) if request.page_token.isdigit() else 0
        end = start + (request.page_size or _DEFAULT_PAGE_SIZE)
        return service.ListSecretVersionsResponse(
            versions=[_version_message(secret, v) for v in versions[start:end]],
            next_page_token=str(end) if end < len(versions) else "",
            total_size=len(versions),
        )

    def DisableSecretVersion(self, request: service.DisableSecretVersionRequest) -> resources.SecretVersion:
        return _version_message(*self.state.set_state(request.name, VersionState.DISABLED))

    def EnableSecretVersion(self, request: service.EnableSecretVersionRequest) -> resources.SecretVersion:
        return _version_message(*self.state.set_state(request.name, VersionState.ENABLED))

    def DestroySecretVersion(self, request: service.DestroySecretVersionRequest) -> resources.SecretVersion:
        return _version_message(*self.state.set_state(request.name, VersionState.DESTROYED))


# method name -> (request type, response serializer)
_METHODS: dict[str, tuple[Any, Callable[[Any], bytes]]] = {
    "CreateSecret": (service.CreateSecretRequest, resources.Secret.serialize),
    "GetSecret": (service.GetSecretRequest, resources.Secret.serialize),
    "DeleteSecret": (service.DeleteSecretRequest, empty_pb2.Empty.SerializeToString),
    "AddSecretVersion": (service.AddSecretVersionRequest, resources.SecretVersion.serialize),
    "GetSecretVersion": (service.GetSecretVersionRequest, resources.SecretVersion.serialize),
    "AccessSecretVersion": (service.AccessSecretVersionRequest, service.AccessSecretVersionResponse.serialize),
    "ListSecretVersions": (service.ListSecretVersionsRequest, service.ListSecretVersionsResponse.serialize),
    "DisableSecretVersion": (service.DisableSecretVersionRequest, resources.SecretVersion.serialize),
    "EnableSecretVersion": (service.EnableSecretVersionRequest, resources.SecretVersion.serialize),
    "DestroySecretVersion": (service.DestroySecretVersionRequest, resources.SecretVersion.serialize),
}


def _handler(method: str, call: Callable[[Any], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            response = call(request)
        except SecretManagerError as e:
            log.info("%s -> %s", method, e.status.name, extra={"rpc": method, "status": e.status.name})
            context.abort(e.status, e.message)
        log.debug("%s -> OK", method, extra={"rpc": method})
        return response

    return handle


def _generic_handler(servicer: SecretManagerServicer) -> grpc.GenericRpcHandler:
    handlers = {
        method: grpc.unary_unary_rpc_method_handler(
            _handler(method, getattr(servicer, method)),
            request_deserializer=request_type.deserialize,
            response_serializer=serialize,
        )
        for method, (request_type, serialize) in _METHODS.items()
    }
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)


@dataclass
class RunningSecretServer:
    """A started server: point clients at ``address``; ``stop()`` (or leaving the ``with`` block) shuts it down."""

    address: str
    """``host:port`` the server listens on, as ``SECRET_MANAGER_EMULATOR_HOST`` expects it."""
    state: SecretManagerState
    _server: grpc.Server

    def stop(self, grace_s: float | None = None) -> None:
        """Stop serving; in-flight calls get ``grace_s`` seconds to finish."""
        self._server.stop(grace_s).wait()

    def __enter__(self) -> RunningSecretServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_server(
    host: str = "127.0.0.1",
    port: int = 0,
    store_path: Path | None = None,
    *,
    servicer_class: type[SecretManagerServicer] = SecretManagerServicer,
) -> RunningSecretServer:
    """Start the server in background threads.

    Args:
        host: Interface to bind; keep the loopback default outside containers.
        port: Port to bind; 0 picks a free one (see ``RunningSecretServer.address``).
        store_path: If set, state is loaded from and persisted to this file, encrypted (key in ``<file>.key``);
            otherwise it lives in memory only.
        servicer_class: Tests pass a subclass to simulate faults the real service can show (e.g. corruption).
    """
    state = SecretManagerState(store_path)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((_generic_handler(servicer_class(state)),))
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind the Secret Manager server to {host}:{port}")
    server.start()
    address = f"{host}:{bound}"
    log.info("Secret Manager server listening", extra={"address": address, "persistent": store_path is not None})
    return RunningSecretServer(address=address, state=state, _server=server)


def main(argv: list[str] | None = None) -> None:
    """CLI for the local stack: serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--store", type=Path, default=None, help="encrypted state file (default: in memory)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with start_server(args.host, args.port, args.store) as running:
        log.info("serving on %s (Ctrl-C to stop)", running.address)
        done.wait()


if __name__ == "__main__":
    main()
