"""A deterministic HTTP simulator of the OpenAI and Anthropic admin usage & cost APIs.

It follows the wire contract in provider-apis.md (§1, §2, §5) so the platform's real httpx clients can be pointed
at it through their base-URL settings:

* OpenAI base URL ``{root}/openai`` (``/v1/organization/usage/*``, ``/v1/organization/costs``,
  ``/v1/organization/projects``); Anthropic base URL ``{root}/anthropic`` (``/v1/organizations/usage_report/
  messages``, ``/v1/organizations/cost_report``, ``/v1/organizations/me``); the control API under ``{root}/_sim``.
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

Control API: ``POST /_sim/orgs`` (SimOrg JSON), ``GET /_sim/orgs``, ``GET /_sim/orgs/{org_id}/truth?day=YYYY-MM-DD``,
``POST|GET /_sim/faults`` (Faults JSON), ``POST /_sim/keys/revoke`` (``{"key": ...}``), ``GET /_sim/requests``,
``POST /_sim/reset-log``, ``GET /_sim/healthz``.
"""

from devstack.provider_sim.models import DayTruth, Faults, RequestRecord, SimOrg, TruthRow
from devstack.provider_sim.server import RunningSimulator, create_app, serve
from devstack.provider_sim.simulator import ProviderSimulator

__all__ = [
    "DayTruth",
    "Faults",
    "ProviderSimulator",
    "RequestRecord",
    "RunningSimulator",
    "SimOrg",
    "TruthRow",
    "create_app",
    "serve",
]
