"""Budgets, alert settings, the alert history and the usage forecast through the ``api`` application (fakes)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from devstack.tokens import mint_user_token
from shared.bootstrap import build_web_app
from shared.domain.alerts.records import (
    AlertCandidate,
    AlertFigures,
    AlertKind,
    AlertScope,
    Channel,
    Delivery,
    new_alert,
)
from shared.domain.enterprise.audit import AuditAction
from shared.web.app import WebApp
from shared.web.http import ApiRequest, ApiResponse, Headers
from tests.conftest import TEST_PROJECT
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID, VIEWER_EMAIL
from tests.support.spend_world import SpendWorld, weekly_series

BUDGETS = "/api/v1/enterprise/budgets"
TODAY = date(2026, 11, 23)
HOOK = "https://hooks.example.com/services/T0/B0/token-in-the-path"


@pytest.fixture
def world() -> SpendWorld:
    world = SpendWorld(TODAY)
    world.set_series(weekly_series(date(2026, 9, 1), TODAY, weekday="150", weekend="60"))
    world.backfill(date(2026, 9, 1), TODAY + timedelta(days=1))
    return world


@pytest.fixture
def app(world: SpendWorld) -> WebApp:
    w = world.world
    return build_web_app(
        "api",
        enterprises=w.enterprises,
        snapshots=w.snapshots,
        coverage=w.coverage,
        alert_settings=w.alert_settings,
        alerts=w.alerts,
        clock=w.clock,
    )


def call(app: WebApp, method: str, path: str, email: str, body: Any = None, **query: str) -> ApiResponse:
    token = mint_user_token(email, TEST_PROJECT, now=app.deps.clock.now().timestamp())
    headers = {"Authorization": f"Bearer {token}", "X-Enterprise-Id": ENTERPRISE_ID}
    data = json.dumps(body).encode() if body is not None else b""
    if data:
        headers["Content-Type"] = "application/json"
    return app.handle(ApiRequest(method, path, Headers(headers), {k: [v] for k, v in query.items()}, data))


def body_of(response: ApiResponse) -> Any:
    return json.loads(response.body)


def test_members_read_the_defaults_before_anything_is_saved(app: WebApp) -> None:
    response = call(app, "GET", BUDGETS, VIEWER_EMAIL)
    assert response.status == 200
    assert body_of(response) == {
        "budgets": [],
        "anomaly_alerts": True,
        "webhook": None,
        "signing_secret": None,
        "updated_at": None,
        "default_warning_percent": 75,
        "default_critical_percent": 90,
    }


def test_an_admin_replaces_the_budgets_and_thresholds_default_to_the_settings(app: WebApp) -> None:
    put = call(
        app,
        "PUT",
        BUDGETS,
        ADMIN_EMAIL,
        {
            "budgets": [
                {"monthly_usd": "5000"},
                {"provider": "openai", "monthly_usd": 1234.5, "warning_percent": 50, "critical_percent": 100},
                {"provider": "anthropic", "project": "wrkspc_01", "monthly_usd": "99.99"},
            ],
            "anomaly_alerts": False,
        },
    )
    assert put.status == 200, put.body
    budgets = body_of(call(app, "GET", BUDGETS, VIEWER_EMAIL))["budgets"]
    assert budgets == [
        {
            "provider": None,
            "project": None,
            "scope": "all providers",
            "monthly_usd": "5000",
            "warning_percent": 75,
            "critical_percent": 90,
        },
        {
            "provider": "openai",
            "project": None,
            "scope": "OpenAI",
            "monthly_usd": "1234.5",
            "warning_percent": 50,
            "critical_percent": 100,
        },
        {
            "provider": "anthropic",
            "project": "wrkspc_01",
            "scope": "Anthropic project wrkspc_01",
            "monthly_usd": "99.99",
            "warning_percent": 75,
            "critical_percent": 90,
        },
    ]
    assert body_of(put)["anomaly_alerts"] is False

    refused = call(app, "PUT", BUDGETS, VIEWER_EMAIL, {"budgets": []})
    assert (refused.status, body_of(refused)["code"]) == (403, "admin_required")
    assert len(body_of(call(app, "GET", BUDGETS, ADMIN_EMAIL))["budgets"]) == 3


def test_the_webhook_secret_is_shown_once_and_the_url_never(app: WebApp, world: SpendWorld) -> None:
    first = body_of(call(app, "PUT", BUDGETS, ADMIN_EMAIL, {"budgets": [], "webhook_url": HOOK}))
    secret = first["signing_secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    assert first["webhook"]["host"] == "hooks.example.com"
    stored = world.world.alert_settings.webhooks[ENTERPRISE_ID]
    assert (stored.url, stored.secret.get_secret_value()) == (HOOK, secret)

    read = call(app, "GET", BUDGETS, VIEWER_EMAIL).body.decode()
    assert secret not in read
    assert "token-in-the-path" not in read
    assert "/services/" not in read

    kept = body_of(call(app, "PUT", BUDGETS, ADMIN_EMAIL, {"budgets": [{"monthly_usd": "10"}]}))
    assert kept["signing_secret"] is None
    assert kept["webhook"] == first["webhook"]
    assert world.world.alert_settings.webhooks[ENTERPRISE_ID].secret.get_secret_value() == secret

    rotated = body_of(call(app, "PUT", BUDGETS, ADMIN_EMAIL, {"budgets": [], "rotate_webhook_secret": True}))
    assert rotated["signing_secret"] not in (None, secret)

    removed = body_of(call(app, "PUT", BUDGETS, ADMIN_EMAIL, {"budgets": [], "webhook_url": None}))
    assert removed["webhook"] is None
    assert ENTERPRISE_ID not in world.world.alert_settings.webhooks

    audit = world.world.alert_settings.audit[ENTERPRISE_ID]
    assert [(e.action, e.target, e.before, e.after) for e in audit] == [
        (AuditAction.SETTING_CHANGED, "alert_webhook", None, "hooks.example.com"),
        (AuditAction.SETTING_CHANGED, "alert_webhook_secret", None, "created"),
        (AuditAction.SETTING_CHANGED, "alert_webhook_secret", None, "rotated"),
        (AuditAction.SETTING_CHANGED, "alert_webhook", "hooks.example.com", None),
    ]
    assert not any(secret in e.model_dump_json() or "token-in-the-path" in e.model_dump_json() for e in audit)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"budgets": [{"monthly_usd": "10", "warning_percent": 90}]}, 400, "invalid_budgets", "warning_percent"),
        ({"budgets": [{"monthly_usd": "10"}, {"monthly_usd": "20"}]}, 400, "invalid_budgets", "budgets.1"),
        ({"budgets": [{"project": "p", "monthly_usd": "10"}]}, 400, "validation_failed", "budgets.0"),
        ({"budgets": [{"monthly_usd": "0"}]}, 400, "validation_failed", "monthly_usd"),
        ({"budgets": [{"monthly_usd": "1.005"}]}, 400, "validation_failed", "monthly_usd"),
        ({"budgets": [{"monthly_usd": "1", "provider": "mistral"}]}, 400, "validation_failed", "provider"),
        ({"budgets": [], "surprise": 1}, 400, "validation_failed", "surprise"),
        ({"budgets": [], "webhook_url": "http://10.0.0.1/hook"}, 400, "invalid_webhook_url", None),
        ({"budgets": [], "rotate_webhook_secret": True}, 409, "no_webhook", None),
    ],
)
def test_bad_input_is_refused_with_a_stable_code_and_nothing_saved(
    app: WebApp, world: SpendWorld, body: Any, status: int, code: str, field: str | None
) -> None:
    response = call(app, "PUT", BUDGETS, ADMIN_EMAIL, body)
    problem = body_of(response)
    assert (response.status, problem["code"]) == (status, code), problem
    if field:
        assert any(field in e["field"] for e in problem["errors"]), problem["errors"]
    assert world.world.alert_settings.settings == {}


def test_alerts_are_listed_newest_first_page_by_page(app: WebApp, world: SpendWorld) -> None:
    for n in range(5):
        candidate = AlertCandidate(
            kind=AlertKind.SPEND_ANOMALY,
            period=f"2026-11-{10 + n}",
            scope=AlertScope(),
            figures=AlertFigures(spend_usd=Decimal(n)),
        )
        world.clock.advance(timedelta(hours=1))
        alert = new_alert(candidate, channels={Channel.EMAIL: Delivery()}, now=world.clock.now(), retention_months=24)
        world.world.alerts.create(ENTERPRISE_ID, alert)

    first = body_of(call(app, "GET", "/api/v1/enterprise/alerts", VIEWER_EMAIL, limit="3"))
    second = body_of(
        call(app, "GET", "/api/v1/enterprise/alerts", VIEWER_EMAIL, limit="3", page_token=first["next_page_token"])
    )
    periods = [a["period"] for a in first["alerts"] + second["alerts"]]
    assert periods == ["2026-11-14", "2026-11-13", "2026-11-12", "2026-11-11", "2026-11-10"]
    assert second["next_page_token"] is None
    assert first["alerts"][0]["channels"] == {
        "email": {"state": "pending", "attempts": 0, "sent_at": None, "last_error": None}
    }
    assert first["alerts"][0]["figures"]["spend_usd"] == "4"
    bad = call(app, "GET", "/api/v1/enterprise/alerts", VIEWER_EMAIL, page_token="not-a-token")
    assert body_of(bad)["code"] == "invalid_page_token"


def test_the_usage_of_a_range_with_the_current_month_carries_its_forecast(app: WebApp) -> None:
    now = call(app, "GET", "/api/v1/enterprise/usage", VIEWER_EMAIL, start="2026-11-01", end="2026-11-30")
    forecast = body_of(now)["forecast"]
    assert forecast["month"] == "2026-11"
    assert forecast["as_of"] == "2026-11-22"
    assert forecast["method"] == "weekday_run_rate"
    assert forecast["days_remaining"] == 8
    assert Decimal(forecast["forecast_usd"]) > Decimal(forecast["month_to_date_usd"]) > 0

    filtered = call(
        app, "GET", "/api/v1/enterprise/usage", VIEWER_EMAIL, start="2026-11-01", end="2026-11-30", provider="anthropic"
    )
    assert Decimal(body_of(filtered)["forecast"]["forecast_usd"]) == 0, "Anthropic has no spend"
    # The only provider with spend, filtered: the days decoded from the rollups give the same forecast.
    openai = call(
        app, "GET", "/api/v1/enterprise/usage", VIEWER_EMAIL, start="2026-11-01", end="2026-11-30", provider="openai"
    )
    assert body_of(openai)["forecast"] == forecast

    past = call(app, "GET", "/api/v1/enterprise/usage", VIEWER_EMAIL, start="2026-09-01", end="2026-10-31")
    assert body_of(past)["forecast"] is None
