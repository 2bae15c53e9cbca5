"""Fixtures' building blocks for tests that run the provider simulator in-process over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from devstack.provider_sim import ProviderSimulator, RunningSimulator, SimOrg, serve

OPENAI_ADMIN = "sk-admin-test-acme-0001"
OPENAI_PROJECT = "sk-proj-test-acme-0001"
ANTHROPIC_ADMIN = "sk-ant-admin01-test-initech-0001"
ANTHROPIC_API = "sk-ant-api03-test-initech-0001"
ANTHROPIC_VERSION = "2023-06-01"
HISTORY_START = date(2026, 6, 1)
OPENAI_DISCOUNT = Decimal("0.18")
ANTHROPIC_DISCOUNT = Decimal("0.12")


class MovableClock:
    """The simulator's injected clock, which a test can move."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def openai_org(**overrides: Any) -> SimOrg:
    fields: dict[str, Any] = {
        "provider": "openai",
        "org_id": "org-acme",
        "name": "Acme",
        "admin_keys": [SecretStr(OPENAI_ADMIN)],
        "project_keys": [SecretStr(OPENAI_PROJECT)],
        "seed": 7,
        "discount": OPENAI_DISCOUNT,
        "history_start": HISTORY_START,
    }
    return SimOrg(**(fields | overrides))


def anthropic_org(**overrides: Any) -> SimOrg:
    fields: dict[str, Any] = {
        "provider": "anthropic",
        "org_id": "org-initech",
        "name": "Initech",
        "admin_keys": [SecretStr(ANTHROPIC_ADMIN)],
        "project_keys": [SecretStr(ANTHROPIC_API)],
        "seed": 3,
        "discount": ANTHROPIC_DISCOUNT,
        "history_start": HISTORY_START,
    }
    return SimOrg(**(fields | overrides))


def simulator(clock: MovableClock) -> ProviderSimulator:
    sim = ProviderSimulator(now=clock)
    sim.add_org(openai_org())
    sim.add_org(anthropic_org())
    return sim


@contextmanager
def clients(running: RunningSimulator) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Admin-key clients for the OpenAI and Anthropic organisations."""
    oai = httpx.Client(base_url=running.openai_base_url, headers={"Authorization": f"Bearer {OPENAI_ADMIN}"})
    ant = httpx.Client(
        base_url=running.anthropic_base_url,
        headers={"x-api-key": ANTHROPIC_ADMIN, "anthropic-version": ANTHROPIC_VERSION},
    )
    with oai, ant:
        yield oai, ant


@contextmanager
def running_simulator(clock: MovableClock) -> Iterator[RunningSimulator]:
    with serve(simulator(clock)) as running:
        yield running


def body(response: httpx.Response) -> Any:
    """The JSON body with every number as an exact ``Decimal``/int (money must not pass through float)."""
    return json.loads(response.text, parse_float=Decimal)


def epoch(day: date, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp())


def rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
