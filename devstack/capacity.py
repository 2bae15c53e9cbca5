"""The capacity model: what the sync pipeline needs, and costs, at 10k, 100k and 1M enterprises.

Every figure derives from the workload assumptions below (``Workload``) and Google's public list prices
(``Prices``, with the page each comes from). ``queue_plan`` sizes the ``usage-sync`` queue and the worker for the
design size (``DESIGN_ENTERPRISES``); ``infra/terraform/modules/platform/queues.tf`` and ``infra/functions.json`` hold
its output and ``tests/unit/test_capacity.py`` keeps them equal. ``python -m devstack.capacity`` prints the model;
``devstack.bench_capacity`` (run by ``make bench``) simulates the daily fan-out against it.

The daily run fans out one task per enterprise at 02:00 UTC and must drain within ``drain_target_h``; hourly
enterprises add one task each per hour, pulling today and yesterday only (``Settings.sync_hourly_repull_days``).
A task's time is a fixed part (token exchange, reads, rollups, alerts) plus a part per day pulled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from shared.config import Settings

DESIGN_ENTERPRISES = 100_000
SIZES = (10_000, 100_000, 1_000_000)
_SETTINGS = Settings()


@dataclass(frozen=True)
class Workload:
    """Per-enterprise assumptions (averages). Task times from ``make bench``'s worker figures, rounded up."""

    hourly_share: float = 0.10
    providers: float = 2.0
    task_fixed_s: float = 4.0
    task_per_day_s: float = 2.0
    daily_days: int = _SETTINGS.sync_repull_days
    hourly_days: int = _SETTINGS.sync_hourly_repull_days + 1  # today too
    drain_target_h: float = 4.0
    headroom: float = 1.25
    """Queue rate and concurrency are sized this much above the mean need (retries, slow providers)."""
    provider_requests_per_provider_day: float = 2.0
    """Usage and cost reports, one page each for a day window (``make bench``: provider requests per day)."""
    firestore_writes_per_day: float = 1.0
    """Snapshot of each day pulled."""
    firestore_writes_per_task: float = 8.0
    """Rollups of the months touched, raw pages (7-day TTL), ``last_sync``, alert records, and the snapshots lease's
    create and delete (ADR 16)."""
    firestore_reads_per_task: float = 40.0
    """Connections, rollups, 28 days of history for spikes and forecasts, budgets."""
    worker_vcpu: float = 0.583
    """Cloud Run functions' default CPU for a 1 GiB function (the worker's memory in ``infra/functions.json``)."""
    worker_gib: float = 1.0
    api_requests_per_enterprise_day: float = 200.0
    api_request_s: float = 0.15
    api_concurrency_used: float = 4.0
    """Requests an API instance serves at once on average (its limit is ``concurrency`` in functions.json)."""
    api_vcpu: float = 1.0
    api_gib: float = 0.5
    egress_kib_per_api_request: float = 20.0
    key_rotations_per_year: float = 4.0
    superseded_grace_days: int = _SETTINGS.superseded_version_grace_days
    secret_locations: int = 1


@dataclass(frozen=True)
class Prices:
    """USD list prices, as published (checked 2026-12); free tiers are ignored (negligible at these sizes)."""

    run_vcpu_s: float = 0.000024  # https://cloud.google.com/run/pricing (request-based billing, tier 1)
    run_gib_s: float = 0.0000025  # same page
    run_request: float = 0.40 / 1e6  # same page
    tasks_operation: float = 0.40 / 1e6  # https://cloud.google.com/tasks/pricing (beyond the first 1M a month)
    firestore_read: float = 0.06 / 1e5  # https://cloud.google.com/firestore/pricing (multi-region eur3/nam5)
    firestore_write: float = 0.18 / 1e5  # same page
    secret_version_month: float = 0.06  # https://cloud.google.com/secret-manager/pricing, per location
    secret_access: float = 0.03 / 1e4  # same page
    egress_gib: float = 0.12  # https://cloud.google.com/vpc/network-pricing (premium tier, internet)
    load_balancer_month: float = 18.25  # https://cloud.google.com/vpc/network-pricing#lb (one forwarding rule)


