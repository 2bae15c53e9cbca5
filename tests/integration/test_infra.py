"""The deployment, read statically: code, the JSON tables in infra/ and the Terraform must agree, and the Terraform
must grant only what each component needs. No network and no providers: hcl2 parses the files.

Every check used here is proven able to fail in test_infra_checks.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.firestore_quotas import QUOTAS
from shared.adapters.firestore_retention import MONTH, SNAPSHOT_DAY
from shared.adapters.firestore_snapshots import EXPIRE_AT, MONTHS, RAW, SNAPSHOTS
from shared.config import Settings
from tests.support import armor_checks as armor
from tests.support import infra_checks as checks
from tests.support import invoker_checks as invokers
from tests.support.terraform_model import TerraformModule

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MODULE_DIR = INFRA / "terraform" / "modules" / "platform"
FUNCTIONS, JOBS, ROUTES = checks.load_tables(INFRA)
PLANNED = json.loads((INFRA / "planned.json").read_text())
"""Designed but not built: queues and platform secrets may already exist for these (connect enqueues the backfill
before the sync worker is built); Terraform deploys no function, job or route from this file."""
SETTINGS_ENV = {name.upper() for name in Settings.model_fields}


@pytest.fixture(scope="module")
def module() -> TerraformModule:
    return TerraformModule.load(MODULE_DIR)


def test_every_deployed_function_has_code_and_every_entry_point_is_deployed() -> None:
    _none(checks.check_code_matches_deployment(FUNCTIONS, ROOT))


def test_planned_functions_have_no_code_yet_and_are_not_deployed() -> None:
    """A function with code belongs in functions.json (and its jobs and routes in theirs), not in planned.json."""
    deployed = {f["name"] for f in FUNCTIONS}
    for entry in PLANNED["functions"]:
        assert entry["name"] not in deployed, entry["name"]
        main = ROOT / entry["source"] / "main.py"
        code = checks.top_level_functions(main) if main.exists() else {}
        assert entry["entry_point"] not in code, f"{entry['name']} has code: move it to infra/functions.json"
    planned_names = {f["name"] for f in PLANNED["functions"]}
    assert {j["target"] for j in PLANNED["jobs"]} <= planned_names | deployed
    assert {r["function"] for r in PLANNED["routes"]} <= planned_names


def test_terraform_deploys_every_function_and_job_from_the_tables(module: TerraformModule) -> None:
    _none(checks.check_iterates_over_tables(module))


def test_scheduler_jobs_target_scheduler_functions() -> None:
    _none(checks.check_jobs(FUNCTIONS, JOBS))


def test_scheduler_jobs_call_their_target_as_the_scheduler_invoker(module: TerraformModule) -> None:
    _none(checks.check_scheduler_jobs_call_as_invoker(module))


def test_internal_functions_are_invokable_only_by_invoker_identities(module: TerraformModule) -> None:
    _none(checks.check_invokers(module, FUNCTIONS))


def test_only_connect_and_sync_reach_provider_keys(module: TerraformModule) -> None:
    _none(checks.check_secret_access(module))


def test_routes_reach_public_functions_only() -> None:
    _none(checks.check_routes(FUNCTIONS, ROUTES))


def test_queues_feed_task_functions_and_match_settings(module: TerraformModule) -> None:
    _none(checks.check_queues(module, [*FUNCTIONS, *PLANNED["functions"]]))
    defaults = Settings()
    queues = set(module.locals["queues"])
    assert {defaults.sync_queue, defaults.reports_queue, defaults.erase_queue} <= queues


def test_queues_retry_with_bounded_exponential_backoff(module: TerraformModule) -> None:
    for name, queue in module.locals["queues"].items():
        assert queue["max_attempts"] > 1, name
        assert _seconds(queue["min_backoff"]) < _seconds(queue["max_backoff"]), name
        assert queue["max_doublings"] >= 1, name
        assert 0 < queue["max_dispatches_per_second"] <= 500, name  # Cloud Tasks' maximum


def test_function_environment_sets_only_settings_fields(module: TerraformModule) -> None:
    env = set(module.locals["common_environment"])
    secret_env = {s["env"] for s in module.locals["config_secrets"].values()}
    assert env | secret_env <= SETTINGS_ENV, sorted((env | secret_env) - SETTINGS_ENV)
    # Emulator hosts turn on local mode, which accepts unsigned tokens: never on Google Cloud.
    assert not {name for name in env if name.endswith("_EMULATOR_HOST")}


def test_provider_secret_prefix_is_the_one_the_code_uses(module: TerraformModule) -> None:
    assert module.locals["provider_secret_prefix"] == Settings().provider_secret_prefix
    assert module.locals["common_environment"]["PROVIDER_SECRET_PREFIX"] == "${local.provider_secret_prefix}"


def test_platform_secrets_are_mounted_only_where_granted(module: TerraformModule) -> None:
    secrets = module.locals["config_secrets"]
    accounts_of_functions = {f["service_account"] for f in [*FUNCTIONS, *PLANNED["functions"]]}
    assert {a for s in secrets.values() for a in s["accounts"]} <= accounts_of_functions
    assert {s["env"] for s in secrets.values()} == {"SMTP_PASSWORD", "BENCHMARK_NOISE_KEY", "WEBHOOK_SIGNING_KEY"}
    _none(checks.check_config_secret_grants(module))


def test_both_senders_of_email_may_read_the_smtp_password(module: TerraformModule) -> None:
    """The sync worker sends key-failure alerts, the reports functions monthly reports: both log in to the relay."""
    assert set(module.locals["config_secrets"]["smtp-password"]["accounts"]) == {"sync", "reports"}
    assert set(module.locals["config_secrets"]["benchmark-noise-key"]["accounts"]) == {"benchmarks"}


def test_only_the_api_and_the_sync_identity_may_derive_webhook_signing_secrets(module: TerraformModule) -> None:
    """The api shows a new signing secret once; the sync identity (sync_worker, webhook_deliver) signs. No other
    identity can compute any enterprise's secret, and Firestore holds none (ADR 20)."""
    assert set(module.locals["config_secrets"]["webhook-signing-key"]["accounts"]) == {"api", "sync"}
    _none(checks.check_config_secret_grants(module))  # granted per secret, mounted only on those identities


