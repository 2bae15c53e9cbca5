"""Who counts as one peer: a customer organisation identified by its provider organisations, not by an account here.

Anyone can create enterprises on this platform, so an enterprise is no unit of disclosure control: nine throw-away
enterprises connecting one provider organisation would be nine "peers" (ADR 0019). Here:

* **Identified providers only.** Each connection records the provider organisation's *verified* identifiers when
  it is connected (``org_keys``: the Anthropic organisation id from ``/v1/organizations/me``, the OpenAI
  organisation id the API reports and its project ids, Google project ids; never an id the admin merely typed). A
  provider without one contributes nothing: its figures could belong to anyone's organisation.
* **One organisation counts once.** Enterprises sharing any identifier are one unit (connected components of the
  "shares an identifier" graph). The unit takes the figures, industry and admin domains of its member with the
  most billed spend (ties: the smallest enterprise id), so the organisation's usage is never counted twice, and
  the identifiers of all members.
* **Distinct admin domains** (``disclosure.distinct_domains``): a bucket's contributors must come from
  ``min_domains`` verified admin email domains, each unit standing for at most one domain.

``UnitFormation`` forms the units one enterprise at a time, as the aggregation reads them, holding each enterprise's
figures packed (``peers.packed``) and its identifiers once, and its rows and identity not at all.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Protocol

from shared.domain.enterprise.model import Industry, ProviderName, Role
from shared.domain.peers.benchmarks import merge_unit
from shared.domain.peers.models import BenchmarkUnit, ProviderUsageRow
from shared.domain.peers.packed import PackedUnit
from shared.domain.usage.records import Provider

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UnitIdentity:
    """What an opted-in enterprise tells the benchmark about who it is."""

    enterprise_id: str
    industry: Industry = Industry.OTHER
    org_keys: Mapping[Provider, frozenset[str]] = field(default_factory=dict)
    """Verified identifiers of each connected provider organisation (``org_keys_for``)."""
    admin_domains: frozenset[str] = frozenset()


class MemberRecord(Protocol):
    """What a member's record tells about its admin domain (``enterprise.model.Member`` has it)."""

    @property
    def email(self) -> str | None: ...

    @property
    def role(self) -> Role: ...

    @property
    def email_verified(self) -> bool: ...


def verified_admin_domains(members: Iterable[MemberRecord]) -> frozenset[str]:
    """The email domains of the admins whose address was verified when they joined."""
    return frozenset(
        member.email.rsplit("@", 1)[1].lower()
        for member in members
        if member.role is Role.ADMIN and member.email_verified and member.email and "@" in member.email
    )


def identity_of(
    enterprise_id: str,
    industry: Industry,
    members: Iterable[MemberRecord],
    org_keys: Mapping[ProviderName, Sequence[str] | None],
) -> UnitIdentity:
    """The benchmark identity of a stored enterprise from its members and its providers' recorded ``org_keys``."""
    keys = {Provider(name.value): frozenset(found) for name, found in org_keys.items() if found}
    return UnitIdentity(enterprise_id, industry, keys, verified_admin_domains(members))


class _Components:
    """Union-find over enterprise ids; only the ids ever united are held."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def __contains__(self, item: str) -> bool:
        return item in self._parent

    def find(self, item: str) -> str:
        root = self._parent.setdefault(item, item)
        while root != self._parent[root]:
            root = self._parent[root]
        while item != root:  # path compression
            self._parent[item], item = root, self._parent[item]
        return root

    def union(self, first: str, second: str) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self._parent[max(a, b)] = min(a, b)


class UnitFormation:
    """``form_units`` fed one enterprise at a time (in any order); ``units`` gives the same units, packed."""

    def __init__(self) -> None:
        self._formed: list[PackedUnit] = []
        self._holders: dict[str, str] = {}
        """Each verified identifier -> the first enterprise found holding it."""
        self._components = _Components()

    def add(self, identity: UnitIdentity, rows: Iterable[ProviderUsageRow]) -> None:
        """An enterprise's identity and its provider rows; rows of a provider without verified identifiers are
        dropped, and an enterprise left without rows is no unit (its identifiers join nothing)."""
        kept = [row for row in rows if identity.org_keys.get(row.provider)]
        if not kept:
            return
        enterprise_id = identity.enterprise_id
        for keys in identity.org_keys.values():
            for key in keys:
                holder = self._holders.setdefault(key, enterprise_id)
                if holder != enterprise_id:
                    self._components.union(enterprise_id, holder)
        unit = merge_unit(enterprise_id, identity.industry, kept, identity.admin_domains)
        self._formed.append(PackedUnit.of(unit))

    def units(self) -> list[PackedUnit]:
        """One unit per customer organisation, sorted by id."""
        units: list[PackedUnit] = []
        groups: dict[str, list[PackedUnit]] = defaultdict(list)
        for unit in self._formed:
            if unit.enterprise_id in self._components:
                groups[self._components.find(unit.enterprise_id)].append(unit)
            else:
                units.append(unit)
        units.extend(_representative(group) for group in groups.values())
        merged = len(self._formed) - len(units)
        if merged:
            logger.info(
                "enterprises sharing a provider organisation counted once", extra={"merged_enterprises": merged}
            )
        units.sort(key=attrgetter("enterprise_id"))
        return units


def form_units(rows: Iterable[ProviderUsageRow], identities: Sequence[UnitIdentity]) -> list[BenchmarkUnit]:
    """One unit per customer organisation (see the module docs), sorted by id."""
    by_id = {identity.enterprise_id: identity for identity in identities}
    grouped: dict[str, list[ProviderUsageRow]] = defaultdict(list)
    for row in rows:
        if row.enterprise_id in by_id:
            grouped[row.enterprise_id].append(row)
    formation = UnitFormation()
    for enterprise_id, found in grouped.items():
        formation.add(by_id[enterprise_id], found)
    return [unit.unit() for unit in formation.units()]


def _representative(group: list[PackedUnit]) -> PackedUnit:
    return min(group, key=lambda unit: (-unit.billed_usd, unit.enterprise_id))
