"""Checks that keep the deployment honest: code against ``infra/functions.json``, jobs, routes, queues, and who may
invoke functions or touch secrets in the Terraform.

Each check takes plain data (the parsed JSON tables, a ``TerraformModule``, a folder of code) and returns a list of
readable violations; empty means compliant. Where the Terraform cannot be evaluated statically, a check assumes the
worst. ``tests/integration/test_infra.py`` runs them on the repository and proves each one fails on a bad case.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

from tests.support.terraform_model import Evaluator, Instance, Resource, TerraformModule, Unresolvable

Table = Sequence[Mapping[str, Any]]

UNRESOLVED = "<unresolved>"
PUBLIC_PRINCIPALS = frozenset({"allUsers", "allAuthenticatedUsers"})
SECRET_HOLDERS = frozenset({"connect", "sync"})
INVOKERS = frozenset({"scheduler-invoker"})
TASK_INVOKER_PREFIX = "invoker-"
"""Task invokers are one per task function, ``invoker-<function>`` (``invoker_checks``)."""
BASIC_ROLES = frozenset({"roles/owner", "roles/editor"})
INVOKE_ROLES = frozenset(
    {"roles/run.invoker", "roles/run.admin", "roles/run.developer", "roles/cloudfunctions.invoker",
     "roles/cloudfunctions.admin", "roles/cloudfunctions.developer"}
)  # fmt: skip
PROJECT_IAM = ("google_project_iam_member", "google_project_iam_binding", "google_project_iam_policy")
SECRET_IAM = tuple(f"google_secret_manager_secret_iam_{kind}" for kind in ("member", "binding", "policy"))
INVOKER_IAM = tuple(
    f"{base}_iam_{kind}"
    for base in ("google_cloud_run_service", "google_cloud_run_v2_service", "google_cloudfunctions2_function",
                 "google_cloudfunctions_function")
    for kind in ("member", "binding", "policy")
)  # fmt: skip
_ENTRY_DECORATORS = frozenset({"http", "cloud_event", "typed"})


def load_tables(infra: Path) -> tuple[Table, Table, Table]:
    """``(functions, jobs, routes)`` from ``infra/``."""
    return tuple(json.loads((infra / f"{n}.json").read_text())[n] for n in ("functions", "jobs", "routes"))


# --- Code against functions.json ------------------------------------------------------------------------------


def _is_entry_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in _ENTRY_DECORATORS


def top_level_functions(main: Path) -> dict[str, bool]:
    """Top-level functions of a ``main.py`` (parsed, not imported), each with whether it is an entry point."""
    tree = ast.parse(main.read_text(), filename=str(main))
    return {
        node.name: any(_is_entry_decorator(d) for d in node.decorator_list)
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def check_code_matches_deployment(functions: Table, root: Path) -> list[str]:
    """Every deployed function has code, and every entry point in ``functions/*/main.py`` is deployed."""
    violations = []
    deployed = {(f["source"], f["entry_point"]) for f in functions}
    for f in functions:
        main = root / f["source"] / "main.py"
        if not main.is_file():
            violations.append(f"function {f['name']}: {f['source']}/main.py does not exist")
        elif f["entry_point"] not in top_level_functions(main):
            violations.append(f"function {f['name']}: {f['source']}/main.py defines no top-level {f['entry_point']}")
    for main in sorted((root / "functions").glob("*/main.py")):
        source = main.parent.relative_to(root).as_posix()
        for name, is_entry in top_level_functions(main).items():
            if is_entry and (source, name) not in deployed:
                violations.append(f"{source}/main.py: entry point {name} has no deployment in infra/functions.json")
    return violations


# --- The JSON tables --------------------------------------------------------------------------------------------


def check_jobs(functions: Table, jobs: Table) -> list[str]:
    """Jobs target existing scheduler functions, and every scheduler function has a job."""
    by_name = {f["name"]: f for f in functions}
    violations = [
        f"job {j['name']}: target {j['target']} is not a scheduler-triggered function of infra/functions.json"
        for j in jobs
        if by_name.get(j["target"], {}).get("trigger") != "scheduler"
    ]
    targeted = {j["target"] for j in jobs}
    violations += [
        f"function {f['name']}: trigger is scheduler but no job targets it"
        for f in functions
        if f["trigger"] == "scheduler" and f["name"] not in targeted
    ]
    return violations


