"""Demo data for the local stack, created through the public API as the enterprises' admins would.

Each demo enterprise is created (with a fixed ``Idempotency-Key``) and connects the provider simulator's demo
organisations with their admin keys, exactly as the site's "Connect" screen does. The first connect of each provider
enqueues the history backfill, so the sync worker fills snapshots in the background within a minute or two.
Keys are the simulator's documented demo keys (``devstack.provider_sim.demo``); nothing here prints them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from devstack.provider_sim.demo import admin_key
from devstack.tokens import mint_user_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoEnterprise:
    name: str
    industry: str
    admin_email: str
    orgs: tuple[tuple[str, str], ...]
    """(provider, simulator org id) pairs to connect."""


DEMO_ENTERPRISES = (
    DemoEnterprise(
        "Acme Corp", "finance", "alice@acme.example", (("openai", "org-demo-acme"), ("anthropic", "org-demo-umbrella"))
    ),
    DemoEnterprise("Globex", "retail", "bob@globex.example", (("openai", "org-demo-globex"),)),
    DemoEnterprise("Initech", "technology", "carol@initech.example", (("anthropic", "org-demo-initech"),)),
)


def seed_demo(stack: dict[str, Any]) -> list[str]:
    """Create the demo enterprises and connect their providers; returns the names of those created."""
    created = []
    can_connect = "connect" in stack.get("functions", {})
    with httpx.Client(base_url=stack["api_base_url"], timeout=60) as client:
        for demo in DEMO_ENTERPRISES:
            headers = {"Authorization": f"Bearer {mint_user_token(demo.admin_email, stack['project_id'])}"}
            response = client.post(
                "/api/v1/enterprises",
                json={"name": demo.name, "industry": demo.industry},
                headers={**headers, "Idempotency-Key": f"demo-{demo.name}"},
            )
            if response.status_code not in (200, 201):
                log.warning("could not seed %s: %s %s", demo.name, response.status_code, response.text[:200])
                continue
            created.append(demo.name)
            headers["X-Enterprise-Id"] = response.json()["id"]
            for provider, org_id in demo.orgs if can_connect else ():
                connected = client.post(
                    f"/api/v1/enterprise/connect/{provider}",
                    json={"admin_api_key": admin_key(provider, org_id)},  # type: ignore[arg-type]
                    headers=headers,
                )
                if connected.status_code not in (200, 201):
                    log.warning("could not connect %s for %s: %s", provider, demo.name, connected.status_code)
    return created
