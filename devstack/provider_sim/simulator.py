"""The simulator's state: organisations and their keys, fault knobs, the request log and the clock.

The HTTP server (one asyncio event loop in a background thread) and the test thread share one instance, so every
mutable field is guarded by a lock. Keys are kept only as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import SecretStr

from devstack.provider_sim import aws_data, azure_data, google_data, ledger
from devstack.provider_sim.aws_data import BedrockAccount, BedrockDayTruth
from devstack.provider_sim.aws_state import AwsSim
from devstack.provider_sim.azure_data import AzureDayTruth, AzureTenant
from devstack.provider_sim.azure_state import AzureSim
from devstack.provider_sim.google_models import GoogleDayTruth, GoogleSimOrg
from devstack.provider_sim.google_state import GoogleSim
from devstack.provider_sim.models import DayTruth, Faults, Provider, RequestRecord, SimOrg

logger = logging.getLogger(__name__)

KeyKind = Literal["admin", "project"]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(key: str | None) -> str | None:
    """The non-reversible short form the request log keeps: first 8 hex digits of the key's SHA-256."""
    return None if key is None else _digest(key)[:8]


@dataclass(frozen=True)
class KeyLookup:
    """Who a key belongs to. ``org`` is ``None`` for unknown keys."""

    org: SimOrg | None
    kind: KeyKind | None
    revoked: bool


@dataclass(frozen=True)
class FaultDecision:
    """What the fault knobs do to one request: wait ``delay_s``, then maybe answer ``status`` instead."""

    delay_s: float
    status: int | None
    retry_after_s: int | None


