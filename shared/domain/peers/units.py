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
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from shared.domain.enterprise.model import Industry, Member, ProviderName, Role
from shared.domain.peers.benchmarks import merge_unit
from shared.domain.peers.models import BenchmarkUnit, ProviderUsageRow
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


def verified_admin_domains(members: Iterable[Member]) -> frozenset[str]:
    """The email domains of the admins whose address was verified when they joined."""
    return frozenset(
        member.email.rsplit("@", 1)[1].lower()
        for member in members
        if member.role is Role.ADMIN and member.email_verified and member.email and "@" in member.email
    )


def identity_of(
    enterprise_id: str,
    industry: Industry,
    members: Iterable[Member],
    org_keys: Mapping[ProviderName, Sequence[str] | None],
) -> UnitIdentity:
    """The benchmark identity of a stored enterprise from its members and its providers' recorded ``org_keys``."""
    keys = {Provider(name.value): frozenset(found) for name, found in org_keys.items() if found}
    return UnitIdentity(enterprise_id, industry, keys, verified_admin_domains(members))


class _Components:
    """Union-find over enterprise ids."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

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


def form_units(rows: Iterable[ProviderUsageRow], identities: Sequence[UnitIdentity]) -> list[BenchmarkUnit]:
    """One unit per customer organisation (see the module docs), sorted by id."""
    by_id = {identity.enterprise_id: identity for identity in identities}
    grouped: dict[str, list[ProviderUsageRow]] = defaultdict(list)
    for row in rows:
        identity = by_id.get(row.enterprise_id)
        if identity is not None and identity.org_keys.get(row.provider):
            grouped[row.enterprise_id].append(row)
    components = _Components()
    holders: dict[str, str] = {}
    for enterprise_id in sorted(grouped):
        components.find(enterprise_id)
        for keys in by_id[enterprise_id].org_keys.values():
            for key in keys:
                components.union(enterprise_id, holders.setdefault(key, enterprise_id))
    members: dict[str, list[BenchmarkUnit]] = defaultdict(list)
    for enterprise_id in sorted(grouped):
        identity = by_id[enterprise_id]
        unit = merge_unit(enterprise_id, identity.industry, grouped[enterprise_id], identity.admin_domains)
        members[components.find(enterprise_id)].append(unit)
    units = [_representative(group) for _, group in sorted(members.items())]
    merged = len(grouped) - len(units)
    if merged:
        logger.info("enterprises sharing a provider organisation counted once", extra={"merged_enterprises": merged})
    return sorted(units, key=lambda unit: unit.enterprise_id)


def _representative(group: list[BenchmarkUnit]) -> BenchmarkUnit:
    return min(group, key=lambda unit: (-unit.usage.billed_usd, unit.enterprise_id))
