"""The collection listed: every item (PROPFIND Depth 1), or those a calendar-query's time
range and text filters keep, decided before the answer is cut (MAX_LISTED, MAX_RENDERED) and
within a budget. A series the time range leaves is tested for an occurrence in it (cached
per worker by version, window and zone, in caldav/service.py's Caches), off the event loop
when it costs more than a thread hop; an all-day event's days are placed at the reader's
midnights (`caldav/zones.py`: RFC 4791 §9.9), a single one's from its head alone; a filter
past MAX_CANDIDATES or MAX_TESTED is refused (`too_costly`). The other whole-calendar reads'
pages are bounded in caldav/service.py.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.caldav.service import (
    ROWS_CHUNK,
    Caches,
    DavError,
    Item,
    full_events,
    head_item,
    heads,
    with_mine,
)
from neo_events.events import days, recurrence
from neo_events.events.content import Content, content_of, series_of
from neo_events.events.rrule import zone_named
from neo_events.events.series_types import zoned
from neo_events.models import Event, User

# Items in one PROPFIND Depth 1 or calendar-query answer; past it the answer ends with a 507
# for the collection (RFC 4918 §9.1 allows a server to truncate), and clients page with
# sync-collection. ETags only: what clients list the collection with and cannot page.
MAX_LISTED = 10_000
# ...and with calendar-data: the rendered bodies of one calendar-query answer (a month of a
# busy calendar fits; a whole-calendar query past it ends with the 507).
MAX_RENDERED = 1_000
# A calendar-query with a time-range or a text-match decides membership before it cuts (the cut
# is MAX_LISTED or MAX_RENDERED of what matched; its 507 means more matched). What it may look
# at to decide: at most this many events left by the span (or all, without a time-range)...
MAX_CANDIDATES = 20_000
# ...and, of those, the series whose answer is not cached tested for an occurrence in the
# range, in a worker thread: at most MAX_TESTED units, a unit a series plus one per
# EXCEPTIONS_A_UNIT of its exdates, rdates and overrides (~50 us each: a test skips the
# excluded originals; 999 exdates cost ~0.6 ms). ~0.5 s of CPU at most; past either bound the
# query is refused (403 DAV:number-of-matches-within-limits): more candidates or series than
# the bounds before any is tested, more units when a chunk's rows are read (before it is).
MAX_TESTED = 10_000
EXCEPTIONS_A_UNIT = 100
# Below this many units a chunk is tested on the event loop (~1 ms: less than a thread hop)
INLINE_UNITS = 20
# The text filters of a calendar-query (caldav/textmatch.py) scan at most this many characters
# of the candidates' values in all (a filter its property's values, each candidate; the same
# filter twice once); each value is folded once per collation (~1-7 ns a character) and
# searched (up to ~3 ns a byte for a needle that nearly matches everywhere). The worst query
# accepted, 16 such needles in three collations over 20,000 values of 50 characters (or 100
# of 10,000), costs 0.12-0.24 s of CPU in a worker thread (BENCHMARKS.md, issue #16's
# seventh attack). Past it the query is refused (`too_costly`) before any is scanned. A
# value in i;unicode-casemap counts as long as its fold may be (`textmatch.casemap_size`).
# Clients search one or two properties: 20,000 events' titles and UIDs are ~1.5 million.
MAX_SCANNED = 16_000_000
# ...and the filters run on the event loop only below both of these (~1-2 ms at worst; a
# filter costs ~0.7 us a candidate besides its text): else in a worker thread
INLINE_SCANNED = 100_000
INLINE_KEPT = 200


async def list_items(
    session: AsyncSession,
    user: User,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    caches: Caches | None = None,
    limit: int | None = None,
    keep: Callable[[Item], bool] | None = None,
    weigh: Callable[[Item], int] | None = None,
    zone: str | None = None,
) -> tuple[list[Item], bool]:
    """Every event of the collection, or those with an occurrence overlapping [start, end)
    (an all-day one's days at `zone`'s midnights; None: its own zone's) that `keep` keeps,
    by id: at most `limit` of those, and whether more matched (the filters decide before the
    cut). Items hold the events' heads. A filtered listing past
    MAX_CANDIDATES, MAX_TESTED or MAX_SCANNED (the characters `keep` scans of each candidate,
    by `weigh`) is refused."""
    query = heads(user)
    if end is not None:
        query = query.where(Event.span_start < end)
    if start is not None:
        query = query.where(or_(Event.span_end.is_(None), Event.span_end > start))
    limit = MAX_LISTED if limit is None else limit
    windowed = start is not None or end is not None
    bound = MAX_CANDIDATES if windowed or keep is not None else limit
    listed = query.order_by(Event.id).limit(bound + 1)
    rows: Sequence[Any] = (await session.execute(listed)).all()
    if len(rows) > bound and bound == MAX_CANDIDATES:
        raise too_costly(f"more than {MAX_CANDIDATES} events")
    items = [head_item(row) for row in rows]
    if keep is not None:
        items = await _kept(items, keep, weigh)
    if windowed:
        # the span prunes; each recurring candidate it leaves is checked once (cached per
        # version and window): does an occurrence of it overlap the window?
        items = await _reaching(session, items, (start, end, zone), caches)
    return await with_mine(session, user, items[:limit]), len(items) > limit


async def _kept(
    items: list[Item], keep: Callable[[Item], bool], weigh: Callable[[Item], int] | None
) -> list[Item]:
    """The items `keep` keeps, once what it scans (`weigh`) is known to be within
    MAX_SCANNED; weighed in the worker thread too past INLINE_KEPT candidates (~1-3 us each:
    20,000 held the loop 20-55 ms)."""

    def weighed() -> int:
        scanned = sum(weigh(item) for item in items) if weigh is not None else 0
        if scanned > MAX_SCANNED:
            raise too_costly(f"more than {MAX_SCANNED:,} characters of text")
        return scanned

    def kept() -> list[Item]:
        return [item for item in items if keep(item)]

    def both() -> list[Item]:
        weighed()
        return kept()

    if len(items) > INLINE_KEPT:
        return await asyncio.to_thread(both)
    return await asyncio.to_thread(kept) if weighed() > INLINE_SCANNED else kept()


def too_costly(what: str) -> DavError:
    """A filtered calendar-query that would look at more than it may (MAX_CANDIDATES,
    MAX_TESTED, MAX_SCANNED): refused whole, as RFC 4791 §7.8 lets a server refuse past its
    limits."""
    return DavError(
        403,
        ("DAV:", "number-of-matches-within-limits"),
        f"The query's filter would have to look at {what}; ask for a narrower time range.",
        "too_many_candidates",
    )


async def _reaching(
    session: AsyncSession,
    items: list[Item],
    window: tuple[datetime | None, datetime | None, str | None],
    caches: Caches | None,
) -> list[Item]:
    """The items with an occurrence overlapping the window (start, end, the reader's zone);
    the span prunes, one occurrence decides. Only the series not answered from the cache are
    read whole and expanded."""
    start, end, zone = window
    known: dict[int, bool] = {}
    unknown: list[Item] = []
    single_days: list[Any] = []  # single all-day events, placed below
    for item in items:
        head = item.event
        if not head.is_recurring:
            # the span of a single timed event is the event; an all-day one's reaches
            # every zone's midnights (days.REACH): its days are placed where the reader is
            known[head.id] = True
            if head.all_day:
                single_days.append(head)
            continue
        key = (head.id, head.version, start, end, zone if head.all_day else None)
        found = caches.reach.get(key) if caches else None
        if found is None:
            unknown.append(item)
        else:
            known[head.id] = found
    if single_days:  # ~4 us each: 20,000 held the loop 80 ms
        place = functools.partial(_days_meet, single_days, zone, start, end)
        known |= await asyncio.to_thread(place) if len(single_days) > INLINE_KEPT else place()
    if len(unknown) > MAX_TESTED:  # each costs a unit at least: refused before any is read
        raise too_costly(f"more than {MAX_TESTED} series")
    spent = 0
    for first in range(0, len(unknown), ROWS_CHUNK):  # each chunk's rows built on the loop
        part = unknown[first : first + ROWS_CHUNK]
        loaded = await full_events(session, part)
        for item in part:
            known[item.event.id] = False  # unless found below; gone since it was listed
        events = [event for item in part if (event := loaded.get(item.event.id)) is not None]
        units = sum(_units(event) for event in events)
        spent += units
        if spent > MAX_TESTED:
            raise too_costly(f"series of more than {MAX_TESTED} units of work")
        # what the worker thread tests is copied out of the rows here (the session's objects
        # stay on the loop)
        series = [(content_of(event), event.span_start) for event in events]
        test = functools.partial(_reached, series, start, end, zone)
        reached = test() if units <= INLINE_UNITS else await asyncio.to_thread(test)
        for event, found in zip(events, reached, strict=True):
            known[event.id] = found
            if caches is not None:  # under the version it was found for (see render)
                placed = zone if event.all_day else None
                caches.reach.put((event.id, event.version, start, end, placed), found)
    return [item for item in items if known[item.event.id]]


def _units(event: Event) -> int:
    """What testing the series costs, in MAX_TESTED's units."""
    exceptions = len(event.exdates) + len(event.rdates) + len(event.overrides)
    return 1 + exceptions // EXCEPTIONS_A_UNIT


def _days_meet(
    heads: list[Any], zone: str | None, start: datetime | None, end: datetime | None
) -> dict[int, bool]:
    """Whether each single all-day event's days, from `zone`'s midnights (None: its own
    zone's), overlap the window, by id."""
    met = {}
    for head in heads:
        placed = zone_named(zone or head.timezone)
        first = days.midnight(head.start_date, placed)
        last = days.midnight(head.end_date, placed)
        met[head.id] = (end is None or first < end) and (start is None or last > start)
    return met


def _reached(
    series: list[tuple[Content, datetime]],
    start: datetime | None,
    end: datetime | None,
    zone: str | None,
) -> list[bool]:
    return [_first_occurrence(content, first, start, end, zone) for content, first in series]


def _first_occurrence(
    content: Content,
    first: datetime,
    start: datetime | None,
    end: datetime | None,
    zone: str | None,
) -> bool:
    """Whether the series (an all-day one's days at `zone`'s midnights) has an occurrence
    overlapping the window (from its span's start)."""
    lo = start or first
    hi = end or datetime.max.replace(tzinfo=lo.tzinfo)
    try:
        return bool(recurrence.expand(zoned(series_of(content), zone), lo, hi, limit=1))
    except recurrence.ExpansionLimitExceeded:
        return True
    except OverflowError:
        return True