def check_routes(functions: Table, routes: Table) -> list[str]:
    """Routes point at existing public functions, prefixes are unique paths, and every public function is routed."""
    by_name = {f["name"]: f for f in functions}
    violations = [
        f"route {r['prefix']}: {r['function']} is not a public function of infra/functions.json"
        for r in routes
        if by_name.get(r["function"], {}).get("trigger") != "public"
    ]
    prefixes = [r["prefix"] for r in routes]
    violations += [f"route {p}: must start with /" for p in prefixes if not p.startswith("/")]
    violations += [f"route {p}: listed twice" for p in sorted({p for p in prefixes if prefixes.count(p) > 1})]
    routed = {r["function"] for r in routes}
    violations += [
        f"function {f['name']}: public but no route reaches it"
        for f in functions
        if f["trigger"] == "public" and f["name"] not in routed
    ]
    return violations


# --- Terraform: iteration over the tables ---------------------------------------------------------------------


def _expanded(module: TerraformModule, raw: Any, depth: int = 0) -> str:
    """The expression text with every ``local.x`` it mentions appended, recursively."""
    text = raw if isinstance(raw, str) else json.dumps(raw)
    if depth > 8:
        return text
    names = sorted(set(re.findall(r"\blocal\.([A-Za-z_][\w-]*)", text)))
    return " ".join([text] + [_expanded(module, module.locals.get(n, ""), depth + 1) for n in names])


def check_iterates_over_tables(module: TerraformModule) -> list[str]:
    """Functions come from functions.json and jobs from jobs.json, whole: none hand-written, none filtered out."""
    violations = []
    for rtype, table in (
        ("google_cloudfunctions2_function", "functions.json"),
        ("google_cloud_scheduler_job", "jobs.json"),
    ):
        resources = module.of_type(rtype)
        if not resources:
            violations.append(f"no {rtype} resource: nothing deploys {table}")
        for r in resources:
            text = _expanded(module, r.body.get("for_each", ""))
            if table not in text:
                violations.append(f"{r.address}: for_each does not iterate over {table}")
            elif re.search(r"\sif\s", text):
                violations.append(f"{r.address}: for_each filters {table}; every entry must be deployed")
    return violations


def check_scheduler_jobs_call_as_invoker(module: TerraformModule) -> list[str]:
    """Each scheduler job calls its own target, in UTC, with an OIDC token of the scheduler invoker."""
    ev, violations = Evaluator(module), []
    for r in module.of_type("google_cloud_scheduler_job"):
        http = (r.body.get("http_target") or [{}])[0]
        oidc = (http.get("oidc_token") or [{}])[0]
        if "each.value.target" not in str(http.get("uri", "")):
            violations.append(f"{r.address}: http_target.uri does not depend on the job's target")
        if r.body.get("time_zone") != "Etc/UTC":
            violations.append(f"{r.address}: time_zone must be Etc/UTC (jobs.json crons are UTC)")
        callers = {principal(m) for m in _values(ev, oidc.get("service_account_email", UNRESOLVED))}
        if callers != {"scheduler-invoker"}:
            violations.append(f"{r.address}: OIDC identity {sorted(callers)} is not the scheduler invoker")
    return violations


def check_queues(module: TerraformModule, functions: Table) -> list[str]:
    """Every queue feeds a tasks function, and every tasks function has a queue."""
    queues = module.locals.get("queues")
    if not isinstance(queues, Mapping):
        return ["local.queues must be a literal map of queue name to {target, ...}"]
    by_name = {f["name"]: f for f in functions}
    violations = [
        f"queue {name}: target {q.get('target')} is not a tasks-triggered function"
        for name, q in queues.items()
        if by_name.get(q.get("target"), {}).get("trigger") != "tasks"
    ]
    targets = {q.get("target") for q in queues.values()}
    violations += [
        f"function {f['name']}: trigger is tasks but no queue targets it"
        for f in functions
        if f["trigger"] == "tasks" and f["name"] not in targets
    ]
    return violations


# --- Terraform: IAM -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    resource: str
    role: str
    member: str
    target: str
    conditions: tuple[str, ...]


def _values(ev: Evaluator, raw: Any, inst: Instance | None = None) -> list[str]:
    try:
        found = ev.values(raw, inst if inst is not None else Instance())
    except Unresolvable:
        return [UNRESOLVED]
    flat = [v for item in found for v in (item if isinstance(item, list) else [item])]
    return [v if isinstance(v, str) and "${" not in v else UNRESOLVED for v in flat] or [UNRESOLVED]


