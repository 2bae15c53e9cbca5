"""Fetch a provider's daily report over a window, page by page, so a bad page fails only its own days.

Both providers page the same way (``data`` buckets, ``has_more``, ``next_page``) with ``limit`` counting buckets,
so a window costs ``ceil(days / limit)`` requests when every page is good. Buckets are parsed one by one: a
malformed bucket fails its day only. A page that is unusable as a whole (not JSON, broken envelope, a bucket
without a readable day) loses the cursor: the days that page covered (at most ``limit`` from where the good pages
stopped) are re-requested one day at a time, and the rest of the window is paged afresh; a day whose single-day
page is still unusable ends ``failed``. Days the provider returns no bucket for are empty (both
providers emit empty buckets, so a missing one means no data yet).

A window whose end is in the future or less than ``NEAR_NOW`` ago (an hourly sync asks for today, which ends
tomorrow) is asked open-ended: neither provider documents an end time after now, both make it optional (the report
then runs to now), and Anthropic has been seen to answer 400 "Invalid date range" for ends near now. Should such a
400 come anyway for a window that names its end, the window is asked again open-ended; buckets after the window are
ignored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, MutableSequence, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from shared.adapters.provider_http import MalformedResponse, ProviderHttp, QueryParams, run_all
from shared.adapters.provider_sends import send_gate
from shared.domain.usage.normalise import DayFailure, DayPart, build_day, parse_page
from shared.domain.usage.pricing import PRICE_DATA_VERSION
from shared.domain.usage.records import Provider, ProviderDay, ProviderPull, day_start
from shared.errors import ProviderResponseError
from shared.log import redact
from shared.ports import EarlyDays

DayResult = DayPart | DayFailure
NEAR_NOW = timedelta(hours=1)


@dataclass(frozen=True)
class Report:
    """One daily report endpoint and the fixed part of its query."""

    name: str
    path: str
    limit: int
    """Buckets per page: the documented maximum for ``bucket_width=1d``, so requests are minimal."""
    params: QueryParams = ()
    large: bool = False
    """Its pages are the pull's largest: it is asked first, so that their parsing overlaps the wait for the others
    rather than following the last response."""


class ReportDialect(Protocol):
    """What differs between providers: the window's query parameters and how a bucket reads."""

    provider: Provider

    def window_params(self, start: date, end_exclusive: date | None) -> QueryParams:
        """The window's time parameters; ``None``: open-ended (no end parameter)."""
        ...

    def bucket_day(self, bucket: Mapping[str, Any]) -> date: ...

    def parse_bucket(self, report: str, bucket: Mapping[str, Any]) -> tuple[date, DayPart]: ...


def days_of(start: date, end_exclusive: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end_exclusive - start).days)]


class ReportPager:
    """Fetches reports for one pull and keeps a debugging copy of every page received (no credentials)."""

    def __init__(
        self, http: ProviderHttp, dialect: ReportDialect, pages: MutableSequence[dict[str, Any]], now: datetime
    ) -> None:
        self._http = http
        self._dialect = dialect
        self._pages = pages
        self._now = now

    def _time_params(self, start: date, end: date, *, open_end: bool) -> QueryParams:
        open_end = open_end or day_start(end) > self._now - NEAR_NOW
        return self._dialect.window_params(start, None if open_end else end)

    async def fetch(self, report: Report, start: date, end_exclusive: date) -> dict[date, DayResult]:
        """Every day of ``[start, end_exclusive)`` → its part of ``report``, or why it failed."""
        out: dict[date, DayResult] = {}
        await self._window(report, start, end_exclusive, out, split_on_failure=True)
        return {day: out.get(day, DayPart()) for day in days_of(start, end_exclusive)}

    async def _window(
        self, report: Report, start: date, end: date, out: dict[date, DayResult], *, split_on_failure: bool
    ) -> None:
        provider = self._dialect.provider
        covered, cursor = start, None
        seen_cursors: set[str] = set()
        open_end = False
        while True:
            params = [
                *report.params,
                *self._time_params(start, end, open_end=open_end),
                ("bucket_width", "1d"),
                ("limit", str(report.limit)),
            ]
            if cursor is not None:
                params.append(("page", cursor))
            try:
                response = await self._http.get_json(report.path, params)
            except MalformedResponse as e:
                self._keep(report, params, {"unusable": e.message})
                return await self._recover(report, covered, end, out, e, split_on_failure)
            except ProviderResponseError as e:
                if open_end or "date range" not in e.message.lower():
                    raise
                for day in days_of(start, covered):  # ask the window again, open-ended, from its start
                    out.pop(day, None)
                open_end, cursor, covered = True, None, start
                continue
            self._keep(report, params, response.text)
            try:
                page = parse_page(provider, response.body)
                dated = [(self._dialect.bucket_day(b), b) for b in page.buckets]
            except ProviderResponseError as e:
                return await self._recover(report, covered, end, out, e, split_on_failure)
            covered = max(covered, self._place(report, dated, start, end, out))
            if not page.has_more:
                return None
            cursor = page.next_page
            if cursor is None or cursor in seen_cursors:
                loop = ProviderResponseError(f"{provider.value} repeated a page cursor", provider=provider.value)
                return await self._recover(report, covered, end, out, loop, split_on_failure)
            seen_cursors.add(cursor)

    def _place(
        self, report: Report, dated: list[tuple[date, Any]], start: date, end: date, out: dict[date, DayResult]
    ) -> date:
        """Parse a page's buckets into ``out``; the end of the last day placed (``start`` if none)."""
        covered = start
        for day, bucket in dated:
            if not start <= day < end:
                continue  # outside the asked window: not ours to count
            if day in out:
                out[day] = DayFailure("provider_malformed_response", f"duplicate {report.name} bucket")
                continue
            try:
                out[day] = self._dialect.parse_bucket(report.name, bucket)[1]
            except ProviderResponseError as e:
                out[day] = DayFailure.of(e)
            covered = max(covered, day + timedelta(days=1))
        return covered

    async def _recover(
        self,
        report: Report,
        covered: date,
        end: date,
        out: dict[date, DayResult],
        error: ProviderResponseError,
        split_on_failure: bool,
    ) -> None:
        if not split_on_failure:
            for day in days_of(covered, end):
                out.setdefault(day, DayFailure.of(error))
            return
        # The unusable page held at most ``limit`` buckets from ``covered``: re-ask those days one by one, then
        # page through the rest of the window afresh (the broken page's cursor is lost).
        page_end = min(end, covered + timedelta(days=report.limit))
        singles = [d for d in days_of(covered, page_end) if d not in out]
        await run_all(
            self._window(report, day, day + timedelta(days=1), out, split_on_failure=False) for day in singles
        )
        if page_end < end:
            await self._window(report, page_end, end, out, split_on_failure=True)

    def _keep(self, report: Report, params: QueryParams, body: Any) -> None:
        query = [[k, redact(v)] for k, v in params]
        self._pages.append({"report": report.name, "path": report.path, "query": query, "body": body})


