"""``make run`` end to end: the stack comes up seeded, its printed commands work, ``make trigger JOB=daily-sync``
fills snapshots that equal the provider simulator's figures to the cent, and Ctrl-C leaves no process behind.

The tests of this module share one running stack and run in file order; the last one stops it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.processes import free_port, group_alive
from tests.conftest import ROOT
from tests.support.local_stack import PORT_NAMES, RunningStack, all_documents, local_stack, stack_env

DEMO_ORGS = {
    "Acme Corp": [
        "org-demo-acme",
        "org-demo-umbrella",
        "google:0DE40A-CAFE00-00ACE0",
        "aws:123456789012",
        "azure:7a1e0c2d-5b3f-4e6a-9c8d-0123456789ab",
    ],
    "Globex": ["org-demo-globex"],
    "Initech": ["org-demo-initech"],
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with local_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def test_health_and_the_printed_curl_commands_work(stack: RunningStack) -> None:
    assert httpx.get(f"{stack.api}/healthz").status_code == 200
    printed = stack.printed()
    token = re.search(r"export TOKEN=(\S+)", printed)
    assert token, printed
    info = stack.info
    assert info["api_base_url"] == stack.api
    assert {"api", "connect", "sync_dispatch", "sync_worker", "enterprise_erase", "retention_sweep"} <= set(
        info["functions"]
    )
    curls = [line.strip() for line in printed.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) >= 3
    outputs = {}
    for command in curls:
        result = subprocess.run(
            ["bash", "-c", command + " -w '\\n%{http_code}'"],
            env={**os.environ, "TOKEN": token.group(1)},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        body, _, status = result.stdout.strip().rpartition("\n")
        assert status in {"200", "201"}, (command, result.stdout, result.stderr)
        outputs[command] = body
    enterprise = json.loads(outputs[next(c for c in curls if c.endswith("/api/v1/enterprise"))])
    assert enterprise["name"] == "Acme Corp"
    assert {p for p, state in enterprise["providers"].items() if state["status"] == "connected"} == {
        "openai",
        "anthropic",
        "google",
        "bedrock",
        "azure",
    }
    assert enterprise["providers"]["google"]["billing_export_connected"] is True
    assert enterprise["providers"]["azure"]["billing_export_connected"] is True
    assert enterprise["providers"]["bedrock"]["cost_explorer_connected"] is True


def _snapshots(info: dict[str, Any], days: list[date]) -> dict[str, dict[date, dict[str, Any]]]:
    host, project = info["firestore_emulator_host"], info["project_id"]
    base = f"http://{host}/v1/projects/{project}/databases/(default)/documents"
    owner = {"Authorization": "Bearer owner"}
    found: dict[str, dict[date, dict[str, Any]]] = {}
    enterprises = httpx.get(f"{base}/enterprises", headers=owner, params={"pageSize": 100}).json()
    for doc in enterprises.get("documents", []):
        name = doc["fields"]["name"]["stringValue"]
        found[name] = {}
        for day in days:
            snap = httpx.get(f"{base}/enterprises/{doc['name'].rsplit('/', 1)[1]}/usage_snapshots/{day}", headers=owner)
            if snap.status_code == 200:
                found[name][day] = snap.json()["fields"]
    return found


def _map(value: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = value["mapValue"]["fields"]
    return fields


def _number(value: dict[str, Any]) -> Decimal:
    return Decimal(value.get("stringValue") or value.get("doubleValue") or value.get("integerValue") or "0")


def _billed(fields: dict[str, Any]) -> Decimal:
    value = fields["totals"]["mapValue"]["fields"]["total_cost_usd"]
    return Decimal(value.get("stringValue") or value.get("doubleValue") or value.get("integerValue"))


def test_daily_sync_fills_snapshots_equal_to_the_providers_figures(stack: RunningStack) -> None:
    info = stack.info
    trigger = subprocess.run(
        [sys.executable, "-m", "devstack.scheduler", "trigger", "daily-sync"],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert trigger.returncode == 0, trigger.stdout + trigger.stderr
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in (3, 2, 1)]
    truth: dict[str, dict[date, Decimal]] = {}
    for enterprise, orgs in DEMO_ORGS.items():
        truth[enterprise] = {}
        for day in days:
            total = Decimal(0)
            for org in orgs:
                kind, _, ident = org.rpartition(":")
                paths = {
                    "google": f"google/orgs/{ident}",
                    "aws": f"aws/accounts/{ident}",
                    "azure": f"azure/tenants/{ident}",
                }
                path = paths.get(kind, f"orgs/{org}")
                response = httpx.get(f"{info['simulator_url']}/_sim/{path}/truth", params={"day": str(day)})
                total += Decimal(str(response.json()["billed_cost_usd"]))
            truth[enterprise][day] = total.quantize(Decimal("0.01"))
    deadline = time.monotonic() + 240
    while True:
        snapshots = _snapshots(info, days)
        got = {
            name: {day: _billed(fields).quantize(Decimal("0.01")) for day, fields in per_day.items()}
            for name, per_day in snapshots.items()
            if name in DEMO_ORGS
        }
        if got == truth or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert got == truth
    assert all(value > 0 for per_day in truth.values() for value in per_day.values())

    # Flat-discount organisations show their discount to 0.05 points whatever their mix: Acme's OpenAI org (18 % off)
    # bills audio, image, batch embeddings and a fine-tune the price data does not know; Umbrella (25 %) long-context
    # and Priority Tier usage; Acme's Google account (10 % as a credit) cache hits, priced from the billing export's
    # quantities; Initech 12 %. The fine-tune's bill leaves both sides, so Acme's OpenAI coverage is below 1.
    flat = {("Acme Corp", "openai"): "0.18", ("Acme Corp", "anthropic"): "0.25", ("Initech", "anthropic"): "0.12"}
    flat[("Acme Corp", "google")] = "0.1"
    for day, fields in snapshots["Acme Corp"].items():
        # Coverage is the share of the bill the price data can price: what the simulator did not bill from it is out.
        rows = httpx.get(f"{info['simulator_url']}/_sim/orgs/org-demo-acme/truth", params={"day": str(day)}).json()
        billed = [(r["price_source"], Decimal(str(r["billed_cost_usd"]))) for r in rows["rows"] if r["in_cost_report"]]
        expected = sum((usd for source, usd in billed if source == "genai-prices"), Decimal(0)) / sum(
            (usd for _, usd in billed), Decimal(0)
        )
        coverage = _number(_map(_map(fields["reconciliation"])["openai"])["price_coverage"])
        assert abs(coverage - expected) < Decimal("0.000001"), (day, coverage, expected)
    for (enterprise, provider), discount in flat.items():
        for day, fields in snapshots[enterprise].items():
            recon = _map(_map(fields["reconciliation"])[provider])
            shown = 1 - _number(recon["ratio"])
            assert abs(shown - Decimal(discount)) <= Decimal("0.0005"), (enterprise, provider, day, shown)

    # The daily job also published the market index, which any signed-in user can read.
    token = re.search(r"export TOKEN=(\S+)", stack.printed())
    assert token
    index = httpx.get(f"{stack.api}/api/v1/indices/latest", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert index.status_code == 200, index.text
    assert "STCI-FRONTIER" in index.text


def test_no_admin_key_reaches_firestore_logs_mail_or_responses(stack: RunningStack) -> None:
    """The demo enterprises connected real-shaped admin keys and synced: none appears anywhere we keep or show."""
    from devstack.provider_sim.demo import admin_key
    from devstack.seed import DEMO_ENTERPRISES

    keys = [
        admin_key(provider, org)  # type: ignore[arg-type]
        for demo in DEMO_ENTERPRISES
        for provider, org in demo.orgs
        if provider not in ("google", "bedrock", "azure")
    ]
    documents = all_documents(stack.info)
    assert any('"usage_snapshots"' in d or "total_cost_usd" in d for d in documents)  # the scan saw synced data
    logs = [p.read_text(errors="replace") for p in (stack.state_dir / "logs").glob("*.log")]
    mail = [p.read_bytes().decode(errors="replace") for p in Path(stack.info["mail_folder"]).glob("*")]
    token = re.search(r"export TOKEN=(\S+)", stack.printed())
    assert token
    headers = {"Authorization": f"Bearer {token.group(1)}"}
    responses = [
        httpx.get(f"{stack.api}{path}", headers=headers).text
        for path in ("/api/v1/enterprise", "/api/v1/enterprise/audit-log")
    ]
    haystacks = {
        "firestore": documents,
        "logs": logs,
        "mail": mail,
        "responses": responses,
        "runner output": [stack.printed()],
    }
    for key in keys:
        secret_part = key.split("-sim-", 1)[1]
        for where, texts in haystacks.items():
            assert not any(key in text or f"sim-{secret_part}" in text for text in texts), f"a key reached {where}"
    google = httpx.get(f"{stack.info['simulator_url']}/_sim/google/orgs/0DE40A-CAFE00-00ACE0/accounts/usage-reader/key")
    pem_lines = google.json()["private_key"].splitlines()[1:-1]
    for where, texts in haystacks.items():
        assert not any(line in text for line in pem_lines for text in texts), f"the Google private key reached {where}"


PEERS = 30


def _peer(i: int) -> tuple[str, str, str]:
    """(provider, simulator org id, admin key) of peer ``i``: a mix of providers and negotiated discounts."""
    provider = "openai" if i % 2 == 0 else "anthropic"
    prefix = "sk-admin-" if provider == "openai" else "sk-ant-admin01-"
    return provider, f"org-peer-{i:02d}", f"{prefix}peer{i:02d}-{'x' * 24}"


def test_peer_benchmarks_from_thirty_enterprises_synced_through_the_pipeline(stack: RunningStack) -> None:
    """30 opted-in enterprises connect, backfill through Cloud Tasks and the sync worker; the monthly job publishes;
    three of them read their position. Published figures never carry exact counts or the rules' parameters."""
    info = stack.info
    today = datetime.now(UTC).date()
    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    headers_of: dict[int, dict[str, str]] = {}
    with httpx.Client(base_url=stack.api, timeout=60) as api:
        for i in range(PEERS):
            provider, org_id, key = _peer(i)
            org = {
                "provider": provider,
                "org_id": org_id,
                "name": f"Peer {i}",
                "admin_keys": [key],
                "seed": 100 + i,
                "discount": str(Decimal(i) / 100),
                # Usage from the first of last month: the earlier days of the 90-day backfill are pulled but empty.
                "history_start": (today.replace(day=1) - timedelta(days=1)).replace(day=1).isoformat(),
            }
            assert httpx.post(f"{info['simulator_url']}/_sim/orgs", json=org).status_code in (200, 201)
            from devstack.tokens import mint_user_token

            headers = {"Authorization": f"Bearer {mint_user_token(f'admin@peer{i}.example', info['project_id'])}"}
            created = api.post(
                "/api/v1/enterprises", json={"name": f"Peer {i}", "industry": "technology"}, headers=headers
            )
            assert created.status_code == 201, created.text
            headers["X-Enterprise-Id"] = created.json()["id"]
            opt_in = api.patch(
                "/api/v1/enterprise", json={"settings": {"share_anonymous_benchmarks": True}}, headers=headers
            )
            assert opt_in.status_code == 200, opt_in.text
            connected = api.post(f"/api/v1/enterprise/connect/{provider}", json={"admin_api_key": key}, headers=headers)
            assert connected.status_code == 201, connected.text
            headers_of[i] = headers

        # The backfills run through the Tasks emulator; wait until every peer has last month's rollup.
        base = (
            f"http://{info['firestore_emulator_host']}/v1/projects/{info['project_id']}"
            "/databases/(default)/documents/enterprises"
        )
        deadline = time.monotonic() + 420
        missing = list(headers_of)
        while missing and time.monotonic() < deadline:
            missing = [
                i
                for i in missing
                if httpx.get(
                    f"{base}/{headers_of[i]['X-Enterprise-Id']}/usage_months/{month}",
                    headers={"Authorization": "Bearer owner"},
                ).status_code
                != 200
            ]
            time.sleep(2)
        assert missing == [], f"no {month} rollup yet for peers {missing}"

        job = subprocess.run(
            [sys.executable, "-m", "devstack.scheduler", "trigger", "benchmarks"],
            cwd=ROOT,
            env=stack.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert job.returncode == 0, job.stdout + job.stderr

        positions = []
        for i in (0, 1, 29):
            response = api.get("/api/v1/benchmarks/current", headers=headers_of[i])
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["month"] == month
            assert body["enterprise_count_band"] == "20–49"
            assert body["your_position"] is not None
            assert "min_units" not in response.text
            assert "noise" not in response.text
            assert '"count"' not in response.text
            positions.append(json.dumps(body["your_position"], sort_keys=True))
        assert len(set(positions)) > 1  # different enterprises, different positions


def test_make_trigger_runs_the_retention_sweep(stack: RunningStack) -> None:
    """``make trigger JOB=retention``: a raw response that expired a minute ago is gone, everything else stays."""
    info = stack.info
    base = f"http://{info['firestore_emulator_host']}/v1/projects/{info['project_id']}/databases/(default)/documents"
    owner = {"Authorization": "Bearer owner"}
    listing = httpx.get(f"{base}/enterprises", headers=owner, params={"pageSize": 1}).json()
    enterprise = listing["documents"][0]["name"].rsplit("/", 1)[1]
    expired = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = f"{base}/enterprises/{enterprise}/raw_responses/e2e-expired"
    created = httpx.patch(doc, headers=owner, json={"fields": {"expire_at": {"timestampValue": expired}}})
    assert created.status_code == 200, created.text
    usage = [f"{base}/enterprises/{enterprise}/{name}" for name in ("usage_snapshots", "usage_months", "raw_responses")]

    def kept() -> list[str]:
        names_only = {"pageSize": 1000, "mask.fieldPaths": "expire_at"}
        pages = [httpx.get(url, headers=owner, params=names_only).json() for url in usage]
        return sorted(d["name"] for page in pages for d in page.get("documents", []) if "e2e-expired" not in d["name"])

    before = kept()
    assert before, "the demo enterprise has synced usage"

    trigger = stack.trigger("retention")
    assert trigger.returncode == 0, trigger.stdout + trigger.stderr
    head, _, answer = trigger.stdout.partition("\n")
    assert head == "job retention -> retention_sweep: HTTP 200"
    counts = json.loads(answer)
    assert counts["raw_responses_deleted"] >= 1
    assert counts["complete"] is True
    assert httpx.get(doc, headers=owner).status_code == 404
    assert kept() == before


def test_ctrl_c_stops_every_process(stack: RunningStack) -> None:
    groups = list(stack.info["pids"].values())
    assert all(group_alive(pid) for pid in groups)
    stack.process.send_signal(signal.SIGINT)
    stack.process.wait(timeout=90)
    assert stack.process.returncode == 0, stack.printed()[-2000:]
    assert [pid for pid in groups if group_alive(pid)] == []
    assert not stack.stack_file.exists()


def test_a_port_in_use_gives_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = {name: free_port() for name in PORT_NAMES}
        ports["API_PORT"] = port
        result = subprocess.run(
            [sys.executable, "-m", "devstack.runner"],
            cwd=ROOT,
            env=stack_env(ports, tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"API_PORT={port}" in result.stderr
    assert "already in use" in result.stderr
    assert "API_PORT=" in result.stderr.split("already in use", 1)[1]  # it suggests how to pick another port
