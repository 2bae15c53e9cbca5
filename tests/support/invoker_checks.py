"""Static check of who may invoke each internal function: scheduled functions the scheduler invoker only, and each
task-triggered function its own invoker only, one per function (ADR 20).

A shared task identity let a token minted for one queue's tasks call every task function; with one invoker each, a
leaked or misrouted token reaches one function. Like ``infra_checks``, whatever cannot be read is a violation.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tests.support.infra_checks import INVOKER_IAM, UNRESOLVED, Table, _values, covered_functions, principal
from tests.support.terraform_model import Evaluator, TerraformModule


def invokers_by_function(module: TerraformModule, functions: Table) -> dict[str, set[str]]:
    """Function name → the principals granted an invoker role on it (``<unresolved>`` where unreadable)."""
    ev, by_name = Evaluator(module), {f["name"]: f for f in functions}
    found: dict[str, set[str]] = defaultdict(set)
    for r in module.of_type(*INVOKER_IAM):
        covered = covered_functions(module, r, by_name)
        for inst in ev.instances(r):
            targets = {inst.key} if inst.known and inst.key in by_name else covered
            raw: Any = r.body.get("member", UNRESOLVED) if not r.type.endswith("_policy") else UNRESOLVED
            members = r.body["members"] if isinstance(r.body.get("members"), list) else [raw]
            who = {principal(m) for raw_member in members for m in _values(ev, raw_member, inst)}
            for name in targets:
                found[name] |= who
    return dict(found)


def check_one_invoker_per_task_function(module: TerraformModule, functions: Table) -> list[str]:
    granted = invokers_by_function(module, functions)
    violations: list[str] = []
    owners: dict[str, str] = {}
    for f in functions:
        name, trigger, who = f["name"], f["trigger"], granted.get(f["name"], set())
        if trigger == "scheduler" and who != {"scheduler-invoker"}:
            violations.append(f"{name}: invokable by {sorted(who)}, not only the scheduler invoker")
        if trigger != "tasks":
            continue
        if len(who) != 1 or UNRESOLVED in who or "scheduler-invoker" in who:
            violations.append(f"{name}: invokable by {sorted(who)}, not by exactly one invoker of its own")
            continue
        (invoker,) = who
        if invoker in owners:
            violations.append(f"{name}: shares its invoker {invoker} with {owners[invoker]}")
        owners[invoker] = name
    return violations
