"""Seed opted-in enterprises and their monthly rollups straight into Firestore (emulator only), in batches.

Used by the benchmark tests and by ``devstack/bench_benchmarks.py``. A rollup is built with the same domain code a
sync uses (``view_fields``), from per-provider parts holding the figures a benchmark reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.adapters.firestore_enterprises import ENTERPRISES, enterprise_doc
from shared.adapters.firestore_snapshots import MONTHS, stored
from shared.domain.enterprise.model import (
    Enterprise,
    EnterpriseSettings,
    Industry,
    Member,
    ProviderName,
    ProviderState,
    ProviderStatus,
    Role,
)
from shared.domain.usage.month import UsageMonth, month_bounds
from shared.domain.usage.snapshot import IndexLevel, expiry, view_fields
from shared.domain.usage.snapshot_parts import ProviderPart
from shared.domain.usage.tally import Comparison, RateBasis, Tally

CREATED = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 400


def part(billed: str, list_usd: str, input_tokens: int, output_tokens: int, input_cost: str) -> ProviderPart:
    """A provider's month: ``billed`` of ``list_usd`` at list price; ``input_cost`` of ``billed`` on the input side."""
    cost = Decimal(billed)
    return ProviderPart(
        tally=Tally(
            input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost, list_cost_usd=Decimal(list_usd)
        ),
        rate_basis=RateBasis(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            input_cost_usd=Decimal(input_cost),
            output_cost_usd=cost - Decimal(input_cost),
        ),
        comparison=Comparison(billed_usd=cost, list_usd=Decimal(list_usd)),
    )


def rollup(month: str, parts: Mapping[str, ProviderPart], index: Decimal | None = None) -> UsageMonth:
    """The month's rollup of ``parts`` (and the month's ``STCI-FRONTIER`` level, if given)."""
    level = IndexLevel(blended=index, version="test") if index is not None else None
    return UsageMonth.model_validate(
        {
            **view_fields(parts, level),
            "month": month,
            "days": month_bounds(month)[1].day,
            "expire_at": expiry(month_bounds(month)[1], 24),
        }
    )


@dataclass(frozen=True)
class SeedEnterprise:
    enterprise_id: str
    parts: Mapping[str, ProviderPart]
    industry: Industry = Industry.TECHNOLOGY
    shares: bool = True
    admin_email: str | None = None
    index: Decimal | None = None
    extra_members: Mapping[str, Role] = field(default_factory=dict)
    org: str | None = None
    """The provider organisation connected (default: one of its own per enterprise), recorded as verified."""


def enterprise(seed: SeedEnterprise) -> Enterprise:
    from devstack.tokens import uid_for_email

    emails = {seed.admin_email or f"admin@{seed.enterprise_id}.example": Role.ADMIN, **seed.extra_members}
    members = {
        uid_for_email(e): Member(email=e, role=r, added_at=CREATED, email_verified=True) for e, r in emails.items()
    }
    org = seed.org or f"org-{seed.enterprise_id}"
    providers = {
        ProviderName(name): ProviderState(
            connected=True, status=ProviderStatus.CONNECTED, org_id=org, org_keys=[f"{name}:org:{org}"]
        )
        for name in seed.parts
    }
    return Enterprise(
        id=seed.enterprise_id,
        name=seed.enterprise_id,
        industry=seed.industry,
        created_at=CREATED,
        updated_at=CREATED,
        created_by=next(iter(members)),
        settings=EnterpriseSettings(share_anonymous_benchmarks=seed.shares),
        members=members,
        member_uids=sorted(members),
        providers=providers,
    )


def seed(db: Any, month: str, enterprises: Sequence[SeedEnterprise]) -> None:
    """Write each enterprise and (when it has parts) its rollup for ``month``, in batched commits."""
    writes: list[tuple[Any, dict[str, Any]]] = []
    for item in enterprises:
        ref = db.collection(ENTERPRISES).document(item.enterprise_id)
        writes.append((ref, enterprise_doc(enterprise(item))))
        if item.parts:
            writes.append(
                (ref.collection(MONTHS).document(month), stored(rollup(month, item.parts, item.index), CREATED))
            )
    for start in range(0, len(writes), BATCH):
        batch = db.batch()
        for ref, doc in writes[start : start + BATCH]:
            batch.set(ref, doc)
        batch.commit()
