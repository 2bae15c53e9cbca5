"""The sync worker's use case with behaving fakes: what ends up stored, retried, recorded or acknowledged."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from shared.domain.enterprise.audit import AuditAction
from shared.domain.enterprise.model import ProviderName, ProviderStatus
from shared.domain.usage.records import Provider, ProviderDay, ProviderPull, UsageRecord
from shared.errors import ProviderRateLimited, ProviderResponseError
from shared.ports import SecretVersionRef
from shared.services.sync.provider_parts import PreparedPull
from shared.services.sync.sync_report import Outcome, SyncRequest
from tests.support.connect_world import ADMIN_EMAIL, ENTERPRISE_ID
from tests.support.sync_world import SyncWorld
from tests.support.usage_days import anthropic_day, failed_day, openai_day

DAYS = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
DAILY = {"enterprise_id": ENTERPRISE_ID, "start": "2026-11-20", "end": "2026-11-23", "reason": "daily"}
OPENAI, ANTHROPIC = ProviderName.OPENAI, ProviderName.ANTHROPIC


@pytest.fixture
def world() -> SyncWorld:
    w = SyncWorld()
    for day in DAYS:
        w.sources.serve(openai_day(day))
        w.sources.serve(anthropic_day(day))
    return w


def test_a_sync_stores_every_day_its_month_and_last_sync(world: SyncWorld) -> None:
    report = world.run(DAILY)
    assert not report.retry
    assert {p: r.outcome for p, r in report.providers.items()} == {
        "anthropic": Outcome.SYNCED,
        "openai": Outcome.SYNCED,
    }
    for day in DAYS:
        snapshot = world.snapshots.day(ENTERPRISE_ID, day)
        assert snapshot is not None
        assert snapshot.totals.total_cost_usd == Decimal("15.10")  # 4.30 OpenAI + 10.80 Anthropic
    month = world.snapshots.month(ENTERPRISE_ID, "2026-11")
    assert month is not None
    assert (month.days, month.totals.total_cost_usd) == (3, Decimal("45.30"))
    assert (report.days_written, report.months_written) == (3, 1)
    assert world.snapshots.commits == 1  # days and their month in one batch
    assert world.snapshots.last_sync == {
        (ENTERPRISE_ID, OPENAI): world.clock.now(),
        (ENTERPRISE_ID, ANTHROPIC): world.clock.now(),
    }
    assert len(world.snapshots.raw[ENTERPRISE_ID]) == 2  # one page per provider


def test_a_sync_run_in_the_main_thread_never_formats_what_it_pulled(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``asyncio.run`` in the main thread (a CLI, this test) formats its main task, result included, when it checks its
    # SIGINT handler; a month of pulled days took 90 ms to format (``devstack/bench_sync.py``).
    assert threading.current_thread() is threading.main_thread()
    formatted: list[str] = []
    for model in (ProviderPull, ProviderDay, UsageRecord, PreparedPull):
        monkeypatch.setattr(model, "__repr__", lambda self: formatted.append(type(self).__name__) or "pulled")
    report = world.run(DAILY)
    assert report.providers["openai"].outcome is Outcome.SYNCED
    assert formatted == []


def test_the_months_are_read_ahead_only_once_the_first_provider_requests_are_out(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Decoding the months read ahead holds the GIL: started before the requests are written, it delays them, and the
    # providers' latency only starts when they arrive.
    seen_when_out: list[list[tuple[str, ...]]] = []

    async def requests_out() -> None:
        await asyncio.sleep(0.05)  # a read ahead started already would have run by now
        seen_when_out.append(list(world.snapshots.read_ahead_months))

    monkeypatch.setattr(world.sources, "requests_out", requests_out)
    world.run(DAILY)
    assert seen_when_out == [[]]
    assert world.snapshots.read_ahead_months == [("2026-11",)]


def test_months_stored_as_read_ahead_take_no_lease_and_a_month_written_meanwhile_takes_it(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A backfill takes the snapshots lease for its transactions; a commit at the versions read ahead holds no lock,
    # so it needs none (two writes and a round trip saved), and a month written since goes to the transaction.
    world.snapshots.reads_ahead = True
    backfill = {**DAILY, "reason": "backfill"}
    world.run(backfill)  # nothing stored yet, so nothing read ahead: the transaction, under the lease
    assert (world.leases.taken, world.snapshots.written_ahead) == (1, 0)

    world.sources.serve(openai_day(DAYS[1], scale=2))  # the provider restated a day
    report = world.run(backfill)
    assert (world.leases.taken, world.snapshots.written_ahead) == (1, 1)
    assert report.days_written == 1
    restated = world.snapshots.day(ENTERPRISE_ID, DAYS[1])
    assert restated is not None
    assert restated.totals.total_cost_usd == Decimal("19.40")  # 2 × 4.30 OpenAI + 10.80 Anthropic

    read_ahead = world.snapshots.read_ahead

    def then_another_task_writes(*args: Any, **kwargs: Any) -> Any:
        read = read_ahead(*args, **kwargs)
        world.snapshots.versions[(ENTERPRISE_ID, "2026-11")] += 1  # another task's commit, meanwhile
        return read

    monkeypatch.setattr(world.snapshots, "read_ahead", then_another_task_writes)
    world.sources.serve(openai_day(DAYS[2], scale=3))
    report = world.run(backfill)
    assert (world.leases.taken, world.snapshots.written_ahead) == (2, 1)
    assert report.days_written == 1
    assert world.leases.held == {}
    month = world.snapshots.month(ENTERPRISE_ID, "2026-11")
    assert month is not None
    assert month.totals.total_cost_usd == Decimal("15.10") + Decimal("19.40") + Decimal("23.70")


def test_every_key_read_is_audited_once_per_task(world: SyncWorld) -> None:
    world.run(DAILY, read_id="task-1")
    world.run(DAILY, read_id="task-1")  # a retry of the same task
    reads = [e for e in world.audit.of(ENTERPRISE_ID) if e.action is AuditAction.KEY_READ]
    assert sorted(str(e.provider) for e in reads) == ["anthropic", "openai"]
    world.run(DAILY, read_id="task-2")
    assert len([e for e in world.audit.of(ENTERPRISE_ID) if e.action is AuditAction.KEY_READ]) == 4


def test_a_duplicate_task_writes_nothing(world: SyncWorld) -> None:
    world.run(DAILY)
    before = dict(world.snapshots.snapshots), dict(world.snapshots.months), world.snapshots.writes
    world.clock.advance(timedelta(minutes=5))
    report = world.run(DAILY)
    assert (report.days_written, report.months_written) == (0, 0)
    assert (dict(world.snapshots.snapshots), dict(world.snapshots.months), world.snapshots.writes) == before


def test_a_restated_day_is_rewritten_with_its_month(world: SyncWorld) -> None:
    world.run(DAILY)
    world.sources.serve(openai_day(DAYS[2], scale=2))  # the provider restated the last day
    report = world.run(DAILY)
    assert (report.days_written, report.months_written) == (1, 1)
    month = world.snapshots.month(ENTERPRISE_ID, "2026-11")
    assert month is not None
    assert month.totals.total_cost_usd == Decimal("49.60")  # 45.30 + one more day of OpenAI's 4.30


def test_a_rollup_in_the_old_layout_or_missing_is_rewritten_by_the_next_sync(world: SyncWorld) -> None:
    world.run(DAILY)
    key = (ENTERPRISE_ID, "2026-11")
    current = world.snapshots.months[key]
    assert current.has_daily
    world.snapshots.months[key] = current.model_copy(update={"daily": None, "daily_version": None})  # pre-ADR 0011

    report = world.run(DAILY)  # no provider restated anything
    assert (report.days_written, report.months_written) == (0, 1)
    assert world.snapshots.months[key] == current

    del world.snapshots.months[key]  # e.g. an old backfill interrupted between its batches
    assert world.run(DAILY).months_written == 1
    assert world.snapshots.months[key] == current
    assert world.run(DAILY).months_written == 0


def test_a_rate_limited_provider_is_retried_without_losing_the_other(world: SyncWorld) -> None:
    world.run(DAILY)
    world.sources.serve(anthropic_day(DAYS[0]).model_copy(update={"records": ()}))  # Anthropic changes day 1
    world.sources.errors[Provider.OPENAI] = ProviderRateLimited("429", provider="openai", retry_after_s=60)
    report = world.run(DAILY)
    assert report.retry
    assert report.providers["openai"].outcome is Outcome.RETRY
    assert report.providers["anthropic"].outcome is Outcome.SYNCED
    day1 = world.snapshots.day(ENTERPRISE_ID, DAYS[0])
    assert day1 is not None
    assert day1.by_provider["openai"].tally.cost_usd == Decimal("4.30")  # kept from the earlier sync
    assert day1.by_provider["anthropic"].tally.input_tokens == 0  # Anthropic's restatement was stored
    assert set(world.snapshots.last_sync) == {(ENTERPRISE_ID, OPENAI), (ENTERPRISE_ID, ANTHROPIC)}


def test_a_revoked_key_is_recorded_once_and_acknowledged(world: SyncWorld) -> None:
    world.sources.keys[Provider.OPENAI] = set()  # the provider now refuses the stored key
    report = world.run(DAILY)
    assert not report.retry
    assert (report.providers["openai"].outcome, report.providers["openai"].code) == (
        Outcome.KEY_FAILED,
        "provider_key_invalid",
    )
    assert world.status(OPENAI) is ProviderStatus.KEY_FAILED
    assert [m["To"] for m in world.mailer.sent] == [ADMIN_EMAIL]
    assert world.snapshots.day(ENTERPRISE_ID, DAYS[0]) is not None  # Anthropic's data is stored
    again = world.run({**DAILY, "providers": ["openai", "anthropic"]})
    assert again.providers["openai"].outcome is Outcome.NOT_CONNECTED
    assert len(world.mailer.sent) == 1


def test_a_malformed_day_keeps_the_good_snapshot(world: SyncWorld) -> None:
    world.run(DAILY)
    good = world.snapshots.day(ENTERPRISE_ID, DAYS[1])
    world.sources.serve(failed_day(Provider.OPENAI, DAYS[1]))
    report = world.run(DAILY)
    assert not report.retry
    assert report.providers["openai"].failed_days == ["2026-11-21"]
    assert world.snapshots.day(ENTERPRISE_ID, DAYS[1]) == good


def test_a_malformed_day_without_earlier_data_is_marked(world: SyncWorld) -> None:
    world.sources.serve(failed_day(Provider.OPENAI, DAYS[1]))
    world.run(DAILY)
    marked = world.snapshots.day(ENTERPRISE_ID, DAYS[1])
    assert marked is not None
    assert marked.failed_providers == {"openai": "provider_malformed_response"}
    assert list(marked.by_provider) == ["anthropic"]


def test_a_pull_the_provider_answers_badly_is_acknowledged_as_failed(world: SyncWorld) -> None:
    world.sources.errors[Provider.ANTHROPIC] = ProviderResponseError("400 bad request", provider="anthropic")
    report = world.run(DAILY)
    assert not report.retry
    assert report.providers["anthropic"].outcome is Outcome.FAILED


def test_a_destroyed_key_version_is_skipped(world: SyncWorld) -> None:
    record = world.connections.records[(ENTERPRISE_ID, ANTHROPIC)]
    world.secrets.disable_version(SecretVersionRef(record.secret_version))
    report = world.run(DAILY)
    assert report.providers["anthropic"].outcome is Outcome.KEY_UNAVAILABLE
    assert report.providers["openai"].outcome is Outcome.SYNCED
    assert not report.retry


def test_a_secret_manager_outage_is_retried(world: SyncWorld) -> None:
    world.secrets.unavailable = True
    report = world.run(DAILY)
    assert report.retry
    assert world.snapshots.writes == 0


def test_days_after_today_are_never_pulled(world: SyncWorld) -> None:
    report = world.run({**DAILY, "start": "2026-11-22", "end": "2026-12-01", "reason": "backfill"})
    assert (report.start, report.end) == (date(2026, 11, 22), date(2026, 11, 24))
    assert {(s, e) for _, s, e in world.sources.pulls} == {(date(2026, 11, 22), date(2026, 11, 24))}


def test_a_closing_enterprise_is_skipped(world: SyncWorld) -> None:
    enterprise = world.enterprises.docs[ENTERPRISE_ID]
    world.enterprises.docs[ENTERPRISE_ID] = enterprise.model_copy(update={"status": "closing"})
    report = world.run(DAILY)
    assert report.skipped == "enterprise_closing"
    assert world.sources.pulls == []


def test_a_pending_backfill_is_enqueued_by_the_next_sync(world: SyncWorld) -> None:
    key = (ENTERPRISE_ID, OPENAI)
    world.connections.records[key] = world.connections.records[key].model_copy(
        update={"backfill_start": date(2026, 8, 26), "backfill_end": date(2026, 11, 24), "backfill_pending": True}
    )
    world.run(DAILY)
    names = world.tasks.names(world.settings.sync_queue)
    assert len(names) == 3  # 90 days in windows of at most 31
    assert all(n.startswith(f"backfill-{ENTERPRISE_ID}-openai-") for n in names)
    assert world.connections.records[key].backfill_pending is False


def test_the_task_body_is_strict() -> None:
    with pytest.raises(ValueError, match="end must be after start"):
        SyncRequest.model_validate({**DAILY, "end": "2026-11-20"})
    with pytest.raises(ValueError, match="Extra inputs"):
        SyncRequest.model_validate({**DAILY, "surprise": 1})


def test_a_key_record_pointing_at_another_enterprises_secret_is_never_read(world: SyncWorld) -> None:
    """The secret name comes from the enterprise id, never from Firestore: a tampered key record (or a bug writing
    one) must not make this enterprise's sync read, and pull with, another enterprise's admin key."""
    victim_key = "sk-admin-UNITTEST-victim-000000000000000000"
    victim = world.secrets.add_version("provider-key-openai_ent_victim", SecretStr(victim_key), {})
    world.sources.accept(Provider.OPENAI, victim_key)
    record = world.connections.records[(ENTERPRISE_ID, ProviderName.OPENAI)]
    world.connections.records[(ENTERPRISE_ID, ProviderName.OPENAI)] = record.model_copy(
        update={"secret_version": victim.name}
    )

    report = world.run(DAILY)

    openai = report.providers["openai"]
    assert (openai.outcome, openai.code) == (Outcome.KEY_UNAVAILABLE, "secret_name_mismatch")
    reads = [e for e in world.audit.of(ENTERPRISE_ID) if e.action is AuditAction.KEY_READ]
    assert [e.provider for e in reads] == [ProviderName.ANTHROPIC]  # openai's key was never read