async def pull_reports(
    http: ProviderHttp,
    dialect: ReportDialect,
    reports: Sequence[Report],
    start: date,
    end_exclusive: date,
    *,
    now: datetime,
    early: EarlyDays | None = None,
) -> ProviderPull:
    """Fetch every report concurrently and assemble the window's ``ProviderDay``s.

    A day fails when any report failed for it: a day with usage but no cost (or the reverse) would misstate the
    effective rate, so it carries no partial data.

    ``early`` (``shared.ports.EarlyDays``): once the large reports are in while others are still out, the days are
    built from what is in, the others taken as empty, and handed to ``early``; a day the late reports leave empty is
    that very object in the pull, the others are built again.
    """
    if end_exclusive <= start:
        raise ValueError("end_exclusive must be after start")
    pages: list[dict[str, Any]] = []
    pager = ReportPager(http, dialect, pages, now)
    # Asked large reports first (a stable order otherwise), assembled in the given order.
    asked = sorted(range(len(reports)), key=lambda i: not reports[i].large)
    large = {i for i, report in enumerate(reports) if report.large}
    done: dict[int, dict[date, DayResult]] = {}
    large_done = asyncio.Event()
    built: list[_EarlyBuild] = []

    async def fetch(i: int) -> None:
        done[i] = await pager.fetch(reports[i], start, end_exclusive)
        if large <= done.keys():
            large_done.set()

    async def build_early() -> None:
        # While the small reports' requests are out, the loop would only wait: their days are built meanwhile.
        await large_done.wait()
        if len(done) == len(reports):
            return
        out = frozenset(range(len(reports))) - done.keys()
        results = [done.get(i, {}) for i in range(len(reports))]
        days = await _build_days(dialect.provider, results, start, end_exclusive)
        built.append(_EarlyBuild(out, days))
        assert early is not None
        early(days)

    speculate = early is not None and bool(large) and len(large) < len(reports)
    await run_all([*(fetch(i) for i in asked), *([build_early()] if speculate else [])])
    results = [done[i] for i in range(len(reports))]
    days = await _build_days(dialect.provider, results, start, end_exclusive, built[0] if built else None)
    return ProviderPull(
        provider=dialect.provider,
        start=start,
        end_exclusive=end_exclusive,
        days=days,
        price_data_version=PRICE_DATA_VERSION,
        raw_pages=tuple(pages),
    )


@dataclass(frozen=True)
class _EarlyBuild:
    """Days built before the reports ``out`` were in (their parts taken as empty)."""

    out: frozenset[int]
    days: dict[date, ProviderDay]


_EMPTY = DayPart()


async def _build_days(
    provider: Provider,
    results: Sequence[Mapping[date, DayResult]],
    start: date,
    end_exclusive: date,
    early: _EarlyBuild | None = None,
) -> dict[date, ProviderDay]:
    """Each day of the window from every report's part (a report without the day adds nothing); a day built early
    is kept when the reports that were out then add nothing to it."""
    days: dict[date, ProviderDay] = {}
    gate = send_gate()
    for day in days_of(start, end_exclusive):
        parts = [result.get(day, _EMPTY) for result in results]
        if early is not None and all(parts[i] == _EMPTY for i in early.out):
            days[day] = early.days[day]
            continue
        failure = next((p for p in parts if isinstance(p, DayFailure)), None)
        days[day] = build_day(provider, day, [p for p in parts if isinstance(p, DayPart)], failure)
        # Between days, the responses of the task's other pulls are taken in and their next requests written first.
        await gate.settled()
    return days
