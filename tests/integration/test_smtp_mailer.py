"""``SmtpMailer`` against real SMTP servers on loopback: the local sink, and a scripted server for refusals.

What a caller relies on: a message arrives with our sender, logging in works, and failures come back as the right
kind (transient → ``DependencyUnavailable``, so the task is retried; permanent → ``mail_rejected`` / misconfigured).
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import SecretStr

from devstack.processes import free_port
from devstack.smtp_sink import RunningSink, start_smtp_sink
from shared.adapters.smtp_mailer import SmtpMailer
from shared.config import Settings
from shared.errors import DependencyUnavailable, PlatformError

PASSWORD = "relay-password-do-not-log-7c1e"


def _message() -> EmailMessage:
    message = EmailMessage()
    message["To"] = "ada@example.com, bob@example.com"
    message["Subject"] = "Action needed"
    message.set_content("Your OpenAI admin key stopped working.\n")
    return message


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[RunningSink]:
    with start_smtp_sink(folder=tmp_path / "mail") as running:
        yield running


def test_a_message_arrives_with_our_sender_after_logging_in(
    sink: RunningSink, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_username="reports",
        smtp_password=SecretStr(PASSWORD),
        mail_from="Usage Tracking <reports@example.com>",
    )

    SmtpMailer(settings).send(_message())

    [delivery] = sink.deliveries()
    assert delivery.message["From"] == "Usage Tracking <reports@example.com>"
    assert delivery.message["Subject"] == "Action needed"
    assert sorted(delivery.rcpt_tos) == ["ada@example.com", "bob@example.com"]
    assert delivery.auth_login == "reports"
    assert PASSWORD not in caplog.text


def test_an_unreachable_relay_is_transient() -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port())

    with pytest.raises(DependencyUnavailable):
        SmtpMailer(settings, timeout_s=2).send(_message())


class _ScriptedSmtp(socketserver.ThreadingTCPServer):
    """Answers the SMTP dialogue with fixed replies; ``rcpt_reply`` is the answer to every RCPT TO."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, rcpt_reply: str) -> None:
        self.rcpt_reply = rcpt_reply
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)


class _ScriptedHandler(socketserver.StreamRequestHandler):
    server: _ScriptedSmtp

    def _reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self._reply("220 scripted ESMTP")
        for raw in self.rfile:
            command = raw.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self._reply("250 scripted")
            elif command.startswith("MAIL"):
                self._reply("250 OK")
            elif command.startswith("RCPT"):
                self._reply(self.server.rcpt_reply)
            elif command.startswith("QUIT"):
                self._reply("221 bye")
                return
            else:
                self._reply("503 bad sequence")


@pytest.fixture
def scripted(request: pytest.FixtureRequest) -> Iterator[_ScriptedSmtp]:
    server = _ScriptedSmtp(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("scripted", "error", "code"),
    [
        ("450 4.2.1 mailbox busy, try later", DependencyUnavailable, "dependency_unavailable"),
        ("550 5.1.1 no such user", PlatformError, "mail_rejected"),
    ],
    indirect=["scripted"],
    ids=["4xx-transient", "5xx-permanent"],
)
def test_refused_recipients_are_transient_or_permanent_by_reply_code(
    scripted: _ScriptedSmtp, error: type[PlatformError], code: str
) -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=scripted.server_address[1])

    with pytest.raises(error) as raised:
        SmtpMailer(settings, timeout_s=5).send(_message())

    assert raised.value.code == code
    assert "example.com" not in raised.value.message
