"""The local stand-in for Cloud Scheduler, driven by ``infra/jobs.json`` (the file Terraform deploys from).

Each job is fired as Cloud Scheduler fires it (``infra/terraform/modules/platform/scheduler.tf``): a POST of the job's
JSON body to its target function with an OIDC token of the scheduler invoker, audience
``{FUNCTION_BASE_URL}/{target}``. Locally the token is unsigned (``devstack.tokens``), which the functions accept
in local mode only.

:class:`Scheduler` runs in the local stack: a thread that wakes at each UTC minute boundary and fires the jobs due
in that minute, each in its own thread so a slow fan-out never delays the next minute. Minutes missed while the
machine slept are not caught up, and a job still running when it is due again is not fired a second time.

    python -m devstack.scheduler list             # jobs, targets and next run times
    python -m devstack.scheduler trigger NAME     # fire one job now against the running stack (make trigger)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from devstack.cron import CronError, CronSchedule
from devstack.tokens import mint_oidc_token
from shared.config import Settings, get_settings
from shared.log import redact

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
JOBS_FILE = ROOT / "infra" / "jobs.json"
PLANNED_FILE = ROOT / "infra" / "planned.json"
"""Jobs designed but not built yet: ``make trigger`` names them as such instead of calling them unknown."""
STACK_FILE = Path(os.environ.get("LOCAL_STATE_DIR") or ROOT / ".local") / "stack.json"
FIRE_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
"""Dispatch functions fan out to every enterprise and may take minutes to answer."""
_BODY_SHOWN = 2000


class Job(BaseModel):
    """One entry of ``infra/jobs.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    cron: str
    """Five-field cron expression, in UTC."""
    target: str
    """Function name from ``infra/functions.json``."""
    body: dict[str, Any]
    """POSTed as JSON."""

    @cached_property
    def schedule(self) -> CronSchedule:
        return CronSchedule.parse(self.cron)


class _JobsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, alias="$comment")
    jobs: list[Job]