def grants(ev: Evaluator, r: Resource, target_attr: str = "") -> list[Grant]:
    """Every (role, member, target) the resource may grant; authoritative policies count as fully unknown."""
    if r.type.endswith("_iam_policy"):
        return [Grant(r.address, UNRESOLVED, UNRESOLVED, UNRESOLVED, ())]
    found = []
    for inst in ev.instances(r):
        roles = _values(ev, r.body.get("role", UNRESOLVED), inst)
        raw_members = r.body.get("members", [r.body.get("member", UNRESOLVED)])
        members = [m for raw in (raw_members if isinstance(raw_members, list) else [raw_members])
                   for m in _values(ev, raw, inst)]  # fmt: skip
        targets = _values(ev, r.body.get(target_attr, ""), inst) if target_attr else [""]
        conditions = tuple(c for cond in r.body.get("condition", []) for c in _values(ev, cond.get("expression"), inst))
        found += [Grant(r.address, *combo, conditions) for combo in product(roles, members, targets)]
    return found


def principal(member: str) -> str:
    """``connect`` for ``serviceAccount:<google_service_account.platform[connect].email>``; other members as given."""
    m = re.fullmatch(
        r"(?:serviceAccount:)?<google_service_account\.([\w-]+)(?:\[([^\]]*)\])?\.(?:email|member)>", member
    )
    return (m.group(2) or m.group(1)) if m else member


def is_secret_role(module: TerraformModule, role: str) -> bool:
    """Whether a role can grant Secret Manager permissions (unknown and unseen custom roles are assumed to)."""
    if role.startswith("roles/"):
        return role.startswith("roles/secretmanager.") or role in BASIC_ROLES
    m = re.fullmatch(r"<google_project_iam_custom_role\.([\w-]+)\.(?:id|name)>", role)
    custom = module.resources.get(("google_project_iam_custom_role", m.group(1))) if m else None
    permissions = custom.body.get("permissions") if custom else None
    if not isinstance(permissions, list):
        return True
    return any(str(p).startswith("secretmanager.") for p in permissions)


def is_invoker(who: str) -> bool:
    return who in INVOKERS or who.startswith(TASK_INVOKER_PREFIX)


def check_invokers(module: TerraformModule, functions: Table) -> list[str]:
    """Internal functions are invokable only by an invoker identity; nobody may invoke at project level."""
    ev, by_name, violations = Evaluator(module), {f["name"]: f for f in functions}, []
    for r in module.of_type(*INVOKER_IAM):
        internal = sorted(n for n in covered_functions(module, r, by_name) if by_name[n]["trigger"] != "public")
        for g in grants(ev, r) if internal else []:
            who = principal(g.member)
            if not is_invoker(who):
                violations.append(f"{r.address}: internal function(s) {', '.join(internal)} invokable by {who}")
    for r in module.of_type(*PROJECT_IAM):
        for g in grants(ev, r):
            if g.role in INVOKE_ROLES | BASIC_ROLES or g.role == UNRESOLVED:
                violations.append(f"{r.address}: {principal(g.member)} holds {g.role} on the whole project")
    return violations


def covered_functions(module: TerraformModule, r: Resource, by_name: Mapping[str, Any]) -> set[str]:
    """The functions an invoker grant may apply to; every function when its ``for_each`` is not understood."""
    raw = r.body.get("for_each")
    if raw is None:
        text = " ".join(str(r.body.get(k, "")) for k in ("service", "name", "cloud_function"))
        named = {n for n in by_name if re.search(rf"\b({re.escape(n)}|{re.escape(n.replace('_', '-'))})\b", text)}
        return named or set(by_name)
    while isinstance(raw, str) and (m := re.fullmatch(r"\$\{local\.([\w-]+)\}", raw)):
        raw = module.locals.get(m.group(1))
    if isinstance(raw, Mapping | list):
        return {n for n in raw if n in by_name}
    # A filter of another local (e.g. of local.public_functions) covers at most what that local covers.
    sub = re.fullmatch(
        r"\$\{\{for\s+(?:\w+\s*,\s*)?(\w+)\s+in\s+local\.([\w-]+)\s*:\s*\w+\s*=>\s*\1\s*(?:if\s.+)?\}\}", str(raw)
    )
    if sub and sub.group(2) != "functions" and isinstance(module.locals.get(sub.group(2)), str):
        return covered_functions(module, Resource(r.type, r.name, {"for_each": module.locals[sub.group(2)]}), by_name)
    m = re.fullmatch(
        r"\$\{\{for\s+(?:\w+\s*,\s*)?(\w+)\s+in\s+local\.functions\s*:\s*[^=]+=>\s*\1\s*(?:if\s+(.+?))?\}\}", str(raw)
    )
    cond = re.fullmatch(rf'{m.group(1)}\.trigger\s*(==|!=)\s*"(\w+)"', m.group(2).strip()) if m and m.group(2) else None
    if cond:
        op, trigger = cond.groups()
        return {n for n, f in by_name.items() if (f["trigger"] == trigger) == (op == "==")}
    return set(by_name)


