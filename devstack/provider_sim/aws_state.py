"""The simulator's AWS state: accounts, the temporary credentials STS issued, and the paging knobs."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from devstack.provider_sim.aws_data import BedrockAccount


@dataclass(frozen=True)
class Session:
    """Temporary credentials issued by ``AssumeRoleWithWebIdentity`` (or a long-lived access key: no token)."""

    account_id: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expires: datetime | None


class AwsSim:
    """Accounts by id and role ARN; credentials by access key id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, BedrockAccount] = {}
        self._sessions: dict[str, Session] = {}
        self._serial = 0
        self.datapoints_per_page = 100_800
        """GetMetricData's documented maximum; tests lower it to page."""
        self.days_per_page = 90
        """Days of ``ResultsByTime`` per Cost Explorer page; tests lower it to page."""
        self.keys_per_page = 1000
        """``ListObjectsV2``' default and largest page; tests lower it to page."""
        self.profiles_per_page = 1000
        """``ListInferenceProfiles``' documented maximum page; tests lower it to page."""

    def add_account(self, account: BedrockAccount) -> None:
        with self._lock:
            self._accounts[account.account_id] = account
            for key_id, secret in account.access_keys.items():
                self._sessions[key_id] = Session(account.account_id, key_id, secret, None, None)

    def account(self, account_id: str) -> BedrockAccount:
        with self._lock:
            return self._accounts[account_id]

    def accounts(self) -> list[BedrockAccount]:
        with self._lock:
            return list(self._accounts.values())

    def by_role(self, role_arn: str) -> BedrockAccount | None:
        with self._lock:
            return next((a for a in self._accounts.values() if a.role_arn == role_arn), None)

    def issue(self, account: BedrockAccount, now: datetime, seconds: int) -> Session:
        with self._lock:
            self._serial += 1
            seed = hashlib.sha256(f"{account.account_id}|{self._serial}".encode()).hexdigest()
            session = Session(
                account.account_id,
                "ASIA" + seed[:16].upper(),
                seed[16:56],
                "FwoGZXIvYXdzE" + hashlib.sha256(seed.encode()).hexdigest(),
                now + timedelta(seconds=seconds),
            )
            self._sessions[session.access_key_id] = session
            return session

    def session(self, access_key_id: str) -> Session | None:
        with self._lock:
            return self._sessions.get(access_key_id)
