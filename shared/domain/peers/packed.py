"""A unit held compactly while a month is aggregated: its exact figures packed into one string.

The aggregation holds every unit's figures until the disclosure rules have run: the inputs hash covers them all,
and a unit is known only once every enterprise sharing its provider organisation has been read. As pydantic models
(a ``BenchmarkUnit``, its ``UsageFigures`` and their ``Decimal`` objects) a unit took about 4.5 KiB; packed, a
one-provider unit takes a few hundred bytes (``devstack/bench_benchmarks.py``), and the figures are unpacked for
the moment the rules look at them.

The packing is exact: ``str`` and ``Decimal`` are inverses on finite decimals, exponent included (``"0.50"`` stays
``"0.50"``), so a packed unit has the metrics, membership tokens and inputs hash of the ``BenchmarkUnit`` it stands
for. Layout of ``PackedUnit.packed``::

    {usage}|{provider}={figures}|{provider}={figures}...

one ``|``-separated entry per provider the unit used, sorted, each with its own figures or none (``openai=``);
figures are the ``FIGURES`` fields as comma-separated decimal strings. ``{usage}`` is empty when the unit's figures
are those of its one provider (a one-provider unit: most of them), and the two are then one object when unpacked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from shared.domain.enterprise.model import Industry
from shared.domain.peers.models import BenchmarkUnit, UsageFigures
from shared.domain.usage.records import Provider, price_coverage


class UnpackedFigures(NamedTuple):
    """Packed figures read back for the rules (``models.Figures``): the values of the ``UsageFigures`` they were
    packed from, without a model built for each (the rules read a unit's figures three times a run: a sixth of
    their time went into ``model_construct``)."""

    billed_usd: Decimal
    list_usd: Decimal
    unpriced_billed_usd: Decimal
    input_tokens: int
    output_tokens: int
    input_billed_usd: Decimal
    output_billed_usd: Decimal

    @property
    def price_coverage(self) -> Decimal | None:
        """As ``UsageFigures.price_coverage``."""
        return price_coverage(self.billed_usd, self.unpriced_billed_usd)

    def usage(self) -> UsageFigures:
        """The ``UsageFigures`` these were packed from (validated when packed: not validated again)."""
        return UsageFigures.model_construct(**self._asdict())


FIGURES: tuple[str, ...] = UnpackedFigures._fields
"""The ``UsageFigures`` fields in packed order."""
_COUNTS = frozenset({"input_tokens", "output_tokens"})


def pack_figures(usage: UsageFigures) -> str:
    """``usage`` as comma-separated exact decimal strings, in ``FIGURES`` order."""
    return ",".join(str(getattr(usage, name)) for name in FIGURES)


def unpack_figures(packed: str) -> UnpackedFigures:
    """The figures ``pack_figures`` packed."""
    billed, listed, unpriced, input_tokens, output_tokens, input_billed, output_billed = packed.split(",")
    return UnpackedFigures(
        Decimal(billed),
        Decimal(listed),
        Decimal(unpriced),
        int(input_tokens),
        int(output_tokens),
        Decimal(input_billed),
        Decimal(output_billed),
    )


def _dump_figures(packed: str) -> dict[str, object]:
    # What ``model_dump(mode="json")`` gives: a decimal as its ``str``, a count as a number.
    return {
        name: int(value) if name in _COUNTS else value for name, value in zip(FIGURES, packed.split(","), strict=True)
    }


class Breakdown(NamedTuple):
    """A packed unit's figures, unpacked: those of ``BenchmarkUnit`` of the same names."""

    providers: frozenset[Provider]
    usage: UnpackedFigures
    by_provider: dict[Provider, UnpackedFigures]


@dataclass(frozen=True, slots=True)
class PackedUnit:
    """A ``BenchmarkUnit`` in a few objects (see the module docs)."""

    enterprise_id: str
    industry: Industry
    admin_domains: tuple[str, ...]
    """Sorted."""
    packed: str
    """Usage, providers and per-provider figures (see the module docs)."""

    @classmethod
    def of(cls, unit: BenchmarkUnit) -> PackedUnit:
        usage = pack_figures(unit.usage)
        entries = [
            (p, pack_figures(unit.by_provider[p]) if p in unit.by_provider else "") for p in sorted(unit.providers)
        ]
        broken_down = [figures for _, figures in entries if figures]
        head = "" if broken_down == [usage] else usage
        packed = "|".join([head, *(f"{p.value}={figures}" for p, figures in entries)])
        return cls(unit.enterprise_id, unit.industry, tuple(sorted(unit.admin_domains)), packed)

    def _entries(self) -> tuple[str, list[tuple[Provider, str]]]:
        head, *rest = self.packed.split("|")
        entries = [(Provider(name), figures) for name, figures in (entry.split("=") for entry in rest)]
        return head or next(figures for _, figures in entries if figures), entries

    @property
    def providers(self) -> frozenset[Provider]:
        return frozenset(provider for provider, _ in self._entries()[1])

    @property
    def billed_usd(self) -> Decimal:
        """The unit's billed spend (``usage.billed_usd``)."""
        return Decimal(self._entries()[0].split(",", 1)[0])

    def usage(self) -> UnpackedFigures:
        return unpack_figures(self._entries()[0])

    def breakdown(self) -> Breakdown:
        """The unit's figures unpacked (a one-provider unit's figures and its provider's are one object, as merged)."""
        usage, entries = self._entries()
        unpacked = {figures: unpack_figures(figures) for figures in {usage, *(f for _, f in entries if f)}}
        by_provider = {provider: unpacked[figures] for provider, figures in entries if figures}
        return Breakdown(frozenset(provider for provider, _ in entries), unpacked[usage], by_provider)

    def unit(self) -> BenchmarkUnit:
        """The ``BenchmarkUnit`` this stands for."""
        providers, usage, by_provider = self.breakdown()
        models = {id(figures): figures.usage() for figures in (usage, *by_provider.values())}  # shared stays shared
        return BenchmarkUnit.model_construct(
            enterprise_id=self.enterprise_id,
            industry=self.industry,
            providers=providers,
            usage=models[id(usage)],
            by_provider={provider: models[id(figures)] for provider, figures in by_provider.items()},
            admin_domains=frozenset(self.admin_domains),
        )

    def dump(self) -> dict[str, object]:
        """``BenchmarkUnit.model_dump(mode="json")`` of the unit, its sets as sorted lists (the inputs hash's form)."""
        usage, entries = self._entries()
        return {
            "enterprise_id": self.enterprise_id,
            "industry": self.industry.value,
            "providers": [provider.value for provider, _ in entries],
            "usage": _dump_figures(usage),
            "by_provider": {provider.value: _dump_figures(figures) for provider, figures in entries if figures},
            "admin_domains": list(self.admin_domains),
        }
