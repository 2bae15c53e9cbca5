"""Helpers of the end-to-end connect tests: a tenant per test (admin, viewer, outsider) and task filtering."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from google.cloud import firestore

from devstack.tokens import mint_user_token, uid_for_email
from tests.conftest import TEST_PROJECT
from tests.support.task_recorder import Delivery


@dataclass(frozen=True)
class Tenant:
    """An enterprise of its own: shared backends (Secret Manager, the task recorder) never mix two tests' data."""

    enterprise_id: str
    admin: str
    viewer: str
    outsider: str


def bearer(email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_user_token(email, TEST_PROJECT)}"}


def make_tenant(test_id: str, api_url: str, db: Any) -> Tenant:
    """Create the enterprise through the API (its creator is the admin) and add a viewer to it."""
    slug = hashlib.sha256(test_id.encode()).hexdigest()[:12]
    admin, viewer, outsider = (f"{role}-{slug}@example.com" for role in ("admin", "viewer", "outsider"))
    # The first call reaches a cold function (imports, first Firestore channel): slow on a busy machine.
    created = httpx.post(
        f"{api_url}/api/v1/enterprises", json={"name": f"E2E {slug}"}, headers=bearer(admin), timeout=30
    )
    assert created.status_code in (200, 201), created.text
    enterprise_id = created.json()["id"]
    viewer_uid = uid_for_email(viewer)
    db.collection("enterprises").document(enterprise_id).update(
        {
            f"members.{viewer_uid}": {"email": viewer, "role": "viewer", "added_at": datetime.now(UTC)},
            "member_uids": firestore.ArrayUnion([viewer_uid]),
        }
    )
    return Tenant(enterprise_id, admin, viewer, outsider)


def deliveries_for(deliveries: list[Delivery], enterprise_id: str) -> list[Delivery]:
    return [d for d in deliveries if d.payload.get("enterprise_id") == enterprise_id]