@dataclass(frozen=True)
class Limits:
    """Published limits the plan is checked against."""

    tasks_max_rate: float = 500.0  # https://cloud.google.com/tasks/docs/quotas (max_dispatches_per_second)
    tasks_max_concurrent: int = 5000  # same page (max_concurrent_dispatches)
    function_max_instances: int = 1000  # https://cloud.google.com/functions/quotas (instances per function)
    secret_accesses_per_min: int = 90_000  # https://cloud.google.com/secret-manager/quotas
    secret_writes_per_min: int = 600  # same page (add, disable, destroy...)
    sequential_index_writes_s: int = 500  # https://cloud.google.com/firestore/docs/best-practices (hotspots)


@dataclass(frozen=True)
class QueuePlan:
    max_dispatches_per_second: int
    max_concurrent_dispatches: int
    worker_max_instances: int


@dataclass(frozen=True)
class Capacity:
    enterprises: int
    daily_tasks: int
    hourly_tasks: int
    tasks_per_day: int
    peak_tasks_s: float
    plan: QueuePlan
    daily_task_s: float
    hourly_task_s: float
    firestore_writes_s: float
    snapshot_writes_s: float
    provider_requests_per_org_day: float
    provider_requests_per_hourly_org_day: float
    secret_accesses_per_min: float
    cost: dict[str, float] = field(default_factory=dict)
    cost_without_destroy: float = 0.0
    over_limits: list[str] = field(default_factory=list)

    @property
    def monthly_cost(self) -> float:
        return sum(self.cost.values())


def task_seconds(w: Workload, days: int) -> float:
    return w.task_fixed_s + w.task_per_day_s * days


def queue_plan(enterprises: int, w: Workload = Workload()) -> QueuePlan:
    """Rate and concurrency that drain the daily fan-out within the target while hourly tasks keep coming."""
    daily_rate = enterprises / (w.drain_target_h * 3600)
    hourly_rate = enterprises * w.hourly_share / 3600
    rate = math.ceil((daily_rate + hourly_rate) * w.headroom)
    busy = daily_rate * task_seconds(w, w.daily_days) + hourly_rate * task_seconds(w, w.hourly_days)
    concurrent = math.ceil(busy * w.headroom * w.headroom)  # in flight, plus room for slow tasks and retries
    return QueuePlan(rate, concurrent, concurrent)  # the worker serves one task per instance


def active_secret_versions(enterprises: int, w: Workload, *, destroy_superseded: bool) -> float:
    """Enabled and disabled versions are billed; destroyed ones are free."""
    keys = enterprises * w.providers
    superseded = w.key_rotations_per_year * (w.superseded_grace_days / 365 if destroy_superseded else 1.0)
    return keys * (1 + superseded) * w.secret_locations  # a year after connecting, on average


