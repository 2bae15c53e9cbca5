"""The simulator's Google state: billing accounts, generated keys, issued access tokens and query jobs.

Shared by the HTTP thread and the test thread, so every mutable field is guarded by one lock. Access tokens expire on
the real clock (token lifetimes are about real time even when the data clock is fixed in the past).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from devstack.provider_sim.google_keys import SimKey, generate_key
from devstack.provider_sim.google_models import GoogleSimOrg

TOKEN_LIFETIME_S = 3600


@dataclass(frozen=True)
class Grant:
    """Who an access token was issued to."""

    org_id: str
    email: str
    key_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class Job:
    """A ``jobs.query`` job: its rows (already encoded) and how many polls remain before it completes."""

    job_id: str
    project_id: str
    org_id: str
    schema: dict[str, Any]
    rows: list[Any]
    pending_polls: int
    request_id: str | None = None


@dataclass
class GoogleSim:
    """Everything the Google endpoints need to know."""

    series_per_page: int = 2
    """Most time series on one Monitoring page (whatever ``pageSize`` asks), so every client pages."""
    rows_per_page: int = 50
    """Most rows on one BigQuery result page."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _orgs: dict[str, GoogleSimOrg] = field(default_factory=dict)
    _keys: dict[str, SimKey] = field(default_factory=dict)
    _disabled_accounts: set[str] = field(default_factory=set)
    _tokens: dict[str, Grant] = field(default_factory=dict)
    _jobs: dict[str, Job] = field(default_factory=dict)
    _evil_hits: int = 0

    # --- billing accounts and keys ----------------------------------------------------------------------------
    def add_org(self, org: GoogleSimOrg) -> None:
        """Register (or replace) a billing account; every service account gets one fresh key."""
        keys = [generate_key(org.org_id, org.host_project, org.email(a.name)) for a in org.accounts]
        with self._lock:
            self._keys = {k: v for k, v in self._keys.items() if v.org_id != org.org_id}
            self._orgs[org.org_id] = org
            self._keys.update({k.key_id: k for k in keys})
            self._disabled_accounts |= {org.email(a.name) for a in org.accounts if a.disabled}

    def org(self, org_id: str) -> GoogleSimOrg:
        with self._lock:
            return self._orgs[org_id]

    def orgs(self) -> list[GoogleSimOrg]:
        with self._lock:
            return list(self._orgs.values())

    def key(self, org_id: str, account: str, index: int = 0) -> dict[str, Any]:
        """The JSON key (private key included) of ``account``: its ``index``-th key, oldest first."""
        org = self.org(org_id)
        email = org.email(account)
        with self._lock:
            keys = [k for k in self._keys.values() if k.org_id == org_id and k.email == email]
        if not keys:
            raise KeyError(f"{account} is not a service account of {org_id}")
        return dict(keys[index].info)

    def new_key(self, org_id: str, account: str) -> dict[str, Any]:
        """Create another key for ``account`` (a rotation) and return it."""
        org = self.org(org_id)
        if account not in {a.name for a in org.accounts}:
            raise KeyError(f"{account} is not a service account of {org_id}")
        key = generate_key(org_id, org.host_project, org.email(account))
        with self._lock:
            self._keys[key.key_id] = key
        return dict(key.info)

    def find_key(self, key_id: str) -> SimKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def disable_key(self, key_id: str) -> None:
        """The key can no longer mint tokens (tokens already issued with it stay valid, as at Google)."""
        with self._lock:
            if key_id in self._keys:
                self._keys[key_id].disabled = True

    def disable_account(self, email: str) -> None:
        """The account can no longer mint tokens, and its tokens stop working."""
        with self._lock:
            self._disabled_accounts.add(email)

    def account_disabled(self, email: str) -> bool:
        with self._lock:
            return email in self._disabled_accounts

    # --- access tokens ----------------------------------------------------------------------------------------
    def issue_token(self, key: SimKey, scopes: frozenset[str]) -> tuple[str, int]:
        token = "ya29.sim-" + secrets.token_urlsafe(32)
        grant = Grant(key.org_id, key.email, key.key_id, scopes, time.time() + TOKEN_LIFETIME_S)
        with self._lock:
            self._tokens[token] = grant
        return token, TOKEN_LIFETIME_S

    def grant(self, token: str | None) -> Grant | None:
        """The live grant of ``token``; ``None`` when unknown, expired or its account was disabled."""
        if not token:
            return None
        with self._lock:
            found = self._tokens.get(token)
            disabled = found is not None and found.email in self._disabled_accounts
        if found is None or disabled or found.expires_at < time.time():
            return None
        return found

    # --- query jobs -------------------------------------------------------------------------------------------
    def add_job(self, job: Job) -> Job:
        """Store ``job``, or return the job already created with the same ``request_id`` (idempotent retries)."""
        with self._lock:
            if job.request_id is not None:
                for existing in self._jobs.values():
                    if existing.request_id == job.request_id and existing.org_id == job.org_id:
                        return existing
            self._jobs[job.job_id] = job
            return job

    def job(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def poll(self, job: Job) -> bool:
        """Count one poll; whether the job is complete now."""
        with self._lock:
            if job.pending_polls > 0:
                job.pending_polls -= 1
                return False
            return True

    # --- the attacker's token endpoint ---------------------------------------------------------------------------
    def record_evil_hit(self) -> None:
        with self._lock:
            self._evil_hits += 1

    @property
    def evil_hits(self) -> int:
        """Requests received by ``/_sim/google/evil-token`` (a ``token_uri`` no client may ever call)."""
        with self._lock:
            return self._evil_hits
