"""The capacity model sizes the deployment: the queue and worker limits in Terraform and functions.json are its
output for the design size, and its figures behave as the workload says they must."""

from __future__ import annotations

import json
from pathlib import Path

from devstack.capacity import DESIGN_ENTERPRISES, Workload, capacity, queue_plan, task_seconds
from shared.config import Settings
from tests.support.terraform_model import TerraformModule

ROOT = Path(__file__).resolve().parents[2]


def _sync_queue() -> dict[str, object]:
    module = TerraformModule.load(ROOT / "infra" / "terraform" / "modules" / "platform")
    queue: dict[str, object] = module.locals["queues"]["usage-sync"]
    return queue


def test_terraform_and_functions_json_hold_the_plan_for_the_design_size() -> None:
    plan = queue_plan(DESIGN_ENTERPRISES)
    queue = _sync_queue()
    assert (queue["max_dispatches_per_second"], queue["max_concurrent_dispatches"]) == (
        plan.max_dispatches_per_second,
        plan.max_concurrent_dispatches,
    )
    functions = {f["name"]: f for f in json.loads((ROOT / "infra" / "functions.json").read_text())["functions"]}
    assert functions["sync_worker"]["max_instances"] == plan.worker_max_instances


def test_the_plan_drains_the_daily_fan_out_within_the_target_with_hourly_tasks_arriving() -> None:
    w = Workload()
    for size in (10_000, 100_000, 1_000_000):
        c = capacity(size, w)
        # Throughput is bounded by the rate and by concurrency / task time; both must exceed the peak arrival.
        by_concurrency = c.plan.max_concurrent_dispatches / task_seconds(w, w.daily_days)
        assert min(c.plan.max_dispatches_per_second, by_concurrency) > c.peak_tasks_s, size
        assert c.daily_tasks / c.peak_tasks_s <= w.drain_target_h * 3600


def test_hourly_tasks_pull_today_and_the_days_the_daily_run_has_not_settled() -> None:
    w = Workload()
    assert w.hourly_days == Settings().sync_hourly_repull_days + 1 < w.daily_days + 1
    c = capacity(100_000)
    assert c.tasks_per_day == 340_000  # 100k daily + 10 % hourly x 24
    assert c.hourly_task_s < c.daily_task_s


def test_the_design_size_fits_every_limit_and_a_million_says_what_to_shard() -> None:
    assert capacity(DESIGN_ENTERPRISES).over_limits == []
    assert capacity(1_000_000).over_limits == ["worker instances above 1,000: shard workers"]


def test_destroying_superseded_key_versions_cuts_secret_manager_cost() -> None:
    c = capacity(100_000)
    assert c.cost_without_destroy > c.monthly_cost * 2
    # Even so it is the largest line: one billed version per key and location.
    assert max(c.cost, key=lambda k: c.cost[k]) == "secret_manager"
    assert c.cost["secret_manager"] >= 100_000 * Workload().providers * 0.06
