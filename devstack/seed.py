"""Demo data for the local stack: enterprises created through the public API, as their admins would.

Idempotent: each enterprise is created with a fixed ``Idempotency-Key``, so restarting the stack (Firestore emulator
data is not persisted anyway) never duplicates anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from devstack.tokens import mint_user_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoEnterprise:
    name: str
    industry: str
    admin_email: str


DEMO_ENTERPRISES = (
    DemoEnterprise("Acme Corp", "finance", "alice@acme.example"),
    DemoEnterprise("Globex", "retail", "bob@globex.example"),
    DemoEnterprise("Initech", "technology", "carol@initech.example"),
)


def seed_demo(stack: dict[str, Any]) -> list[str]:
    """Create the demo enterprises; returns their names. Later steps (connect, sync) build on them."""
    api = stack["api_base_url"]
    created = []
    with httpx.Client(base_url=api, timeout=30) as client:
        for demo in DEMO_ENTERPRISES:
            token = mint_user_token(demo.admin_email, stack["project_id"])
            response = client.post(
                "/api/v1/enterprises",
                json={"name": demo.name, "industry": demo.industry},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"demo-{demo.name}"},
            )
            if response.status_code not in (200, 201):
                log.warning("could not seed %s: %s %s", demo.name, response.status_code, response.text[:200])
                continue
            created.append(demo.name)
    return created