class ProviderSimulator:
    """A deterministic OpenAI + Anthropic admin usage/cost API and Google's token, Monitoring and BigQuery APIs,
    driven from Python or ``/_sim/``.

    Args:
        now: The clock (timezone-aware UTC); defaults to the real UTC time.
    """

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._clock = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._orgs: dict[str, SimOrg] = {}
        self._keys: dict[str, tuple[Provider, str, KeyKind]] = {}
        self._revoked: set[str] = set()
        self._faults = Faults()
        self._counter = 0
        self._log: list[RequestRecord] = []
        self._request_serial = 0
        self._answers: dict[tuple[object, ...], bytes] | None = None
        self.google = GoogleSim()
        """Google's billing accounts, generated service-account keys, tokens and query jobs."""
        self.aws = AwsSim()
        self.azure = AzureSim()
        """Azure OpenAI's tenants and the ARM tokens Entra ID issued (``azure_routes``)."""
        """Amazon Bedrock's AWS accounts and the sessions STS issued (``aws_routes``)."""

    # --- clock and organisations ----------------------------------------------------------------------------
    def now(self) -> datetime:
        value = self._clock()
        if value.tzinfo is None:
            raise ValueError("the simulator clock must return timezone-aware datetimes")
        return value.astimezone(UTC)

    def add_org(self, org: SimOrg) -> None:
        """Register (or replace) an organisation and its keys."""
        with self._lock:
            old = self._orgs.get(org.org_id)
            if old is not None:
                self._keys = {d: v for d, v in self._keys.items() if v[1] != org.org_id}
            entries: list[tuple[SecretStr, KeyKind]] = [(k, "admin") for k in org.admin_keys]
            entries += [(k, "project") for k in org.project_keys]
            for key, kind in entries:
                digest = _digest(key.get_secret_value())
                owner = self._keys.get(digest)
                if owner is not None and owner[1] != org.org_id:
                    raise ValueError(f"a key of {org.org_id} is already registered to another organisation")
                self._keys[digest] = (org.provider, org.org_id, kind)
            self._orgs[org.org_id] = org
            self._forget_answers()
        logger.info("simulator organisation registered", extra={"org_id": org.org_id, "provider": org.provider})

    def org(self, org_id: str) -> SimOrg:
        with self._lock:
            return self._orgs[org_id]

    def orgs(self) -> list[SimOrg]:
        with self._lock:
            return list(self._orgs.values())

    def identify(self, provider: Provider, key: str | None) -> KeyLookup:
        if not key:
            return KeyLookup(None, None, False)
        digest = _digest(key)
        with self._lock:
            entry = self._keys.get(digest)
            revoked = digest in self._revoked
            if entry is None or entry[0] != provider:
                return KeyLookup(None, None, revoked)
            return KeyLookup(self._orgs[entry[1]], entry[2], revoked)

    def revoke_key(self, key: str | SecretStr) -> None:
        """Every later request with this key is answered 401."""
        raw = key.get_secret_value() if isinstance(key, SecretStr) else key
        with self._lock:
            self._revoked.add(_digest(raw))
            self._forget_answers()

    def truth(self, org_id: str, day: date) -> DayTruth:
        """What the endpoints report for ``org_id`` on UTC ``day``, as of now."""
        return ledger.truth(self.org(org_id), day, self.now())

    def add_google_org(self, org: GoogleSimOrg) -> None:
        """Register (or replace) a Google billing account; each service account gets a freshly generated key."""
        self.google.add_org(org)
        with self._lock:
            self._forget_answers()
        logger.info("simulator google billing account registered", extra={"org_id": org.org_id})

    def google_truth(self, org_id: str, day: date) -> GoogleDayTruth:
        """What the Google endpoints report for billing account ``org_id`` on UTC ``day``, as of now."""
        return google_data.truth(self.google.org(org_id), day, self.now())

    def add_bedrock_account(self, account: BedrockAccount) -> None:
        """Register (or replace) an AWS account with Bedrock usage and a role the platform may assume."""
        self.aws.add_account(account)
        with self._lock:
            self._forget_answers()

    def add_azure_tenant(self, tenant: AzureTenant) -> None:
        """Register (or replace) an Entra ID tenant with Azure OpenAI accounts and an app the platform signs in as."""
        self.azure.add_tenant(tenant)
        with self._lock:
            self._forget_answers()

    def azure_truth(self, tenant_id: str, day: date) -> AzureDayTruth:
        """What Azure Monitor and Cost Management report for ``tenant_id`` on UTC ``day``."""
        tenant = self.azure.tenant(tenant_id)
        if tenant is None:
            raise KeyError(tenant_id)
        return azure_data.truth(tenant, day)

    def bedrock_truth(self, account_id: str, day: date) -> BedrockDayTruth:
        """What CloudWatch and Cost Explorer report for ``account_id`` on UTC ``day``."""
        return aws_data.truth(self.aws.account(account_id), day)

    # --- faults -----------------------------------------------------------------------------------------------
    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the fault knobs and restart their request counter."""
        with self._lock:
            self._faults = faults
            self._counter = 0
            self._forget_answers()

    def decide_faults(self, provider: Provider) -> FaultDecision:
        """Count one provider request and decide what the fault knobs do to it."""
        with self._lock:
            f = self._faults
            if f.provider is not None and f.provider != provider:
                return FaultDecision(0.0, None, None)
            self._counter += 1
            n = self._counter
        status = None
        if f.rate_limit_every_n and n % f.rate_limit_every_n == 0:
            status = 429
        elif f.error_every_n and n % f.error_every_n == 0:
            status = f.error_status
        return FaultDecision((f.latency_ms + f.hang_ms) / 1000, status, f.retry_after_s)

    def is_malformed(self, provider: Provider, endpoint: str, day: date) -> bool:
        f = self.faults
        return (
            f.malformed_day == day
            and f.malformed_provider in (None, provider)
            and f.malformed_endpoint in (None, endpoint)
        )

    # --- answers kept (benchmarks) -----------------------------------------------------------------------------
    def keep_answers(self) -> None:
        """From now on, keep every page built and answer the same request (provider, organisation, path, query,
        clock) from it. For benchmarks, which measure the client: a provider builds a page during its latency, and the
        simulator's CPU building several at once would otherwise delay the requests arriving meanwhile (one process,
        one interpreter lock). Registering an organisation, revoking a key or changing the fault knobs forgets them;
        tests that change a simulated organisation in place do not keep answers."""
        with self._lock:
            self._answers = {}

    def kept_answer(self, key: tuple[object, ...]) -> bytes | None:
        with self._lock:
            return None if self._answers is None else self._answers.get(key)

    def keep_answer(self, key: tuple[object, ...], body: bytes) -> None:
        with self._lock:
            if self._answers is not None:
                self._answers[key] = body

    def _forget_answers(self) -> None:
        if self._answers is not None:
            self._answers = {}

    # --- request log --------------------------------------------------------------------------------------------
    def next_request_id(self) -> str:
        with self._lock:
            self._request_serial += 1
            return f"req_sim{self._request_serial:021d}"

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every provider request since the last ``reset_log``, oldest first."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()
