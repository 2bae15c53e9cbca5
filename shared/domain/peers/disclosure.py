"""Statistical disclosure control for the peer benchmark: the pure rules R2-R8 of ``benchmarks-and-index.md``.

Everything here is deterministic and works on ``Decimal`` (no floats), so a recomputation is bit-identical on any
platform. Decisions the specification leaves open, fixed here:

* **Percentile position (R4).** The linear-interpolation position of quantile ``q`` among ``n`` sorted values is
  ``h = (n - 1) q`` (0-based). The 3 order statistics nearest to it are the window centred on ``h`` rounded half up,
  clamped inside the data; the published value is their mean rounded to 2 significant figures.
* **A published figure never equals a contributing unit's value (R4).** If the 2-s.f. value equals the exact value
  of a unit *contributing to that statistic* (units of other buckets are no concern of it, and must not shape it), it
  moves to the neighbouring 2-s.f. grid point on the side of the unrounded value (below when exactly equal), else to
  the one on the other side; when both are unit values too, the statistic is not published. A moved figure has two
  significant figures like every other, so it looks like ordinary rounding: a reader cannot tell that a collision
  happened. Monotonicity is then restored by a running maximum, which can only raise a point to the previous one,
  already clear of every value.
* **Noise (R5).** The generator is HMAC-SHA256(server key, JSON [month, statistic, sorted contributor ids]); its
  256 bits give twelve 21-bit uniforms whose sum minus 6 (Irwin-Hall) is a standard-normal deviate with sd exactly 1,
  bounded to +/-6 sd, so the factor ``1 + sd z`` is always positive. The statistic's name includes its bucket, so two
  statistics of one bucket, and one statistic of two buckets with the same members, get independent noise: the
  difference of two buckets' means does not cancel it (a multi-provider unit's total and provider figures differ).
* **Complement rule (R7).** Violations are resolved one bucket at a time, smallest first (ties: the later, more
  specific, bucket of the lattice), until no pair of published buckets differs by 1 to ``min_units - 1`` units.
* **Partition rule (R8).** We *suppress another child* (never merge into "Other"): while any industry holding units is
  hidden, at least two must be hidden and together hold at least ``min_units`` units; otherwise the smallest passing
  industry is suppressed too. Parent minus siblings then reveals at most a pooled aggregate of ``min_units`` or more
  units spread over two or more industries, never one suppressed industry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from bisect import bisect_left
from collections.abc import Collection, Container, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal
from functools import reduce
from itertools import combinations
from operator import or_
from typing import Protocol, Self, TypeVar

from shared.domain.peers.models import PERCENTILES, TAIL_PERCENTILES, CountBand, DisclosureParams

DECIMAL_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)
"""The arithmetic context of every benchmark computation (independent of the process's default context)."""

SIGNIFICANT_FIGURES = 2
_UNIFORMS = 12
_UNIFORM_BITS = 21  # 12 x 21 = 252 bits of the 256-bit digest
_IDS_PER_UPDATE = 1000
_JSON = json.JSONEncoder(separators=(",", ":"))


def round_sig(value: Decimal, digits: int = SIGNIFICANT_FIGURES) -> Decimal:
    """Round to ``digits`` significant figures (half even); 0.996 becomes 1.0, not 1.00."""
    if value.is_zero():
        return Decimal(0)
    rounded = value.quantize(Decimal(1).scaleb(value.adjusted() - digits + 1), rounding=ROUND_HALF_EVEN)
    if rounded.adjusted() != value.adjusted():  # carried into the next decade: one digit too many
        rounded = rounded.quantize(Decimal(1).scaleb(rounded.adjusted() - digits + 1), rounding=ROUND_HALF_EVEN)
    return rounded


def count_band(units: int) -> CountBand:
    """R6: the published band for a number of units."""
    if units < 10:
        return CountBand.FEWER_THAN_10
    if units < 20:
        return CountBand.FROM_10_TO_19
    if units < 50:
        return CountBand.FROM_20_TO_49
    if units < 100:
        return CountBand.FROM_50_TO_99
    return CountBand.HUNDRED_PLUS


def window_mean(sorted_values: Sequence[Decimal], q: Decimal) -> Decimal:
    """R4: the mean of the 3 order statistics nearest the linear-interpolation position of quantile ``q``."""
    n = len(sorted_values)
    if n < 3:
        raise ValueError("a percentile window needs at least 3 values")
    centre = int(((n - 1) * q).to_integral_value(rounding=ROUND_HALF_UP))
    centre = min(max(centre, 1), n - 2)
    return sum(sorted_values[centre - 1 : centre + 2], Decimal(0)) / 3


def grid_neighbour(value: Decimal, upward: bool) -> Decimal | None:
    """The next 2-s.f. grid point above or below ``value`` (itself on the grid); None below the smallest positive."""
    if value.is_zero():
        return None
    step = Decimal(1).scaleb(value.adjusted() - SIGNIFICANT_FIGURES + 1)
    if upward:
        return round_sig(value + step)
    lower = value - step
    if lower.is_zero() or lower.adjusted() < value.adjusted():  # 1.0 - 0.1 = 0.9 skips 0.99: the finer grid below
        lower = value - step / 10
    return lower if lower > 0 else None


class UnitValues:
    """The exact values of a statistic's contributors, which no published figure may equal (R4), for ``in`` only.

    Held sorted and searched by bisection: a value costs the 8 bytes of a list entry, where a ``frozenset`` took about
    60. ``Decimal`` order agrees with its equality (``0.5 == 0.50``), so the answers are a set's.
    """

    def __init__(self, values: Iterable[Decimal]) -> None:
        self._sorted = sorted(values)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, Decimal):
            return False
        at = bisect_left(self._sorted, value)
        return at < len(self._sorted) and self._sorted[at] == value


