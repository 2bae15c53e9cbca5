"""The simulator's Azure state: tenants, and the ARM access tokens Entra ID issued."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from devstack.provider_sim.azure_data import AzureTenant


@dataclass(frozen=True)
class Grant:
    tenant_id: str
    client_id: str
    audience: str
    expires: datetime


class AzureSim:
    """Tenants by id; access tokens by value."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tenants: dict[str, AzureTenant] = {}
        self._tokens: dict[str, Grant] = {}
        self._serial = 0
        self.rows_per_page = 1_000
        """Rows of a Cost Management page before ``nextLink``; tests lower it to page."""

    def add_tenant(self, tenant: AzureTenant) -> None:
        with self._lock:
            self._tenants[tenant.tenant_id] = tenant

    def tenant(self, tenant_id: str) -> AzureTenant | None:
        with self._lock:
            return self._tenants.get(tenant_id.lower())

    def by_subscription(self, subscription_id: str) -> AzureTenant | None:
        with self._lock:
            return next((t for t in self._tenants.values() if t.subscription_id == subscription_id.lower()), None)

    def issue(self, tenant: AzureTenant, audience: str, now: datetime, seconds: int) -> str:
        with self._lock:
            self._serial += 1
            token = "eyJ0eXAiOiJKV1Qi." + hashlib.sha256(f"{tenant.tenant_id}|{self._serial}".encode()).hexdigest()
            self._tokens[token] = Grant(tenant.tenant_id, tenant.client_id, audience, now + timedelta(seconds=seconds))
            return token

    def grant(self, token: str) -> Grant | None:
        with self._lock:
            return self._tokens.get(token)
