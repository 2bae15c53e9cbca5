"""Use case: the monthly anonymous peer benchmark, ``benchmarks/{YYYY-MM}``, from the enterprises' monthly rollups.

A month is aggregated only once it has closed and ``Settings.benchmark_settle_days`` have passed (R9: late provider
data settles first); before that the answer is "not settled yet" and nothing is written. Only active enterprises
that share anonymous benchmarks take part, read at aggregation time, so an opt-out takes effect at the next run
(R12). A unit is a customer organisation: an enterprise's rollup already sums its provider accounts per provider
(the rollup's ``by_provider`` gives the provider buckets their figures), and enterprises that connected the same
provider organisation count once (``peers.units.form_units``, ADR 0019).

Figures taken from a provider's monthly part (benchmarks-and-index.md §1):

* ``billed_usd`` / ``list_usd``: the reconciliation's comparable amounts (``comparison``), the same usage priced
  both ways, so M1's ``billed / list`` compares like with like (as the rollup's own ``discount_vs_list`` does).
* ``unpriced_billed_usd``: billed spend of usage without an exact list price; a unit whose price coverage is below
  ``MIN_PRICE_COVERAGE`` stays out of the month (``shared.domain.peers.benchmarks.is_price_covered``).
* tokens and input/output billed cost: the rate basis (``rate_basis``), the M2 blended rate's numerators and
  denominators.

The document's ``computed_at`` is the instant the month settled, not the wall clock.

**A published month is frozen** (ADR 0019). Each publication records the inputs hash, the contributors and the
published populations (``peers.release``). Re-running a month whose inputs are unchanged writes nothing
(``unchanged``); one whose inputs changed (a late sync, an opt-out, a joiner) is refused with 409
``benchmark_month_frozen`` unless ``force`` is given with a reason. A forced run publishes version n+1, audited in
the record's revisions and the log, and R7 checks it against every earlier version and the previous month, so the
two versions cannot be subtracted to isolate fewer than ``min_units`` units.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import ValidationError

from shared.config import Settings
from shared.domain.peers.benchmarks import compute_release
from shared.domain.peers.models import DisclosureParams, ProviderUsageRow, UsageFigures
from shared.domain.peers.packed import PackedUnit
from shared.domain.peers.release import PackedPopulations, PublishedRun, inputs_hash, next_run
from shared.domain.peers.units import UnitFormation
from shared.domain.usage.month import month_bounds, month_key
from shared.domain.usage.records import Provider
from shared.domain.usage.snapshot_parts import ProviderPart
from shared.errors import Conflict
from shared.ports import BenchmarkParticipant, BenchmarkStore, Clock

logger = logging.getLogger(__name__)

PARTICIPANTS_PAGE = 1000
"""Enterprises per participants query page; their rollups are then read ``ROLLUP_READ`` at a time."""
ROLLUP_READ = 250
"""Enterprises whose rollups one read asks for (the adapter reads them in ``get_all`` batches)."""
READ_AHEAD = 4
"""Rollup reads in flight at the same time, and so held in memory at once (as decoded parts, a few KiB an
enterprise: ``ROLLUP_READ`` x ``READ_AHEAD`` enterprises, whatever the number of participants)."""


@dataclass(frozen=True)
class AggregationResult:
    """What one run did. ``not_settled``: the month has not closed or not settled yet; nothing was written."""

    month: str
    status: Literal["published", "not_settled", "unchanged"]
    settles_at: datetime
    participants: int = 0
    """Opted-in active enterprises found (whether or not they had usage that month)."""
    units: int = 0
    """Customer organisations with a rollup for the month, handed to the disclosure rules (eligibility is applied
    there); enterprises sharing a provider organisation count once."""
    published_buckets: int = 0
    version: int = 0
    """The month's published version after this run (0: none)."""


def disclosure_params(settings: Settings) -> DisclosureParams:
    """The disclosure-control parameters from the ``benchmark_*`` settings."""
    return DisclosureParams(
        min_units=settings.benchmark_min_units,
        tail_min_units=settings.benchmark_tail_min_units,
        dominance_cap=settings.benchmark_dominance_cap,
        p_percent=settings.benchmark_p_percent,
        noise_sd=settings.benchmark_noise_sd,
        min_billed_usd=settings.benchmark_min_billed_usd,
        min_domains=settings.benchmark_min_domains,
    )


def previous_month(now: datetime) -> str:
    """The last closed month before ``now`` (``YYYY-MM``)."""
    return month_key(now.date().replace(day=1) - timedelta(days=1))


def settles_at(month: str, settle_days: int) -> datetime:
    """The instant a month's data is final: its close (00:00 UTC of the next month) plus the settle delay."""
    last = month_bounds(month)[1]
    closed = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return closed + timedelta(days=settle_days)


def usage_figures(part: ProviderPart) -> UsageFigures:
    """A provider's monthly part as benchmark figures (see the module docstring for which figure is which)."""
    basis = part.rate_basis
    return UsageFigures(
        billed_usd=part.comparison.billed_usd,
        list_usd=part.comparison.list_usd,
        unpriced_billed_usd=part.comparison.unpriced_billed_usd,
        input_tokens=basis.input_tokens,
        output_tokens=basis.output_tokens,
        input_billed_usd=basis.input_cost_usd,
        output_billed_usd=basis.output_cost_usd,
    )


