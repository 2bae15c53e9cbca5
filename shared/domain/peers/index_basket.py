"""The market index basket: which models each index level prices, and on which days.

The basket is a versioned data file, ``shared/domain/peers/data/index_basket.json`` (package data, shipped in every
bundle). Each membership names a creator, the model's id on the creator's own API and the days it counts
(``effective_from`` inclusive, ``effective_until`` exclusive), so the basket can change over time without rewriting
history: recomputing an old day uses the membership in force on that day. Any change to the file bumps ``version``,
which is recorded with every index value.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.usage.records import Provider

BASKET_RESOURCE = "index_basket.json"

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Membership(BaseModel):
    """One model's membership of one index level."""

    model_config = _FROZEN

    creator: Provider
    model: str = Field(min_length=1)
    """The model's id on the creator's own API (as the price data matches it)."""
    effective_from: date
    effective_until: date | None = None
    """First day the model no longer counts; ``None`` = still a member."""
    note: str = ""
    """Why the model qualifies (GA date, what it replaced)."""

    @model_validator(mode="after")
    def _dates_are_ordered(self) -> Self:
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError(f"{self.model}: effective_until must be after effective_from")
        return self

    def active_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day < self.effective_until)


class BasketLevel(BaseModel):
    """An index level (e.g. ``STCI-FRONTIER``): its definition and its memberships over time."""

    model_config = _FROZEN

    definition: str = Field(min_length=1)
    members: tuple[Membership, ...]

    @model_validator(mode="after")
    def _no_overlapping_duplicates(self) -> Self:
        seen: dict[tuple[Provider, str], list[Membership]] = {}
        for member in self.members:
            for other in seen.setdefault((member.creator, member.model), []):
                if _overlap(member, other):
                    raise ValueError(f"{member.model} has overlapping memberships")
            seen[(member.creator, member.model)].append(member)
        return self

    def members_on(self, day: date) -> tuple[Membership, ...]:
        return tuple(m for m in self.members if m.active_on(day))


class Basket(BaseModel):
    """The whole basket file."""

    model_config = _FROZEN

    version: str = Field(min_length=1)
    description: str = ""
    levels: dict[str, BasketLevel]

    def members_on(self, level: str, day: date) -> tuple[Membership, ...]:
        """The memberships of ``level`` in force on ``day`` (empty before the level's first membership)."""
        return self.levels[level].members_on(day)


def _overlap(a: Membership, b: Membership) -> bool:
    a_end = a.effective_until or date.max
    b_end = b.effective_until or date.max
    return a.effective_from < b_end and b.effective_from < a_end


@lru_cache(maxsize=1)
def default_basket() -> Basket:
    """The basket shipped with the code (read once per instance)."""
    text = resources.files("shared.domain.peers").joinpath("data", BASKET_RESOURCE).read_text(encoding="utf-8")
    return Basket.model_validate(json.loads(text))
