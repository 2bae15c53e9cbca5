"""Checks that the Terraform deploys into an enterprise organisation and holds at scale: organisation policies
(domain-restricted sharing, resource locations), scaling of the API functions, queue settings from the capacity
model, and the alerting that tells people when it does not hold.

Like ``infra_checks``, each check takes parsed data and returns readable violations (empty means compliant), and
assumes the worst of what it cannot read. ``tests/integration/test_infra_production.py`` runs them on the repository
and proves each one fails on a bad case.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.infra_checks import INVOKER_IAM, PUBLIC_PRINCIPALS, Evaluator, covered_functions, grants
from tests.support.terraform_model import TerraformModule

Table = Sequence[Mapping[str, Any]]

ALL_USERS_MODE = 'var.public_access == "all_users"'
CHECK_DISABLED_MODE = 'var.public_access == "invoker_iam_check_disabled"'


def _for_each_text(module: TerraformModule, raw: Any) -> str:
    """The ``for_each`` expression with the local it names, if it names one, substituted."""
    text = str(raw)
    m = re.fullmatch(r"\$\{local\.([\w-]+)\}", text)
    return str(module.locals.get(m.group(1), text)) if m else text


def check_public_access(module: TerraformModule, functions: Table) -> list[str]:
    """``allUsers`` grants exist only in the ``all_users`` mode, the invoker check is switched off only in the other
    mode, and in each mode exactly the public functions are reachable by anyone."""
    ev, by_name, violations = Evaluator(module), {f["name"]: f for f in functions}, []
    public = {n for n, f in by_name.items() if f["trigger"] == "public"}
    for r in module.of_type(*INVOKER_IAM):
        if not any(g.member in PUBLIC_PRINCIPALS for g in grants(ev, r)):
            continue
        if ALL_USERS_MODE not in _for_each_text(module, r.body.get("for_each", "")):
            violations.append(f"{r.address}: grants a public principal whatever var.public_access says")
        elif covered_functions(module, r, by_name) != public:
            violations.append(f"{r.address}: the allUsers grant does not cover exactly the public functions")
    disablers = [
        r for r in module.of_type("terraform_data") if "--no-invoker-iam-check" in str(r.body.get("provisioner", ""))
    ]
    if len(disablers) != 1:
        violations.append(f"{len(disablers)} terraform_data resources switch the invoker check off; expected one")
    for r in disablers:
        if CHECK_DISABLED_MODE not in _for_each_text(module, r.body.get("for_each", "")):
            violations.append(f"{r.address}: switches the invoker check off whatever var.public_access says")
        elif covered_functions(module, r, by_name) != public:
            violations.append(f"{r.address}: does not cover exactly the public functions")
    return violations


def check_secret_replication(module: TerraformModule) -> list[str]:
    """Every secret is replicated user-managed in ``local.secret_locations``, the locations the code is given too."""
    violations = []
    for r in module.of_type("google_secret_manager_secret"):
        replication = (r.body.get("replication") or [{}])[0]
        managed = (replication.get("user_managed") or [{}])[0]
        dynamic = [d.get("replicas") for d in managed.get("dynamic", []) if "replicas" in d]
        if "user_managed" not in replication or "auto" in replication:
            violations.append(f"{r.address}: replication is not user-managed (gcp.resourceLocations refuses auto)")
        elif not dynamic or any(d.get("for_each") != "${local.secret_locations}" for d in dynamic):
            violations.append(f"{r.address}: replicas do not come from local.secret_locations")
    env = module.locals.get("common_environment", {})
    if env.get("SECRET_REPLICA_LOCATIONS") != '${join(",", local.secret_locations)}':
        violations.append("common_environment: SECRET_REPLICA_LOCATIONS is not local.secret_locations")
    return violations


def check_function_scaling(module: TerraformModule, functions: Table) -> list[str]:
    """Public functions serve many requests per instance with at least one vCPU (concurrency above 1 requires it:
    https://cloud.google.com/functions/docs/configuring/concurrency), and Terraform deploys what the table says."""
    violations = []
    for f in functions:
        concurrency, cpu = f.get("concurrency", 1), float(f.get("cpu", 0))
        if f["trigger"] == "public" and concurrency <= 1:
            violations.append(f"function {f['name']}: public but serves one request per instance")
        if concurrency > 1 and cpu < 1:
            violations.append(f"function {f['name']}: concurrency {concurrency} needs at least 1 vCPU, has {cpu}")
    wanted = {
        "max_instance_request_concurrency": "${try(each.value.concurrency, 1)}",
        "available_cpu": "${try(each.value.cpu, null)}",
        "min_instance_count": "${lookup(var.min_instances, each.key, 0)}",
    }
    for r in module.of_type("google_cloudfunctions2_function"):
        service = (r.body.get("service_config") or [{}])[0]
        violations += [
            f"{r.address}: service_config.{name} is {service.get(name)!r}, not {value!r}"
            for name, value in wanted.items()
            if service.get(name) != value
        ]
        if "THREADS = tostring(each.value.concurrency)" not in str(service.get("environment_variables")):
            violations.append(f"{r.address}: THREADS does not follow the function's concurrency")
    return violations


def emitted_events(code_root: Path) -> dict[str, set[str]]:
    """``event`` values the code logs (module constants named ``*_EVENT``), each with the string keys of its
    module: the fields its records can carry."""
    found: dict[str, set[str]] = {}
    for path in sorted(code_root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                continue
            target, value = node.targets[0], node.value
            named = isinstance(target, ast.Name) and target.id.endswith("_EVENT")
            if named and isinstance(value, ast.Constant) and isinstance(value.value, str):
                found[value.value] = strings
    return found


REQUIRED_SIGNALS = {
    "tasks given up": "logging.googleapis.com/user/task_given_up",
    "sync failure ratio": "logging.googleapis.com/user/sync_finished",
    "report delivery failures": "logging.googleapis.com/user/report_delivery_failed",
    "5xx rate": "run.googleapis.com/request_count",
    "queue age": "cloudtasks.googleapis.com/queue/task_attempt_delays",
    "uptime": "monitoring.googleapis.com/uptime_check/check_passed",
}


def check_observability(module: TerraformModule, events: Mapping[str, set[str]]) -> list[str]:
    """Log-based metrics count events the code emits, by a field it sets; every required signal has an alert policy
    that notifies ``local.notification_channels``; an uptime check and a dashboard exist."""
    violations = []
    metrics = module.locals.get("log_metrics")
    if not isinstance(metrics, Mapping):
        return ["local.log_metrics must be a literal map of event name to {label, description}"]
    for name, spec in metrics.items():
        if name not in events:
            violations.append(f"log metric {name}: no code emits event {name!r}")
        elif spec.get("label") not in events[name]:
            violations.append(f"log metric {name}: the code emitting it never sets {spec.get('label')!r}")
    policies = module.of_type("google_monitoring_alert_policy")
    texts = {r.address: str(r.body).replace("${local.user_metric.", "logging.googleapis.com/user/") for r in policies}
    for signal, metric in REQUIRED_SIGNALS.items():
        if not any(metric in text.replace("}", "") for text in texts.values()):
            violations.append(f"no alert policy watches {signal} ({metric})")
    violations += [
        f"{r.address}: does not notify local.notification_channels"
        for r in policies
        if r.body.get("notification_channels") != "${local.notification_channels}"
    ]
    for rtype in ("google_monitoring_uptime_check_config", "google_monitoring_dashboard"):
        if not module.of_type(rtype):
            violations.append(f"no {rtype}")
    return violations