def test_the_retention_sweep_holds_firestore_and_nothing_secret(module: TerraformModule) -> None:
    roles = {g["role"] for g in module.locals["project_grants"].values() if g["account"] == "retention"}
    assert roles == {"roles/datastore.user", "roles/logging.logWriter", "roles/cloudtrace.agent"}
    assert all("retention" not in s["accounts"] for s in module.locals["config_secrets"].values())
    # It may only re-enqueue erasures (which the connect identity then carries out).
    assert [name for name, q in module.locals["queues"].items() if "retention" in q["enqueuers"]] == [
        Settings().erase_queue
    ]


def test_every_function_runs_as_a_defined_service_account(module: TerraformModule) -> None:
    accounts: dict[str, Any] = module.locals["service_accounts"]
    assert {f["service_account"] for f in FUNCTIONS} <= set(accounts)
    for key, account in accounts.items():
        # Google's rule for service account ids: 6-30 characters, lower-case letters, digits and hyphens.
        assert re.fullmatch(r"[a-z][-a-z0-9]{4,28}[a-z0-9]", account["account_id"]), key
    scheduler_account = Settings().scheduler_service_account.split("@")[0]
    assert accounts["scheduler-invoker"]["account_id"] == scheduler_account
    task_functions = {f["name"] for f in FUNCTIONS if f["trigger"] == "tasks"}
    assert set(module.locals["task_invokers"]) == task_functions, "every task function needs an invoker of its own"
    assert set(module.locals["task_invokers"].values()) <= set(accounts)


def test_each_task_function_has_an_invoker_of_its_own(module: TerraformModule) -> None:
    _none(invokers.check_one_invoker_per_task_function(module, FUNCTIONS))


@pytest.mark.parametrize("function", FUNCTIONS, ids=[f["name"] for f in FUNCTIONS])
def test_function_entries_are_deployable(function: dict[str, Any]) -> None:
    assert function["trigger"] in {"public", "scheduler", "tasks"}
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,61}[A-Za-z0-9]", function["name"])
    assert re.fullmatch(r"\d+(Mi|Gi)", function["memory"])
    assert 1 <= function["timeout_s"] <= 3600
    assert function["max_instances"] >= 1
    assert function["source"].startswith("functions/")


@pytest.mark.parametrize("job", JOBS, ids=[j["name"] for j in JOBS])
def test_jobs_have_five_field_crons_and_object_bodies(job: dict[str, Any]) -> None:
    assert len(job["cron"].split()) == 5
    assert isinstance(job["body"], dict)


def test_ttl_policies_cover_expiring_collections() -> None:
    config = json.loads((ROOT / "firestore.indexes.json").read_text())
    ttl = {(o["collectionGroup"], o["fieldPath"]) for o in config["fieldOverrides"] if o.get("ttl")}
    assert {(group, EXPIRE_AT) for group in (RAW, SNAPSHOTS, MONTHS, "alerts", QUOTAS)} <= ttl


def test_the_retention_sweeps_collection_group_queries_are_indexed() -> None:
    """Production Firestore refuses a collection group range query without a COLLECTION_GROUP single-field index
    (the emulator does not, so only this test catches a missing one)."""
    config = json.loads((ROOT / "firestore.indexes.json").read_text())
    overrides = {(o["collectionGroup"], o["fieldPath"]): o.get("indexes", []) for o in config["fieldOverrides"]}
    for field in [(RAW, EXPIRE_AT), (SNAPSHOTS, SNAPSHOT_DAY), (MONTHS, MONTH)]:
        indexes = overrides.get(field, [])
        assert {"order": "ASCENDING", "queryScope": "COLLECTION_GROUP"} in indexes, field
    # An override replaces the field's automatic indexes: the collection-scope ones stay where a field is not a TTL.
    for field in [(SNAPSHOTS, SNAPSHOT_DAY), (MONTHS, MONTH)]:
        scopes = {(i["order"], i["queryScope"]) for i in overrides[field]}
        assert {("ASCENDING", "COLLECTION"), ("DESCENDING", "COLLECTION")} <= scopes, field


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_is_formatted() -> None:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1"}  # no version check over the network
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(INFRA / "terraform")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive infra/terraform`:\n{result.stdout}"


def _none(violations: list[str]) -> None:
    assert not violations, "\n".join(violations)


def _seconds(duration: str) -> int:
    assert duration.endswith("s")
    return int(duration[:-1])


def test_the_front_door_rate_limits_each_client_ip_by_default(module: TerraformModule) -> None:
    _none(armor.check_rate_limited_front_door(module))
