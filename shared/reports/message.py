"""The monthly report as an email: ``multipart/alternative`` (plain text, HTML with its charts) plus the CSV.

Structure, as common mail clients expect it::

    multipart/mixed
    ├── multipart/alternative
    │   ├── text/plain
    │   └── multipart/related
    │       ├── text/html              (charts referenced as cid:...)
    │       ├── image/png  spend_by_day   Content-ID
    │       └── image/png  rate_vs_index  Content-ID
    └── text/csv  attachment (the month's daily usage, FOCUS-style columns)

The ``Message-ID`` derives from (enterprise, month), so a re-sent report is recognisably the same message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from shared.domain.reports.monthly import MonthlyReport
from shared.domain.text import header_text
from shared.reports.render import render_html, render_text

REPORT_HEADER = "X-Usage-Report"
"""``{enterprise_id}/{YYYY-MM}``: lets support find a report in a mailbox."""


def message_id(enterprise_id: str, month: str, mail_from: str) -> str:
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(f"{enterprise_id}/{month}".encode()).hexdigest()[:24]
    return f"<report-{month}-{digest}@{domain}>"


def content_id(name: str, enterprise_id: str, month: str) -> str:
    digest = hashlib.sha256(f"{enterprise_id}/{month}/{name}".encode()).hexdigest()[:16]
    return f"{name}.{digest}@report"


def csv_filename(report: MonthlyReport) -> str:
    return f"usage_{report.month}.csv"


def report_message(
    report: MonthlyReport,
    *,
    pngs: Mapping[str, bytes],
    csv_text: str,
    mail_from: str,
    recipients: Sequence[str],
    settings_url: str,
) -> EmailMessage:
    eid, month = report.enterprise.id, report.month
    cids = {name: content_id(name, eid, month) for name in pngs}
    message = EmailMessage()
    message["Subject"] = header_text(f"{report.enterprise.name}: LLM usage report for {report.month_label}")
    message["From"] = mail_from
    message["To"] = [Address(addr_spec=r) for r in recipients]
    message["Date"] = format_datetime(report.generated_at)
    message["Message-ID"] = message_id(eid, month, mail_from)
    message["List-Unsubscribe"] = f"<{settings_url}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message[REPORT_HEADER] = f"{eid}/{month}"
    message.set_content(render_text(report, settings_url=settings_url))
    html = render_html(report, settings_url=settings_url, images={n: f"cid:{c}" for n, c in cids.items()})
    message.add_alternative(html, subtype="html")
    html_part = list(message.iter_parts())[1]
    assert isinstance(html_part, EmailMessage)
    for name, png in pngs.items():
        html_part.add_related(png, "image", "png", cid=f"<{cids[name]}>", filename=f"{name}.png", disposition="inline")
    message.add_attachment(csv_text, subtype="csv", filename=csv_filename(report))
    return message
