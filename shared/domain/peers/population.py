"""One metric's population while a month's release is computed (``peers.benchmarks``), held in a few objects.

A *contribution* is a unit's value of the metric from one of its figures, with its weight and membership token
(``peers.release``). A unit contributes once per figures it is placed with: a one-provider unit's totals and its
provider's figures are one object, so one contribution sits in ``all``, in its industry and in its provider bucket.
The rules need two things of each bucket:

* its **members** (R1, R7, R8): how many, and how many two buckets share. An ``IndexSet`` of the units' positions,
  the bits of one int: intersecting two buckets is one ``&`` of two ints, and a member costs one bit of each bucket
  where it took about 50 bytes in a ``frozenset`` of ids;
* its **contributions**, for the statistics of a published bucket, in the order they were added (unit order:
  ``Decimal`` sums round, so the order is part of the result): an ``array`` of their positions.

The contributions themselves are columns, not an object each: values and weights as their exact text in one buffer
each (``DecimalColumn``: about 30 bytes a value where a ``Decimal`` object takes 104), units' positions in an
``array``, tokens in one ``bytearray``. The statistics read a bucket's values or weights back as ``Decimal``
objects when they need them, one bucket and one column at a time.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from shared.domain.peers.release import TOKEN_BYTES

_SET_BITS = tuple(tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256))
"""The set bits of each byte value, ascending."""


@dataclass(frozen=True, slots=True)
class IndexSet:
    """A set of positions (non-negative ints) as the bits of one int: bit ``i`` is set when ``i`` is in the set.

    What the disclosure rules ask of a set of members (``disclosure.Members``): its size, ``&`` and ``|``.
    """

    bits: int = 0

    @classmethod
    def of(cls, positions: Iterable[int]) -> IndexSet:
        flags = bytearray()
        for position in positions:
            byte = position >> 3
            if byte >= len(flags):
                flags.extend(bytes(byte + 1 - len(flags)))
            flags[byte] |= 1 << (position & 7)
        return cls(int.from_bytes(flags, "little"))

    def __len__(self) -> int:
        return self.bits.bit_count()

    def __and__(self, other: IndexSet) -> IndexSet:
        return IndexSet(self.bits & other.bits)

    def __or__(self, other: IndexSet) -> IndexSet:
        return IndexSet(self.bits | other.bits)

    def __iter__(self) -> Iterator[int]:
        """The positions, ascending."""
        for byte, flags in enumerate(self.bits.to_bytes((self.bits.bit_length() + 7) // 8, "little")):
            for bit in _SET_BITS[flags]:
                yield byte * 8 + bit


class DecimalColumn:
    """Exact decimals appended one at a time and read back by position, held as their text in one buffer.

    ``str`` and ``Decimal`` are inverses on finite decimals, exponent included (``"0.50"`` stays ``"0.50"``, as in
    ``peers.packed``), and a ``Decimal`` is read from its text exactly, whatever the context's precision. A value
    takes the length of its text and 4 bytes, where a ``Decimal`` object takes 104.
    """

    def __init__(self) -> None:
        self._text = bytearray()
        self._bounds = array("I", [0])
        """Where each value's text starts; the last one, where the text ends."""

    def append(self, value: Decimal) -> None:
        self._text += str(value).encode()
        self._bounds.append(len(self._text))

    def select(self, positions: Iterable[int]) -> Iterator[Decimal]:
        """The values at ``positions``, in their order, each a new ``Decimal``."""
        text, bounds = self._text, self._bounds
        return (Decimal(text[bounds[p] : bounds[p + 1]].decode()) for p in positions)

    def __len__(self) -> int:
        return len(self._bounds) - 1


class Population:
    """One metric's contributions, bucket by bucket, in the order they were added (see the module docs)."""

    def __init__(self, buckets: Iterable[str]) -> None:
        self._values = DecimalColumn()
        self._weights = DecimalColumn()
        self._units = array("I")
        """Each contribution's unit, by its position among the units."""
        self._tokens = bytearray()
        """Each contribution's membership token, ``TOKEN_BYTES`` each."""
        self._placed = {bucket: array("I") for bucket in buckets}
        """Each bucket's contributions, by their position among the contributions."""

    def add(self, unit: int, value: Decimal, weight: Decimal, token: bytes, buckets: Iterable[str]) -> None:
        """The contribution of the unit at position ``unit`` to each of ``buckets``."""
        contribution = len(self._values)
        self._values.append(value)
        self._weights.append(weight)
        self._units.append(unit)
        self._tokens += token
        for bucket in buckets:
            self._placed[bucket].append(contribution)

    def size(self, bucket: str) -> int:
        return len(self._placed[bucket])

    def members(self, bucket: str) -> IndexSet:
        """The positions of the bucket's units."""
        return IndexSet.of(self._units[contribution] for contribution in self._placed[bucket])

    def tokens(self, bucket: str) -> set[bytes]:
        """The membership tokens of the bucket's contributions."""
        tokens = bytes(self._tokens)
        return {tokens[c * TOKEN_BYTES : (c + 1) * TOKEN_BYTES] for c in self._placed[bucket]}

    def packed_tokens(self, bucket: str) -> bytes:
        """``release.pack_tokens(self.tokens(bucket))`` (sorted, each once), without a set of ``bytes``: as big-endian
        ints, tokens of one length sort as their bytes do, and an int takes 32 bytes where a token in a set took 90."""
        tokens = self._tokens
        ordered = sorted(
            int.from_bytes(tokens[c * TOKEN_BYTES : (c + 1) * TOKEN_BYTES], "big") for c in self._placed[bucket]
        )
        packed = bytearray()
        previous = None
        for token in ordered:
            if token != previous:
                packed += token.to_bytes(TOKEN_BYTES, "big")
            previous = token
        return bytes(packed)

    def values(self, bucket: str) -> Iterator[Decimal]:
        """The values of the bucket's contributions, in the order they were added."""
        return self._values.select(self._placed[bucket])

    def weights(self, bucket: str) -> Iterator[Decimal]:
        """The weights of the bucket's contributions, in the order they were added."""
        return self._weights.select(self._placed[bucket])