def provider_rows(enterprise_id: str, parts: Mapping[str, ProviderPart]) -> list[ProviderUsageRow]:
    """One row per provider of an enterprise's rollup (providers this platform does not know are skipped)."""
    rows = []
    for name, part in sorted(parts.items()):
        try:
            provider = Provider(name)
        except ValueError:
            logger.warning("unknown provider in rollup", extra={"enterprise_id": enterprise_id, "provider": name})
            continue
        rows.append(ProviderUsageRow(enterprise_id=enterprise_id, provider=provider, usage=usage_figures(part)))
    return rows


def _units(store: BenchmarkStore, month: str) -> tuple[int, list[PackedUnit]]:
    """How many participants were found, and their units (packed, ``peers.packed``)."""
    participants = 0
    formation = UnitFormation()
    # The rollup reads overlap the next participants page and each other (they wait on Firestore, not on this CPU);
    # at most READ_AHEAD reads are in flight and each is folded into the units as soon as it lands, so memory holds
    # the packed units and the providers' identifiers, not the pages, rows or identities (flat in the number of
    # pages).
    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="benchmark-reads") as pool:
        pending: deque[tuple[list[BenchmarkParticipant], Future[dict[str, dict[str, ProviderPart]]]]] = deque()
        for page in store.participants(page_size=PARTICIPANTS_PAGE):
            participants += len(page)
            for start in range(0, len(page), ROLLUP_READ):
                read = page[start : start + ROLLUP_READ]
                pending.append((read, pool.submit(store.month_parts, [p.enterprise_id for p in read], month)))
                if len(pending) >= READ_AHEAD:
                    _fold(formation, *pending.popleft(), month)
        while pending:
            _fold(formation, *pending.popleft(), month)
    return participants, formation.units()


def _fold(
    formation: UnitFormation,
    page: list[BenchmarkParticipant],
    reads: Future[dict[str, dict[str, ProviderPart]]],
    month: str,
) -> None:
    """Participants and their rollups, folded into the units (the identities and rows are freed after)."""
    found = reads.result()
    for identity in page:
        parts = found.get(identity.enterprise_id)
        if parts is None:
            continue
        try:
            rows = provider_rows(identity.enterprise_id, parts)
        except ValidationError as e:
            # One enterprise's impossible figures (e.g. a negative billed amount) must not cost every other
            # participant its benchmark: that enterprise is left out of the month, and we hear about it.
            logger.error(
                "benchmark unit skipped: invalid figures",
                extra={"enterprise_id": identity.enterprise_id, "month": month, "errors": e.error_count()},
            )
            continue
        formation.add(identity, rows)


def aggregate_benchmarks(
    store: BenchmarkStore,
    clock: Clock,
    settings: Settings,
    month: str | None = None,
    *,
    force: bool = False,
    reason: str | None = None,
) -> AggregationResult:
    """Compute and publish ``benchmarks/{month}`` (default: the previous month) once the month has settled.

    Raises:
        Conflict: ``benchmark_month_frozen`` when the month is published and its inputs changed (pass ``force``
            and a ``reason`` to publish a new version); ``benchmark_version_taken`` when a concurrent run published
            first.
    """
    month = month or previous_month(clock.now())
    settled = settles_at(month, settings.benchmark_settle_days)
    if clock.now() < settled:
        logger.info("benchmark month not settled yet", extra={"month": month, "settles_at": settled.isoformat()})
        return AggregationResult(month=month, status="not_settled", settles_at=settled)
    participants, units = _units(store, month)
    params = disclosure_params(settings)
    hashed = inputs_hash(units, month, params)
    counts = {"participants": participants, "units": len(units)}
    run = store.run(month)
    if run is not None and run.inputs_hash == hashed:
        logger.info("benchmark month unchanged", extra={"month": month, "version": run.version})
        return AggregationResult(month, "unchanged", settled, **counts, version=run.version)
    if run is not None and not force:
        logger.warning("benchmark month frozen: re-run refused", extra={"month": month, "version": run.version})
        raise Conflict(
            f"the {month} benchmark is published and its inputs changed since: it is frozen; a new version needs "
            "force and a reason",
            code="benchmark_month_frozen",
        )
    earlier = [*(run.populations if run else ()), *_previous_populations(store, month)]
    release = compute_release(
        units, month, params, settings.benchmark_noise_key, settled, earlier, run.version + 1 if run else 1
    )
    record = next_run(
        run,
        month=month,
        hashed=hashed,
        contributors=release.contributors,
        populations=release.packed_populations,
        at=clock.now(),
        reason=reason,
    )
    store.publish(release.document, record)
    published = sum(bucket.status == "published" for bucket in release.document.buckets.values())
    revision = record.revisions[-1]
    logger.log(
        logging.WARNING if revision.forced else logging.INFO,
        "peer benchmark published",
        extra={
            "month": month,
            **counts,
            "published_buckets": published,
            "version": record.version,
            "forced": revision.forced,
            "reason": reason,
            "joined": revision.joined,
            "left": revision.left,
        },
    )
    return AggregationResult(month, "published", settled, **counts, published_buckets=published, version=record.version)


def _previous_populations(store: BenchmarkStore, month: str) -> tuple[PackedPopulations, ...]:
    """The previous month's newest published populations (a joiner or leaver between months is R7's concern too)."""
    before = previous_month(datetime.combine(month_bounds(month)[0], datetime.min.time(), tzinfo=UTC))
    run: PublishedRun | None = store.run(before)
    return run.populations[-1:] if run else ()
