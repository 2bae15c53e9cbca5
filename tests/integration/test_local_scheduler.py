"""The local Cloud Scheduler: jobs.json parsing, the POST a job makes, the minute loop, and ``make trigger``.

A loopback HTTP server stands in for the functions and records what reaches it; tokens are checked with the same
verifier the functions use.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devstack.processes import free_port
from devstack.scheduler import JOBS_FILE, Job, Scheduler, fire, load_jobs
from shared.adapters.identity import GoogleOidcVerifier
from shared.bootstrap import SystemClock
from shared.config import get_settings
from tests.conftest import ROOT

SCHEDULER_SA = "scheduler-invoker@demo-test.iam.gserviceaccount.com"
BASE_URL = "http://127.0.0.1:18080"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: datetime | None


@dataclass
class Target:
    """Stands in for the functions: records every POST and answers ``status`` with ``answer``."""

    url: str = ""
    status: int = 200
    answer: bytes = b""
    received: list[Received] = field(default_factory=list)
    clock: Any = None

    def bearer_claims(self, index: int = 0) -> dict[str, Any]:
        token = self.token(index)
        payload = token.split(".")[1]
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return claims

    def token(self, index: int = 0) -> str:
        scheme, _, token = self.received[index].headers["authorization"].partition(" ")
        assert scheme == "Bearer"
        return token


@pytest.fixture
def target() -> Iterator[Target]:
    state = Target()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            at = state.clock.now() if state.clock is not None else None
            headers = {name.lower(): value for name, value in self.headers.items()}
            state.received.append(Received(self.path, headers, body, at))
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


DAILY = Job(name="daily-sync", cron="0 2 * * *", target="sync_dispatch", body={"frequency": "daily"})
HOURLY = Job(name="hourly-sync", cron="15 * * * *", target="sync_dispatch", body={"frequency": "hourly"})
UNBUILT = Job(name="monthly-reports", cron="1 2 * * *", target="reports_dispatch", body={})


def verify_as_the_functions_do(token: str, target_function: str) -> None:
    """Raises unless the function ``target_function`` would accept ``token`` from Cloud Scheduler."""
    GoogleOidcVerifier(get_settings(), SystemClock()).verify(
        token, audience=f"{BASE_URL}/{target_function}", allowed_emails=frozenset({SCHEDULER_SA})
    )


# --- jobs.json -------------------------------------------------------------------------------------------------


def test_every_job_of_infra_jobs_json_loads_and_targets_a_scheduler_function() -> None:
    functions = {f["name"]: f for f in json.loads((ROOT / "infra" / "functions.json").read_text())["functions"]}
    for job in load_jobs(JOBS_FILE):
        assert functions[job.target]["trigger"] == "scheduler", job.name


def write_jobs(path: Path, *jobs: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"$comment": "test jobs", "jobs": list(jobs)}))
    return path


def test_load_jobs_reads_name_cron_target_and_body(tmp_path: Path) -> None:
    path = write_jobs(tmp_path / "jobs.json", DAILY.model_dump(), UNBUILT.model_dump())
    assert load_jobs(path) == [DAILY, UNBUILT]


@pytest.mark.parametrize(
    ("jobs", "complaint"),
    [
        ([DAILY.model_dump(), DAILY.model_dump()], "duplicate job name"),
        ([{**DAILY.model_dump(), "cron": "0 25 * * *"}], "job daily-sync: hour: 25 is outside 0-23"),
        ([{**DAILY.model_dump(), "schedule": "daily"}], "Extra inputs are not permitted"),
        ([{"name": "x", "cron": "* * * * *", "target": "sync_dispatch"}], "body"),
    ],
)
def test_load_jobs_refuses_a_bad_file(tmp_path: Path, jobs: list[dict[str, Any]], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        load_jobs(write_jobs(tmp_path / "jobs.json", *jobs))


# --- one firing ------------------------------------------------------------------------------------------------


def test_fire_posts_the_body_with_a_token_the_target_function_accepts(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUNCTION_BASE_URL", BASE_URL)
    monkeypatch.setenv("SCHEDULER_SERVICE_ACCOUNT", SCHEDULER_SA)
    get_settings.cache_clear()
    target.status = 202

    status = fire(DAILY, function_url=f"{target.url}/sync_dispatch", settings=get_settings())

    assert status == 202
    [request] = target.received
    assert request.path == "/sync_dispatch"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {"frequency": "daily"}
    claims = target.bearer_claims()
    assert claims["aud"] == f"{BASE_URL}/sync_dispatch"
    assert claims["email"] == SCHEDULER_SA
    verify_as_the_functions_do(target.token(), "sync_dispatch")


# --- the minute loop -------------------------------------------------------------------------------------------


class FakeTime:
    """A clock and a sleep for the scheduler thread; time only moves when the scheduler sleeps."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.current = start
        self.end = end
        self.wakes: list[datetime] = []
        self.finished = threading.Event()
        self.scheduler: Scheduler | None = None

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        assert self.scheduler is not None
        self.scheduler.wait_idle(10)  # fired jobs finish at the fake time they were fired
        self.current += timedelta(seconds=seconds)
        self.wakes.append(self.current)
        if self.current >= self.end:
            self.scheduler.stop()
            self.finished.set()