def load_jobs(path: Path = JOBS_FILE) -> list[Job]:
    """The jobs of ``path``, each with a valid cron expression and a unique name.

    Raises:
        ValueError: malformed file, an invalid cron expression (``CronError``) or a duplicate name.
    """
    jobs = _JobsFile.model_validate_json(path.read_bytes()).jobs
    names = [job.name for job in jobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate job name(s): {', '.join(duplicates)}")
    for job in jobs:
        try:
            _ = job.schedule  # parsed now, so a bad expression fails at start-up rather than at its first minute
        except CronError as e:
            raise CronError(f"{path}: job {job.name}: {e}") from e
    return jobs


def planned_jobs(path: Path = PLANNED_FILE) -> list[Job]:
    """The jobs of ``infra/planned.json`` (their functions are not built yet)."""
    if not path.exists():
        return []
    return [Job.model_validate(entry) for entry in json.loads(path.read_text()).get("jobs", [])]


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Settings as a process started with environment ``env`` reads them (``env`` wins over this process's)."""
    upper = {name.upper(): value for name, value in env.items()}
    values: dict[str, Any] = {}
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env_names = [c for c in alias.choices if isinstance(c, str)] if isinstance(alias, AliasChoices) else []
        for env_name in env_names or [field_name.upper()]:
            if env_name in upper:
                values[field_name] = upper[env_name]
                break
    return Settings(**values)


def fire(job: Job, *, function_url: str, settings: Settings, client: httpx.Client | None = None) -> int:
    """POST ``job.body`` to ``function_url`` with the scheduler invoker's OIDC token; return the HTTP status.

    Raises:
        httpx.HTTPError: the function could not be reached or did not answer within 600 s.
    """
    if client is not None:
        return _post(client, job, function_url, settings).status_code
    with httpx.Client(timeout=FIRE_TIMEOUT) as own_client:
        return _post(own_client, job, function_url, settings).status_code


def _post(client: httpx.Client, job: Job, function_url: str, settings: Settings) -> httpx.Response:
    # The audience Terraform gives the job's OIDC token, and the one the functions expect.
    token = mint_oidc_token(settings.scheduler_service_account, f"{settings.function_base_url}/{job.target}")
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "Google-Cloud-Scheduler"}
    return client.post(function_url, json=job.body, headers=headers, timeout=FIRE_TIMEOUT)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _minute(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(second=0, microsecond=0)


class Scheduler:
    """Fires ``jobs`` at their cron minutes against ``functions`` (``{function_name: url}``) from a background thread.

    Args:
        jobs: the jobs, usually ``load_jobs()``.
        functions: URL of each running function; a job whose target is missing is skipped with a log line.
        settings: the settings the functions run with (service account, function base URL).
        env: alternatively, the environment the functions run with; settings are read from it.
        clock: the current time, aware; tests pass a fake.
        sleep: sleeps the given seconds; tests pass one that advances their fake clock. By default the wait ends
            early when the scheduler is stopped.
    """

    def __init__(
        self,
        jobs: list[Job],
        functions: Mapping[str, str],
        *,
        settings: Settings | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self.functions = dict(functions)
        self.settings = settings or (settings_from_env(env) if env is not None else get_settings())
        self._clock = clock
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._thread: threading.Thread | None = None
        self._in_flight: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the background thread (daemon: it never keeps the process alive)."""
        now = self._clock()
        for job in self.jobs:
            next_run = job.schedule.next_after(now).isoformat()
            built = "" if job.target in self.functions else " (its target is not built yet)"
            log.info("job %s [%s UTC] -> %s, next at %s%s", job.name, job.cron, job.target, next_run, built)
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop waking up; jobs already fired run to completion in their own threads."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until no fired job is still running; False if some still are after ``timeout_s``."""
        with self._lock:
            threads = list(self._in_flight.values())
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        return not any(thread.is_alive() for thread in threads)

    def _run(self) -> None:
        # Start with the current minute done: a scheduler started at 02:00:30 does not fire 02:00 jobs.
        done = _minute(self._clock())
        while not self._stopping.is_set():
            now = self._clock()
            self._sleep(max((_minute(now) + timedelta(minutes=1) - now).total_seconds(), 0.0))
            if self._stopping.is_set():
                break
            current = _minute(self._clock())
            if current > done:  # woke early or the clock went back: nothing new is due yet
                done = current
                self.fire_due(current)

    def fire_due(self, minute: datetime) -> None:
        """Fire, each in its own thread, the jobs whose schedule matches ``minute``."""
        for job in self.jobs:
            if not job.schedule.matches(minute):
                continue
            url = self.functions.get(job.target)
            if url is None:
                log.info("job %s skipped: it targets %s, which is not built yet", job.name, job.target)
                continue
            with self._lock:
                running = self._in_flight.get(job.name)
                if running is not None and running.is_alive():
                    log.warning("job %s skipped: its run of an earlier minute is still going", job.name)
                    continue
                thread = threading.Thread(target=self._fire_one, args=(job, url), name=f"job-{job.name}", daemon=True)
                self._in_flight[job.name] = thread
                thread.start()  # under the lock, so wait_idle never sees a thread that has not started

    def _fire_one(self, job: Job, url: str) -> None:
        try:
            status = fire(job, function_url=url, settings=self.settings)
        except httpx.HTTPError as e:
            log.warning("job %s: could not reach %s at %s: %s", job.name, job.target, url, e)
            return
        level = logging.INFO if 200 <= status < 300 else logging.WARNING
        log.log(level, "job %s -> %s: HTTP %d", job.name, job.target, status)


def _stack_settings(stack: Mapping[str, Any]) -> Settings:
    """The settings the stack's functions run with, as far as firing a job needs them."""
    overrides = {
        "PROJECT_ID": stack.get("project_id"),
        "SCHEDULER_SERVICE_ACCOUNT": stack.get("scheduler_service_account"),
        "FUNCTION_BASE_URL": stack.get("function_base_url") or stack.get("api_base_url"),
    }
    return settings_from_env({name: value for name, value in overrides.items() if isinstance(value, str)})


def trigger(
    name: str, *, stack_file: Path = STACK_FILE, jobs_file: Path = JOBS_FILE, planned_file: Path = PLANNED_FILE
) -> int:
    """Fire job ``name`` now against the running local stack; returns the process exit code."""
    jobs = {job.name: job for job in load_jobs(jobs_file)}
    planned = {job.name: job for job in planned_jobs(planned_file)}
    job = jobs.get(name)
    if job is None and name in planned:
        print(f"job {name} targets {planned[name].target}, which is not built yet", file=sys.stderr)  # noqa: T201
        return 3
    if job is None:
        known = ", ".join(sorted({*jobs, *planned}))
        print(f"unknown job {name!r}; known jobs: {known}", file=sys.stderr)  # noqa: T201
        return 2
    if not stack_file.exists():
        print("the local stack is not running (make run)", file=sys.stderr)  # noqa: T201
        return 1
    stack = json.loads(stack_file.read_text())
    url = stack.get("functions", {}).get(job.target)
    if url is None:
        print(f"job {name} targets {job.target}, which is not built yet", file=sys.stderr)  # noqa: T201
        return 3
    try:
        with httpx.Client(timeout=FIRE_TIMEOUT) as client:
            response = _post(client, job, url, _stack_settings(stack))
    except httpx.HTTPError as e:
        print(f"job {name}: could not reach {job.target} at {url}: {e}", file=sys.stderr)  # noqa: T201
        return 1
    print(f"job {name} -> {job.target}: HTTP {response.status_code}")  # noqa: T201
    if response.text:
        print(redact(response.text[:_BODY_SHOWN]))  # noqa: T201 - the function's answer, e.g. how many it enqueued
    return 0 if response.is_success else 1


def _list(jobs_file: Path, stack_file: Path) -> int:
    built = json.loads(stack_file.read_text()).get("functions", {}) if stack_file.exists() else None
    now = _utcnow()
    for job in load_jobs(jobs_file):
        state = "" if built is None or job.target in built else "  (not built yet)"
        nxt = job.schedule.next_after(now).strftime("%Y-%m-%d %H:%M")
        print(f"{job.name:<20} {job.cron:<16} next {nxt} UTC  -> {job.target}{state}")  # noqa: T201
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The local Cloud Scheduler: list jobs or fire one now.")
    parser.add_argument("--stack", type=Path, default=STACK_FILE, help="the running stack's stack.json")
    parser.add_argument("--jobs", type=Path, default=JOBS_FILE, help="the jobs file")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="jobs, their schedules and next run times")
    fire_parser = commands.add_parser("trigger", help="fire one job now")
    fire_parser.add_argument("name")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list(args.jobs, args.stack)
    return trigger(args.name, stack_file=args.stack, jobs_file=args.jobs)


if __name__ == "__main__":
    sys.exit(main())
