"""``make run``: the whole platform on this machine, on real emulators.

Starts, each in its own process group: the Firestore emulator (with ``firestore.rules``), the Cloud Tasks emulator
(its own virtualenv), a local Secret Manager gRPC server (encrypted store), the provider simulator, an SMTP sink, and
every function of ``infra/functions.json`` under functions-framework; then a front door on one base URL and the local
scheduler. Writes ``.local/stack.json`` so scripts and tests can find everything. Ctrl-C stops it all.

Ports come from the environment (``API_PORT``, ``FIRESTORE_PORT``, ``TASKS_PORT``, ``SECRETS_PORT``, ``SIM_PORT``,
``SMTP_PORT``); a port already in use stops the start with a clear message.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from devstack import local_function
from devstack.firestore_emulator import start_firestore_emulator
from devstack.frontdoor import FrontDoor
from devstack.processes import Managed, ManagedProcess, StartupError, free_port, port_in_use, start, wait_for_port

log = logging.getLogger("devstack")

ROOT = Path(__file__).resolve().parent.parent
LOCAL = Path(os.environ.get("LOCAL_STATE_DIR") or ROOT / ".local")
"""Where the stack keeps its state; ``LOCAL_STATE_DIR`` moves it so two stacks can run side by side."""
LOGS = LOCAL / "logs"
STACK_FILE = LOCAL / "stack.json"
FUNCTIONS_FILE = ROOT / "infra" / "functions.json"
DEFAULT_PROJECT = "demo-usage-tracking"


@dataclass(frozen=True)
class Ports:
    api: int = 8080
    firestore: int = 8681
    tasks: int = 8682
    secrets: int = 8683
    simulator: int = 8684
    smtp: int = 2525

    @classmethod
    def from_env(cls) -> Ports:
        names = {
            "api": "API_PORT",
            "firestore": "FIRESTORE_PORT",
            "tasks": "TASKS_PORT",
            "secrets": "SECRETS_PORT",
            "simulator": "SIM_PORT",
            "smtp": "SMTP_PORT",
        }
        values = {k: int(os.environ[v]) for k, v in names.items() if os.environ.get(v)}
        return cls(**values)


@dataclass(frozen=True)
class FunctionDef:
    name: str
    source: str
    entry_point: str
    concurrency: int | None = None
    """Requests one instance serves at once when deployed; locally functions-framework's THREADS, as deployed."""


def built_functions(path: Path = FUNCTIONS_FILE) -> list[FunctionDef]:
    """Functions of ``functions.json`` whose entry point exists in code."""
    result = []
    for entry in json.loads(path.read_text())["functions"]:
        main = ROOT / entry["source"] / "main.py"
        if not main.exists():
            continue
        names = {n.name for n in ast.parse(main.read_text()).body if isinstance(n, ast.FunctionDef)}
        if entry["entry_point"] in names:
            result.append(FunctionDef(entry["name"], entry["source"], entry["entry_point"], entry.get("concurrency")))
    return result


@dataclass
class Stack:
    project_id: str
    ports: Ports
    processes: list[ManagedProcess] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    front_door: FrontDoor | None = None
    scheduler: Any = None

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.front_door is not None:
            self.front_door.stop()
        for managed in reversed(self.processes):
            managed.stop()
        STACK_FILE.unlink(missing_ok=True)

    def health(self) -> dict[str, Any]:
        down = [m.name for m in self.processes if not m.alive()]
        return {
            "ok": not down and self.front_door is not None,
            "down": down,
            "processes": [m.name for m in self.processes],
        }


def _check_ports(ports: Ports, use_simulator: bool) -> None:
    wanted = {
        "API_PORT": ports.api,
        "FIRESTORE_PORT": ports.firestore,
        "TASKS_PORT": ports.tasks,
        "SECRETS_PORT": ports.secrets,
        "SMTP_PORT": ports.smtp,
    }
    if use_simulator:
        wanted["SIM_PORT"] = ports.simulator
    busy = [f"{name}={port}" for name, port in wanted.items() if port_in_use(port)]
    if busy:
        raise StartupError(
            f"port(s) already in use: {', '.join(busy)}. Stop whatever uses them, or choose other ports, e.g. "
            f"`API_PORT=18080 make run`."
        )


def _py_module(name: str, module: str, args: list[str], port: int, env: dict[str, str]) -> Managed:
    managed = start(name, [sys.executable, "-m", module, *args], log_path=LOGS / f"{name}.log", env=env, cwd=ROOT)
    wait_for_port(managed, port, timeout_s=60)
    return managed


