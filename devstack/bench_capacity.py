"""Simulation of the daily sync fan-out against the capacity model: ``python -m devstack.bench_capacity``.

Prints the model (``devstack.capacity``) for 10k, 100k and 1M enterprises, then simulates one day of the
``usage-sync`` queue at 100k enterprises, second by second: the dispatcher enqueues every enterprise's daily task at
02:00 at ``--fanout-rate`` tasks/s (``make bench``'s measured fan-out is higher), hourly enterprises add theirs at
minute 15 of every hour, and Cloud Tasks dispatches at most ``max_dispatches_per_second`` with at most
``max_concurrent_dispatches`` in flight. Task times are log-normal around the model's means; ``--failure`` of them
fail and come back after the queue's 30 s minimum backoff. It reports when the daily backlog has drained, the
oldest task's age, and the most tasks in flight, for the planned queue and for the settings it replaced.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
from collections import deque
from dataclasses import dataclass

from devstack.capacity import DESIGN_ENTERPRISES, SIZES, QueuePlan, Workload, capacity, report, task_seconds

PREVIOUS = QueuePlan(max_dispatches_per_second=5, max_concurrent_dispatches=20, worker_max_instances=100)
MIN_BACKOFF_S = 30
HOURLY_MINUTE = 15


@dataclass(frozen=True)
class Outcome:
    daily_drained_s: float | None
    max_age_s: float
    p95_wait_s: float
    max_in_flight: int


def simulate(
    enterprises: int, plan: QueuePlan, w: Workload, *, fanout_rate: float, failure: float, horizon_h: float, seed: int
) -> Outcome:
    rng = random.Random(seed)
    sigma = 0.5  # spread of task times: most within x0.5..x2 of the mean
    daily_mean, hourly_mean = task_seconds(w, w.daily_days), task_seconds(w, w.hourly_days)
    waiting: deque[tuple[float, bool]] = deque()  # (enqueued at, daily?)
    retries: list[tuple[float, bool]] = []  # heap of (due, daily?)
    running: list[tuple[float, bool, bool]] = []  # heap of (ends, daily?, fails?)
    to_fan_out, hourly = enterprises, round(enterprises * w.hourly_share)
    daily_left, waits, max_age, max_in_flight, drained = enterprises, [], 0.0, 0, None
    tokens = 0.0
    for t in range(int(horizon_h * 3600)):
        batch = min(to_fan_out, math.ceil(fanout_rate))
        waiting.extend((t, True) for _ in range(batch))
        to_fan_out -= batch
        if t % 3600 == HOURLY_MINUTE * 60:
            waiting.extend((t, False) for _ in range(hourly))
        while retries and retries[0][0] <= t:
            waiting.append((t, heapq.heappop(retries)[1]))
        while running and running[0][0] <= t:
            _, daily, fails = heapq.heappop(running)
            if fails:
                heapq.heappush(retries, (t + MIN_BACKOFF_S, daily))
            elif daily:
                daily_left -= 1
        if daily_left == 0 and drained is None:
            drained = float(t)
        tokens = min(tokens + plan.max_dispatches_per_second, plan.max_dispatches_per_second)
        while waiting and tokens >= 1 and len(running) < plan.max_concurrent_dispatches:
            enqueued, daily = waiting.popleft()
            tokens -= 1
            waits.append(t - enqueued)
            mean = daily_mean if daily else hourly_mean
            took = mean * rng.lognormvariate(-sigma * sigma / 2, sigma)
            heapq.heappush(running, (t + took, daily, rng.random() < failure))
        max_in_flight = max(max_in_flight, len(running))
        if waiting:
            max_age = max(max_age, t - waiting[0][0])
    waits.sort()
    return Outcome(drained, max_age, waits[int(len(waits) * 0.95)] if waits else 0.0, max_in_flight)


def _hours(seconds: float | None) -> str:
    return "never (not within the simulated day)" if seconds is None else f"in {seconds / 3600:.1f} h"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=DESIGN_ENTERPRISES)
    parser.add_argument("--fanout-rate", type=float, default=1000.0, help="tasks/s the dispatcher enqueues")
    parser.add_argument("--failure", type=float, default=0.02, help="share of tasks failing once (retried)")
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args(argv)
    say("capacity model (devstack/capacity.py):")
    for size in SIZES:
        for line in report(capacity(size)):
            say(f"  {line}")
    w = Workload()
    planned = capacity(args.enterprises, w).plan
    say(f"simulated day at {args.enterprises:,} enterprises ({w.hourly_share:.0%} hourly, {args.failure:.0%} retried):")
    for label, plan in (("planned", planned), ("previous", PREVIOUS)):
        o = simulate(
            args.enterprises, plan, w, fanout_rate=args.fanout_rate, failure=args.failure, horizon_h=args.hours, seed=1
        )
        say(
            f"  {label} queue ({plan.max_dispatches_per_second}/s, {plan.max_concurrent_dispatches} concurrent): "
            f"daily backlog drained {_hours(o.daily_drained_s)} (target {w.drain_target_h:.0f} h), oldest task "
            f"waited {o.max_age_s / 3600:.1f} h, p95 wait {o.p95_wait_s / 60:.0f} min, at most {o.max_in_flight} "
            "in flight"
        )


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - the benchmark's report


if __name__ == "__main__":
    main()