def clear_of_units(value: Decimal, *, raw: Decimal, forbidden: Container[Decimal]) -> Decimal | None:
    """A rounded figure moved off every contributing unit's value, or None to suppress it (see module docs)."""
    if value not in forbidden:
        return value
    toward = raw > value  # exactly on the grid (a unit at list price, 1.0): downward
    for upward in (toward, not toward):
        candidate = grid_neighbour(value, upward)
        if candidate is not None and candidate not in forbidden:
            return candidate
    return None


def publish_percentiles(values: Iterable[Decimal], params: DisclosureParams) -> dict[str, Decimal]:
    """R2 + R4: the publishable percentile points of a population, ascending, clear of each of its values."""
    ordered = sorted(values)
    if len(ordered) < params.min_units:
        return {}
    forbidden = UnitValues(ordered)
    published: dict[str, Decimal] = {}
    previous: Decimal | None = None
    for name, q in PERCENTILES:
        if name in TAIL_PERCENTILES and len(ordered) < params.tail_min_units:
            continue
        raw = window_mean(ordered, q)
        point = clear_of_units(round_sig(raw), raw=raw, forbidden=forbidden)
        if point is None:
            continue
        if previous is not None and point < previous:
            point = previous
        published[name] = previous = point
    return published


def dominance_ok(weights: Sequence[Decimal], cap: Decimal) -> bool:
    """R3: no unit holds more than ``cap`` of the total weight (an empty or zero total fails)."""
    total = sum(weights, Decimal(0))
    return total > 0 and max(weights) / total <= cap


def p_percent_ok(magnitudes: Sequence[Decimal], p: Decimal) -> bool:
    """R3 p% rule: the second largest contributor cannot estimate the largest to within ``p`` of its value.

    The second largest knows the total minus its own value; its error on the largest is everything else. The rule
    passes when that remainder is at least ``p`` times the largest.
    """
    ordered = sorted(magnitudes, reverse=True)
    if not ordered:
        return False
    largest = ordered[0]
    remainder = sum(ordered[2:], Decimal(0))
    return remainder >= p * largest


