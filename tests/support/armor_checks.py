"""Static checks of the front door's Cloud Armor policy: per-client-IP rate limiting is on by default.

Like ``infra_checks``, each check takes a ``TerraformModule`` and returns violations (empty: compliant); whatever
it cannot read counts as a violation, so an unfamiliar construct fails the build instead of slipping past.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tests.support.terraform_model import TerraformModule

POLICY = "google_compute_security_policy"
_LOCAL = re.compile(r"^\$\{local\.([A-Za-z_][A-Za-z0-9_]*)\}$")
_POLICY_REF = re.compile(rf"^{POLICY}\.([A-Za-z_][A-Za-z0-9_-]*)\.(self_link|id)$")
_COALESCE = re.compile(r"^coalesce\(\s*var\.([A-Za-z_][A-Za-z0-9_]*)\s*,\s*(.+?)\s*\)$")


def _first(blocks: Any) -> Mapping[str, Any]:
    return blocks[0] if isinstance(blocks, list) and blocks and isinstance(blocks[0], Mapping) else {}


def _limits_every_ip(rule: Mapping[str, Any]) -> bool:
    """A throttle or rate-based-ban rule, keyed on the client IP, answering 429, that matches every source."""
    options = _first(rule.get("rate_limit_options"))
    config = _first(_first(rule.get("match")).get("config"))
    return (
        rule.get("action") in {"throttle", "rate_based_ban"}
        and options.get("enforce_on_key") == "IP"
        and str(options.get("exceed_action", "")).startswith("deny(429)")
        and bool(_first(options.get("rate_limit_threshold")).get("count"))
        and config.get("src_ip_ranges") == ["*"]
    )


def rate_limiting_policies(module: TerraformModule) -> set[str]:
    """Names of the security policies with a per-IP rate limit over every request."""
    return {
        r.name
        for r in module.of_type(POLICY)
        if any(_limits_every_ip(rule) for rule in r.body.get("rule", []) if isinstance(rule, Mapping))
    }


def _default_policy(module: TerraformModule, value: Any, depth: int = 0) -> str | None:
    """The policy a backend's ``security_policy`` names when no variable is set, or None if it cannot be told."""
    text = str(value)
    local = _LOCAL.match(text)
    if local and depth < 5:
        return _default_policy(module, module.locals.get(local.group(1)), depth + 1)
    expr = text[2:-1].strip() if text.startswith("${") and text.endswith("}") else text
    overridable = _COALESCE.match(expr)
    if overridable:
        if module.variables.get(overridable.group(1)) is not None:
            return None  # a variable that replaces the policy by default
        expr = overridable.group(2)
    ref = _POLICY_REF.match(expr)
    return ref.group(1) if ref else None


def check_rate_limited_front_door(module: TerraformModule) -> list[str]:
    """Every backend of the front door has, by default, a Cloud Armor policy that rate-limits each client IP."""
    limiting = rate_limiting_policies(module)
    violations = [] if limiting else [f"no {POLICY} rate-limits every client IP (throttle, key IP, deny(429))"]
    backends = module.of_type("google_compute_backend_service")
    if not backends:
        violations.append("no google_compute_backend_service: the front door is not declared")
    for backend in backends:
        policy = _default_policy(module, backend.body.get("security_policy"))
        if policy is None:
            violations.append(f"{backend.address}: security_policy is not a rate-limiting policy by default")
        elif policy not in limiting:
            violations.append(f"{backend.address}: security policy {policy} does not rate-limit each client IP")
    return violations
