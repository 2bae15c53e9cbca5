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
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.domain.peers.models import METHOD_VERSION, BenchmarkUnit, DisclosureParams, Metric, Month

TOKEN_BYTES = 6
"""48 bits: two different members of one comparison collide with odds of about 1 in 10^10 at 10,000 units."""

Populations = dict[str, frozenset[bytes]]
"""``"{bucket}|{metric}"`` of each published statistic -> membership tokens of its contributors."""


def population_key(bucket: str, metric: Metric) -> str:
    return f"{bucket}|{metric.value}"


def membership_token(key: bytes, unit_id: str, value: object) -> bytes:
    """The keyed token of one unit with one exact value (see the module docs)."""
    message = json.dumps([unit_id, str(value)], separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:TOKEN_BYTES]


def inputs_hash(units: Sequence[BenchmarkUnit], month: str, params: DisclosureParams) -> str:
    """SHA-256 of everything a month's figures are computed from (the noise key aside), in a canonical order."""
    canonical = {
        "method": METHOD_VERSION,
        "month": month,
        "params": params.model_dump(mode="json"),
        "units": [_canonical(unit) for unit in sorted(units, key=lambda u: u.enterprise_id)],
    }
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def _canonical(unit: BenchmarkUnit) -> dict[str, object]:
    # Sets dump as lists in hash order, which changes from one process to the next: sort them.
    dumped = unit.model_dump(mode="json")
    dumped["providers"] = sorted(dumped["providers"])
    dumped["admin_domains"] = sorted(dumped["admin_domains"])
    return dumped


def _differ_by_few(first: frozenset[bytes], second: frozenset[bytes], min_units: int) -> bool:
    return any(0 < len(difference) < min_units for difference in (first - second, second - first))


def release_suppressions(
    populations: Mapping[str, frozenset[bytes]], earlier: Iterable[Mapping[str, frozenset[bytes]]], min_units: int
) -> set[str]:
    """R7 against earlier releases: the population keys of ``populations`` to suppress (see the module docs)."""
    earlier = list(earlier)
    suppressed: set[str] = set()
    for key, tokens in populations.items():
        metric = key.rsplit("|", 1)[1]
        for release in earlier:
            others = (old for old_key, old in release.items() if old_key.rsplit("|", 1)[1] == metric)
            if any(_differ_by_few(tokens, old, min_units) for old in others):
                suppressed.add(key)
                break
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
    populations: tuple[Populations, ...] = ()
    """Each version's published populations, oldest first (stored beside the record, one document per version)."""


def next_run(
    previous: PublishedRun | None,
    *,
    month: str,
    hashed: str,
    contributors: Iterable[str],
    populations: Populations,
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
