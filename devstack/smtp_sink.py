"""The local stack's mail server: accepts every message on loopback and keeps it as an ``.eml`` file.

Nothing is relayed. Each message becomes two files in the sink's folder, named by arrival so that a plain sort of
the names is the arrival order::

    20250102T080000.123456Z-000001-4242.eml    the DATA bytes exactly as the client sent them (after SMTP
                                               dot-unstuffing), so the file is the message the mailer built
    20250102T080000.123456Z-000001-4242.json   the envelope: {"mail_from", "rcpt_tos", "received_at", "auth_login"}

The envelope lives in a sidecar rather than in prepended ``X-Sink-*`` headers so the ``.eml`` stays byte-identical
to what was sent (Bcc recipients appear only in the envelope). The name is the UTC arrival time, a per-process
sequence number and the process id, so two sinks writing one folder cannot collide. Both files are written under a
temporary name and renamed, the sidecar first: a reader never sees a half-written message.

AUTH PLAIN and LOGIN are offered without TLS and accept any credentials, so a mailer configured with
``SMTP_USERNAME``/``SMTP_PASSWORD`` can be exercised; the sidecar records the login name, the password is dropped at
once. Plain SMTP only (no STARTTLS), and only on a loopback address: the sink accepts mail from anyone who can reach
it and writes it to disk.

    python -m devstack.smtp_sink --port 2525 --folder .local/mail
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import itertools
import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

log = logging.getLogger(__name__)

SERVER_NAME = "smtp-sink.local"
"""Name in the greeting; set explicitly because the default is a DNS lookup of this machine's name."""

_sequence = itertools.count(1)
_sequence_lock = threading.Lock()


@dataclass(frozen=True)
class Delivery:
    """One stored message with its envelope."""

    path: Path
    mail_from: str
    rcpt_tos: tuple[str, ...]
    received_at: datetime
    auth_login: str | None
    message: EmailMessage


def read_deliveries(folder: Path) -> list[Delivery]:
    """Every message stored in ``folder``, in arrival order (for readers of a sink run by another process).

    Messages are parsed with line endings turned into ``\n``, as the email package expects; the file is unchanged.
    """
    deliveries = []
    for eml in sorted(folder.glob("*.eml")):
        envelope = json.loads(eml.with_suffix(".json").read_text())
        # SMTP lines end in CRLF; the email package expects "\n", else every text part would carry "\r\n".
        message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes().replace(b"\r\n", b"\n"))
        assert isinstance(message, EmailMessage)  # policy.default builds EmailMessage objects
        deliveries.append(
            Delivery(
                path=eml,
                mail_from=envelope["mail_from"],
                rcpt_tos=tuple(envelope["rcpt_tos"]),
                received_at=datetime.fromisoformat(envelope["received_at"]),
                auth_login=envelope["auth_login"],
                message=message,
            )
        )
    return deliveries


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def _accept_any_credentials(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """Accept every login; keep only the login name so the password is not held anywhere."""
    login = auth_data.login.decode(errors="replace") if isinstance(auth_data, LoginPassword) else None
    return AuthResult(success=True, auth_data=login)


class _FolderHandler:
    """aiosmtpd handler: every DATA becomes an ``.eml`` and its envelope sidecar."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        received_at = datetime.now(UTC)
        with _sequence_lock:
            number = next(_sequence)
        stem = f"{received_at:%Y%m%dT%H%M%S.%fZ}-{number:06d}-{os.getpid()}"
        sidecar = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "received_at": received_at.isoformat(),
            "auth_login": session.auth_data if isinstance(session.auth_data, str) else None,
        }
        _write_atomically(self.folder / f"{stem}.json", json.dumps(sidecar, indent=2).encode())
        _write_atomically(self.folder / f"{stem}.eml", envelope.original_content or b"")
        log.info("stored %s.eml from %s to %d recipient(s)", stem, envelope.mail_from, len(envelope.rcpt_tos))
        return "250 2.0.0 Message accepted"


class _Controller(Controller):
    """aiosmtpd's threaded controller, made to work with port 0 (it pokes its own port once started)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _DropDeprecationNoise(logging.Filter):
    """aiosmtpd logs a deprecation warning of its own API on every successful AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


class RunningSink:
    """A started sink; a context manager that stops it on exit."""

    def __init__(self, controller: _Controller, folder: Path) -> None:
        self._controller = controller
        self.host: str = controller.hostname
        self.port: int = controller.port
        self.folder = folder
        self._stopped = False

    def deliveries(self) -> list[Delivery]:
        """Messages in the folder with their envelopes, in arrival order (earlier runs' messages included)."""
        return read_deliveries(self.folder)

    def messages(self) -> list[EmailMessage]:
        """Messages in the folder, parsed, in arrival order."""
        return [delivery.message for delivery in self.deliveries()]

    def wait_for(self, count: int, *, timeout_s: float = 10.0) -> list[EmailMessage]:
        """Wait until the folder holds at least ``count`` messages; return them all.

        Raises:
            TimeoutError: fewer than ``count`` arrived in time.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            messages = self.messages()
            if len(messages) >= count or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if len(messages) < count:
            raise TimeoutError(f"{len(messages)} message(s) in {self.folder} after {timeout_s:.0f}s, wanted {count}")
        return messages

    def stop(self) -> None:
        """Stop listening; messages already accepted stay in the folder."""
        if not self._stopped:
            self._stopped = True
            self._controller.stop()

    def __enter__(self) -> RunningSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def start_smtp_sink(host: str = "127.0.0.1", port: int = 0, *, folder: Path) -> RunningSink:
    """Start a sink on ``host:port`` (port 0 picks a free one) writing into ``folder`` (created if missing).

    Raises:
        ValueError: ``host`` is not a loopback address.
        OSError: the port cannot be bound.
    """
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the SMTP sink listens on loopback only, not on {host}")
    folder.mkdir(parents=True, exist_ok=True)
    aiosmtpd_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _DropDeprecationNoise) for f in aiosmtpd_log.filters):
        aiosmtpd_log.addFilter(_DropDeprecationNoise())
    controller = _Controller(
        _FolderHandler(folder),
        hostname=host,
        port=port,
        server_hostname=SERVER_NAME,
        authenticator=_accept_any_credentials,
        auth_require_tls=False,
    )
    controller.start()
    log.info("SMTP sink listening on %s:%d, writing to %s", host, controller.port, folder)
    return RunningSink(controller, folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Accept every SMTP message on loopback and store it as .eml.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--folder", type=Path, default=Path(".local/mail"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # aiosmtpd logs every command line at INFO; only its warnings are worth a developer's attention.
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with start_smtp_sink(args.host, args.port, folder=args.folder):
        while not stopping.wait(0.5):  # a timed wait so the signal handler runs promptly
            pass
    log.info("SMTP sink stopped")


if __name__ == "__main__":
    main()
