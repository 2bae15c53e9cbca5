"""The Terraform deploys where enterprises deploy and holds at scale: the checks of ``tests.support.deploy_checks``
pass on the repository's module and fail on a constructed bad case each (no network: hcl2 parses the files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import deploy_checks as checks
from tests.support.infra_checks import load_tables
from tests.support.terraform_model import TerraformModule

ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = ROOT / "infra" / "terraform" / "modules" / "platform"
FUNCTIONS, _, _ = load_tables(ROOT / "infra")

SMALL_FUNCTIONS = [{"name": "api", "trigger": "public"}, {"name": "sync_worker", "trigger": "tasks"}]
SMALL_LOCALS = """
locals {
  functions          = { for f in jsondecode(file("functions.json")).functions : f.name => f }
  public_functions   = { for name, f in local.functions : name => f if f.trigger == "public" }
  all_users          = { for name, f in local.public_functions : name => f if var.public_access == "all_users" }
  check_free = {
    for name, f in local.public_functions : name => f if var.public_access == "invoker_iam_check_disabled"
  }
  secret_locations   = length(var.secret_replica_locations) > 0 ? var.secret_replica_locations : [var.region]
  common_environment = { SECRET_REPLICA_LOCATIONS = join(",", local.secret_locations) }
}
"""
SMALL_COMPLIANT = """
resource "google_cloud_run_service_iam_member" "public_invoker" {
  for_each = local.all_users
  role     = "roles/run.invoker"
  member   = "allUsers"
}
resource "terraform_data" "invoker_check_disabled" {
  for_each = local.check_free
  provisioner "local-exec" {
    command = "gcloud run services update ${each.key} --no-invoker-iam-check"
  }
}
resource "google_secret_manager_secret" "config" {
  replication {
    user_managed {
      dynamic "replicas" {
        for_each = local.secret_locations
        content {
          location = replicas.value
        }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def module() -> TerraformModule:
    return TerraformModule.load(MODULE_DIR)


def _small(*extra: str) -> TerraformModule:
    return TerraformModule.parse(SMALL_LOCALS, SMALL_COMPLIANT, *extra)


# --- organisation policies ----------------------------------------------------------------------------------------


def test_public_functions_work_under_domain_restricted_sharing_by_choice(module: TerraformModule) -> None:
    """allUsers is refused by iam.allowedPolicyMemberDomains; Cloud Run's documented alternative is disabling the
    invoker IAM check (https://cloud.google.com/run/docs/authenticating/public#invoker_check)."""
    assert checks.check_public_access(module, FUNCTIONS) == []
    assert module.variables["public_access"] == "all_users"


def test_secrets_are_replicated_where_resource_location_policies_allow(module: TerraformModule) -> None:
    """Automatic replication counts as "global" for gcp.resourceLocations and is refused where that policy restricts
    locations (https://cloud.google.com/secret-manager/docs/choosing-replication)."""
    assert checks.check_secret_replication(module) == []


def test_the_small_compliant_module_passes() -> None:
    module = _small()
    assert checks.check_public_access(module, SMALL_FUNCTIONS) == []
    assert checks.check_secret_replication(module) == []


def test_public_access_check_fails_on_an_unconditional_all_users_grant() -> None:
    module = _small(
        'resource "google_cloud_run_service_iam_member" "public_invoker" {\n'
        '  for_each = local.public_functions\n  role = "roles/run.invoker"\n  member = "allUsers"\n}\n'
    )
    assert checks.check_public_access(module, SMALL_FUNCTIONS) == [
        "google_cloud_run_service_iam_member.public_invoker: grants a public principal whatever var.public_access says"
    ]


def test_public_access_check_fails_when_the_invoker_check_is_off_in_both_modes() -> None:
    module = _small(
        'resource "terraform_data" "invoker_check_disabled" {\n  for_each = local.public_functions\n'
        '  provisioner "local-exec" {\n    command = "gcloud run services update x --no-invoker-iam-check"\n  }\n}\n'
    )
    assert checks.check_public_access(module, SMALL_FUNCTIONS) == [
        "terraform_data.invoker_check_disabled: switches the invoker check off whatever var.public_access says"
    ]


def test_public_access_check_fails_when_an_internal_function_would_lose_its_invoker_check() -> None:
    module = _small(
        "locals {\n  check_free = { for name, f in local.functions : name => f"
        ' if var.public_access == "invoker_iam_check_disabled" }\n}\n'
    )
    assert checks.check_public_access(module, SMALL_FUNCTIONS) == [
        "terraform_data.invoker_check_disabled: does not cover exactly the public functions"
    ]


@pytest.mark.parametrize(
    ("replication", "problem"),
    [
        ("auto {}", "replication is not user-managed (gcp.resourceLocations refuses auto)"),
        (
            'user_managed {\n replicas {\n location = "us-central1"\n }\n }',
            "replicas do not come from local.secret_locations",
        ),
    ],
)
def test_replication_check_fails_on_automatic_or_hard_coded_replicas(replication: str, problem: str) -> None:
    module = _small(f'resource "google_secret_manager_secret" "config" {{\n  replication {{\n {replication}\n }}\n}}\n')
    assert checks.check_secret_replication(module) == [f"google_secret_manager_secret.config: {problem}"]


# --- scaling of the API functions ---------------------------------------------------------------------------------


def test_public_functions_serve_many_requests_per_instance_with_a_whole_vcpu(module: TerraformModule) -> None:
    assert checks.check_function_scaling(module, FUNCTIONS) == []
    assert module.variables["min_instances"] == {"api": 1}  # one warm API instance unless the operator says


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": "api", "trigger": "public"}, "function api: public but serves one request per instance"),
        (
            {"name": "api", "trigger": "public", "concurrency": 8, "cpu": "0.5"},
            "function api: concurrency 8 needs at least 1 vCPU, has 0.5",
        ),
    ],
)
def test_scaling_check_fails_on_single_request_or_fractional_cpu_concurrency(
    module: TerraformModule, entry: dict[str, object], problem: str
) -> None:
    assert checks.check_function_scaling(module, [entry]) == [problem]


def test_scaling_check_fails_when_terraform_ignores_the_table() -> None:
    module = TerraformModule.parse(
        'resource "google_cloudfunctions2_function" "function" {\n  service_config {\n'
        "    max_instance_request_concurrency = 1\n  }\n}\n"
    )
    assert len(checks.check_function_scaling(module, [])) == 4


# --- observability ------------------------------------------------------------------------------------------------

EVENTS = checks.emitted_events(ROOT / "shared")
MONITORING = (MODULE_DIR / "monitoring.tf").read_text()


def test_alerts_watch_what_the_code_logs_and_notify_the_configured_channels(module: TerraformModule) -> None:
    assert checks.check_observability(module, EVENTS) == []
    assert {"task_given_up", "sync_finished", "report_delivery_failed"} <= set(EVENTS)


def test_task_max_attempts_given_to_the_code_are_the_queues(module: TerraformModule) -> None:
    from shared.config import Settings

    queues = module.locals["queues"]
    assert Settings().task_max_attempts == {name: q["max_attempts"] for name, q in queues.items()}
    assert "TASK_MAX_ATTEMPTS" in module.locals["common_environment"]


def test_observability_check_fails_on_a_metric_of_an_event_nobody_logs() -> None:
    module = TerraformModule.parse(MONITORING, 'locals {\n  log_metrics = { sync_done = { label = "outcome" } }\n}\n')
    assert "log metric sync_done: no code emits event 'sync_done'" in checks.check_observability(module, EVENTS)


def test_observability_check_fails_on_a_label_the_code_does_not_set() -> None:
    module = TerraformModule.parse(
        MONITORING, 'locals {\n  log_metrics = { sync_finished = { label = "verdict" } }\n}\n'
    )
    assert checks.check_observability(module, EVENTS)[0] == (
        "log metric sync_finished: the code emitting it never sets 'verdict'"
    )


def test_observability_check_fails_on_a_missing_alert_or_a_silent_one() -> None:
    without_queue_alert = MONITORING.replace("cloudtasks.googleapis.com/queue/task_attempt_delays", "x")
    silent = MONITORING.replace("notification_channels = local.notification_channels", "notification_channels = []", 1)
    assert "no alert policy watches queue age (cloudtasks.googleapis.com/queue/task_attempt_delays)" in (
        checks.check_observability(TerraformModule.parse(without_queue_alert), EVENTS)
    )
    assert checks.check_observability(TerraformModule.parse(silent), EVENTS) == [
        "google_monitoring_alert_policy.task_given_up: does not notify local.notification_channels"
    ]