def _function_env(stack: Stack, base_env: dict[str, str]) -> dict[str, str]:
    info = stack.info
    env = dict(base_env)
    env.update(
        {
            "PROJECT_ID": stack.project_id,
            "FIRESTORE_EMULATOR_HOST": info["firestore_emulator_host"],
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
            "CLOUD_TASKS_EMULATOR_HOST": info["tasks_emulator_address"],
            "SECRET_MANAGER_EMULATOR_HOST": info["secret_manager_address"],
            "OPENAI_BASE_URL": info["openai_base_url"],
            "ANTHROPIC_BASE_URL": info["anthropic_base_url"],
            **info.get("google_env", {}),
            **info.get("aws_env", {}),
            **info.get("azure_env", {}),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(stack.ports.smtp),
            "FUNCTION_BASE_URL": info["api_base_url"],
            "PUBLIC_BASE_URL": info["api_base_url"],
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def start_stack(project_id: str, ports: Ports) -> Stack:
    """Start everything; on any failure, stop what was started and raise."""
    openai_url = os.environ.get("OPENAI_BASE_URL")
    anthropic_url = os.environ.get("ANTHROPIC_BASE_URL")
    use_simulator = not (openai_url or anthropic_url)
    _check_ports(ports, use_simulator)
    stack = Stack(project_id, ports)
    base_env = {k: v for k, v in os.environ.items() if k not in ("K_SERVICE",)}
    base_env["PYTHONWARNINGS"] = "ignore::FutureWarning"
    api_url = f"http://127.0.0.1:{ports.api}"
    stack.info.update({"project_id": project_id, "api_base_url": api_url})
    try:
        log.info("starting the Firestore emulator")
        firestore, fs_host = start_firestore_emulator(ports.firestore, log_path=LOGS / "firestore-emulator.log")
        stack.processes.append(firestore)
        stack.info["firestore_emulator_host"] = fs_host

        log.info("starting the Cloud Tasks emulator")
        from devstack.tasks_emulator import start_tasks_emulator

        queues = _queues()
        tasks = start_tasks_emulator(
            ports.tasks, project=project_id, region=_region(), queues=queues, log_path=LOGS / "tasks-emulator.log"
        )
        stack.processes.append(tasks)
        stack.info["tasks_emulator_address"] = tasks.address

        log.info("starting the local Secret Manager")
        LOCAL.mkdir(exist_ok=True)
        secrets = _py_module(
            "secret-manager",
            "devstack.secret_manager_server",
            ["--port", str(ports.secrets), "--store", str(LOCAL / "secrets.enc")],
            ports.secrets,
            base_env,
        )
        stack.processes.append(secrets)
        stack.info["secret_manager_address"] = f"127.0.0.1:{ports.secrets}"

        if use_simulator:
            log.info("starting the provider simulator")
            sim = _py_module(
                "provider-simulator",
                "devstack.provider_sim",
                ["--host", "127.0.0.1", "--port", str(ports.simulator), "--demo"],
                ports.simulator,
                base_env,
            )
            stack.processes.append(sim)
            root = f"http://127.0.0.1:{ports.simulator}"
            stack.info.update(
                {"simulator_url": root, "openai_base_url": f"{root}/openai", "anthropic_base_url": f"{root}/anthropic"}
            )
            stack.info["google_env"] = {
                "GOOGLE_TOKEN_URL": f"{root}/google/token",
                "GOOGLE_MONITORING_BASE_URL": f"{root}/google/monitoring",
                "GOOGLE_BIGQUERY_BASE_URL": f"{root}/google/bigquery",
            }
            stack.info["aws_env"] = {
                "AWS_STS_URL": f"{root}/aws/sts",
                "AWS_CLOUDWATCH_URL": f"{root}/aws/monitoring/{{region}}",
                "AWS_COST_EXPLORER_URL": f"{root}/aws/ce",
                "AWS_BEDROCK_URL": f"{root}/aws/bedrock/{{region}}",
                "AWS_S3_URL": f"{root}/aws/s3/{{region}}",
            }
            stack.info["azure_env"] = {
                "AZURE_LOGIN_URL": f"{root}/azure/login",
                "AZURE_MANAGEMENT_URL": f"{root}/azure/arm",
            }
        else:
            stack.info.update(
                {
                    "simulator_url": None,
                    "openai_base_url": openai_url or "https://api.openai.com",
                    "anthropic_base_url": anthropic_url or "https://api.anthropic.com",
                }
            )

        mail = LOCAL / "mail"
        log.info("starting the SMTP sink")
        sink = _py_module(
            "smtp-sink", "devstack.smtp_sink", ["--port", str(ports.smtp), "--folder", str(mail)], ports.smtp, base_env
        )
        stack.processes.append(sink)
        stack.info["mail_folder"] = str(mail)

        env = _function_env(stack, base_env)
        functions: dict[str, str] = {}
        for fn in built_functions():
            port = free_port()
            log.info("starting function %s", fn.name)
            managed = start(
                f"function-{fn.name}",
                local_function.command(fn.entry_point, port),
                log_path=LOGS / f"function-{fn.name}.log",
                env={
                    **env,
                    **local_function.environment(fn.source),
                    **({} if fn.concurrency is None else {"THREADS": str(fn.concurrency)}),
                },
                cwd=ROOT,
            )
            stack.processes.append(managed)
            wait_for_port(managed, port, timeout_s=90)
            functions[fn.name] = f"http://127.0.0.1:{port}"
        stack.info["functions"] = functions

        stack.front_door = FrontDoor("127.0.0.1", ports.api, functions, stack.health)
        stack.front_door.start()

        from devstack.scheduler import Scheduler, load_jobs

        stack.scheduler = Scheduler(load_jobs(), {name: f"{api_url}/{name}" for name in functions}, env=env)
        stack.scheduler.start()
        stack.info["pids"] = {m.name: m.pid for m in stack.processes}
        # The identity the functions accept, as they read it from their environment.
        stack.info["scheduler_service_account"] = stack.scheduler.settings.scheduler_service_account
        stack.info["function_base_url"] = api_url
        STACK_FILE.write_text(json.dumps(stack.info, indent=2))
    except BaseException:
        stack.stop()
        raise
    return stack


def _queues() -> list[str]:
    from shared.config import Settings

    settings = Settings()
    return [
        settings.sync_queue,
        settings.reports_queue,
        settings.erase_queue,
        settings.retire_queue,
        settings.webhook_queue,
    ]


def _region() -> str:
    from shared.config import Settings

    return Settings().region


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _print_welcome(stack: Stack, token: str, seeded: list[str]) -> None:
    api = stack.info["api_base_url"]
    lines = [
        "",
        "The platform is running locally.",
        f"  REST API         {api}   (health: {api}/healthz)",
        f"  Firestore        {stack.info['firestore_emulator_host']}  (emulator, rules enforced)",
        f"  Cloud Tasks      {stack.info['tasks_emulator_address']}  (emulator)",
        f"  Providers        {stack.info['openai_base_url']}  |  {stack.info['anthropic_base_url']}"
        + (f"  |  {stack.info['simulator_url']}/google" if stack.info.get("simulator_url") else ""),
        f"  Mail sink        {stack.info['mail_folder']}  (one .eml per message)",
        f"  Functions        {', '.join(sorted(stack.info['functions']))}",
        f"  Stack file       {_shown(STACK_FILE)}   logs in {_shown(LOGS)}/",
        "",
        "A user token for alice@acme.example (admin of the demo enterprise Acme Corp):",
        f"  export TOKEN={token}",
        "",
        "Try:",
        f"  curl -s {api}/healthz",
        f'  curl -s -H "Authorization: Bearer $TOKEN" {api}/api/v1/enterprise',
        f'  curl -s -H "Authorization: Bearer $TOKEN" {api}/api/v1/enterprise/reports',
        f"  curl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
        f'-d \'{{"name": "My Co"}}\' {api}/api/v1/enterprises',
        "  (with several enterprises, choose one per request: -H 'X-Enterprise-Id: <id>')",
        "  make token EMAIL=someone@example.com     # a token for another user",
        "  make trigger JOB=daily-sync              # fire a scheduled job now",
        "  make trigger JOB=monthly-reports         # email last month's reports (read them in the mail sink)",
        "",
    ]
    if seeded:
        lines.insert(10, f"Demo enterprises (admins alice@acme.example, bob@globex.example, ...): {', '.join(seeded)}")
    print("\n".join(lines), flush=True)  # noqa: T201 - the stack's console output


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    project_id = os.environ.get("PROJECT_ID", DEFAULT_PROJECT)
    os.environ["PROJECT_ID"] = project_id

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # Started from a script in the background, SIGINT may be inherited as ignored; Ctrl-C must always stop the stack.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        stack = start_stack(project_id, Ports.from_env())
    except StartupError as e:
        print(f"\nCould not start the local stack: {e}", file=sys.stderr, flush=True)  # noqa: T201
        sys.exit(1)
    try:
        from devstack.seed import seed_demo
        from devstack.tokens import mint_user_token

        seeded: list[str] = []
        if os.environ.get("SEED_DEMO", "1") != "0" and stack.info.get("simulator_url"):
            seeded = seed_demo(stack.info)
        _print_welcome(stack, mint_user_token("alice@acme.example", project_id), seeded)
        while True:
            time.sleep(1)
            down = [m.name for m in stack.processes if not m.alive()]
            if down:
                log.error("stopping: %s exited (see %s)", ", ".join(down), LOGS)
                break
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping the local stack...", flush=True)  # noqa: T201
        stack.stop()
        print("Stopped.", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