def run_scheduler(target: Target, jobs: list[Job], start: datetime, end: datetime) -> FakeTime:
    fake = FakeTime(start, end)
    target.clock = fake
    env = {"FUNCTION_BASE_URL": BASE_URL, "SCHEDULER_SERVICE_ACCOUNT": SCHEDULER_SA, "PROJECT_ID": "demo-test"}
    scheduler = Scheduler(jobs, {"sync_dispatch": target.url}, env=env, clock=fake.now, sleep=fake.sleep)
    fake.scheduler = scheduler
    scheduler.start()
    assert fake.finished.wait(30), "the scheduler loop did not reach the end time"
    scheduler.stop()
    assert scheduler.wait_idle(10)
    return fake


def test_the_scheduler_fires_each_job_at_its_cron_minute_exactly_once(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    start, end = datetime(2025, 3, 31, 1, 58, 30, tzinfo=UTC), datetime(2025, 3, 31, 4, 20, tzinfo=UTC)

    fake = run_scheduler(target, [DAILY, HOURLY, UNBUILT], start, end)

    fired = [(r.at, json.loads(r.body)["frequency"]) for r in target.received]
    assert fired == [
        (datetime(2025, 3, 31, 2, 0, tzinfo=UTC), "daily"),
        (datetime(2025, 3, 31, 2, 15, tzinfo=UTC), "hourly"),
        (datetime(2025, 3, 31, 3, 15, tzinfo=UTC), "hourly"),
        (datetime(2025, 3, 31, 4, 15, tzinfo=UTC), "hourly"),
    ]
    for index in range(len(target.received)):
        verify_as_the_functions_do(target.token(index), "sync_dispatch")
    assert all(wake.second == 0 and wake.microsecond == 0 for wake in fake.wakes)  # woke on minute boundaries
    skipped = [r.getMessage() for r in caplog.records if "skipped:" in r.getMessage()]
    assert skipped == ["job monthly-reports skipped: it targets reports_dispatch, which is not built yet"]


def test_a_scheduler_started_within_a_jobs_minute_waits_for_the_next_occurrence(target: Target) -> None:
    start, end = datetime(2025, 3, 31, 2, 0, 30, tzinfo=UTC), datetime(2025, 3, 31, 2, 10, tzinfo=UTC)
    run_scheduler(target, [DAILY], start, end)
    assert target.received == []


def test_a_scheduler_across_a_month_and_year_boundary(target: Target) -> None:
    new_year = Job(name="new-year", cron="0 0 1 1 *", target="sync_dispatch", body={"frequency": "yearly"})
    start, end = datetime(2025, 12, 31, 23, 58, tzinfo=UTC), datetime(2026, 1, 1, 0, 3, tzinfo=UTC)
    run_scheduler(target, [new_year, DAILY], start, end)
    assert [(r.at, r.body) for r in target.received] == [(datetime(2026, 1, 1, tzinfo=UTC), b'{"frequency":"yearly"}')]


# --- make trigger ----------------------------------------------------------------------------------------------

STACK_SA = "scheduler-invoker@demo-stack.iam.gserviceaccount.com"
STACK_BASE_URL = "http://127.0.0.1:28080"


@pytest.fixture
def cli_files(tmp_path: Path, target: Target) -> tuple[Path, Path]:
    jobs = write_jobs(tmp_path / "jobs.json", DAILY.model_dump(), UNBUILT.model_dump())
    stack = tmp_path / "stack.json"
    stack.write_text(
        json.dumps(
            {
                "project_id": "demo-stack",
                "api_base_url": STACK_BASE_URL,
                "scheduler_service_account": STACK_SA,
                "functions": {"sync_dispatch": target.url, "api": "http://127.0.0.1:1"},
            }
        )
    )
    return jobs, stack


def trigger(jobs: Path, stack: Path, name: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "devstack.scheduler", "--jobs", str(jobs), "--stack", str(stack), "trigger", name]
    return subprocess.run(argv, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60)


def test_trigger_fires_the_job_now_with_the_stacks_identity(target: Target, cli_files: tuple[Path, Path]) -> None:
    target.answer = b'{"enqueued": 3}'
    result = trigger(*cli_files, "daily-sync")

    assert result.returncode == 0, result.stderr
    assert "job daily-sync -> sync_dispatch: HTTP 200" in result.stdout
    assert '{"enqueued": 3}' in result.stdout
    [request] = target.received
    assert json.loads(request.body) == {"frequency": "daily"}
    claims = target.bearer_claims()
    assert claims["aud"] == f"{STACK_BASE_URL}/sync_dispatch"  # the stack's function base URL, not this shell's
    assert claims["email"] == STACK_SA


def test_trigger_fails_when_the_function_answers_an_error(target: Target, cli_files: tuple[Path, Path]) -> None:
    target.status = 503
    result = trigger(*cli_files, "daily-sync")
    assert result.returncode == 1
    assert "HTTP 503" in result.stdout


def test_trigger_of_an_unknown_job_lists_the_known_ones(cli_files: tuple[Path, Path]) -> None:
    result = trigger(*cli_files, "daily-synk")
    assert result.returncode == 2
    assert "unknown job 'daily-synk'" in result.stderr
    assert "daily-sync" in result.stderr.partition("known jobs:")[2]
    assert "monthly-reports" in result.stderr.partition("known jobs:")[2]


def test_trigger_of_a_job_whose_function_is_not_built(target: Target, cli_files: tuple[Path, Path]) -> None:
    result = trigger(*cli_files, "monthly-reports")
    assert result.returncode == 3
    assert "job monthly-reports targets reports_dispatch, which is not built yet" in result.stderr
    assert target.received == []


def test_trigger_without_a_running_stack(cli_files: tuple[Path, Path]) -> None:
    jobs, stack = cli_files
    stack.unlink()
    result = trigger(jobs, stack, "daily-sync")
    assert result.returncode == 1
    assert "the local stack is not running (make run)" in result.stderr


def test_trigger_when_the_function_does_not_answer(cli_files: tuple[Path, Path]) -> None:
    jobs, stack = cli_files
    info = json.loads(stack.read_text())
    info["functions"]["sync_dispatch"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    stack.write_text(json.dumps(info))
    result = trigger(jobs, stack, "daily-sync")
    assert result.returncode == 1
    assert "could not reach sync_dispatch" in result.stderr


def test_trigger_names_a_planned_job_as_not_built_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from devstack.scheduler import trigger as trigger_now

    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps({"jobs": []}))
    planned = tmp_path / "planned.json"
    planned.write_text(
        json.dumps({"jobs": [{"name": "retention", "cron": "30 3 * * *", "target": "retention_sweep", "body": {}}]})
    )
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps({"functions": {}}))
    assert trigger_now("retention", stack_file=stack, jobs_file=jobs, planned_file=planned) == 3
    assert "job retention targets retention_sweep, which is not built yet" in capsys.readouterr().err
    assert trigger_now("nonsense", stack_file=stack, jobs_file=jobs, planned_file=planned) == 2
    assert "retention" in capsys.readouterr().err
