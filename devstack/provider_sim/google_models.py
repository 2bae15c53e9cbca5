"""The simulator's Google types: a billing account with projects and service accounts, and its ground truth.

A ``GoogleSimOrg`` is what one enterprise has at Google: a Cloud Billing account (``org_id``), the projects that call
Gemini (Vertex AI or the Gemini API), service accounts whose keys the simulator generates at registration (never
stored anywhere but in memory), which projects each account may read, and whether it may query the billing export.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

GoogleApi = Literal["vertex_ai", "gemini_api"]
ProjectId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]


class GoogleProject(BaseModel):
    """A project that calls Gemini through one API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_id: ProjectId
    api: GoogleApi = "vertex_ai"
    seed: int = 0
    scale: Annotated[Decimal, Field(gt=0, le=1000)] = Decimal(1)


class GoogleAccount(BaseModel):
    """A service account of the host project and what it may read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
    """The account id: its email is ``{name}@{host_project}.iam.gserviceaccount.com``."""
    monitoring_denied: list[str] = Field(default_factory=list)
    """Projects whose Cloud Monitoring this account may not read (403 PERMISSION_DENIED)."""
    billing_denied: bool = False
    """The account may not query the billing export (403 accessDenied)."""
    disabled: bool = False


class GoogleSimOrg(BaseModel):
    """One enterprise's Google side."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    org_id: str = Field(pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
    """The Cloud Billing account id."""
    name: str = Field(min_length=1, max_length=200)
    host_project: ProjectId
    """Where the service accounts live (their keys' ``project_id``)."""
    projects: list[GoogleProject] = Field(min_length=1)
    accounts: list[GoogleAccount] = Field(min_length=1)
    billing_table: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$"
    )
    """``project.dataset.table`` of the billing export; ``None``: the billing account exports nothing."""
    discount: Annotated[Decimal, Field(ge=0, lt=1)] = Decimal(0)
    """Negotiated discount, exported as a credit on every row: net = list × (1 - discount) (to the micro-unit)."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    conversion_rate: Annotated[Decimal, Field(gt=0)] = Decimal(1)
    """Billing currency units per US dollar (the export's ``currency_conversion_rate``)."""
    history_start: date
    pending_polls: Annotated[int, Field(ge=0, le=10)] = 0
    """``getQueryResults`` calls answered ``jobComplete: false`` before a query's rows are ready."""

    def email(self, account: str) -> str:
        return f"{account}@{self.host_project}.iam.gserviceaccount.com"


class GoogleTruthRow(BaseModel):
    """What one (project, model, token type) consumed and cost on a day."""

    model_config = ConfigDict(frozen=True)

    project_id: str
    model: str
    api: GoogleApi
    token_type: Literal["uncached_input", "cache_read", "output"]
    tokens: int
    list_cost_usd: Decimal
    billed_usd: Decimal
    """Net of credits, in USD, exactly as the billing export's rows add up (0 without a billing export)."""


class GoogleDayTruth(BaseModel):
    """The numbers the simulator's Google endpoints report for one billing account and UTC day."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    day: date
    rows: list[GoogleTruthRow]
    input_tokens: int
    """What Cloud Monitoring reports as input (cache hits included)."""
    output_tokens: int
    estimated_cost_usd: Decimal
    """Monitoring's input and output tokens at list prices: what a client without the billing export estimates."""
    billed_cost_usd: Decimal
    """Every billing export row of the day (token SKUs and the others), net of credits, in USD."""
    unattributed_cost_usd: Decimal
    """The part of ``billed_cost_usd`` whose SKUs name no model (grounding requests, unknown products)."""
