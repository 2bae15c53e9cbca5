"""The ``reports`` function's routes: list, formats by ``format=`` and ``Accept``, bad months and formats."""

from __future__ import annotations

import io
import json

import pypdf
import pytest

from devstack.tokens import mint_user_token
from shared.api.reports_routes import negotiate
from shared.bootstrap import build_web_app
from shared.errors import NotAcceptable
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID, VIEWER_EMAIL
from tests.support.fake_reports import FakeReportLog
from tests.support.report_world import REPORT_MONTH, SENT_ON, ReportWorld

BASE = "/api/v1/enterprise/reports"


@pytest.fixture(scope="module")
def world() -> ReportWorld:
    return ReportWorld()


@pytest.fixture
def app(world: ReportWorld) -> WebApp:
    world.reports = FakeReportLog({ENTERPRISE_ID: ["2026-09", "2026-10"]})
    return build_web_app(
        "reports",
        enterprises=world.sync.enterprises,
        snapshots=world.sync.snapshots,
        benchmarks=world.benchmarks,
        report_log=world.reports,
        clock=world.clock,
        coverage=world.sync.coverage,
    )


def get(
    app: WebApp, path: str, email: str = VIEWER_EMAIL, query: dict[str, list[str]] | None = None, **headers: str
) -> ApiResponse:
    issued = SENT_ON.timestamp()  # the app's clock
    hdrs = {"Authorization": f"Bearer {mint_user_token(email, TEST_PROJECT, now=issued)}", **headers}
    return app.handle(ApiRequest("GET", path, Headers(hdrs), query or {}, b""))


def test_viewers_list_the_months_with_their_email_state(app: WebApp, world: ReportWorld) -> None:
    world.use_case().run(ENTERPRISE_ID, REPORT_MONTH)
    response = get(app, BASE)
    assert response.status == 200
    listed = json.loads(response.body)["reports"]
    assert [r["month"] for r in listed] == ["2026-11", "2026-10", "2026-09"]
    assert listed[0]["complete"] is False
    assert listed[1]["email"]["status"] == "sent"
    assert listed[2]["email"] is None
    assert listed[1]["links"]["pdf"] == f"{BASE}/2026-10?format=pdf"


@pytest.mark.parametrize(
    ("query", "accept", "media"),
    [
        ({}, None, "application/json"),
        ({"format": ["pdf"]}, "application/json", "application/pdf"),  # format= wins
        ({}, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", "text/html"),
        ({}, "text/csv", "text/csv"),
        ({}, "application/pdf;q=0.5, application/json;q=0.9", "application/json"),
    ],
)
def test_formats(app: WebApp, query: dict[str, list[str]], accept: str | None, media: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = get(app, f"{BASE}/{REPORT_MONTH}", query=query, **headers)
    assert response.status == 200, response.body
    assert response.content_type.split(";")[0] == media
    if media == "application/pdf":
        text = pypdf.PdfReader(io.BytesIO(response.body)).pages[0].extract_text()
        assert "LLM usage report — October 2026" in text
        assert 'filename="usage-report_2026-10.pdf"' in response.headers["Content-Disposition"]
    if media == "application/json":
        assert json.loads(response.body)["month"] == REPORT_MONTH


@pytest.mark.parametrize("month", ["2026-13", "October", "2027-01", "2023-10"])
def test_bad_months_are_400(app: WebApp, month: str) -> None:
    response = get(app, f"{BASE}/{month}", ADMIN_EMAIL)
    assert (response.status, json.loads(response.body)["code"]) == (400, "invalid_month")


def test_unknown_formats_and_parameters_are_refused(app: WebApp) -> None:
    bad_format = get(app, f"{BASE}/{REPORT_MONTH}", query={"format": ["docx"]})
    assert bad_format.status == 400
    unknown = get(app, f"{BASE}/{REPORT_MONTH}", query={"fmt": ["pdf"]})
    assert unknown.status == 400
    refused = get(app, f"{BASE}/{REPORT_MONTH}", Accept="image/png")
    assert (refused.status, json.loads(refused.body)["code"]) == (406, "not_acceptable")


def test_negotiation_keeps_the_headers_order_on_ties() -> None:
    assert negotiate("text/csv, application/pdf") == "csv"
    assert negotiate("application/pdf, text/csv") == "pdf"
    assert negotiate("*/*") == "json"
    with pytest.raises(NotAcceptable):
        negotiate("application/json;q=0")
