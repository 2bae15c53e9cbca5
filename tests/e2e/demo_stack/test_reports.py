"""Monthly reports on the local stack (``make run``): ``make trigger JOB=monthly-reports`` emails one report per
opted-in enterprise to the SMTP sink, the figures match the API, a second run sends nothing, exports work, and the
demo admin keys appear nowhere (connect, sync and a report all ran).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from devstack.seed import DEMO_ENTERPRISES
from devstack.smtp_sink import Delivery, read_deliveries
from devstack.tokens import mint_user_token
from tests.support.local_stack import RunningStack, all_documents

pytestmark = pytest.mark.e2e

TODAY = datetime.now(UTC).date()
MONTH = (TODAY.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
FIRST = (TODAY.replace(day=1) - timedelta(days=1)).replace(day=1)
LAST = TODAY.replace(day=1) - timedelta(days=1)
OPTED_OUT = "Globex"


def _headers(stack: RunningStack, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_user_token(email, stack.info['project_id'])}"}


def _admins() -> dict[str, str]:
    return {demo.name: demo.admin_email for demo in DEMO_ENTERPRISES}


def _report_mail(stack: RunningStack) -> list[Delivery]:
    return [d for d in read_deliveries(stack.mail_dir) if d.message["X-Usage-Report"]]


def _log_count(stack: RunningStack, message: str) -> int:
    path = stack.state_dir / "logs" / "function-report_worker.log"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text(errors="replace").splitlines() if f'"message": "{message}"' in line)


def _wait(predicate: object, what: str, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def _month_usage(stack: RunningStack, email: str) -> dict[str, object]:
    response = httpx.get(
        f"{stack.api}/api/v1/enterprise/usage",
        params={"start": FIRST.isoformat(), "end": LAST.isoformat()},
        headers=_headers(stack, email),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture(scope="module")
def first_run(stack: RunningStack) -> list[Delivery]:
    """Wait for the demo backfills to cover last month, opt Globex out, run the monthly job once."""
    admins = _admins()

    def backfilled() -> bool:
        return all(len(_month_usage(stack, email)["by_day"]) == LAST.day for email in admins.values())  # type: ignore[arg-type]

    _wait(backfilled, f"the demo backfills of {MONTH}")
    opt_out = httpx.patch(
        f"{stack.api}/api/v1/enterprise",
        json={"settings": {"email_reports": False}},
        headers=_headers(stack, admins[OPTED_OUT]),
        timeout=30,
    )
    assert opt_out.status_code == 200, opt_out.text
    job = stack.trigger("monthly-reports")
    assert job.returncode == 0, job.stdout + job.stderr
    expected = len(admins) - 1
    _wait(lambda: len(_report_mail(stack)) >= expected, f"{expected} report emails")
    return _report_mail(stack)


def test_the_job_emails_one_report_per_opted_in_enterprise(stack: RunningStack, first_run: list[Delivery]) -> None:
    admins = _admins()
    by_recipient = {d.rcpt_tos: d for d in first_run}
    assert sorted(by_recipient) == sorted((email,) for name, email in admins.items() if name != OPTED_OUT)
    for name, email in admins.items():
        if name == OPTED_OUT:
            continue
        message = by_recipient[(email,)].message
        assert message["Subject"] == f"{name}: LLM usage report for {FIRST:%B %Y}"
        assert message["List-Unsubscribe"].startswith("<http")
        assert message["Message-ID"].startswith(f"<report-{MONTH}-")
        _check_parts(message)


def _check_parts(message: EmailMessage) -> None:
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = list(message.iter_parts())
    plain, related = list(alternative.iter_parts())
    assert (alternative.get_content_type(), plain.get_content_type()) == ("multipart/alternative", "text/plain")
    html, *images = list(related.iter_parts())
    assert html.get_content_type() == "text/html"
    cids = {i["Content-ID"].strip("<>") for i in images}
    assert set(re.findall(r'src="cid:([^"]+)"', html.get_content())) == cids
    assert len(cids) == 2
    assert all(i.get_content_type() == "image/png" and i.get_content()[:4] == b"\x89PNG" for i in images)
    assert attachment.get_content_type() == "text/csv"


def test_the_emailed_figures_are_the_apis(stack: RunningStack, first_run: list[Delivery]) -> None:
    for delivery in first_run:
        [email] = delivery.rcpt_tos
        usage = _month_usage(stack, email)
        total = Decimal(usage["totals"]["total_cost_usd"])  # type: ignore[index]
        assert total > 0
        exported = httpx.get(
            f"{stack.api}/api/v1/enterprise/reports/{MONTH}", headers=_headers(stack, email), timeout=60
        ).json()
        assert Decimal(exported["totals"]["total_cost_usd"]) == total
        assert exported["totals"] == usage["totals"]
        shown = f"${total.quantize(Decimal('0.01')):,}"
        plain = delivery.message.get_body(("plain",))
        html = delivery.message.get_body(("html",))
        assert plain is not None
        assert html is not None
        assert shown in plain.get_content()
        assert shown in html.get_content()
        # Every demo account's bill is readable (Acme's Google through its billing export): nothing is estimated.
        sources = {p["provider"]: p["cost_source"] for p in exported["by_provider"]}
        assert set(sources.values()) == {"billed"}, sources
        assert "estimated" not in plain.get_content()
        if email == _admins()["Acme Corp"]:
            assert "google" in sources
            assert re.search(r"^  Google +\$", plain.get_content(), re.MULTILINE)
        # Sent in the month after the report's, the email forecasts that month.
        assert exported["forecast"]["month"] == f"{TODAY:%Y-%m}"
        assert "expected by the end of the month" in plain.get_content()
        attachment = list(delivery.message.iter_attachments())[-1]
        rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
        billed = sum((Decimal(r["BilledCost"]) for r in rows if r["BilledCost"]), Decimal(0))
        assert billed.quantize(Decimal("0.01")) == total.quantize(Decimal("0.01"))


def test_running_the_job_again_sends_nothing(stack: RunningStack, first_run: list[Delivery]) -> None:
    before = len(_report_mail(stack))
    done_before = _log_count(stack, "report already done")
    job = stack.trigger("monthly-reports")
    assert job.returncode == 0, job.stdout + job.stderr
    # Every task of the second run reached the worker and found its report sent.
    _wait(lambda: _log_count(stack, "report already done") >= done_before + before, "the second run's tasks")
    assert len(_report_mail(stack)) == before


def test_the_reports_list_and_exports(stack: RunningStack, first_run: list[Delivery]) -> None:
    headers = _headers(stack, _admins()["Acme Corp"])
    listed = httpx.get(f"{stack.api}/api/v1/enterprise/reports", headers=headers, timeout=30)
    assert listed.status_code == 200, listed.text
    entry = next(r for r in listed.json()["reports"] if r["month"] == MONTH)
    assert entry["email"]["status"] == "sent"
    assert entry["email"]["recipient_count"] == 1
    base = f"{stack.api}/api/v1/enterprise/reports/{MONTH}"
    pdf = httpx.get(base, headers={**headers, "Accept": "application/pdf"}, timeout=60)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    html = httpx.get(base, params={"format": "html"}, headers=headers, timeout=60)
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.count('src="data:image/png;base64,') == 2
    csv_export = httpx.get(base, params={"format": "csv"}, headers=headers, timeout=60)
    assert csv_export.headers["content-type"].startswith("text/csv")
    refused = httpx.get(base, headers={**headers, "Accept": "image/gif"}, timeout=30)
    assert (refused.status_code, refused.json()["code"]) == (406, "not_acceptable")


def test_no_admin_key_reaches_firestore_logs_mail_or_responses(stack: RunningStack, first_run: list[Delivery]) -> None:
    """Connect (the seed), sync (the backfills) and a report ran: the demo keys appear in nothing we keep or show."""
    from devstack.provider_sim.demo import admin_key

    keys = [admin_key(provider, org) for demo in DEMO_ENTERPRISES for provider, org in demo.orgs]  # type: ignore[arg-type]
    headers = _headers(stack, _admins()["Acme Corp"])
    responses = [
        httpx.get(f"{stack.api}{path}", headers=headers, timeout=60).text
        for path in (
            "/api/v1/enterprise",
            "/api/v1/enterprise/audit-log",
            "/api/v1/enterprise/reports",
            f"/api/v1/enterprise/reports/{MONTH}?format=json",
            f"/api/v1/enterprise/reports/{MONTH}?format=html",
            f"/api/v1/enterprise/reports/{MONTH}?format=csv",
        )
    ]
    haystacks = {
        "firestore": all_documents(stack.info),
        "logs": [p.read_text(errors="replace") for p in (stack.state_dir / "logs").glob("*.log")],
        "mail": [p.read_bytes().decode(errors="replace") for p in Path(stack.mail_dir).glob("*")],
        "responses": responses,
        "runner output": [stack.printed()],
    }
    assert any("report sent" in text for text in haystacks["logs"])
    for key in keys:
        secret_part = key.split("-sim-", 1)[1]
        for where, texts in haystacks.items():
            assert not any(key in t or f"sim-{secret_part}" in t for t in texts), f"a key reached {where}"
    json.dumps(haystacks)  # everything scanned is text
