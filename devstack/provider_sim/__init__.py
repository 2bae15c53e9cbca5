"""A deterministic HTTP simulator of the OpenAI and Anthropic admin usage & cost APIs, and of Google's OAuth token
endpoint, Cloud Monitoring ``timeSeries.list`` and BigQuery ``jobs.query`` over a Cloud Billing export.

It follows the wire contract in provider-apis.md (§1, §2, §5) so the platform's real httpx clients can be pointed
at it through their base-URL settings:

* OpenAI base URL ``{root}/openai`` (``/v1/organization/usage/*``, ``/v1/organization/costs``,
  ``/v1/organization/projects``); Anthropic base URL ``{root}/anthropic`` (``/v1/organizations/usage_report/
  messages``, ``/v1/organizations/cost_report``, ``/v1/organizations/me``); Google under ``{root}/google``
  (``/token``, ``/monitoring/v3/projects/{p}/timeSeries``, ``/bigquery/bigquery/v2/projects/{p}/queries[/{job}]``,
  see ``google_routes``); Amazon Bedrock's AWS APIs under ``{root}/aws`` (``/sts``, ``/monitoring/{region}/``,
  ``/ce/``, see ``aws_routes``; ``/bedrock/{region}/foundation-models`` and ``/inference-profiles``, see
  ``aws_bedrock_routes``; ``/s3/{region}/{bucket}[/{key}]``, see ``aws_s3_routes``); Azure OpenAI's Entra ID and
  Resource Manager under ``{root}/azure`` (``/login/{tenant}/
  oauth2/v2.0/token``, ``/arm/…/deployments``, ``/arm/…/providers/Microsoft.Insights/metrics``, ``/arm/subscriptions/
  {s}/providers/Microsoft.CostManagement/query``, see ``azure_routes``); the control API under ``{root}/_sim``.
* Data is a pure function of (organisation, seed, day); list prices come from genai-prices at the usage date and
  every billed amount is exactly ``tokens × list price × (1 - discount)``. ``ProviderSimulator.truth`` returns
  the numbers the endpoints report.

Python::

    sim = ProviderSimulator(now=lambda: datetime(2026, 7, 1, 12, tzinfo=UTC))
    sim.add_org(SimOrg(provider="openai", org_id="org-acme", name="Acme", admin_keys=[...],
                       seed=7, discount=Decimal("0.18"), history_start=date(2026, 6, 1)))
    with serve(sim) as running:
        running.openai_base_url, running.anthropic_base_url

Command line: ``python -m devstack.provider_sim --host 127.0.0.1 --port 9100 [--demo]``. ``--demo`` registers
(history from 2026-06-01, two late-reporting days) these organisations, whose keys derive from their ids:

===========  ===================  ===============================  ===============================
provider     org id               admin key                        non-admin key
===========  ===================  ===============================  ===============================
openai       org-demo-acme        sk-admin-sim-org-demo-acme       sk-proj-sim-org-demo-acme
openai       org-demo-globex      sk-admin-sim-org-demo-globex     sk-proj-sim-org-demo-globex
anthropic    org-demo-initech     sk-ant-admin01-sim-org-demo-     sk-ant-api03-sim-org-demo-
                                  initech                          initech
anthropic    org-demo-umbrella    sk-ant-admin01-sim-org-demo-     sk-ant-api03-sim-org-demo-
                                  umbrella                         umbrella
===========  ===================  ===============================  ===============================

``--demo`` also registers the Google billing account ``0DE40A-CAFE00-00ACE0`` (projects ``acme-vertex-prod`` and
``acme-gemini-app``, service account ``usage-reader``, billing export ``acme-finops.billing_export.gcp_billing_
export_v1_0DE40A_CAFE00_00ACE0``); its key is generated at start-up.

Control API: ``POST /_sim/orgs`` (SimOrg JSON), ``GET /_sim/orgs``, ``GET /_sim/orgs/{org_id}/truth?day=YYYY-MM-DD``,
``POST|GET /_sim/faults`` (Faults JSON), ``POST /_sim/keys/revoke`` (``{"key": ...}``), ``GET /_sim/requests``,
``POST /_sim/reset-log``, ``GET /_sim/healthz``; Google: ``POST /_sim/google/orgs`` (GoogleSimOrg JSON),
``GET /_sim/google/orgs/{org_id}/truth?day=``, ``GET|POST /_sim/google/orgs/{org_id}/accounts/{account}/key`` (a
generated key; POST makes another), ``POST /_sim/google/disable`` (``{"private_key_id"}`` or ``{"email"}``).
"""

from devstack.provider_sim.google_models import GoogleAccount, GoogleDayTruth, GoogleProject, GoogleSimOrg
from devstack.provider_sim.models import DayTruth, Faults, RequestRecord, SimOrg, TruthRow
from devstack.provider_sim.server import RunningSimulator, create_app, serve
from devstack.provider_sim.simulator import ProviderSimulator

__all__ = [
    "DayTruth",
    "Faults",
    "GoogleAccount",
    "GoogleDayTruth",
    "GoogleProject",
    "GoogleSimOrg",
    "ProviderSimulator",
    "RequestRecord",
    "RunningSimulator",
    "SimOrg",
    "TruthRow",
    "create_app",
    "serve",
]