def capacity(enterprises: int, w: Workload = Workload(), p: Prices = Prices(), lim: Limits = Limits()) -> Capacity:
    hourly_enterprises = enterprises * w.hourly_share
    daily_tasks, hourly_tasks = enterprises, round(hourly_enterprises * 24)
    daily_s, hourly_s = task_seconds(w, w.daily_days), task_seconds(w, w.hourly_days)
    plan = queue_plan(enterprises, w)
    peak = enterprises / (w.drain_target_h * 3600) + hourly_enterprises / 3600
    day_writes = w.firestore_writes_per_day
    writes_daily = w.firestore_writes_per_task + day_writes * w.daily_days
    writes_hourly = w.firestore_writes_per_task + day_writes * w.hourly_days
    firestore_writes_s = (enterprises * writes_daily / (w.drain_target_h * 3600)) + hourly_enterprises * (
        writes_hourly / 3600
    )
    snapshot_writes_s = peak * day_writes * w.daily_days
    requests_per_task = w.provider_requests_per_provider_day
    per_org_day = requests_per_task * w.daily_days
    per_hourly_org_day = per_org_day + 24 * requests_per_task * w.hourly_days
    secret_accesses_min = peak * w.providers * 60

    month = 30.4
    tasks_month = (daily_tasks + hourly_tasks) * month
    worker_s = (daily_tasks * daily_s + hourly_tasks * hourly_s) * month
    api_requests = enterprises * w.api_requests_per_enterprise_day * month
    api_s = api_requests * w.api_request_s / w.api_concurrency_used
    reads = tasks_month * w.firestore_reads_per_task + api_requests * 2
    writes = (daily_tasks * writes_daily + hourly_tasks * writes_hourly) * month
    secrets = active_secret_versions(enterprises, w, destroy_superseded=True) * p.secret_version_month
    secrets += tasks_month * w.providers * p.secret_access
    cost = {
        "functions": worker_s * (w.worker_vcpu * p.run_vcpu_s + w.worker_gib * p.run_gib_s)
        + api_s * (w.api_vcpu * p.run_vcpu_s + w.api_gib * p.run_gib_s)
        + (tasks_month + api_requests) * p.run_request,
        "firestore": reads * p.firestore_read + writes * p.firestore_write,
        "cloud_tasks": tasks_month * p.tasks_operation,
        "secret_manager": secrets,
        "egress": api_requests * w.egress_kib_per_api_request / 2**20 * p.egress_gib,
        "load_balancer": p.load_balancer_month,
    }
    kept = active_secret_versions(enterprises, w, destroy_superseded=False) * p.secret_version_month
    cost_without_destroy = sum(cost.values()) - secrets + kept + tasks_month * w.providers * p.secret_access
    over = _over_limits(plan, secret_accesses_min, snapshot_writes_s, lim)
    return Capacity(
        enterprises, daily_tasks, hourly_tasks, daily_tasks + hourly_tasks, peak, plan, daily_s, hourly_s,
        firestore_writes_s, snapshot_writes_s, per_org_day, per_hourly_org_day, secret_accesses_min, cost,
        cost_without_destroy, over,
    )  # fmt: skip


def _over_limits(plan: QueuePlan, secret_accesses_min: float, snapshot_writes_s: float, lim: Limits) -> list[str]:
    checks = [
        (plan.max_dispatches_per_second > lim.tasks_max_rate, "queue rate above Cloud Tasks' 500/s: shard queues"),
        (plan.max_concurrent_dispatches > lim.tasks_max_concurrent, "concurrency above Cloud Tasks' 5,000"),
        (plan.worker_max_instances > lim.function_max_instances, "worker instances above 1,000: shard workers"),
        (secret_accesses_min > lim.secret_accesses_per_min, "Secret Manager accesses above 90,000/min"),
        (snapshot_writes_s > lim.sequential_index_writes_s, "snapshot writes above 500/s on the date index"),
    ]
    return [message for exceeded, message in checks if exceeded]


def report(c: Capacity) -> list[str]:
    lines = [
        f"{c.enterprises:,} enterprises: {c.tasks_per_day:,} sync tasks/day ({c.daily_tasks:,} daily + "
        f"{c.hourly_tasks:,} hourly), peak {c.peak_tasks_s:.1f} tasks/s",
        f"  queue: {c.plan.max_dispatches_per_second}/s, {c.plan.max_concurrent_dispatches} concurrent; worker "
        f"instances {c.plan.worker_max_instances}; task {c.daily_task_s:.0f} s daily, {c.hourly_task_s:.0f} s hourly",
        f"  Firestore {c.firestore_writes_s:.0f} writes/s at peak ({c.snapshot_writes_s:.0f}/s on the date index); "
        f"Secret Manager {c.secret_accesses_per_min:,.0f} accesses/min",
        f"  provider requests per organisation: {c.provider_requests_per_org_day:.0f}/day daily, "
        f"{c.provider_requests_per_hourly_org_day:.0f}/day hourly (at most {_SETTINGS.provider_concurrency} at once)",
        "  cost/month: "
        + ", ".join(f"{k} ${v:,.0f}" for k, v in c.cost.items())
        + f" = ${c.monthly_cost:,.0f}; Secret Manager {c.cost['secret_manager'] / c.monthly_cost:.0%} "
        f"(${c.cost_without_destroy:,.0f} if superseded key versions were kept)",
    ]
    lines += [f"  OVER A LIMIT: {message}" for message in c.over_limits]
    return lines


def main() -> None:
    for size in SIZES:
        for line in report(capacity(size)):
            print(line)  # noqa: T201 - the model's report


if __name__ == "__main__":
    main()
