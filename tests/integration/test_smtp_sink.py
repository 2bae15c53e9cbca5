"""The local stack's SMTP sink: what a mailer sends over real SMTP is on disk, whole, with its envelope."""

from __future__ import annotations

import smtplib
import sys
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from devstack.processes import free_port, start, wait_for_port
from devstack.smtp_sink import RunningSink, read_deliveries, start_smtp_sink
from tests.conftest import ROOT

PDF_BYTES = b"%PDF-1.4\n\x00\x01\x02\xff binary\r\n.leading dot\n" * 50


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[RunningSink]:
    with start_smtp_sink(folder=tmp_path / "mail") as running:
        yield running


def report_message(subject: str = "Your March usage report") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Usage Tracking <reports@usage-tracking.local>"
    message["To"] = "Alice <alice@acme.example>"
    message["Cc"] = "bob@acme.example"
    message["Bcc"] = "audit@acme.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="usage-tracking.local")
    message.set_content("Plain text: you paid $1.23 per 1M tokens.\n.A line starting with a dot\n")
    message.add_alternative("<p>You paid <b>$1.23</b> per 1M tokens.</p>\n", subtype="html")
    message.add_attachment(PDF_BYTES, maintype="application", subtype="pdf", filename="report-2025-03.pdf")
    return message


def test_a_multipart_message_with_an_attachment_is_stored_whole(sink: RunningSink) -> None:
    sent = report_message()
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.send_message(sent)

    [delivery] = sink.deliveries()
    stored = delivery.message
    for header in ("From", "To", "Cc", "Subject", "Message-ID"):
        assert stored[header] == sent[header]
    assert stored["Bcc"] is None  # smtplib strips Bcc from the content; the recipient is in the envelope only
    assert delivery.mail_from == "reports@usage-tracking.local"
    assert set(delivery.rcpt_tos) == {"alice@acme.example", "bob@acme.example", "audit@acme.example"}
    assert delivery.auth_login is None

    text, html = stored.get_body(("plain",)), stored.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == "Plain text: you paid $1.23 per 1M tokens.\n.A line starting with a dot\n"
    assert html.get_content() == "<p>You paid <b>$1.23</b> per 1M tokens.</p>\n"
    [attachment] = list(stored.iter_attachments())
    assert attachment.get_filename() == "report-2025-03.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF_BYTES
    assert sink.messages()[0]["Subject"] == "Your March usage report"


def test_the_eml_file_holds_exactly_the_bytes_the_client_sent(sink: RunningSink) -> None:
    # SMTP transparency: the client doubles leading dots on the wire and the server must undo it.
    raw = (
        b"From: a@example.test\r\nTo: b@example.test\r\nSubject: dots\r\n\r\n"
        b".one leading dot\r\n..two leading dots\r\n.\tdot then tab\r\nend\r\n"
    )
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.sendmail("a@example.test", ["b@example.test"], raw)

    [delivery] = sink.deliveries()
    assert delivery.path.read_bytes() == raw


def test_concurrent_sends_all_land_in_distinct_files(sink: RunningSink) -> None:
    senders = 6
    barrier = threading.Barrier(senders)
    errors: list[BaseException] = []

    def send(number: int) -> None:
        try:
            with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
                barrier.wait(timeout=10)
                client.send_message(report_message(f"report {number}"))
        except BaseException as e:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    deliveries = sink.deliveries()
    assert sorted(d.message["Subject"] for d in deliveries) == sorted(f"report {n}" for n in range(senders))
    assert len({d.path.name for d in deliveries}) == senders
    assert all(d.message.get_body(("plain",)) is not None for d in deliveries)


def test_messages_come_back_in_arrival_order(sink: RunningSink) -> None:
    subjects = ["first", "second", "third", "fourth"]
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        for subject in subjects:
            client.send_message(report_message(subject))

    assert [m["Subject"] for m in sink.messages()] == subjects
    assert [d.message["Subject"] for d in read_deliveries(sink.folder)] == subjects


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_is_accepted_and_only_the_login_name_is_kept(
    sink: RunningSink, mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    password = "smtp-password-never-stored-9f2c"
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.ehlo()
        assert mechanism in client.esmtp_features["auth"].split()
        client.user, client.password = "mailer@usage-tracking.local", password
        client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        client.send_message(report_message())

    [delivery] = sink.deliveries()
    assert delivery.auth_login == "mailer@usage-tracking.local"
    for path in sink.folder.iterdir():
        assert password.encode() not in path.read_bytes()
    assert password not in caplog.text


def test_wait_for_returns_once_the_messages_arrived_and_times_out_otherwise(sink: RunningSink) -> None:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.send_message(report_message("only one"))
    assert [m["Subject"] for m in sink.wait_for(1, timeout_s=5)] == ["only one"]
    with pytest.raises(TimeoutError, match="1 message"):
        sink.wait_for(2, timeout_s=0.2)


def test_the_sink_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        start_smtp_sink("0.0.0.0", folder=tmp_path)


def test_a_stopped_sink_accepts_no_more_connections(tmp_path: Path) -> None:
    running = start_smtp_sink(folder=tmp_path)
    port = running.port
    running.stop()
    running.stop()  # idempotent
    with pytest.raises(OSError), smtplib.SMTP("127.0.0.1", port, timeout=2):
        pass


def test_the_command_line_sink_stores_mail_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, folder, log_path = free_port(), tmp_path / "mail", tmp_path / "sink.log"
    managed = start(
        "smtp-sink",
        [sys.executable, "-m", "devstack.smtp_sink", "--port", str(port), "--folder", str(folder)],
        log_path=log_path,
        cwd=ROOT,
    )
    try:
        wait_for_port(managed, port, timeout_s=30)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.login("mailer", "cli-password-never-printed")
            client.send_message(report_message("from the CLI"))
        assert [d.message["Subject"] for d in read_deliveries(folder)] == ["from the CLI"]
    finally:
        managed.stop()
    assert managed.process.returncode == 0
    output = log_path.read_text()
    assert f"listening on 127.0.0.1:{port}" in output
    assert "cli-password-never-printed" not in output
    assert "deprecated" not in output
