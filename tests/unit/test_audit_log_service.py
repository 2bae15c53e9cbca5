"""Reading the audit log page by page, and recording key reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.enterprise.audit import Actor, AuditAction, AuditEntry
from shared.domain.enterprise.model import ProviderName
from shared.errors import InvalidInput
from shared.ports import SecretVersionRef
from shared.services.enterprise.audit import list_audit_log, record_key_read
from tests.support.fake_connections import FakeAuditLog
from tests.support.fakes import FixedClock

ENTERPRISE = "ent_audit"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _entry(i: int, at: datetime) -> AuditEntry:
    return AuditEntry(
        id=f"connect-openai-v{i}",
        at=at,
        action=AuditAction.CONNECT,
        provider=ProviderName.OPENAI,
        actor=Actor.system("t"),
    )


def test_pages_go_newest_first_without_gaps_or_repeats_even_when_times_tie() -> None:
    log = FakeAuditLog()
    # Seven entries, three of them written in the same instant.
    times = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(seconds=1)]
    times += [T0 + timedelta(seconds=s) for s in (2, 3, 4)]
    for i, at in enumerate(times):
        log.record(ENTERPRISE, _entry(i, at))

    seen: list[AuditEntry] = []
    token: str | None = None
    pages = 0
    while True:
        page = list_audit_log(log, ENTERPRISE, limit=3, page_token=token)
        seen += page.entries
        pages += 1
        token = page.next_page_token
        if token is None:
            break

    assert pages == 3
    assert len({e.id for e in seen}) == 7
    assert [e.at for e in seen] == sorted(times, reverse=True)


def test_an_empty_log_is_one_empty_page() -> None:
    page = list_audit_log(FakeAuditLog(), ENTERPRISE)

    assert (page.entries, page.next_page_token) == ([], None)


@pytest.mark.parametrize("token", ["not-base64!", "e30", "eyJhdCI6IjIwMjYtMTEtMDEiLCJpZCI6IngifQ"])
def test_tokens_we_did_not_issue_are_refused(token: str) -> None:
    # "e30" is "{}"; the last one has a time without a zone.
    with pytest.raises(InvalidInput) as raised:
        list_audit_log(FakeAuditLog(), ENTERPRISE, page_token=token)

    assert raised.value.code == "invalid_page_token"


@pytest.mark.parametrize("limit", [0, 101])
def test_page_size_is_bounded(limit: int) -> None:
    with pytest.raises(InvalidInput):
        list_audit_log(FakeAuditLog(), ENTERPRISE, limit=limit)


def test_a_retried_key_read_rewrites_its_entry() -> None:
    log, clock = FakeAuditLog(), FixedClock()
    version = SecretVersionRef("projects/p/secrets/provider-key-openai_ent_audit/versions/4")

    first = record_key_read(log, clock, ENTERPRISE, ProviderName.OPENAI, version, read_id="sync/ent_audit/2026-11-23")
    clock.advance(timedelta(minutes=5))
    again = record_key_read(log, clock, ENTERPRISE, ProviderName.OPENAI, version, read_id="sync/ent_audit/2026-11-23")

    assert first.id == again.id
    assert "/" not in first.id
    [stored] = log.of(ENTERPRISE)
    assert (stored.action, stored.secret_version, stored.at) == (AuditAction.KEY_READ, 4, clock.now())
