"""One ``Settings`` object for the whole platform, read from the environment once per instance.

Every setting the code uses lives here; no other module reads ``os.environ``. Local mode (the local stack, where
``FIREBASE_AUTH_EMULATOR_HOST`` is set) accepts unsigned emulator tokens, so it refuses to run on Google Cloud.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRET = "local-only-change-me"  # noqa: S105 - a marker that is refused outside local mode


def _csv(value: object) -> object:
    """Accept ``a,b,c`` for list settings (pydantic-settings would expect JSON)."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CsvList = Annotated[list[str], NoDecode, BeforeValidator(_csv)]


class Settings(BaseSettings):
    """Every setting of the platform. Environment variable names are the field names in upper case."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # --- Google Cloud -----------------------------------------------------------------------------------------
    project_id: str = Field(
        default="demo-usage-tracking",
        validation_alias=AliasChoices("PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"),
    )
    """Google Cloud project id; also the Firebase Auth audience."""
    region: str = "europe-west1"
    firestore_emulator_host: str | None = None
    """``host:port`` of the Firestore emulator; the client library reads the same variable."""
    firebase_auth_emulator_host: str | None = None
    """Set only by the local stack and tests: turns on local mode (unsigned emulator tokens accepted)."""
    cloud_tasks_emulator_host: str | None = None
    """``host:port`` of the Cloud Tasks emulator's gRPC endpoint."""
    secret_manager_emulator_host: str | None = None
    """``host:port`` of a local Secret Manager gRPC server (the local stack's and the tests')."""
    k_service: str | None = None
    """Set by Cloud Functions / Cloud Run; its presence means we run on Google Cloud."""

    # --- Public API ------------------------------------------------------------------------------------------
    cors_allowed_origins: CsvList = Field(default_factory=list)
    """Origins of the hosted site (comma separated), e.g. ``https://app.example.com``."""
    public_base_url: str = "http://127.0.0.1:8080"
    """Where the REST API is served; used in links (settings page, unsubscribe)."""
    site_settings_url: str = "http://127.0.0.1:8080/settings"

    # --- Internal callers (Cloud Scheduler, Cloud Tasks) --------------------------------------------------------
    scheduler_service_account: str = "scheduler-invoker@demo-usage-tracking.iam.gserviceaccount.com"
    tasks_service_account: str = "tasks-invoker@demo-usage-tracking.iam.gserviceaccount.com"
    """The task invoker of a function ``task_invokers`` does not name (the local stack and tests use this one)."""
    task_invokers: dict[str, str] = Field(default_factory=dict)
    """Task-triggered function → the only identity whose OIDC tokens it accepts and that its tasks are sent as
    (``TASK_INVOKERS``, JSON; Terraform sets one service account per function). When set, tasks are only ever sent
    to the functions it names: a task's target URL is pinned by configuration, never by a caller's input."""
    internal_audience: str | None = None
    """OIDC audience expected on internal calls; defaults to the called function's URL."""
    function_base_url: str = "http://127.0.0.1:8080"
    """Base URL at which internal functions are reachable by Cloud Tasks (``{base}/{function}``)."""

    # --- Queues ----------------------------------------------------------------------------------------------
    sync_queue: str = "usage-sync"
    reports_queue: str = "monthly-reports"
    erase_queue: str = "enterprise-erase"
    """Queue of ``enterprise_erase`` tasks (one per erasure request)."""
    retire_queue: str = "key-retire"
    """Queue of ``key_retire`` tasks: one per rotated key, delivered ``superseded_version_grace_days`` later."""
    webhook_queue: str = "alert-webhooks"
    """Queue of ``webhook_deliver`` tasks: one per failed webhook send of an alert, retried with the queue's
    exponential backoff until its ``max_attempts`` (then the channel is recorded ``failed``)."""
    task_max_attempts: dict[str, int] = Field(
        default_factory=lambda: {
            "usage-sync": 8,
            "monthly-reports": 6,
            "enterprise-erase": 50,
            "key-retire": 20,
            "alert-webhooks": 8,
        }
    )
    """Each queue's ``max_attempts`` (JSON; Terraform sets it from its queues): a task route failing on the last one
    logs ``task_given_up`` (``shared.web.task_attempts``)."""

    # --- Quotas (per user / per enterprise, counted in Firestore; per-IP limits are Cloud Armor's) ---------------
    quota_enterprises_per_user_per_day: int = Field(default=5, ge=1)
    """Enterprises one user may create per UTC day (each is a tenant, a name others may be invited to)."""
    quota_invites_per_enterprise_per_day: int = Field(default=50, ge=1)
    """Invites (new or re-sent) one enterprise may send per UTC day."""
    quota_connect_attempts_per_enterprise_per_hour: int = Field(default=10, ge=1)
    """Provider-key connect attempts per enterprise per hour, refused keys included: bounds key probing."""

    # --- Providers -------------------------------------------------------------------------------------------
    provider_secret_prefix: str = "provider-key-"  # noqa: S105 - a name prefix, not a secret
    """Every provider-key secret id starts with this; IAM conditions in Terraform grant on exactly this prefix."""
    secret_replica_locations: CsvList = Field(default_factory=list)
    """Regions (comma separated) holding the replicas of every provider-key secret ``connect`` creates
    (user-managed replication, which ``gcp.resourceLocations`` organisation policies admit where automatic
    replication is refused). Empty means ``[region]``. Terraform sets it from ``secret_replica_locations``."""
    superseded_version_grace_days: int = Field(default=7, ge=0, le=29)
    """A provider key replaced by a rotation is disabled at once and destroyed this many days later: disabled
    versions are still billed by Secret Manager, destroyed ones are not; the grace lets an operator re-enable it.
    At most 29: Cloud Tasks schedules a task at most 30 days ahead."""
    openai_base_url: str = "https://api.openai.com"
    anthropic_base_url: str = "https://api.anthropic.com"
    google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
    """Where service-account assertions are exchanged for access tokens. Always this one: a key's own ``token_uri``
    is never used (an attacker-supplied key could point it at a server that would collect our signed assertion)."""
    google_monitoring_base_url: str = "https://monitoring.googleapis.com"
    google_bigquery_base_url: str = "https://bigquery.googleapis.com"
    aws_sts_url: str = "https://sts.amazonaws.com"
    """AWS STS (global endpoint), where ``AssumeRoleWithWebIdentity`` exchanges our identity token for a session."""
    aws_cloudwatch_url: str = "https://monitoring.{region}.amazonaws.com"
    """CloudWatch, one endpoint per region (``{region}`` is replaced)."""
    aws_cost_explorer_url: str = "https://ce.us-east-1.amazonaws.com"
    """Cost Explorer's single endpoint (it is global, signed for us-east-1)."""
    aws_s3_url: str = "https://s3.{region}.amazonaws.com"
    """S3, one endpoint per region (``{region}`` is replaced), addressed path-style: CUR 2.0 exports."""
    aws_bedrock_url: str = "https://bedrock.{region}.amazonaws.com"
    """Bedrock's control plane, one endpoint per region (``{region}`` is replaced): its model catalogue."""
    aws_federation_subjects: CsvList = Field(default_factory=lambda: ["100000000000000000001"])
    """Numeric unique ids of the service accounts that assume customers' Bedrock roles (``connect`` and
    ``sync_worker``): the trust policy the setup route returns pins the identity token's ``azp`` and ``sub`` to
    them. Local mode mints tokens for the first one. Azure OpenAI's federated credentials name the same ids as their
    subject (ADR 0023)."""
    azure_login_url: str = "https://login.microsoftonline.com"
    """Entra ID, where the Azure OpenAI sync exchanges a Google ID token (or a client secret) for an ARM token."""
    azure_management_url: str = "https://management.azure.com"
    """Azure Resource Manager: Azure Monitor metrics, the accounts' deployments and the Cost Management query."""
    google_identity_token_url: str = (
        "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity"  # noqa: S105
    )
    """The metadata server's identity-token endpoint: a Google-signed OIDC token of the function's service account."""
    provider_connect_timeout_s: float = 5.0
    provider_read_timeout_s: float = 30.0
    provider_max_retries: int = 4
    provider_backoff_base_s: float = 0.5
    provider_backoff_max_s: float = 20.0
    provider_concurrency: int = 6
    provider_validation_timeout_s: float = 25.0
    """Upper bound on the live key check of a connect request (retries included); beyond it the provider counts
    as unavailable (503), so the user is not left waiting on a slow provider."""

    # --- Sync ------------------------------------------------------------------------------------------------
    sync_repull_days: int = 3
    """Providers restate recent days: every sync re-pulls this many days before today."""
    sync_hourly_repull_days: int = Field(default=1, ge=0)
    """Days before today that an hourly sync re-pulls with today (``shared.services.sync.dispatch_sync``); the older
    ones the providers may restate are left to the daily sync."""
    backfill_days: int = 90
    sync_pull_deadline_s: float = 420.0
    """Upper bound on one sync task's provider pulls (retries included), below the worker's 540 s timeout: a pull
    still running then counts as transient (503), after the other providers' data was stored."""
    sync_lease_ttl_s: float = Field(default=120.0, gt=0)
    """A sync's lease on its enterprise's snapshots (held while it writes them) expires after this long, so a worker
    that died holding it blocks the enterprise's other syncs no longer (ADR 0016)."""
    sync_lease_wait_s: float = Field(default=60.0, ge=0)
    """How long a sync waits for another sync of the same enterprise to finish writing before it answers 503 and
    Cloud Tasks retries it later."""
    sync_lease_poll_s: float = Field(default=0.25, gt=0)
    raw_response_ttl_days: int = Field(default=7, ge=1)
    """Raw provider responses expire (``expire_at``) this many days after they are stored."""
    snapshot_retention_months: int = Field(default=24, ge=1)
    """Daily snapshots and monthly rollups are kept this many months (``shared.domain.usage.retention``)."""

    # --- Retention and erasure -----------------------------------------------------------------------------------
    retention_page_size: int = Field(default=400, ge=1, le=500)
    """Documents deleted per commit by the retention sweep and by an erasure."""
    retention_sweep_budget_s: float = 420.0
    """The sweep stops deleting after this long (below its 540 s timeout) and answers ``complete: false``; the next
    run continues where it stopped."""
    erasure_settle_s: int = Field(default=600, ge=0)
    """An erasure starts this long after the enterprise closed, once every request that started before has ended
    (the longest function timeout is 540 s): the erase task is scheduled that late and refuses to run sooner."""
    erasure_grace_hours: int = 24
    """An enterprise still ``closing`` this long after its erasure was requested gets its erase task re-enqueued."""
    erasure_recheck_days: int = 7
    """For this long after an erasure, the sweep looks for documents written below the erased enterprise afterwards
    (by a sync that was running) and re-enqueues the erasure if it finds any."""

    # --- Benchmarks ------------------------------------------------------------------------------------------
    benchmark_min_units: int = 10
    benchmark_tail_min_units: int = 20
    benchmark_dominance_cap: Decimal = Decimal("0.25")
    benchmark_p_percent: Decimal = Decimal("0.10")
    benchmark_noise_sd: Decimal = Decimal("0.02")
    benchmark_settle_days: int = 3
    benchmark_min_billed_usd: Decimal = Decimal("200")
    """Billed money a unit needs in the month to count (tokens alone never do)."""
    benchmark_min_domains: int = 10
    """Distinct verified admin email domains a published bucket's contributors must come from."""
    benchmark_noise_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)

    # --- Alerts (budgets, spend spikes, webhooks) --------------------------------------------------------------
    alert_budget_warning_percent: int = Field(default=75, ge=1, le=1000)
    """Default warning threshold of a budget, in percent of its monthly amount."""
    alert_budget_critical_percent: int = Field(default=90, ge=1, le=1000)
    """Default critical threshold of a budget (above the warning one)."""
    alert_anomaly_min_usd: Decimal = Field(default=Decimal("50"), ge=0)
    """A spend spike must exceed its baseline median by at least this much (USD/day), so tiny accounts never alert."""
    alert_anomaly_threshold_mads: Decimal = Field(default=Decimal("5"), gt=0)
    """How many scaled median absolute deviations above the baseline median a spike stands."""
    alert_anomaly_baseline_days: int = Field(default=28, ge=7, le=90)
    """Trailing days a day's spend is compared with."""
    alert_anomaly_min_baseline_days: int = Field(default=14, ge=3, le=90)
    """Known baseline days needed before spikes are looked for at all."""
    alert_anomaly_catchup_days: int = Field(default=3, ge=1, le=14)
    """The newest settled days judged on every sync (a missed sync delays a spike alert, never loses it)."""
    alert_forecast_history_days: int = Field(default=28, ge=7, le=56)
    """Trailing days of spend the month-end forecast's weekday rates come from."""
    alert_send_lease_s: float = Field(default=600.0, gt=0)
    """How long a sync owns an alert's send before another may take it over (it died mid-send)."""
    alert_max_send_attempts: int = Field(default=10, ge=1)
    """Syncs that try one channel of one alert before it is marked failed."""
    webhook_timeout_s: float = Field(default=3.0, gt=0)
    """Each network operation of a webhook send (connect, write, each read)."""
    webhook_deadline_s: float = Field(default=5.0, gt=0, le=30)
    """The whole webhook send, whatever the receiver does (a slow or trickling receiver is cut off). One attempt per
    sync or task: a failed send is retried by a ``webhook_deliver`` task (queue ``webhook_queue``), never inline."""
    webhook_signing_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    """The platform's key from which every enterprise's webhook signing secret is derived (HMAC of the enterprise id
    and the secret's generation; ``webhook_signature.derive_secret``). Secret Manager ``webhook-signing-key``,
    granted to ``api`` and ``sync`` only. Changing it changes every enterprise's secret."""
    webhook_retry_delay_s: float = Field(default=60.0, ge=1, le=3600)
    """Delay of the first ``webhook_deliver`` task after a sync's failed send; later attempts follow the queue's
    backoff."""
    alert_delivery_budget_s: float = Field(default=30.0, gt=0, le=120)
    """The time one sync may spend delivering alerts; the alerts left wait for the next sync. With
    ``sync_pull_deadline_s`` it bounds the worker's time whatever receivers and providers do."""

    # --- Email -----------------------------------------------------------------------------------------------
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Usage Tracking <reports@usage-tracking.local>"

    # --- Monthly reports -------------------------------------------------------------------------------------
    report_max_attempts: int = Field(default=5, ge=1, le=50)
    """Send attempts of one monthly report; after the last one it is recorded as failed (the queue's
    ``max_attempts`` in Terraform matches it, so Cloud Tasks stops retrying when we give up)."""
    report_lease_s: int = Field(default=300, ge=30, le=3600)
    """How long a worker holds a report while building and sending it; a crashed worker's claim expires then."""

    def task_invoker(self, function: str) -> str:
        """The identity of ``function``'s tasks (``task_invokers``, else ``tasks_service_account``)."""
        return self.task_invokers.get(function, self.tasks_service_account)

    @model_validator(mode="after")
    def _refuse_unsafe_combinations(self) -> Settings:
        if self.local_mode and self.k_service:
            raise ValueError(
                "local mode (FIREBASE_AUTH_EMULATOR_HOST) must not be set on Google Cloud (K_SERVICE is set)"
            )
        if self.alert_budget_warning_percent >= self.alert_budget_critical_percent:
            raise ValueError("ALERT_BUDGET_WARNING_PERCENT must be below ALERT_BUDGET_CRITICAL_PERCENT")
        if self.on_google_cloud and self.benchmark_noise_key.get_secret_value() == PLACEHOLDER_SECRET:
            raise ValueError("BENCHMARK_NOISE_KEY must be set to a real secret on Google Cloud")
        if self.on_google_cloud and self.webhook_signing_key.get_secret_value() == PLACEHOLDER_SECRET:
            raise ValueError("WEBHOOK_SIGNING_KEY must be set to a real secret on Google Cloud")
        return self

    @property
    def local_mode(self) -> bool:
        """True on the local stack and in tests: emulator tokens are accepted."""
        return bool(self.firebase_auth_emulator_host)

    @property
    def on_google_cloud(self) -> bool:
        return bool(self.k_service)

    @property
    def secret_locations(self) -> list[str]:
        """Where new secrets are replicated: ``secret_replica_locations``, or the deployment's region."""
        return list(self.secret_replica_locations) or [self.region]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The instance's settings, read once. Tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
