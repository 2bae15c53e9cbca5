"""The benchmark's simulator keeps the pages it built (``ProviderSimulator.keep_answers``): a repeated request gets
the same page, and a changed organisation or fault knob is never answered from a page built before the change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
from pydantic import SecretStr

from devstack.provider_sim import Faults, ProviderSimulator, SimOrg, serve

KEY = "sk-admin-kept-answers-0000000000000000"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def org(discount: str) -> SimOrg:
    return SimOrg(
        provider="openai",
        org_id="org-kept",
        name="Kept",
        admin_keys=[SecretStr(KEY)],
        seed=3,
        discount=Decimal(discount),
        history_start=date(2026, 10, 1),
    )


def test_a_repeated_request_gets_the_same_page_and_a_change_is_never_answered_from_an_older_one() -> None:
    sim = ProviderSimulator(now=lambda: NOW)
    sim.add_org(org("0.10"))
    sim.keep_answers()
    params = {"start_time": str(int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())), "bucket_width": "1d"}
    with serve(sim) as running, httpx.Client(base_url=running.openai_base_url) as client:

        def costs() -> bytes:
            response = client.get("/v1/organization/costs", params=params, headers={"Authorization": f"Bearer {KEY}"})
            response.raise_for_status()
            return response.content

        first = costs()
        assert costs() == first
        sim.add_org(org("0.30"))  # another discount: other billed amounts
        repriced = costs()
        assert repriced != first
        sim.set_faults(Faults(malformed_day=date(2026, 11, 5), malformed_provider="openai"))
        assert costs() != repriced
