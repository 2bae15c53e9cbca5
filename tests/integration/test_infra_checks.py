"""The code and table checks fail on bad deployments: each runs on a small constructed case that breaks one rule,
next to a compliant control, so a check that cannot fail would show here. Terraform checks: test_terraform_checks.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import infra_checks as checks
from tests.support.terraform_model import TerraformModule

FUNCTIONS: list[dict[str, Any]] = [
    {"name": "api", "source": "functions/api", "entry_point": "api", "trigger": "public", "service_account": "api"},
    {"name": "sync_dispatch", "source": "functions/sync", "entry_point": "sync_dispatch", "trigger": "scheduler",
     "service_account": "sync"},
    {"name": "sync_worker", "source": "functions/sync", "entry_point": "sync_worker", "trigger": "tasks",
     "service_account": "sync"},
]  # fmt: skip

# --- code against functions.json ---------------------------------------------------------------------------------


def _write_code(root: Path) -> None:
    (root / "functions" / "sync").mkdir(parents=True)
    (root / "functions" / "sync" / "main.py").write_text(
        "import functions_framework\n\n"
        "def _helper():\n    return 1\n\n"
        "@functions_framework.http\ndef sync_dispatch(request):\n    return ''\n\n"
        "@functions_framework.http\ndef sync_worker(request):\n    return ''\n"
    )


def test_code_check_passes_when_code_and_table_agree(tmp_path: Path) -> None:
    _write_code(tmp_path)
    assert checks.check_code_matches_deployment(FUNCTIONS[1:], tmp_path) == []


def test_code_check_fails_on_a_deployment_without_code(tmp_path: Path) -> None:
    _write_code(tmp_path)
    violations = checks.check_code_matches_deployment(FUNCTIONS, tmp_path)
    assert violations == ["function api: functions/api/main.py does not exist"]


def test_code_check_fails_on_an_entry_point_missing_from_main(tmp_path: Path) -> None:
    _write_code(tmp_path)
    renamed = [{**FUNCTIONS[1], "entry_point": "dispatch"}, FUNCTIONS[2]]
    violations = checks.check_code_matches_deployment(renamed, tmp_path)
    assert "function sync_dispatch: functions/sync/main.py defines no top-level dispatch" in violations


def test_code_check_fails_on_an_undeployed_entry_point(tmp_path: Path) -> None:
    _write_code(tmp_path)
    violations = checks.check_code_matches_deployment(FUNCTIONS[2:], tmp_path)
    assert violations == ["functions/sync/main.py: entry point sync_dispatch has no deployment in infra/functions.json"]


# --- tables -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["sync_worker", "api", "missing"])
def test_jobs_check_fails_on_a_job_for_a_non_scheduler_function(target: str) -> None:
    jobs = [{"name": "a", "target": "sync_dispatch"}, {"name": "b", "target": target}]
    assert checks.check_jobs(FUNCTIONS, jobs) == [
        f"job b: target {target} is not a scheduler-triggered function of infra/functions.json"
    ]


def test_jobs_check_fails_on_a_scheduler_function_without_job() -> None:
    assert checks.check_jobs(FUNCTIONS, []) == ["function sync_dispatch: trigger is scheduler but no job targets it"]


@pytest.mark.parametrize("target", ["sync_worker", "missing"])
def test_routes_check_fails_on_a_route_to_a_non_public_function(target: str) -> None:
    routes = [{"prefix": "/api/", "function": "api"}, {"prefix": "/x", "function": target}]
    assert checks.check_routes(FUNCTIONS, routes) == [
        f"route /x: {target} is not a public function of infra/functions.json"
    ]


def test_routes_check_fails_on_unrouted_public_functions_and_bad_prefixes() -> None:
    assert checks.check_routes(FUNCTIONS, []) == ["function api: public but no route reaches it"]
    routes = [{"prefix": "api/", "function": "api"}, {"prefix": "api/", "function": "api"}]
    assert checks.check_routes(FUNCTIONS, routes) == [
        "route api/: must start with /",
        "route api/: must start with /",
        "route api/: listed twice",
    ]


def test_queue_check_fails_on_a_queue_for_a_non_task_function_and_an_unqueued_task_function() -> None:
    module = TerraformModule.parse('locals {\n  queues = { "q" = { target = "sync_dispatch" } }\n}\n')
    assert checks.check_queues(module, FUNCTIONS) == [
        "queue q: target sync_dispatch is not a tasks-triggered function",
        "function sync_worker: trigger is tasks but no queue targets it",
    ]


def test_queue_check_passes_when_every_task_function_has_its_queue() -> None:
    module = TerraformModule.parse('locals {\n  queues = { "q" = { target = "sync_worker" } }\n}\n')
    assert checks.check_queues(module, FUNCTIONS) == []