def check_secret_access(module: TerraformModule) -> list[str]:
    """Only connect and sync touch provider keys, only through grants conditioned on the provider-key prefix."""
    prefix = module.locals.get("provider_secret_prefix")
    if not isinstance(prefix, str) or not prefix or "${" in prefix:
        return ["local.provider_secret_prefix must be a literal, non-empty string"]
    ev = Evaluator(module)
    return _project_secret_grants(ev, prefix) + _secret_level_grants(ev, prefix) + _managed_secrets(ev, prefix)


def _project_secret_grants(ev: Evaluator, prefix: str) -> list[str]:
    violations = []
    for r in ev.module.of_type(*PROJECT_IAM):
        for g in grants(ev, r):
            who = principal(g.member)
            if not is_secret_role(ev.module, g.role):
                continue
            if who not in SECRET_HOLDERS:
                violations.append(f"{r.address}: {who} holds Secret Manager role {g.role} at project level")
            elif not g.conditions or not all(f"/secrets/{prefix}" in c for c in g.conditions):
                violations.append(f"{r.address}: {who}'s project-level {g.role} is not limited to {prefix}* secrets")
    return violations


def _secret_level_grants(ev: Evaluator, prefix: str) -> list[str]:
    violations = []
    for r in ev.module.of_type(*SECRET_IAM):
        for g in grants(ev, r, "secret_id"):
            who, secret = principal(g.member), g.target.rsplit("/secrets/", 1)[-1]
            if (secret == UNRESOLVED or secret.startswith(("<", prefix))) and who not in SECRET_HOLDERS:
                violations.append(f"{r.address}: {who} granted {g.role} on provider-key secret {secret}")
    return violations


def _managed_secrets(ev: Evaluator, prefix: str) -> list[str]:
    return [
        f"{r.address}: managed secret {secret_id} may fall under the {prefix} prefix"
        for r in ev.module.of_type("google_secret_manager_secret")
        for inst in ev.instances(r)
        for secret_id in _values(ev, r.body.get("secret_id", UNRESOLVED), inst)
        if secret_id.startswith(prefix) or secret_id == UNRESOLVED
    ]


def check_config_secret_grants(module: TerraformModule) -> list[str]:
    """Each platform secret of ``local.config_secrets`` is readable by exactly the ``accounts`` it lists (the ones
    whose functions mount it), through per-secret grants; nothing else is granted on it."""
    secrets = module.locals.get("config_secrets")
    if not isinstance(secrets, Mapping) or not all(isinstance(s.get("accounts"), list) for s in secrets.values()):
        return ["local.config_secrets must be a literal map of secret id to {accounts = [...], env = ...}"]
    ev = Evaluator(module)
    granted: dict[str, set[str]] = {name: set() for name in secrets}
    violations = []
    for r in module.of_type(*SECRET_IAM):
        for g in grants(ev, r, "secret_id"):
            secret, who = g.target.rsplit("/secrets/", 1)[-1], principal(g.member)
            if secret not in secrets and secret != UNRESOLVED:
                continue
            if UNRESOLVED in (secret, who, g.role):
                violations.append(f"{r.address}: cannot tell who is granted what on platform secrets")
            elif g.role != "roles/secretmanager.secretAccessor":
                violations.append(f"{r.address}: {who} granted {g.role} on {secret}; only secretAccessor is needed")
            else:
                granted[secret].add(who)
    for name, spec in secrets.items():
        wanted = set(spec["accounts"])
        if granted[name] != wanted:
            violations.append(f"secret {name}: readable by {sorted(granted[name])}, config lists {sorted(wanted)}")
    return violations
