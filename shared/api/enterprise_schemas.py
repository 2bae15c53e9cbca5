"""Request and response models of enterprise management: settings, members, erasure.

Inputs forbid unknown fields. In a PATCH, an omitted (or ``null``) field is left unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.domain.enterprise.members import MAX_SEATS, is_invite_id, normalise_email
from shared.domain.enterprise.model import Enterprise, EnterpriseName, Industry, Role

MAX_REPORT_RECIPIENTS = 50


class SettingsPatch(BaseModel):
    """The settings to change; the others keep their value."""

    model_config = ConfigDict(extra="forbid")

    sync_frequency: Literal["daily", "hourly"] | None = None
    email_reports: bool | None = None
    report_recipients: Annotated[list[EmailStr], Field(max_length=MAX_REPORT_RECIPIENTS)] | None = None
    """Who receives the monthly report (replaces the list); empty means the enterprise's admins."""
    share_anonymous_benchmarks: bool | None = None
    """Opt in to (or out of) the anonymous peer benchmark; every change is written to the audit log."""

    @field_validator("report_recipients")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        """One entry per address, whatever its case: a person gets one copy of the report."""
        if value is None:
            return None
        seen: dict[str, str] = {}
        for email in value:
            seen.setdefault(email.lower(), email.lower())
        return list(seen.values())


class UpdateEnterpriseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EnterpriseName | None = None
    industry: Industry | None = None
    settings: SettingsPatch | None = None


class AddMemberRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    """The person's sign-in email; they join when they accept the invite, signed in with that (verified) email."""
    role: Role = Role.VIEWER


class ChangeRoleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class MemberEntryView(BaseModel):
    """A member, or a person invited who has not signed in yet."""

    id: str
    """The member's uid, or the invited email: what ``/api/v1/enterprise/members/{uid}`` takes."""
    email: str | None
    role: Role
    status: Literal["active", "invited"]
    since: datetime
    """When they joined, or were invited."""
    invited_by: str | None = None
    """The inviting admin's uid (pending invites)."""


class MembersResponse(BaseModel):
    members: list[MemberEntryView] = Field(max_length=MAX_SEATS)
    """Members first (by uid), then pending invites (by email)."""

    @classmethod
    def of(cls, enterprise: Enterprise) -> MembersResponse:
        return cls(members=member_entries(enterprise))


def member_entries(enterprise: Enterprise) -> list[MemberEntryView]:
    active = [
        MemberEntryView(id=uid, email=m.email, role=m.role, status="active", since=m.added_at)
        for uid, m in sorted(enterprise.members.items())
    ]
    invited = [
        MemberEntryView(
            id=email, email=email, role=i.role, status="invited", since=i.invited_at, invited_by=i.invited_by
        )
        for email, i in sorted(enterprise.invites.items())
    ]
    return active + invited


def member_entry(enterprise: Enterprise, member_id: str) -> MemberEntryView:
    """The entry ``member_id`` (a uid or an invited email) of ``enterprise``."""
    wanted = normalise_email(member_id) if is_invite_id(member_id) else member_id
    return next(e for e in member_entries(enterprise) if e.id == wanted)


class ErasureResponse(BaseModel):
    status: Literal["closing"]
    """The enterprise is closed to its members now; its data is erased shortly after."""
