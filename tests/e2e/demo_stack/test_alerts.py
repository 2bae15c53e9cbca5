"""Budget alerts on the whole local stack (``make run``): an admin sets a budget through the API, ``make trigger
JOB=daily-sync`` crosses it, and exactly one email reaches the SMTP sink, however often the sync runs again.

The tests of this package share one running stack (``conftest.py``); this module's run first, in file order.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import httpx

from tests.e2e.demo_stack import BACKFILL_DAYS
from tests.support.local_stack import RunningStack

ADMIN = "alice@acme.example"


def _api(stack: RunningStack) -> httpx.Client:
    return httpx.Client(base_url=stack.api, headers={"Authorization": f"Bearer {stack.token()}"}, timeout=60)


def _budget_emails(stack: RunningStack) -> list[EmailMessage]:
    found = []
    for path in sorted(stack.mail_dir.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        if (message["X-Usage-Alert-Kind"] or "").startswith("budget_") and message["To"] == ADMIN:
            found.append(message)
    return found


def _wait(condition: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def _synced_since(api: httpx.Client, since: datetime) -> bool:
    providers = api.get("/api/v1/enterprise").json()["providers"]
    stamps = [p.get("last_sync") for p in providers.values() if p["status"] == "connected"]
    return bool(stamps) and all(s and datetime.fromisoformat(s) > since for s in stamps)


def test_the_demo_history_is_backfilled_before_any_budget_exists(stack: RunningStack) -> None:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=BACKFILL_DAYS - 1)
    with _api(stack) as api:
        providers = api.get("/api/v1/enterprise").json()["providers"]
        connected = sum(1 for p in providers.values() if p["status"] == "connected")
        assert connected == 5  # OpenAI, Anthropic, Google, Amazon Bedrock and Azure OpenAI

        def backfilled() -> bool:
            """Every connected provider's days are all there (the usage CSV has rows per day and provider)."""
            found = api.get("/api/v1/enterprise/usage.csv", params={"start": str(start), "end": str(today)})
            rows = csv.DictReader(io.StringIO(found.text)) if found.status_code == 200 else []
            days = Counter(name for _, name in {(r["ChargePeriodStart"], r["ProviderName"]) for r in rows})
            return len(days) == connected and set(days.values()) == {BACKFILL_DAYS}

        _wait(backfilled, 300, f"Acme's {BACKFILL_DAYS}-day backfill of every provider")
        time.sleep(5)  # the last backfill tasks evaluate their alerts right after storing their days
        assert api.get("/api/v1/enterprise/budgets").json()["budgets"] == []
        usage = api.get("/api/v1/enterprise/usage", params={"start": str(today.replace(day=1)), "end": str(today)})
        forecast = usage.json()["forecast"]
        assert forecast["method"] == "weekday_run_rate", forecast
    assert _budget_emails(stack) == []


def test_a_budget_crossed_by_the_daily_sync_sends_one_email(stack: RunningStack) -> None:
    with _api(stack) as api:
        saved = api.put("/api/v1/enterprise/budgets", json={"budgets": [{"monthly_usd": "1.00"}]})
        assert saved.status_code == 200, saved.text
        assert saved.json()["budgets"][0]["critical_percent"] == 90

        started = datetime.now(UTC)
        trigger = stack.trigger("daily-sync")
        assert trigger.returncode == 0, trigger.stdout + trigger.stderr
        emails = _wait(lambda: _budget_emails(stack), 180, "the budget alert email")
        _wait(lambda: _synced_since(api, started), 120, "the daily sync of Acme")
        time.sleep(3)
        emails = _budget_emails(stack)

    this_month = datetime.now(UTC).strftime("%Y-%m")
    by_period: dict[str, list[EmailMessage]] = {}
    for message in emails:
        by_period.setdefault(message["X-Usage-Alert-Period"], []).append(message)
    # One email per budget and month: the current one (in the first days of a month, the month that just ended is
    # still being restated and may have crossed too).
    assert this_month in by_period
    assert all(len(messages) == 1 for messages in by_period.values()), by_period
    [email] = by_period[this_month]
    assert email["X-Usage-Alert-Kind"] == "budget_critical", "a $1 budget jumps past both thresholds: one alert"
    subject = email["Subject"]
    assert subject.startswith("Acme Corp: budget critical for all providers: USD ")
    assert "of USD 1.00" in subject
    text = email.get_body(("plain",)).get_content()
    assert "/settings" in text
    assert "sk-" not in email.as_string()


def test_running_the_daily_sync_again_sends_nothing_more(stack: RunningStack) -> None:
    before = len(_budget_emails(stack))
    with _api(stack) as api:
        for _ in range(2):
            started = datetime.now(UTC)
            trigger = stack.trigger("daily-sync")
            assert trigger.returncode == 0, trigger.stdout + trigger.stderr
            _wait(lambda: _synced_since(api, started), 120, "the repeated daily sync of Acme")  # noqa: B023
        time.sleep(5)
        alerts = api.get("/api/v1/enterprise/alerts").json()["alerts"]

    assert len(_budget_emails(stack)) == before
    budget_alerts = [a for a in alerts if a["kind"].startswith("budget_")]
    assert len(budget_alerts) == before
    assert all(
        a["channels"]["email"]["state"] == "sent" and a["channels"]["email"]["attempts"] == 1 for a in budget_alerts
    )
