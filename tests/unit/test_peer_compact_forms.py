"""The compact forms a month's release is computed with give the answers of the plain forms they replace.

The aggregation holds every unit at once, so the rules work on bitsets of unit positions, decimals held as text,
tokens in one buffer and sorted values (``peers.population``, ``peers.disclosure``). Each is checked here against
the set, ``Decimal`` or one-shot encoding it stands for, on cases built to make them differ if they could.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.enterprise.model import Industry
from shared.domain.peers.benchmarks import blended_rate, is_eligible, is_price_covered, merge_unit, price_ratio
from shared.domain.peers.disclosure import (
    UnitValues,
    complement_suppressions,
    noise_factor,
    partition_suppressions,
)
from shared.domain.peers.models import INDUSTRY_BUCKETS, LATTICE, DisclosureParams, ProviderUsageRow, UsageFigures
from shared.domain.peers.packed import PackedUnit, pack_figures
from shared.domain.peers.population import DecimalColumn, IndexSet, Population
from shared.domain.peers.release import TOKEN_BYTES, membership_token, pack_tokens
from shared.domain.usage.records import Provider

KEY = b"test-noise-key"


def _buckets(rng: random.Random, units: int) -> dict[str, frozenset[str]]:
    """Overlapping buckets whose sizes and differences sit around ``min_units`` (so R7 and R8 have work to do)."""
    ids = [f"u{i:03}" for i in range(units)]
    industry = {eid: rng.choice(INDUSTRY_BUCKETS) for eid in ids}
    members: dict[str, frozenset[str]] = {"all": frozenset(rng.sample(ids, rng.randint(0, units)))}
    for bucket in INDUSTRY_BUCKETS:
        members[bucket] = frozenset(eid for eid in members["all"] if industry[eid] == bucket)
    for bucket in LATTICE:
        if bucket not in members:
            members[bucket] = frozenset(eid for eid in members["all"] if rng.random() < rng.choice((0.1, 0.5, 0.97)))
    return members


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32), units=st.integers(0, 60), min_units=st.integers(3, 12))
def test_bitsets_of_positions_suppress_the_buckets_sets_of_ids_suppress(seed: int, units: int, min_units: int) -> None:
    rng = random.Random(seed)
    by_id = _buckets(rng, units)
    positions = {eid: position for position, eid in enumerate(sorted(set().union(*by_id.values())))}
    by_position = {bucket: IndexSet.of(positions[eid] for eid in ids) for bucket, ids in by_id.items()}
    published = [bucket for bucket in LATTICE if rng.random() < 0.8]

    assert complement_suppressions(by_position, published, LATTICE, min_units) == complement_suppressions(
        by_id, published, LATTICE, min_units
    )
    children_by_id = {bucket: by_id[bucket] for bucket in INDUSTRY_BUCKETS}
    children_by_position = {bucket: by_position[bucket] for bucket in INDUSTRY_BUCKETS}
    assert partition_suppressions(children_by_position, published, LATTICE, min_units) == partition_suppressions(
        children_by_id, published, LATTICE, min_units
    )


@given(first=st.sets(st.integers(0, 3000)), second=st.sets(st.integers(0, 3000)))
def test_a_bitset_counts_intersects_unites_and_lists_as_a_set_does(first: set[int], second: set[int]) -> None:
    a, b = IndexSet.of(first), IndexSet.of(second)

    assert (len(a), len(a & b), len(a | b)) == (len(first), len(first & second), len(first | second))
    assert list(a | b) == sorted(first | second)
    assert bool(a) == bool(first)


def test_decimals_read_back_from_their_text_are_the_same_decimals_exponent_and_all() -> None:
    values = [
        Decimal("0.5"),
        Decimal("0.50"),
        Decimal("1E+3"),
        Decimal("0E-7"),
        Decimal("-0"),
        Decimal("0.0000001"),
        Decimal(1) / Decimal(7),
        Decimal("123456789012345678901234567890.123"),  # more digits than the context's 28: kept whole
    ]
    column = DecimalColumn()
    for value in values:
        column.append(value)

    read = list(column.select(range(len(values))))

    assert [v.as_tuple() for v in read] == [v.as_tuple() for v in values]
    assert [str(v) for v in column.select([3, 0, 3])] == ["0E-7", "0.5", "0E-7"]


def test_a_buckets_packed_tokens_are_its_token_set_packed_even_when_two_contributions_share_a_token() -> None:
    rng = random.Random(3)
    population = Population(["all", "solo"])
    tokens = [rng.randbytes(TOKEN_BYTES) for _ in range(500)]
    tokens += [tokens[7], tokens[400], b"\x00" * TOKEN_BYTES, b"\xff" * TOKEN_BYTES]  # a collision, extremes
    for position, token in enumerate(tokens):
        population.add(position, Decimal(position), Decimal(1), token, ["all"] if position % 5 else ["all", "solo"])

    for bucket in ("all", "solo"):
        assert population.packed_tokens(bucket) == pack_tokens(population.tokens(bucket))
    assert population.packed_tokens("all") == pack_tokens(set(tokens))


@given(values=st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=3), max_size=40), probe=st.data())
def test_sorted_unit_values_answer_in_as_a_set_of_them_does(values: list[Decimal], probe: st.DataObject) -> None:
    candidates = [*values, *(v.normalize() for v in values), *(v + Decimal("0.001") for v in values), Decimal(0)]
    value = probe.draw(st.sampled_from(candidates))

    assert (value in UnitValues(values)) == (value in frozenset(values))


def _noise_of(message: bytes, sd: Decimal) -> Decimal:
    """R5 as ``peers.disclosure`` documents it: twelve 21-bit uniforms of the HMAC, Irwin-Hall, ``1 + sd z``."""
    bits = int.from_bytes(hmac.new(KEY, message, hashlib.sha256).digest(), "big")
    uniforms = [(Decimal((bits >> (21 * i)) & (2**21 - 1)) + Decimal("0.5")) / 2**21 for i in range(12)]
    return 1 + sd * (sum(uniforms, Decimal(0)) - 6)


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 1001, 2500])
def test_noise_is_keyed_on_the_whole_json_of_its_contributors_whatever_their_number(count: int) -> None:
    ids = [f'u{i}"\\é' if i % 97 == 0 else f"ent_{i:05d}" for i in range(count)]
    message = json.dumps(["2026-01", "all/price_ratio.mean", sorted(ids)], separators=(",", ":")).encode()

    noise = noise_factor(KEY, reversed(ids), "2026-01", "all/price_ratio.mean", Decimal("0.02"))

    assert noise == _noise_of(message, Decimal("0.02"))


@pytest.mark.parametrize("unit_id", ["ent_00001", 'quo"te', "back\\slash", "é", "line\nbreak", "\u2028\U0001f600"])
def test_a_membership_token_is_the_keyed_hash_of_the_json_of_id_and_value(unit_id: str) -> None:
    value = Decimal("0.50")
    message = json.dumps([unit_id, "0.50"], separators=(",", ":")).encode()

    assert membership_token(KEY, unit_id, value) == hmac.new(KEY, message, hashlib.sha256).digest()[:TOKEN_BYTES]


_MONEY = st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False, allow_infinity=False)
_FIGURES = st.builds(
    UsageFigures,
    billed_usd=_MONEY,
    list_usd=_MONEY,
    unpriced_billed_usd=st.one_of(st.just(Decimal(0)), _MONEY),
    input_tokens=st.integers(0, 10**12),
    output_tokens=st.integers(0, 10**11),
    input_billed_usd=_MONEY,
    output_billed_usd=_MONEY,
)


@given(st.dictionaries(st.sampled_from(list(Provider)), _FIGURES, min_size=1, max_size=3))
@settings(max_examples=60, deadline=None)
def test_a_packed_units_figures_answer_the_rules_as_the_figures_it_packed(
    by_provider: dict[Provider, UsageFigures],
) -> None:
    rows = [ProviderUsageRow(enterprise_id="ent_1", provider=p, usage=u) for p, u in by_provider.items()]
    unit = merge_unit("ent_1", Industry.FINANCE, rows, frozenset({"corp.example"}))
    packed = PackedUnit.of(unit)
    params = DisclosureParams(min_billed_usd=Decimal(50))

    assert packed.unit() == unit
    providers, usage, read_by_provider = packed.breakdown()
    assert providers == unit.providers
    for plain, read in [(unit.usage, usage), *((unit.by_provider[p], read_by_provider[p]) for p in unit.by_provider)]:
        assert pack_figures(read.usage()) == pack_figures(plain)  # exponents too: "0.50" stays "0.50"
        answers = [
            price_ratio,
            blended_rate,
            is_price_covered,
            lambda f: f.price_coverage,
            lambda f: is_eligible(f, params),
        ]
        assert [answer(read) for answer in answers] == [answer(plain) for answer in answers]
