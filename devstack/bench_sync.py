"""Benchmark of the daily sync on the local emulators: ``python -m devstack.bench_sync [--enterprises 10000]``.

Prints, in this order:

1. the worker's time for one enterprise-month (a 30-day window, OpenAI and Anthropic concurrently; the median of
   ``MONTH_RUNS`` runs after a warm-up) with the provider simulator (in a process of its own) answering every request
   ``--latency-ms`` after it arrived, next to the floor that latency imposes (the rounds of requests a provider needs
   at the client's concurrency, × latency) and the floor measured by a client that makes the same requests and only
   waits;
2. provider requests, Firestore reads and writes, and the worker's time per enterprise-day: one daily task on the
   next day (3 days re-pulled, one new), counted by a wrapper around the Firestore client's RPCs as Firestore bills
   them (documents returned by queries, at least one per query; documents asked by batch gets, found or not; writes
   and deletes in commits);
3. where the worker's time goes in both (``devstack.bench_spans``): each phase's busy time and when it ran (phases
   overlap), its Firestore round trips and their time, the provider wait against the parsing and pricing CPU, and
   the emulator's own round trip;
4. the dispatcher's fan-out rate: N enterprises read from the Firestore emulator and enqueued as named tasks on the
   Cloud Tasks emulator (tasks/s), whose deliveries go to a sink answering 204.

Needs what ``make test`` needs (gcloud's Firestore emulator, ``.tools/tasks-emulator``). Takes a minute or two.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import math
import multiprocessing
import os
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import httpx
from pydantic import SecretStr

from devstack.bench_spans import Spans, Timed, TimedSources, emulator_round_trip
from devstack.firestore_emulator import start_firestore_emulator
from devstack.provider_sim import Faults, ProviderSimulator, SimOrg, serve
from devstack.provider_sim.server import SimulatorUrls
from devstack.secret_manager_server import start_server
from devstack.tasks_emulator import start_tasks_emulator
from devstack.tokens import install as install_token_minter

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".local" / "bench"
PROJECT = "demo-bench"
REGION = "europe-west1"
MONTH_RUNS = 11
"""Times the enterprise-month is synced after its warm-up; the median is the figure."""
OPENAI_KEY, ANTHROPIC_KEY = "sk-admin-bench-acme-000000000000", "sk-ant-admin01-bench-initech-0000000"


def say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - the benchmark's report


class Clock:
    """The task's clock, mirrored into a shared value the simulator's process reads as its own ``now``."""

    def __init__(self, now: datetime) -> None:
        self.value = now
        self.shared: Any = None

    def now(self) -> datetime:
        return self.value

    def set(self, now: datetime) -> None:
        self.value = now
        if self.shared is not None:
            self.shared.value = now.timestamp()


class RemoteSimulator(SimulatorUrls):
    """The provider simulator in a process of its own, as a provider is: its CPU does not share the worker's GIL,
    so the worker's time is its own CPU and its wait on the network."""

    def __init__(self, orgs: list[SimOrg], latency_ms: int, clock: Clock) -> None:
        context = multiprocessing.get_context("spawn")
        clock.shared = context.Value("d", clock.value.timestamp(), lock=False)
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_simulator, args=(orgs, latency_ms, clock.shared, child), name="provider-sim", daemon=True
        )
        self.root_url = ""

    def __enter__(self) -> RemoteSimulator:
        self._process.start()
        if not self._conn.poll(60):
            self._process.kill()
            raise RuntimeError("the provider simulator's process did not start")
        self.root_url = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def requests(self) -> list[dict[str, Any]]:
        """Every request the simulator answered since the last reset (``RequestRecord`` as JSON)."""
        records: list[dict[str, Any]] = httpx.get(self.root_url + "/_sim/requests").json()
        return records

    def request_providers(self) -> list[str]:
        """The provider of every request the simulator answered since the last reset."""
        return [r["provider"] for r in self.requests()]

    def waiting_only(self, records: list[dict[str, Any]], concurrency: int) -> float:
        """Seconds a client that only waits takes to make the same requests: new connections, ``concurrency`` per
        provider, the providers side by side, every response read and dropped. The floor as measured, with the
        simulator's own answer time and connection set-up in it."""
        from shared.adapters.provider_http import tls_context

        headers = {
            "openai": {"Authorization": f"Bearer {OPENAI_KEY}"},
            "anthropic": {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
        }

        async def provider(name: str, wanted: list[dict[str, Any]]) -> None:
            slots = asyncio.Semaphore(concurrency)
            limits = httpx.Limits(max_connections=concurrency)
            # The worker's clients share one TLS context per process; a client building its own would be timed
            # loading the CA bundle (tens of milliseconds) before its first request.
            client = httpx.AsyncClient(base_url=f"{self.root_url}/{name}", limits=limits, verify=tls_context())
            async with client:

                async def one(record: dict[str, Any]) -> None:
                    params = [(k, v) for k, values in record["query"].items() for v in values]
                    async with slots:
                        (await client.get(record["path"], params=params, headers=headers[name])).raise_for_status()

                await asyncio.gather(*(one(r) for r in wanted))

        async def run() -> None:
            names = sorted({r["provider"] for r in records})
            await asyncio.gather(*(provider(n, [r for r in records if r["provider"] == n]) for n in names))

        started = time.perf_counter()
        asyncio.run(run())
        return time.perf_counter() - started

    def reset_log(self) -> None:
        httpx.post(self.root_url + "/_sim/reset-log").raise_for_status()

    def freeze_heap(self) -> None:
        """Freeze the simulator's warm heap out of the garbage collector's full collections: a provider's latency
        does not include our simulator's collection pauses (tens of milliseconds each over its page caches)."""
        self._conn.send("freeze")
        if not self._conn.poll(30):
            raise RuntimeError("the provider simulator did not freeze its heap")
        self._conn.recv()


def _serve_simulator(orgs: list[SimOrg], latency_ms: int, now: Any, conn: Any) -> None:
    sim = ProviderSimulator(now=lambda: datetime.fromtimestamp(now.value, UTC))
    for org in orgs:
        sim.add_org(org)
    sim.set_faults(Faults(latency_ms=latency_ms))
    # The warm-up builds each page once; the measured runs get them as a provider's answers arrive, after the latency
    # alone, without the simulator's CPU building several at once delaying the requests arriving meanwhile.
    sim.keep_answers()
    with serve(sim) as running:
        conn.send(running.root_url)
        while conn.recv() == "freeze":  # until the benchmark is done
            gc.collect()
            gc.freeze()
            conn.send("frozen")


class CountingFirestore:
    """Counts what Firestore bills: documents read (queries, batch gets) and documents written (commits)."""

    def __init__(self, client: Any, spans: Spans) -> None:
        api = client._firestore_api  # the GAPIC client, created once per Firestore client
        self.reads = self.writes = self.queries = self.commits = 0
        self.spans = spans
        commit, run_query, batch_get = api.commit, api.run_query, api.batch_get_documents
        begin, rollback = api.begin_transaction, api.rollback

        def counted_commit(*args: Any, **kwargs: Any) -> Any:
            request = kwargs.get("request") or {}
            writes = request.get("writes", []) if isinstance(request, dict) else request.writes
            self.writes += len(writes)
            self.commits += 1
            self.spans.documents(writes=len(writes))
            return self.timed(commit, *args, **kwargs)

        # Firestore bills a read for a document asked that does not exist, and at least one read per query.
        def counted_query(*args: Any, **kwargs: Any) -> Any:
            self.queries += 1
            return _Counted(run_query(*args, **kwargs), self, ("document",), minimum=1)

        def counted_get(*args: Any, **kwargs: Any) -> Any:
            return _Counted(batch_get(*args, **kwargs), self, ("found", "missing"))

        api.commit, api.run_query, api.batch_get_documents = counted_commit, counted_query, counted_get
        api.begin_transaction = lambda *a, **k: self.timed(begin, *a, **k)
        api.rollback = lambda *a, **k: self.timed(rollback, *a, **k)

    def read(self, documents: int) -> None:
        self.reads += documents
        self.spans.documents(reads=documents)

    def timed(self, rpc: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return rpc(*args, **kwargs)
        finally:
            self.spans.firestore_rpc(time.perf_counter() - started)

    def snapshot(self) -> tuple[int, int]:
        return self.reads, self.writes


class _Counted:
    """A streamed RPC's responses, counted; its time is that of all its responses, one round trip."""

    def __init__(self, inner: Any, counter: CountingFirestore, fields: tuple[str, ...], minimum: int = 0) -> None:
        self._inner, self._counter, self._fields = inner, counter, fields
        self._first = True
        self._unpaid = minimum

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        started = time.perf_counter()
        try:
            response = next(self._inner)
        except StopIteration:
            self._counter.read(self._unpaid)
            self._unpaid = 0
            raise
        finally:
            self._counter.spans.firestore_rpc(time.perf_counter() - started, round_trip=self._first)
            self._first = False
        if any(field in response for field in self._fields):
            self._counter.read(1)
            self._unpaid = 0
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def bench_dispatch(client: Any, settings: Any, enterprises: int) -> None:
    from shared.adapters.cloud_tasks import CloudTasksQueue
    from shared.adapters.firestore_sync_targets import FirestoreSyncTargets
    from shared.services.sync.dispatch_sync import dispatch_sync

    now = datetime.now(UTC)
    providers = {p: {"connected": True, "status": "connected"} for p in ("openai", "anthropic")}
    for start in range(0, enterprises, 500):
        batch = client.batch()
        for i in range(start, min(start + 500, enterprises)):
            doc = {"name": f"E{i}", "status": "active", "settings": {"sync_frequency": "daily"}, "providers": providers}
            batch.set(client.collection("enterprises").document(f"ent_bench_{i:06d}"), doc)
        batch.commit()
    targets = FirestoreSyncTargets(client)
    started = time.perf_counter()
    read = sum(len(page) for page in targets.pages(hourly_only=False, page_size=1000))
    read_s = time.perf_counter() - started
    queue = CloudTasksQueue(settings)
    result = dispatch_sync(targets, queue, Clock(now), settings, "daily")
    queue.close()
    say(f"dispatcher: {result.enterprises} enterprises, {result.created} tasks in {result.seconds:.1f} s")
    say(f"  fan-out rate: {result.created / result.seconds:,.0f} tasks/s (Cloud Tasks emulator, one process)")
    say(f"  of which reading {read} targets: {read_s:.2f} s ({read / read_s:,.0f} enterprises/s, 1000 per query)")
    for name in ("enterprises",):
        for start in range(0, enterprises, 500):
            batch = client.batch()
            for i in range(start, min(start + 500, enterprises)):
                batch.delete(client.collection(name).document(f"ent_bench_{i:06d}"))
            batch.commit()


def bench_worker(client: Any, counter: CountingFirestore, secret_host: str, latency_ms: int) -> None:
    from shared.adapters.firestore_audit import FirestoreAuditLog
    from shared.adapters.firestore_connections import FirestoreProviderConnections
    from shared.adapters.firestore_coverage import FirestoreCoverage
    from shared.adapters.firestore_enterprises import FirestoreEnterprises, enterprise_doc
    from shared.adapters.firestore_leases import FirestoreLeases
    from shared.adapters.firestore_snapshots import FirestoreSnapshots
    from shared.adapters.secret_manager import SecretManagerStore
    from shared.adapters.usage_sources import ProviderUsageSources
    from shared.api.sync_routes import alert_use_case
    from shared.config import Settings
    from shared.deps import Deps
    from shared.domain.connections.provider_keys import ProviderKeyRecord, key_id_for
    from shared.domain.enterprise.model import Enterprise, Member, ProviderName, ProviderState, ProviderStatus, Role
    from shared.services.connections.key_health import KeyHealth
    from shared.services.sync.sync_coverage import SyncCoverageRecorder
    from shared.services.sync.sync_enterprise import SyncEnterprise
    from shared.services.sync.sync_report import SyncRequest
    from shared.web.heap import freeze_once

    today = date(2026, 11, 23)
    clock = Clock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    orgs = [
        SimOrg(
            provider=provider,
            org_id=org,
            name=org,
            admin_keys=[SecretStr(key)],
            seed=5,
            discount=Decimal("0.15"),
            history_start=date(2026, 6, 1),
        )
        for provider, org, key in (("openai", "org-acme", OPENAI_KEY), ("anthropic", "org-initech", ANTHROPIC_KEY))
    ]
    with RemoteSimulator(orgs, latency_ms, clock) as running:
        settings = Settings(
            project_id=PROJECT,
            secret_manager_emulator_host=secret_host,
            openai_base_url=running.openai_base_url,
            anthropic_base_url=running.anthropic_base_url,
        )
        secrets, enterprises = SecretManagerStore(settings), FirestoreEnterprises(client)
        connections = FirestoreProviderConnections(client)
        member = Member(email=None, role=Role.ADMIN, added_at=clock.now())
        enterprise = Enterprise(
            id="ent_bench",
            name="Bench",
            created_at=clock.now(),
            updated_at=clock.now(),
            created_by="u",
            members={"u": member},
            member_uids=["u"],
        )
        client.collection("enterprises").document("ent_bench").set(enterprise_doc(enterprise))
        for provider, key in ((ProviderName.OPENAI, OPENAI_KEY), (ProviderName.ANTHROPIC, ANTHROPIC_KEY)):
            ref = secrets.add_version(f"provider-key-{provider.value}_ent_bench", SecretStr(key), {})
            state = ProviderState(connected=True, status=ProviderStatus.CONNECTED)
            client.document("enterprises/ent_bench").update({f"providers.{provider.value}": state.model_dump()})
            record = ProviderKeyRecord(secret_version=ref.name, key_id=key_id_for(ref.name), stored_at=clock.now())
            client.document("enterprises/ent_bench/private/providers").set(
                {provider.value: record.model_dump()}, merge=True
            )
        # The alerts run after every sync, as deployed (``sync_routes.alert_use_case``): no budget is set, so they
        # read the spend history and find nothing to send.
        alerts = alert_use_case(Deps(settings, clock, firestore=client, mailer=_NoMail()))
        # Each adapter timed under the phase it serves (``devstack.bench_spans``); the use case is unchanged.
        spans, keys = counter.spans, "keys (enterprise, records, audit, secrets)"
        snapshots = Timed(
            FirestoreSnapshots(client),
            "store: months",
            spans,
            {
                "save_raw_pages": "raw pages (compress, write)",
                "record_last_sync": "last_sync",
                "read_ahead": "months read ahead (during the pulls)",
            },
        )
        use_case = SyncEnterprise(
            enterprises=Timed(enterprises, keys, spans),
            connections=Timed(connections, keys, spans),
            secrets=Timed(secrets, keys, spans),
            sources=TimedSources(ProviderUsageSources(settings, clock), spans),
            snapshots=snapshots,
            leases=Timed(FirestoreLeases(client), "snapshots lease", spans),
            coverage=SyncCoverageRecorder(
                coverage=Timed(FirestoreCoverage(client), "coverage records", spans),
                mailer=_NoMail(),
                tasks=_NoTasks(),
                clock=clock,
                settings=settings,
            ),
            audit_log=Timed(FirestoreAuditLog(client), keys, spans),
            key_health=KeyHealth(
                enterprises=enterprises, connections=connections, mailer=_NoMail(), clock=clock, settings=settings
            ),
            tasks=_NoTasks(),
            clock=clock,
            settings=settings,
            alerts=Timed(alerts, "alerts (judging, delivery)", spans),
        )
        month = SyncRequest(enterprise_id="ent_bench", start=today - timedelta(days=30), end=today, reason="backfill")
        use_case.run(month, read_id="warm-up")  # imports, price data and index caches, connection set-up
        # After its first request a deployed instance freezes its heap (``shared.bootstrap.serve``); so does the
        # simulator, whose collection pauses are not the provider's.
        freeze_once()
        running.freeze_heap()
        # The same month again, MONTH_RUNS times (the same work each time: the data has not changed since the warm-up
        # wrote it); the median run is reported, with its phases, so one slow run on a shared machine is not the figure.
        runs: list[tuple[float, Spans]] = []
        for i in range(MONTH_RUNS):
            running.reset_log()
            spans.reset()
            started = time.perf_counter()
            use_case.run(month, read_id=f"bench-month-{i}")
            runs.append((time.perf_counter() - started, copy.deepcopy(spans)))
        times = sorted(elapsed for elapsed, _ in runs)
        elapsed, month_spans = sorted(runs, key=lambda run: run[0])[len(runs) // 2]
        records = running.requests()
        by_provider = Counter(r["provider"] for r in records)
        concurrency = settings.provider_concurrency
        floor = max(math.ceil(n / concurrency) for n in by_provider.values()) * latency_ms / 1000
        naive = sum(by_provider.values()) * latency_ms / 1000 / concurrency
        say(f"worker, one enterprise-month (30 days, 2 providers) at {latency_ms} ms per provider request:")
        say(
            f"  {elapsed:.2f} s, the median of {MONTH_RUNS} runs ({times[0]:.2f}–{times[-1]:.2f} s);"
            f" requests {dict(by_provider)}; concurrency {concurrency} per provider"
        )
        say(
            f"  floor: {floor:.2f} s (rounds per provider × latency, providers in parallel);"
            f" round trips × latency ÷ concurrency = {naive:.2f} s"
        )
        measured = min(running.waiting_only(records, concurrency) for _ in range(3))
        say(
            f"  measured floor: {measured:.2f} s (the same requests by a client that only waits, best of 3: the"
            " simulator's own answer time and new connections are in it); the worker takes"
            f" {elapsed / measured:.1f}× that"
        )
        rtt = emulator_round_trip(client)
        say(f"  {elapsed / floor:.1f}× the floor; where the time goes:")
        month_spans.report(elapsed, say, rtt)
        without = elapsed - sum(month_spans.rpc.values())
        say(f"  without the emulator's Firestore time: {without:.2f} s, {without / floor:.1f}× the floor")

        clock.set(clock.value + timedelta(days=1))  # the next day's 02:00 run: three days re-pulled, one new
        running.reset_log()
        before = counter.snapshot()
        daily = SyncRequest(
            enterprise_id="ent_bench", start=today - timedelta(days=2), end=today + timedelta(days=1), reason="daily"
        )
        spans.reset()
        started = time.perf_counter()
        report = use_case.run(daily, read_id="bench-daily")
        daily_s = time.perf_counter() - started
        daily_spans = copy.deepcopy(spans)
        reads, writes = (after - b for after, b in zip(counter.snapshot(), before, strict=True))
        before = counter.snapshot()
        stored = enterprises.get("ent_bench")
        assert stored is not None
        alerts.evaluate(stored, judge=True)  # the same judging again, alone
        alert_reads = counter.snapshot()[0] - before[0]
        say(f"per enterprise-day (one daily task the next day): worker {daily_s:.2f} s at {latency_ms} ms per request")
        pulled = running.request_providers()
        say(f"  provider requests: {len(pulled)} ({dict(Counter(pulled))})")
        say(
            f"  Firestore: {reads} document reads, {writes} document writes "
            f"({report.days_written} snapshots, {report.months_written} rollups, {report.raw_pages} raw pages in one "
            "document, an audit entry per key read, last_sync; the month committed at the version read ahead, so no "
            "snapshots lease; coverage records read, written only when a day's state changes)"
        )
        say(
            f"  the alerts' judging run alone: {alert_reads} reads (budgets, each month's rollup); after the sync,"
            " the months it read and wrote are handed over, not read again"
        )
        say("  where the daily task's time goes:")
        daily_spans.report(daily_s, say, rtt)
        secrets.close()


class _NoMail:
    def send(self, message: Any) -> None:
        raise RuntimeError("the benchmark sends no mail")


class _NoTasks:
    def enqueue(self, queue: str, tasks: Any) -> Any:
        raise RuntimeError("the benchmark enqueues no backfill")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enterprises", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args(argv)
    install_token_minter()  # the dispatcher's tasks carry local mode's unsigned OIDC tokens
    LOGS.mkdir(parents=True, exist_ok=True)
    firestore, host = start_firestore_emulator(log_path=LOGS / "firestore.log")
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    Thread(target=sink.serve_forever, daemon=True).start()
    tasks = start_tasks_emulator(project=PROJECT, region=REGION, queues=["usage-sync"], log_path=LOGS / "tasks.log")
    try:
        os.environ["FIRESTORE_EMULATOR_HOST"] = host  # the client library reads it
        from shared.adapters.firestore_client import firestore_client
        from shared.config import Settings

        settings = Settings(
            project_id=PROJECT,
            region=REGION,
            firestore_emulator_host=host,
            cloud_tasks_emulator_host=tasks.address,
            firebase_auth_emulator_host="127.0.0.1:9099",
            function_base_url=f"http://127.0.0.1:{sink.server_port}",
        )
        client = firestore_client(settings)
        counter = CountingFirestore(client, Spans())
        # The worker first: after the fan-out, the queue goes on delivering its tasks to the sink (threads of this
        # process) and the emulator digests 10,000 writes and deletes, both of which the worker's figures would carry.
        with start_server() as secret_server:
            bench_worker(client, counter, secret_server.address, args.latency_ms)
        bench_dispatch(client, settings, args.enterprises)
    finally:
        tasks.stop()
        sink.shutdown()
        firestore.stop()


if __name__ == "__main__":
    main()
