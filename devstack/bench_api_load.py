"""Load test of the public API on the local stack: ``python -m devstack.bench_api_load [--clients 50 --seconds 60]``.

Starts the whole local stack (what ``make run`` starts: emulators, every function under functions-framework with
its ``concurrency`` from ``infra/functions.json`` as THREADS, the front door) in a state folder of its own, lets the
demo seed connect the demo enterprises and their 90-day backfill finish, publishes last month's peer benchmark
(30 seeded peers plus the demo enterprises, aggregated by the real service), then runs ``--clients`` concurrent
clients for ``--seconds``, each cycling through the usage, benchmarks and reports routes through the front door as
Acme's admin. Prints, per route, requests, errors (anything but 2xx, and transport failures) and p50/p95/p99
latency; exits 1 on any error. On two shared cores, latencies measure this machine as much as the code.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

PROJECT = "demo-bench-load"
ADMIN = "alice@acme.example"
PEERS = 30


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - the benchmark's report


def _routes(today: date) -> list[tuple[str, str, dict[str, str]]]:
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    window = {"start": (today - timedelta(days=30)).isoformat(), "end": (today - timedelta(days=1)).isoformat()}
    return [
        ("usage (30 days)", "/api/v1/enterprise/usage", window),
        ("benchmarks/current", "/api/v1/benchmarks/current", {}),
        ("reports (list)", "/api/v1/enterprise/reports", {}),
        (f"reports/{last_month} (JSON)", f"/api/v1/enterprise/reports/{last_month}", {"format": "json"}),
    ]


def _wait_for_backfill(client: Any, timeout_s: float) -> None:
    """Until Acme's last 30 days show spend (the connect-time backfill ran through Cloud Tasks)."""
    today = datetime.now(UTC).date()
    params = {"start": (today - timedelta(days=30)).isoformat(), "end": (today - timedelta(days=1)).isoformat()}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get("/api/v1/enterprise/usage", params=params)
        if response.status_code == 200 and Decimal(str(response.json()["totals"]["total_cost_usd"])) > 0:
            return
        time.sleep(2)
    raise SystemExit("the demo backfill did not finish in time")


def _publish_benchmark(info: dict[str, Any], month: str) -> int:
    """Seed peers for ``month`` and aggregate it with the real service; returns the units counted."""
    os.environ["FIRESTORE_EMULATOR_HOST"] = info["firestore_emulator_host"]
    from devstack.bench_benchmarks import _peers
    from devstack.benchmark_seed import seed
    from shared.adapters.firestore_benchmarks import FirestoreBenchmarks
    from shared.adapters.firestore_client import firestore_client
    from shared.config import Settings
    from shared.services.peers.aggregate_benchmarks import aggregate_benchmarks

    class Clock:
        def now(self) -> datetime:
            return datetime.now(UTC)

    settings = Settings(project_id=info["project_id"])
    db = firestore_client(settings)
    seed(db, month, _peers(PEERS))
    return aggregate_benchmarks(FirestoreBenchmarks(db, Clock()), Clock(), settings, month).units


def _drive(base_url: str, headers: dict[str, str], clients: int, seconds: float) -> dict[str, list[tuple[float, int]]]:
    import httpx

    routes = _routes(datetime.now(UTC).date())
    results: dict[str, list[tuple[float, int]]] = defaultdict(list)
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client_loop(offset: int) -> None:
        mine: list[tuple[str, float, int]] = []
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            i = offset
            while time.monotonic() < stop_at:
                label, path, params = routes[i % len(routes)]
                started = time.perf_counter()
                try:
                    status = client.get(path, params=params).status_code
                except httpx.HTTPError:
                    status = 0
                mine.append((label, (time.perf_counter() - started) * 1000, status))
                i += 1
        with lock:
            for label, ms, status in mine:
                results[label].append((ms, status))

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _report(results: dict[str, list[tuple[float, int]]], seconds: float) -> int:
    errors = 0
    for label, samples in results.items():
        took = sorted(ms for ms, _ in samples)
        bad = sum(1 for _, status in samples if not 200 <= status < 300)
        errors += bad
        cuts = statistics.quantiles(took, n=100) if len(took) > 1 else took * 99
        say(
            f"  GET {label}: {len(took)} requests, {bad} errors, p50 {cuts[49]:.0f} ms, p95 {cuts[94]:.0f} ms, "
            f"p99 {cuts[98]:.0f} ms"
        )
    total = sum(len(s) for s in results.values())
    say(f"  total: {total} requests in {seconds:.0f} s ({total / seconds:.0f}/s), {errors} errors")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="bench-api-load-"))
    os.environ["LOCAL_STATE_DIR"] = str(state)  # read when the runner is imported: its own folder
    os.environ["PROJECT_ID"] = PROJECT

    import httpx

    from devstack.processes import free_port
    from devstack.runner import Ports, start_stack
    from devstack.seed import seed_demo
    from devstack.tokens import mint_user_token

    ports = Ports(*(free_port() for _ in range(6)))
    say(f"starting the local stack (logs in {state / 'logs'})")
    stack = start_stack(PROJECT, ports)
    try:
        seed_demo(stack.info)
        headers = {"Authorization": f"Bearer {mint_user_token(ADMIN, PROJECT)}"}
        with httpx.Client(base_url=stack.info["api_base_url"], headers=headers, timeout=60) as client:
            headers["X-Enterprise-Id"] = client.get("/api/v1/enterprise").json()["id"]
            client.headers.update(headers)
            _wait_for_backfill(client, timeout_s=300)
        month = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        units = _publish_benchmark(stack.info, month)
        say(f"benchmark {month} published from {units} enterprises; {args.clients} clients for {args.seconds:.0f} s:")
        results = _drive(stack.info["api_base_url"], headers, args.clients, args.seconds)
        errors = _report(results, args.seconds)
    finally:
        stack.stop()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
