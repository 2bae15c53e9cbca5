"""Attacks on the published figures of one month's document (benchmarks-and-index.md R4, R5).

Each test plays the reader of ``GET /api/v1/benchmarks/{month}``: it sees only the document, and wins if it learns a
unit's value. Populations are built so that the attack works when the defence is missing.
"""

from __future__ import annotations

from decimal import Decimal

from shared.domain.enterprise.model import Industry
from shared.domain.peers.benchmarks import unit_metrics
from shared.domain.peers.disclosure import round_sig
from shared.domain.peers.models import BenchmarkUnit, Metric
from shared.domain.usage.records import Provider
from tests.privacy.population import KEY, compute, figures, off_grid, published_figures, unit


def _significant_figures(value: Decimal) -> int:
    return len(value.normalize().as_tuple().digits) if value else 1


def test_a_collision_with_a_unit_value_is_not_signalled_by_extra_precision() -> None:
    """R4: a figure with a third significant figure can only come from the "never equal a unit value" move, so it
    tells every reader that some unit's value is exactly that figure rounded to two."""
    # Ratios 0.70, 0.71, ... 0.94: every value is on the 2-s.f. grid, so rounded percentiles collide with them.
    population = [unit(f"g{i:03}", Decimal("0.70") + Decimal("0.01") * i) for i in range(25)]
    values = {unit_metrics(u.usage)[Metric.PRICE_RATIO] for u in population}

    document = compute(population)
    inferred = {round_sig(f) for f in published_figures(document) if _significant_figures(f) > 2}

    assert not inferred & values, f"the document discloses the exact unit values {sorted(inferred & values)}"
    assert all(_significant_figures(f) <= 2 for f in published_figures(document))
    assert not set(published_figures(document)) & values


def _lone_google_user(google_rho: Decimal) -> BenchmarkUnit:
    """A finance unit on OpenAI and Google whose totals stay the same whatever its Google part's ratio: money moves
    between its two parts, so only the (suppressed) ``provider:google`` bucket sees ``google_rho``."""
    total = figures(Decimal("0.80"), Decimal(2000))
    google = figures(google_rho)
    openai = total.model_copy(
        update={
            "billed_usd": total.billed_usd - google.billed_usd,
            "list_usd": total.list_usd - google.list_usd,
            "input_tokens": total.input_tokens - google.input_tokens,
            "output_tokens": total.output_tokens - google.output_tokens,
            "input_billed_usd": total.input_billed_usd - google.input_billed_usd,
            "output_billed_usd": total.output_billed_usd - google.output_billed_usd,
        }
    )
    return BenchmarkUnit(
        enterprise_id="lone",
        industry=Industry.FINANCE,
        providers=frozenset({Provider.OPENAI, Provider.GOOGLE}),
        usage=total,
        by_provider={Provider.OPENAI: openai, Provider.GOOGLE: google},
        admin_domains=frozenset({"lone.example"}),
    )


def test_a_suppressed_value_does_not_shape_a_published_bucket() -> None:
    """R4 with the forbidden set of every bucket: the only Google user's Google ratio is published nowhere, yet when
    it equals a rounded figure of ``all``, that figure moved. Two worlds that differ only in it must publish the same
    ``all`` and industry figures."""
    peers = off_grid(24)
    probe = compute([*peers, _lone_google_user(Decimal("0.5"))])
    target = probe.buckets["all"].metrics[Metric.PRICE_RATIO].percentiles["p50"]

    colliding = compute([*peers, _lone_google_user(target)])
    clear = compute([*peers, _lone_google_user(target + Decimal("0.0001"))])

    assert colliding.buckets["provider:google"].status == "insufficient_peers"
    for bucket in ("all", "industry:finance"):
        assert colliding.buckets[bucket] == clear.buckets[bucket], bucket


def _attacker_estimate(all_mean: Decimal, openai_mean: Decimal, n: int) -> Decimal:
    """With the same members in ``all`` and ``provider:openai``, n times the difference of the means is the one
    multi-provider unit's total ratio minus its OpenAI ratio (its other providers' figure, coarse)."""
    return n * (all_mean - openai_mean)


def test_two_buckets_with_the_same_members_do_not_share_their_noise() -> None:
    """R5: identical contributor sets in ``all`` and ``provider:openai`` got identical noise, so the difference of
    their means isolated one multi-provider unit's suppressed figure up to rounding, whatever the key."""
    peers = off_grid(19)
    multi = _lone_google_user(Decimal("0.2"))  # total 0.80, OpenAI part 1.40: their difference is -0.60
    truth = (
        unit_metrics(multi.usage)[Metric.PRICE_RATIO]
        - unit_metrics(multi.by_provider[Provider.OPENAI])[Metric.PRICE_RATIO]
    )
    errors = []
    for index in range(40):
        document = compute([*peers, multi], key=KEY + str(index).encode())
        means = [document.buckets[b].metrics[Metric.PRICE_RATIO].mean for b in ("all", "provider:openai")]
        if None in means:
            continue
        all_mean, openai_mean = means
        assert all_mean is not None
        assert openai_mean is not None
        errors.append(abs(_attacker_estimate(all_mean, openai_mean, 20) - truth))

    # Shared noise bounds the error by the rounding (20 x 0.01); independent noise (sd 2% of ~0.8) does not.
    assert errors
    assert max(errors) > Decimal("0.3"), f"the attacker's estimate stayed within {max(errors)} of the truth"
