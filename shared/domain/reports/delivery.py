"""Exactly-once delivery of a monthly report: the record ``enterprises/{eid}/reports/{YYYY-MM}`` and its rules.

A worker must *claim* the record before sending. The claim is decided here and applied by the store in one
transaction, so two deliveries of the same task (Cloud Tasks delivers at least once; a re-run of the monthly job
enqueues again) cannot both send:

* ``sent`` or ``failed`` (final): nothing to do: the re-run and the duplicate are acknowledged;
* ``sending`` with a live lease: someone else is sending; retry later (their crash frees the lease when it expires);
* otherwise the claim takes the lease and counts one more attempt.

After sending, the worker marks the record ``sent``. A failed send puts it back to ``retrying`` (Cloud Tasks retries
with backoff) or, after ``max_attempts``, ``failed``: final, and shown to admins in the reports list. A crash
between the relay accepting the message and the record saying ``sent`` is the one window where a report can go
twice; its ``Message-ID`` is the same both times, so mail clients show it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Nothing to send to (no recipient with an address): recorded so admins see why no email came."""


FINAL = frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED})
"""A skipped report is not final: once the enterprise has recipients, a re-run of the job sends it."""


class ReportRecord(BaseModel):
    """``enterprises/{eid}/reports/{month}``: readable by the enterprise's members (no addresses, no content)."""

    model_config = ConfigDict(extra="ignore")

    month: str
    status: DeliveryStatus
    attempts: int = 0
    lease_until: AwareDatetime | None = None
    first_attempt_at: AwareDatetime | None = None
    updated_at: AwareDatetime
    sent_at: AwareDatetime | None = None
    recipient_count: int = 0
    message_id: str | None = None
    last_error: str | None = None
    """A stable error code (``mail_unavailable``, ``mail_rejected``...), never a relay's text."""


class Claim(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Literal["claimed", "done", "busy"]
    record: ReportRecord
    """The record as it stands after the decision (what the store writes when ``claimed``)."""


def decide_claim(current: ReportRecord | None, month: str, now: datetime, *, lease: timedelta) -> Claim:
    """Whether a worker may send ``month``'s report now; see the module docstring."""
    if current is not None and current.status in FINAL:
        return Claim(outcome="done", record=current)
    if (
        current is not None
        and current.status is DeliveryStatus.SENDING
        and current.lease_until is not None
        and current.lease_until > now
    ):
        return Claim(outcome="busy", record=current)
    attempts = (current.attempts if current else 0) + 1
    record = ReportRecord(
        month=month,
        status=DeliveryStatus.SENDING,
        attempts=attempts,
        lease_until=now + lease,
        first_attempt_at=current.first_attempt_at if current and current.first_attempt_at else now,
        updated_at=now,
        last_error=current.last_error if current else None,
    )
    return Claim(outcome="claimed", record=record)


def after_send(claimed: ReportRecord, now: datetime, *, recipients: int, message_id: str) -> ReportRecord:
    return claimed.model_copy(
        update={
            "status": DeliveryStatus.SENT,
            "lease_until": None,
            "updated_at": now,
            "sent_at": now,
            "recipient_count": recipients,
            "message_id": message_id,
            "last_error": None,
        }
    )


def after_failure(claimed: ReportRecord, now: datetime, *, code: str, final: bool) -> ReportRecord:
    return claimed.model_copy(
        update={
            "status": DeliveryStatus.FAILED if final else DeliveryStatus.RETRYING,
            "lease_until": None,
            "updated_at": now,
            "last_error": code,
        }
    )


def skipped(month: str, now: datetime, *, code: str) -> ReportRecord:
    return ReportRecord(month=month, status=DeliveryStatus.SKIPPED, updated_at=now, last_error=code)
