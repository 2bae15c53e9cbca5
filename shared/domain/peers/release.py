"""A published month is frozen: what each version was computed from, and the differencing checks against it.

A reader who holds two published versions of a month, or two consecutive months, subtracts them. If the two
populations behind a bucket differ by one unit, the difference is that unit. So every published bucket is recorded
as a set of *membership tokens*, one per contributing unit: a keyed hash (HMAC with the noise key) of the unit's id
and its exact value, truncated to ``TOKEN_BYTES``. A unit whose value changed is then a different member, as R7
asks ("value differences treated as set differences"), and the stored tokens reveal neither ids nor values.

* **Freezing** (R9): a month's run records its version, an inputs hash (SHA-256 of the method, the parameters and
  the merged units) and its contributors. Re-running with the same inputs changes nothing; different inputs are
  refused unless forced; a forced run publishes version n+1, audited.
* **R7 across releases** (``release_suppressions``): a bucket of the new release whose tokens differ from any
  published population of the same metric (every earlier version of the month, and the previous month) by 1 to
  ``min_units - 1`` members, either way, is suppressed. Honest data never trips it across months (every unit's
  exact value moves); a bucket whose members all sit still while one joins or leaves does.

A published population is held as it is stored, packed (``pack_tokens``: its tokens sorted and concatenated, 6 bytes
each), and unpacked one at a time when a new release is checked against it: as a set, a token took about 80 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Set
from datetime import datetime
from operator import attrgetter

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.domain.peers.models import METHOD_VERSION, BenchmarkUnit, DisclosureParams, Metric, Month
from shared.domain.peers.packed import PackedUnit

TOKEN_BYTES = 6
"""48 bits: two different members of one comparison collide with odds of about 1 in 10^10 at 10,000 units."""

Populations = dict[str, frozenset[bytes]]
"""``"{bucket}|{metric}"`` of each published statistic -> membership tokens of its contributors."""
PackedPopulations = dict[str, bytes]
"""``Populations`` as published and stored: each population's tokens packed (``pack_tokens``)."""


def population_key(bucket: str, metric: Metric) -> str:
    return f"{bucket}|{metric.value}"


def membership_token(key: bytes, unit_id: str, value: object) -> bytes:
    """The keyed token of one unit with one exact value (see the module docs)."""
    return MembershipTokens(key)(unit_id, value)


def _token_message(unit_id: str, value: object) -> bytes:
    """``json.dumps([unit_id, str(value)], separators=(",", ":"))``, the message a token is the keyed hash of, built
    from its two strings' JSON (``json.dumps`` of a string goes straight to the C encoder; of a list, it does not)."""
    return f"[{json.dumps(unit_id)},{json.dumps(str(value))}]".encode()


class MembershipTokens:
    """``membership_token`` with one key, for a month's tokens: the key is prepared once, not once per token."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, unit_id: str, value: object) -> bytes:
        keyed = self._keyed.copy()
        keyed.update(_token_message(unit_id, value))
        return keyed.digest()[:TOKEN_BYTES]


def pack_tokens(tokens: Iterable[bytes]) -> bytes:
    """A population's tokens as one value: sorted and concatenated."""
    return b"".join(sorted(tokens))


def unpack_tokens(packed: bytes) -> frozenset[bytes]:
    return frozenset(packed[i : i + TOKEN_BYTES] for i in range(0, len(packed), TOKEN_BYTES))


def inputs_hash(units: Iterable[BenchmarkUnit | PackedUnit], month: str, params: DisclosureParams) -> str:
    """SHA-256 of everything a month's figures are computed from (the noise key aside), in a canonical order.

    The canonical form is the JSON of ``{"method", "month", "params", "units": [each unit's dump, by id]}`` with
    sorted keys; ``"units"`` sorts last, so the units are hashed one at a time in the place of its list (memory holds
    one unit's dump, not all of them).
    """
    packed = (unit if isinstance(unit, PackedUnit) else PackedUnit.of(unit) for unit in units)
    ordered = sorted(packed, key=attrgetter("enterprise_id"))
    head = _json({"method": METHOD_VERSION, "month": month, "params": params.model_dump(mode="json"), "units": []})
    hashed = hashlib.sha256(head.removesuffix("]}").encode())
    for index, unit in enumerate(ordered):
        hashed.update(("," if index else "").encode() + _json(unit.dump()).encode())
    hashed.update(b"]}")
    return hashed.hexdigest()


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _differ_by_few(first: Set[bytes], second: Set[bytes], min_units: int) -> bool:
    common = len(first & second)
    return any(0 < len(members) - common < min_units for members in (first, second))


def release_suppressions(
    populations: Mapping[str, Set[bytes]], earlier: Iterable[Mapping[str, bytes]], min_units: int
) -> set[str]:
    """R7 against earlier releases: the population keys of ``populations`` to suppress (see the module docs).

    ``earlier``: the packed populations of each earlier release, each unpacked once, when it is compared.
    """
    suppressed: set[str] = set()
    for release in earlier:
        for old_key, packed in release.items():
            metric = old_key.rsplit("|", 1)[1]
            candidates = [key for key in populations if key not in suppressed and key.rsplit("|", 1)[1] == metric]
            if not candidates:
                continue
            old = unpack_tokens(packed)
            suppressed.update(key for key in candidates if _differ_by_few(populations[key], old, min_units))
    return suppressed


class Revision(BaseModel):
    """One published version of a month, as its audit trail records it (never published)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    at: AwareDatetime
    inputs_hash: str
    forced: bool = False
    reason: str | None = None
    joined: int = 0
    """Contributors that were not in the previous version."""
    left: int = 0
    """Contributors of the previous version that are not in this one."""


class PublishedRun(BaseModel):
    """``benchmark_runs/{month}``: the frozen record of a month's published versions (server-only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    month: Month
    version: int = Field(ge=1)
    inputs_hash: str
    contributors: tuple[str, ...]
    """The ids of the units behind the current version, sorted."""
    revisions: tuple[Revision, ...]
    populations: tuple[PackedPopulations, ...] = ()
    """Each version's published populations, packed, oldest first (stored beside the record, one document per
    version)."""


def next_run(
    previous: PublishedRun | None,
    *,
    month: str,
    hashed: str,
    contributors: Iterable[str],
    populations: PackedPopulations,
    at: datetime,
    reason: str | None,
) -> PublishedRun:
    """The record after publishing a new version (version 1, or a forced re-run of ``previous``)."""
    ids = tuple(sorted(set(contributors)))
    before = set(previous.contributors) if previous else set()
    revision = Revision(
        version=previous.version + 1 if previous else 1,
        at=at,
        inputs_hash=hashed,
        forced=previous is not None,
        reason=reason,
        joined=len(set(ids) - before) if previous else 0,
        left=len(before - set(ids)),
    )
    return PublishedRun(
        month=month,
        version=revision.version,
        inputs_hash=hashed,
        contributors=ids,
        revisions=(*(previous.revisions if previous else ()), revision),
        populations=(*(previous.populations if previous else ()), populations),
    )
