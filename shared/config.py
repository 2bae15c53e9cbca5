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
    internal_audience: str | None = None
    """OIDC audience expected on internal calls; defaults to the called function's URL."""
    function_base_url: str = "http://127.0.0.1:8080"
    """Base URL at which internal functions are reachable by Cloud Tasks (``{base}/{function}``)."""

    # --- Queues ----------------------------------------------------------------------------------------------
    sync_queue: str = "usage-sync"
    reports_queue: str = "monthly-reports"
    erase_queue: str = "enterprise-erase"
    """Queue of ``enterprise_erase`` tasks (one per erasure request)."""

    # --- Providers -------------------------------------------------------------------------------------------
    provider_secret_prefix: str = "provider-key-"  # noqa: S105 - a name prefix, not a secret
    """Every provider-key secret id starts with this; IAM conditions in Terraform grant on exactly this prefix."""
    openai_base_url: str = "https://api.openai.com"
    anthropic_base_url: str = "https://api.anthropic.com"
    google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
    """Where service-account assertions are exchanged for access tokens. Always this one: a key's own ``token_uri``
    is never used (an attacker-supplied key could point it at a server that would collect our signed assertion)."""
    google_monitoring_base_url: str = "https://monitoring.googleapis.com"
    google_bigquery_base_url: str = "https://bigquery.googleapis.com"
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
    backfill_days: int = 90
    sync_pull_deadline_s: float = 420.0
    """Upper bound on one sync task's provider pulls (retries included), below the worker's 540 s timeout: a pull
    still running then counts as transient (503), after the other providers' data was stored."""
    raw_response_ttl_days: int = 7
    snapshot_retention_months: int = 24

    # --- Benchmarks ------------------------------------------------------------------------------------------
    benchmark_min_units: int = 10
    benchmark_tail_min_units: int = 20
    benchmark_dominance_cap: Decimal = Decimal("0.25")
    benchmark_p_percent: Decimal = Decimal("0.10")
    benchmark_noise_sd: Decimal = Decimal("0.02")
    benchmark_settle_days: int = 3
    benchmark_min_billed_usd: Decimal = Decimal("200")
    benchmark_min_tokens: int = 10_000_000
    benchmark_noise_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)

    # --- Email -----------------------------------------------------------------------------------------------
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Usage Tracking <reports@usage-tracking.local>"

    @model_validator(mode="after")
    def _refuse_unsafe_combinations(self) -> Settings:
        if self.local_mode and self.k_service:
            raise ValueError(
                "local mode (FIREBASE_AUTH_EMULATOR_HOST) must not be set on Google Cloud (K_SERVICE is set)"
            )
        if self.on_google_cloud and self.benchmark_noise_key.get_secret_value() == PLACEHOLDER_SECRET:
            raise ValueError("BENCHMARK_NOISE_KEY must be set to a real secret on Google Cloud")
        return self

    @property
    def local_mode(self) -> bool:
        """True on the local stack and in tests: emulator tokens are accepted."""
        return bool(self.firebase_auth_emulator_host)

    @property
    def on_google_cloud(self) -> bool:
        return bool(self.k_service)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The instance's settings, read once. Tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
