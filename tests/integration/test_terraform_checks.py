"""The Terraform checks fail on bad configurations: each rule is broken once in a small HCL snippet added to a
compliant module (itself shown to pass), so a check that cannot fail would show here."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import infra_checks as checks
from tests.support.armor_checks import check_rate_limited_front_door
from tests.support.invoker_checks import check_one_invoker_per_task_function
from tests.support.terraform_model import Evaluator, TerraformModule

FUNCTIONS: list[dict[str, Any]] = [
    {"name": "api", "trigger": "public"},
    {"name": "sync_dispatch", "trigger": "scheduler"},
    {"name": "sync_worker", "trigger": "tasks"},
]

LOCALS = """
locals {
  functions              = { for f in jsondecode(file("functions.json")).functions : f.name => f }
  jobs                   = { for j in jsondecode(file("jobs.json")).jobs : j.name => j }
  public_functions       = { for name, f in local.functions : name => f if f.trigger == "public" }
  internal_functions     = { for name, f in local.functions : name => f if f.trigger != "public" }
  scheduler_functions    = { for name, f in local.functions : name => f if f.trigger == "scheduler" }
  task_invokers          = { sync_worker = "invoker-sync-worker" }
  provider_secret_prefix = "provider-key-"
  grants                 = { "api/ds" = { account = "api", role = "roles/datastore.user" } }
  config_secrets         = { "smtp-password" = { accounts = ["sync", "reports"] } }
  config_secret_accessors = {
    for pair in flatten([
      for secret, s in local.config_secrets : [for account in s.accounts : { secret = secret, account = account }]
    ]) : "${pair.secret}/${pair.account}" => pair
  }
  names                  = "projects/${data.google_project.this.number}/secrets/${local.provider_secret_prefix}"
  read_condition         = "resource.name.startsWith(\\"${local.names}\\")"
  queues                 = { "usage-sync" = { target = "sync_worker" } }
}
"""

COMPLIANT = """
resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions
}
resource "google_cloud_scheduler_job" "job" {
  for_each  = local.jobs
  time_zone = "Etc/UTC"
  http_target {
    uri = "${local.base}/${each.value.target}"
    oidc_token {
      service_account_email = google_service_account.platform["scheduler-invoker"].email
    }
  }
}
resource "google_cloud_run_service_iam_member" "public_invoker" {
  for_each = local.public_functions
  role     = "roles/run.invoker"
  member   = "allUsers"
}
resource "google_cloud_run_service_iam_member" "scheduler_invoker" {
  for_each = local.scheduler_functions
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.platform["scheduler-invoker"].email}"
}
resource "google_cloud_run_service_iam_member" "task_invoker" {
  for_each = local.task_invokers
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.platform[each.value].email}"
}
resource "google_project_iam_member" "grant" {
  for_each = local.grants
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.platform[each.value.account].email}"
}
resource "google_project_iam_member" "sync_keys" {
  role   = "roles/secretmanager.secretAccessor"
  member = "serviceAccount:${google_service_account.platform["sync"].email}"
  condition {
    title      = "provider keys"
    expression = local.read_condition
  }
}
resource "google_secret_manager_secret" "config" {
  for_each  = local.config_secrets
  secret_id = each.key
}
resource "google_secret_manager_secret_iam_member" "config" {
  for_each  = local.config_secret_accessors
  secret_id = google_secret_manager_secret.config[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.platform[each.value.account].email}"
}
"""


def _module(*extra: str) -> TerraformModule:
    return TerraformModule.parse(LOCALS, COMPLIANT, *extra)


def test_the_compliant_configuration_passes_every_terraform_check() -> None:
    module = _module()
    assert checks.check_iterates_over_tables(module) == []
    assert checks.check_scheduler_jobs_call_as_invoker(module) == []
    assert checks.check_invokers(module, FUNCTIONS) == []
    assert checks.check_secret_access(module) == []
    assert checks.check_config_secret_grants(module) == []
    assert check_one_invoker_per_task_function(module, FUNCTIONS) == []


# --- functions and jobs come from the tables --------------------------------------------------------------------


def test_iteration_check_fails_on_a_hand_written_function() -> None:
    module = _module('resource "google_cloudfunctions2_function" "extra" {\n  name = "extra"\n}\n')
    assert checks.check_iterates_over_tables(module) == [
        "google_cloudfunctions2_function.extra: for_each does not iterate over functions.json"
    ]


def test_iteration_check_fails_on_a_filtered_table() -> None:
    module = _module(
        'resource "google_cloudfunctions2_function" "function" {\n'
        '  for_each = { for k, f in local.functions : k => f if f.trigger == "public" }\n}\n'
    )
    assert checks.check_iterates_over_tables(module) == [
        "google_cloudfunctions2_function.function: for_each filters functions.json; every entry must be deployed"
    ]


def test_iteration_check_fails_on_jobs_not_read_from_jobs_json() -> None:
    module = _module('locals {\n  jobs = { daily = { target = "sync_dispatch" } }\n}\n')
    assert checks.check_iterates_over_tables(module) == [
        "google_cloud_scheduler_job.job: for_each does not iterate over jobs.json"
    ]


def test_iteration_check_fails_when_nothing_deploys_the_functions() -> None:
    module = TerraformModule.parse(LOCALS)
    assert checks.check_iterates_over_tables(module) == [
        "no google_cloudfunctions2_function resource: nothing deploys functions.json",
        "no google_cloud_scheduler_job resource: nothing deploys jobs.json",
    ]


def test_scheduler_check_fails_on_the_wrong_identity_time_zone_or_target() -> None:
    module = _module(
        'resource "google_cloud_scheduler_job" "job" {\n'
        "  for_each = local.jobs\n"
        '  http_target {\n    uri = "https://example.test/sync_dispatch"\n'
        '    oidc_token {\n      service_account_email = google_service_account.platform["tasks-invoker"].email\n'
        "    }\n  }\n}\n"
    )
    assert checks.check_scheduler_jobs_call_as_invoker(module) == [
        "google_cloud_scheduler_job.job: http_target.uri does not depend on the job's target",
        "google_cloud_scheduler_job.job: time_zone must be Etc/UTC (jobs.json crons are UTC)",
        "google_cloud_scheduler_job.job: OIDC identity ['tasks-invoker'] is not the scheduler invoker",
    ]


# --- invokers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("for_each", "exposed"),
    [
        ("local.functions", "sync_dispatch, sync_worker"),
        ('{ for name, f in local.functions : name => f if f.trigger != "tasks" }', "sync_dispatch"),
        ('{ for name, f in local.functions : name => f if f.name != "api" }', "sync_dispatch, sync_worker"),
        ('{ sync_worker = "x" }', "sync_worker"),
    ],
)
def test_invoker_check_fails_when_all_users_reach_an_internal_function(for_each: str, exposed: str) -> None:
    module = _module(
        f'resource "google_cloud_run_service_iam_member" "public_invoker" {{\n  for_each = {for_each}\n'
        '  role = "roles/run.invoker"\n  member = "allUsers"\n}\n'
    )
    assert checks.check_invokers(module, FUNCTIONS) == [
        f"google_cloud_run_service_iam_member.public_invoker: internal function(s) {exposed} invokable by allUsers"
    ]


def test_invoker_check_fails_on_a_single_internal_function_open_to_all_authenticated_users() -> None:
    module = _module(
        'resource "google_cloudfunctions2_function_iam_member" "open" {\n'
        '  cloud_function = google_cloudfunctions2_function.function["sync_worker"].name\n'
        '  role = "roles/run.invoker"\n  member = "allAuthenticatedUsers"\n}\n'
    )
    assert checks.check_invokers(module, FUNCTIONS) == [
        "google_cloudfunctions2_function_iam_member.open: internal function(s) sync_worker invokable by "
        "allAuthenticatedUsers"
    ]


def test_invoker_check_fails_when_a_runtime_identity_may_invoke_internal_functions() -> None:
    module = _module(
        'resource "google_cloud_run_service_iam_member" "internal_invoker" {\n'
        "  for_each = local.internal_functions\n"
        '  role   = "roles/run.invoker"\n'
        '  member = "serviceAccount:${google_service_account.platform["api"].email}"\n}\n'
    )
    assert checks.check_invokers(module, FUNCTIONS) == [
        "google_cloud_run_service_iam_member.internal_invoker: internal function(s) sync_dispatch, sync_worker "
        "invokable by api"
    ]


TWO_TASK_FUNCTIONS = [*FUNCTIONS, {"name": "report_worker", "trigger": "tasks"}]


@pytest.mark.parametrize(
    ("task_invokers", "violation"),
    [
        (
            '{ sync_worker = "invoker-shared", report_worker = "invoker-shared" }',
            "report_worker: shares its invoker invoker-shared with sync_worker",
        ),
        ('{ sync_worker = "scheduler-invoker", report_worker = "invoker-r" }', "sync_worker: invokable by"),
        ('{ sync_worker = "invoker-s" }', "report_worker: invokable by [], not by exactly one invoker of its own"),
    ],
)
def test_the_invoker_check_fails_unless_each_task_function_has_its_own_invoker(
    task_invokers: str, violation: str
) -> None:
    module = _module(f"locals {{\n  task_invokers = {task_invokers}\n}}\n")
    found = check_one_invoker_per_task_function(module, TWO_TASK_FUNCTIONS)
    assert any(v.startswith(violation) for v in found), found


def test_the_invoker_check_fails_when_the_scheduler_invoker_is_not_alone_on_a_scheduled_function() -> None:
    extra = (
        'resource "google_cloud_run_service_iam_member" "more" {\n  for_each = local.scheduler_functions\n'
        '  role = "roles/run.invoker"\n'
        '  member = "serviceAccount:${google_service_account.platform["invoker-x"].email}"\n}\n'
    )
    assert check_one_invoker_per_task_function(_module(extra), FUNCTIONS) == [
        "sync_dispatch: invokable by ['invoker-x', 'scheduler-invoker'], not only the scheduler invoker"
    ]


def test_invoker_check_fails_on_a_project_wide_invoker_role() -> None:
    module = _module('locals {\n  grants = { "x" = { account = "reports", role = "roles/run.invoker" } }\n}\n')
    assert checks.check_invokers(module, FUNCTIONS) == [
        "google_project_iam_member.grant: reports holds roles/run.invoker on the whole project"
    ]


# --- Secret Manager ---------------------------------------------------------------------------------------------


def test_secret_check_fails_on_a_project_level_secret_role_for_another_identity() -> None:
    module = _module(
        'locals {\n  grants = { "x" = { account = "reports", role = "roles/secretmanager.secretAccessor" } }\n}\n'
    )
    assert checks.check_secret_access(module) == [
        "google_project_iam_member.grant: reports holds Secret Manager role roles/secretmanager.secretAccessor "
        "at project level"
    ]


def test_secret_check_fails_on_a_custom_role_carrying_secret_permissions() -> None:
    module = _module(
        'resource "google_project_iam_custom_role" "reader" {\n'
        '  role_id = "reader"\n  permissions = ["datastore.entities.get", "secretmanager.versions.access"]\n}\n'
        'resource "google_project_iam_member" "api_reader" {\n'
        "  role   = google_project_iam_custom_role.reader.id\n"
        '  member = "serviceAccount:${google_service_account.platform["api"].email}"\n}\n'
    )
    assert checks.check_secret_access(module) == [
        "google_project_iam_member.api_reader: api holds Secret Manager role "
        "<google_project_iam_custom_role.reader.id> at project level"
    ]


@pytest.mark.parametrize(
    "condition",
    ["", '  condition {\n    expression = "resource.name.startsWith(\\"projects/1/secrets/smtp\\")"\n  }\n'],
)
def test_secret_check_fails_on_a_holder_grant_not_limited_to_provider_keys(condition: str) -> None:
    module = _module(
        'resource "google_project_iam_member" "sync_keys" {\n'
        '  role   = "roles/secretmanager.secretAccessor"\n'
        f'  member = "serviceAccount:${{google_service_account.platform["sync"].email}}"\n{condition}}}\n'
    )
    assert checks.check_secret_access(module) == [
        "google_project_iam_member.sync_keys: sync's project-level roles/secretmanager.secretAccessor is not "
        "limited to provider-key-* secrets"
    ]


def test_secret_check_fails_on_a_provider_key_secret_granted_to_another_identity() -> None:
    module = _module(
        'resource "google_secret_manager_secret_iam_binding" "peek" {\n'
        '  secret_id = "projects/p/secrets/provider-key-ent1-openai"\n'
        '  role      = "roles/secretmanager.secretAccessor"\n'
        '  members   = ["serviceAccount:${google_service_account.platform["sync"].email}", '
        '"serviceAccount:${google_service_account.platform["benchmarks"].email}"]\n}\n'
    )
    assert checks.check_secret_access(module) == [
        "google_secret_manager_secret_iam_binding.peek: benchmarks granted roles/secretmanager.secretAccessor on "
        "provider-key secret provider-key-ent1-openai"
    ]


def test_secret_check_fails_on_a_managed_secret_inside_the_provider_key_prefix() -> None:
    module = _module('locals {\n  config_secrets = { "provider-key-smtp" = { accounts = ["reports"] } }\n}\n')
    assert checks.check_secret_access(module) == [
        "google_secret_manager_secret_iam_member.config: reports granted roles/secretmanager.secretAccessor on "
        "provider-key secret provider-key-smtp",
        "google_secret_manager_secret.config: managed secret provider-key-smtp may fall under the provider-key- prefix",
    ]


def test_secret_check_assumes_the_worst_of_what_it_cannot_read() -> None:
    module = _module(
        'resource "google_project_iam_member" "opaque" {\n'
        "  role   = local.some_role\n"
        '  member = "serviceAccount:${google_service_account.platform["retention"].email}"\n}\n'
        'resource "google_project_iam_policy" "authoritative" {\n  policy_data = "{}"\n}\n'
    )
    assert checks.check_secret_access(module) == [
        "google_project_iam_member.opaque: retention holds Secret Manager role <unresolved> at project level",
        "google_project_iam_policy.authoritative: <unresolved> holds Secret Manager role <unresolved> at project level",
    ]


# --- the platform's own secrets -------------------------------------------------------------------------------------


def test_the_grant_table_of_platform_secrets_is_evaluated_per_account() -> None:
    ev = Evaluator(_module())
    resource = _module().resources[("google_secret_manager_secret_iam_member", "config")]
    granted = {(g.target, checks.principal(g.member)) for g in checks.grants(ev, resource, "secret_id")}
    assert granted == {("smtp-password", "sync"), ("smtp-password", "reports")}


def test_config_secret_check_fails_on_a_listed_account_without_its_grant() -> None:
    module = _module(
        'locals {\n  config_secret_accessors = { "smtp-password/reports" = '
        '{ secret = "smtp-password", account = "reports" } }\n}\n'
    )
    assert checks.check_config_secret_grants(module) == [
        "secret smtp-password: readable by ['reports'], config lists ['reports', 'sync']"
    ]


def test_config_secret_check_fails_on_a_grant_to_an_unlisted_account() -> None:
    module = _module(
        'resource "google_secret_manager_secret_iam_member" "extra" {\n'
        '  secret_id = google_secret_manager_secret.config["smtp-password"].secret_id\n'
        '  role      = "roles/secretmanager.secretAccessor"\n'
        '  member    = "serviceAccount:${google_service_account.platform["api"].email}"\n}\n'
    )
    assert checks.check_config_secret_grants(module) == [
        "secret smtp-password: readable by ['api', 'reports', 'sync'], config lists ['reports', 'sync']"
    ]


def test_config_secret_check_fails_on_more_than_read_access() -> None:
    module = _module(
        'resource "google_secret_manager_secret_iam_member" "admin" {\n'
        '  secret_id = google_secret_manager_secret.config["smtp-password"].secret_id\n'
        '  role      = "roles/secretmanager.admin"\n'
        '  member    = "serviceAccount:${google_service_account.platform["reports"].email}"\n}\n'
    )
    assert checks.check_config_secret_grants(module) == [
        "google_secret_manager_secret_iam_member.admin: reports granted roles/secretmanager.admin on smtp-password; "
        "only secretAccessor is needed"
    ]


def test_config_secret_check_assumes_the_worst_of_a_filtered_grant_table() -> None:
    module = _module(
        "locals {\n  config_secret_accessors = { for pair in local.pairs : pair.key => pair if pair.ok }\n}\n"
    )
    violations = checks.check_config_secret_grants(module)
    assert "google_secret_manager_secret_iam_member.config: cannot tell who is granted what on platform secrets" in (
        violations
    )
    assert checks.check_secret_access(module) != []


# --- Cloud Armor: per-IP rate limits on by default ---------------------------------------------------------------

ARMOR = """
variable "security_policy" {
  default = null
}
resource "google_compute_backend_service" "function" {
  for_each        = local.public_functions
  security_policy = local.security_policy
}
resource "google_compute_security_policy" "frontdoor" {
  rule {
    action   = "throttle"
    priority = 1000
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = 300
        interval_sec = 60
      }
    }
  }
}
locals {
  security_policy = coalesce(var.security_policy, google_compute_security_policy.frontdoor.self_link)
}
"""


def test_the_compliant_front_door_rate_limits_each_ip() -> None:
    assert check_rate_limited_front_door(_module(ARMOR)) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("security_policy = local.security_policy", "security_policy = var.security_policy"),  # off by default
        ('variable "security_policy" {\n  default = null', 'variable "security_policy" {\n  default = "x"'),
        ('enforce_on_key = "IP"', 'enforce_on_key = "ALL"'),  # one bucket for everyone, not per client
        ('exceed_action  = "deny(429)"', 'exceed_action  = "allow"'),
        ('action   = "throttle"', 'action   = "allow"'),
        ('src_ip_ranges = ["*"]', 'src_ip_ranges = ["10.0.0.0/8"]'),
    ],
)
def test_the_armor_check_fails_when_per_ip_limits_are_off(old: str, new: str) -> None:
    assert old in ARMOR
    assert check_rate_limited_front_door(_module(ARMOR.replace(old, new))) != []


def test_the_armor_check_fails_without_any_policy() -> None:
    without = ARMOR.split('resource "google_compute_security_policy"')[0]
    assert check_rate_limited_front_door(_module(without)) != []