def noise_factor(key: bytes, contributor_ids: Iterable[str], month: str, statistic: str, sd: Decimal) -> Decimal:
    """R5: the multiplicative noise ``1 + sd z`` of one statistic, reproducible from the key and the inputs."""
    bits = int.from_bytes(_noise_digest(key, month, statistic, sorted(contributor_ids)), "big")
    mask = (1 << _UNIFORM_BITS) - 1
    scale = Decimal(1 << _UNIFORM_BITS)
    total = Decimal(0)
    for index in range(_UNIFORMS):
        chunk = (bits >> (_UNIFORM_BITS * index)) & mask
        total += (Decimal(chunk) + Decimal("0.5")) / scale
    return 1 + sd * (total - _UNIFORMS / Decimal(2))


def _noise_digest(key: bytes, month: str, statistic: str, ids: Sequence[str]) -> bytes:
    """HMAC-SHA256 of the JSON ``[month, statistic, ids]`` (no spaces), fed ``_IDS_PER_UPDATE`` ids at a time: the
    whole message, with the encoder's pieces of it, took about 90 bytes an id while it was built."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    keyed.update(_JSON.encode([month, statistic]).removesuffix("]").encode() + b",[")
    for start in range(0, len(ids), _IDS_PER_UPDATE):
        ids_json = _JSON.encode(ids[start : start + _IDS_PER_UPDATE]).removeprefix("[").removesuffix("]")
        keyed.update((b"," if start else b"") + ids_json.encode())
    keyed.update(b"]]")
    return keyed.digest()


def distinct_domains(unit_ids: Iterable[str], domains: Mapping[str, Collection[str]]) -> int:
    """How many distinct admin domains the units stand for, each unit for at most one (a greedy matching).

    Units with the fewest domains choose first, each taking its smallest domain not yet taken. Greedy matching may
    count fewer than the best assignment, never more, so the rule errs on the side of suppression.
    """
    taken: set[str] = set()
    for unit_id in sorted(unit_ids, key=lambda u: (len(domains.get(u, ())), u)):
        free = sorted(set(domains.get(unit_id, ())) - taken)
        if free:
            taken.add(free[0])
    return len(taken)


class Members(Protocol):
    """A bucket's members as R7 and R8 use them: how many, and those two buckets share (``&``) or pool (``|``).

    A ``frozenset`` of unit ids, or the ``peers.population.IndexSet`` of their positions the aggregation uses.
    """

    def __len__(self) -> int: ...

    def __and__(self, other: Self, /) -> Self: ...

    def __or__(self, other: Self, /) -> Self: ...


M = TypeVar("M", bound=Members)


def _rank(bucket: str, populations: Mapping[str, M], order: Sequence[str]) -> tuple[int, int]:
    """Sort key for "which to suppress": fewest units first, then the later (more specific) bucket."""
    return len(populations[bucket]), -order.index(bucket)


def complement_suppressions(
    populations: Mapping[str, M], published: Iterable[str], order: Sequence[str], min_units: int
) -> set[str]:
    """R7: the published buckets to suppress so that every pair differs by 0 or at least ``min_units`` units."""
    live = [bucket for bucket in order if bucket in set(published)]
    suppressed: set[str] = set()
    while True:
        victims = set()
        for first, second in combinations(live, 2):
            common = len(populations[first] & populations[second])  # each difference is the rest of a bucket
            if any(0 < len(populations[bucket]) - common < min_units for bucket in (first, second)):
                victims.add(min((first, second), key=lambda b: _rank(b, populations, order)))
        if not victims:
            return suppressed
        victim = min(victims, key=lambda b: _rank(b, populations, order))
        suppressed.add(victim)
        live.remove(victim)


def partition_suppressions(
    children: Mapping[str, M], published: Iterable[str], order: Sequence[str], min_units: int
) -> set[str]:
    """R8: further children of a partition to suppress so no hidden child can be derived (see module docs)."""
    passing = {child for child in children if child in set(published)}
    extra: set[str] = set()
    while True:
        hidden = [child for child in children if children[child] and child not in passing]
        if not hidden or not passing:
            return extra
        pooled = reduce(or_, (children[child] for child in hidden))
        if len(hidden) >= 2 and len(pooled) >= min_units:
            return extra
        victim = min(passing, key=lambda b: _rank(b, children, order))
        passing.discard(victim)
        extra.add(victim)
