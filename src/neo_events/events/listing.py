"""Listing what a caller can see: events by start, or occurrences inside a window."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import ValidationFailed
from neo_events.events import expansions, recurrence, search_scan, series_rows
from neo_events.events.access import Role, held_probed, visible_events
from neo_events.events.content import content_of, iso, parse_iso, series_of
from neo_events.events.expansions import Expansions
from neo_events.events.series_types import zoned
from neo_events.events.text_search import holds, weight
from neo_events.fields import bigint
from neo_events.models import Event, EventPermission
from neo_events.pages import MAX_PAGE_BYTES, content_bytes, fitting, visible_in_order
from neo_events.protocol import cursor_fields, encode_cursor

MAX_WINDOW = timedelta(days=366)
MAX_OCCURRENCES = 10_000
# The most events a window listing reads (each is expanded unless cached): past it, or past
# MAX_OCCURRENCES single events (an occurrence each), it is refused before any is expanded.
# 120,000 events read into Python before the occurrences' limit refused them held the event
# loop 0.26 s (a ninth outside attack, 2026-12-05).
MAX_WINDOW_EVENTS = 20_000
# Events loaded per query while expanding: a window past the limit is refused after the few
# chunks that reach it, not after loading every event that meets it.
LOAD_CHUNK = 100


class WindowTooLarge(ValidationFailed):
    code = "window_too_large"
    title = "The window is too large"


@dataclass(frozen=True, slots=True)
class Filters:
    q: str | None = None
    location: str | None = None
    role: Role | None = None


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    zone: str | None = None  # where all-day events fall (`timezone=`); None: their own zone

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationFailed.field(["query", "end_time"], "must be after start_time")
        if self.end - self.start > MAX_WINDOW:
            raise WindowTooLarge(
                "A window may span at most 366 days.",
                errors=[{"loc": ["query", "end_time"], "msg": "window longer than 366 days"}],
            )


@dataclass(frozen=True, slots=True)
class Candidate:
    """An event the caller can see that may reach the window: its key and the caller's role,
    which is all the listing needs while the expansion and the event object are cached."""

    id: int
    version: int
    owner_id: int
    is_recurring: bool
    role: Role

    @classmethod
    def of(cls, event: Event, role: Role) -> Candidate:
        return cls(event.id, event.version, event.owner_id, event.is_recurring, role)


@dataclass(frozen=True, slots=True)
class OccurrenceRow:
    event: Candidate
    occurrence: recurrence.Occurrence


# Full rows of the given events, for what the caches do not hold.
EventLoader = Callable[[Collection[int]], Awaitable[Mapping[int, Event]]]


def loader_for(session: AsyncSession) -> EventLoader:
    async def load(ids: Collection[int]) -> Mapping[int, Event]:
        found = await session.execute(select(Event).where(Event.id.in_(list(ids))))
        return {event.id: event for event in found.scalars()}

    return load


# What an expansion needs of each event, by id: its version, owner and recurrence content (as
# `content.series_of` reads it), for what the expansions cache does not hold.
Loaded = tuple[int, int, Mapping[str, Any]]
SeriesLoader = Callable[[Collection[int]], Awaitable[Mapping[int, Loaded]]]


def series_loader_for(session: AsyncSession) -> SeriesLoader:
    """The events' series columns only (`series_rows`), never their texts: a window of 9,000
    events of 44 KB loaded whole rows, 0.9 s of PostgreSQL (a ninth outside attack)."""

    async def load(ids: Collection[int]) -> Mapping[int, Loaded]:
        rows = await series_rows.contents(session, list(ids))
        return {
            i: (version, row["owner_id"], series_rows.decoded(row))
            for i, (version, row) in rows.items()
        }

    return load


def of_events(load: EventLoader) -> SeriesLoader:
    """A SeriesLoader of whole events (a past version's, or one already read)."""

    async def series(ids: Collection[int]) -> Mapping[int, Loaded]:
        events = await load(ids)
        return {i: (e.version, e.owner_id, content_of(e)) for i, e in events.items()}

    return series


def preloaded(events: Iterable[Event]) -> EventLoader:
    by_id = {event.id: event for event in events}

    async def load(ids: Collection[int]) -> Mapping[int, Event]:
        return {i: by_id[i] for i in ids}

    return load


def text_conditions(filters: Filters, title: Any, description: Any, location: Any) -> list[Any]:
    """The text filters (`q`, `location`) as conditions on these columns (an event's, or a
    past version's snapshot fields: `past_listing`), case-insensitive substrings. What they
    may read is bounded by `search_scan`, each byte counted once per form of the text that
    reads it (`text_weight`)."""
    conditions: list[Any] = []
    if filters.q:
        conditions.append(or_(holds(title, filters.q), holds(description, filters.q)))
    if filters.location:
        conditions.append(holds(location, filters.location))
    return conditions


def text_weight(filters: Filters) -> int:
    """What a searched byte counts for against `search_scan.SEARCH_BYTES`: one per Unicode
    form of the text it is compared with (`text_search.forms`)."""
    return weight(filters.q, filters.location)


def role_conditions(filters: Filters) -> list[Any]:
    return [] if filters.role is None else [EventPermission.role == filters.role.value]


async def list_events(
    session: AsyncSession, *, user_id: int, filters: Filters, limit: int, cursor: str | None
) -> tuple[list[tuple[Event, Role]], str | None]:
    """Events ordered by (start_time, id), keyset-paginated: stable while events are added.

    Keys and sizes first, then the full rows of those that fit in MAX_PAGE_BYTES (`pages`):
    a page of large events is shorter than `limit`, its cursor right after its last one. A
    search reads the events' texts in that order up to `search_scan.SEARCH_BYTES`: its page
    holds what matched until then, its cursor continuing where the reading stopped."""
    query = visible_events(user_id).where(*role_conditions(filters))
    after = cursor_fields(cursor, ("s", parse_iso), ("i", bigint)) if cursor else None
    if after:
        query = query.where(tuple_(Event.start_time, Event.id) > after)
    order = (Event.start_time, Event.id)
    searched = text_conditions(filters, Event.title, Event.description, Event.location)
    scan = None
    keys: Sequence[Any]
    if not searched:
        keyed = query.with_only_columns(Event.id, Event.start_time, content_bytes())
        keys = (await session.execute(keyed.order_by(*order).limit(limit + 1))).all()
    else:
        dialect = session.get_bind().dialect.name
        size = (search_scan.searched_bytes(dialect) * text_weight(filters)).label("size")
        held = query.with_only_columns(Event.id, Event.start_time, Event.version, size)
        read = search_scan.in_order(held, order, ("start_time", "id"), "size")
        # OFFSET 0: PostgreSQL would otherwise hash this EXISTS, comparing every event's text
        matches = select(Event.id).where(Event.id == read.c.id, *searched).offset(0).exists()
        size = content_bytes(read.c.id, read.c.version)
        scan = search_scan.Scan.of(
            (
                await session.execute(
                    select(read.c.id, read.c.start_time, read.c.before, size)
                    .where(search_scan.matching_within(read.c.before, matches))
                    .order_by(read.c.start_time, read.c.id)
                    .limit(limit + 1)
                )
            ).all()
        )
        keys = scan.hits
    count = fitting((key[-1] for key in keys[:limit]), MAX_PAGE_BYTES)
    page = await visible_in_order(session, user_id, [key.id for key in keys[:count]])
    next_cursor = None
    if len(keys) > count:
        last = keys[count - 1]
        next_cursor = encode_cursor({"s": iso(last.start_time), "i": last.id})
    elif scan is not None and scan.unread is not None:
        next_cursor = scan.cursor_before_unread(scan.unread.start_time, scan.unread.id)
    return page, next_cursor


async def list_occurrences(
    session: AsyncSession,
    *,
    user_id: int,
    window: Window,
    filters: Filters,
    limit: int,
    cursor: str | None,
    cache: Expansions | None = None,
) -> tuple[list[OccurrenceRow], str | None]:
    """Occurrences overlapping the window, recurring series expanded, ordered by start.

    Only keys are read here; full rows are loaded for expansions the cache does not hold.
    """
    dialect = session.get_bind().dialect.name
    reach = (
        Event.span_start < window.end,
        or_(Event.span_end.is_(None), Event.span_end > window.start),
    )
    roles = role_conditions(filters)
    searched = text_conditions(filters, Event.title, Event.description, Event.location)
    if searched:
        size = {"size": search_scan.searched_bytes(dialect) * text_weight(filters)}
        sized, c = held_probed(dialect, user_id, size, reach, roles)
        await search_scan.within_budget(session, sized, c["size"])
    columns = {"id": Event.id, "version": Event.version, "owner_id": Event.owner_id}
    columns["is_recurring"] = Event.is_recurring
    keyed, _ = held_probed(dialect, user_id, columns, (*reach, *searched), roles)
    found = (await session.execute(keyed.limit(MAX_WINDOW_EVENTS + 1))).all()
    if len(found) > MAX_WINDOW_EVENTS:
        raise too_many_events()
    if sum(not row.is_recurring for row in found) > MAX_OCCURRENCES:  # one occurrence each
        raise too_many_occurrences()
    candidates = [
        Candidate(row.id, row.version, row.owner_id, row.is_recurring, Role(row.role))
        for row in found
    ]
    rows = await expand_all(candidates, window, series_loader_for(session), cache)
    return paginate_occurrences(rows, limit=limit, cursor=cursor)


async def expand_all(
    candidates: Iterable[Candidate],
    window: Window,
    load: SeriesLoader,
    cache: Expansions | None = None,
) -> list[OccurrenceRow]:
    """Every occurrence of the candidates in the window; 422 past MAX_OCCURRENCES in all.

    Expansions are cached by (event, version, window): a version names one content.
    """
    found: list[tuple[Candidate, tuple[recurrence.Occurrence, ...]]] = []
    missing: list[Candidate] = []
    total = 0  # occurrences so far: each expansion may add only what is left of the limit
    candidates = list(candidates)
    span = _span(window)
    hits = cache.get_many((c.id, c.version, *span) for c in candidates) if cache else None
    for candidate, hit in zip(candidates, hits or [None] * len(candidates), strict=True):
        if hit is None:
            missing.append(candidate)
        else:
            found.append((candidate, hit))
            total += len(hit)
    if total > MAX_OCCURRENCES:
        raise too_many_occurrences()
    # a series an earlier read built (of this version) is expanded without its content: a
    # new window of 500 series of 500 exceptions each read and parsed them all again, 0.4-0.6 s
    # (a single event's is never kept: `_expand_chunk`)
    kept = (c for c in missing if c.is_recurring)
    known = expansions.known_series(cache, ((c.id, c.version) for c in kept))
    unknown = []
    for candidate in missing:
        if (series := known.get(candidate.id)) is None:
            unknown.append(candidate)
        else:
            total = _expand_one(candidate, series, window, total, found, cache)
    missing = unknown
    for first in range(0, len(missing), LOAD_CHUNK):
        chunk = missing[first : first + LOAD_CHUNK]
        total = _expand_chunk(chunk, await load([c.id for c in chunk]), window, total,
                                    found, cache)  # fmt: skip
    return [OccurrenceRow(c, occurrence) for c, expansion in found for occurrence in expansion]


def _expand_chunk(
    chunk: Sequence[Candidate],
    loaded: Mapping[int, Loaded],
    window: Window,
    total: int,
    found: list[tuple[Candidate, tuple[recurrence.Occurrence, ...]]],
    cache: Expansions | None,
) -> int:
    """Expand one chunk of loaded candidates into `found`; the new total, or 422 past the
    limit. A candidate is as loaded (its version, owner, whether it recurs), which may be
    newer than when the candidates were read."""
    for candidate in chunk:
        if (this := loaded.get(candidate.id)) is None:
            continue  # deleted since the candidates were read
        version, owner_id, content = this
        series = series_of(content)
        recurring = bool(content["is_recurring"])
        if cache is not None and recurring:  # (a single event is quick to build)
            expansions.keep_series(cache, (candidate.id, version), series)
        now = Candidate(candidate.id, version, owner_id, recurring, candidate.role)
        total = _expand_one(now, series, window, total, found, cache)
    return total


def _expand_one(
    candidate: Candidate,
    series: recurrence.Series,
    window: Window,
    total: int,
    found: list[tuple[Candidate, tuple[recurrence.Occurrence, ...]]],
    cache: Expansions | None,
) -> int:
    """`_expand_chunk` of one candidate whose series (in its own zone) is known."""
    series = zoned(series, window.zone)  # an all-day one: the viewer's days (`timezone=`)
    try:
        expansion = tuple(
            recurrence.expand(series, window.start, window.end, limit=MAX_OCCURRENCES - total)
        )
    except recurrence.ExpansionLimitExceeded:
        raise too_many_occurrences() from None
    if cache is not None:
        cache.put((candidate.id, candidate.version, *_span(window)), expansion)
    found.append((candidate, expansion))
    return total + len(expansion)  # within the limit: each expansion gets only what is left


def _span(window: Window) -> tuple[datetime, datetime, str | None]:
    """What of a window names an expansion of it in the cache, beside (event, version)."""
    return window.start, window.end, window.zone


def too_many_events() -> WindowTooLarge:
    return WindowTooLarge(
        f"More than {MAX_WINDOW_EVENTS:,} events reach this window; ask for a shorter one."
    )


def too_many_occurrences() -> WindowTooLarge:
    return WindowTooLarge(
        f"This window holds more than {MAX_OCCURRENCES} occurrences; ask for a shorter one."
    )


def paginate_occurrences(
    rows: list[OccurrenceRow], *, limit: int, cursor: str | None
) -> tuple[list[OccurrenceRow], str | None]:
    rows = sorted(rows, key=_order)
    first = 0
    if cursor:
        after = cursor_fields(cursor, ("s", parse_iso), ("i", bigint), ("r", parse_iso))
        first = bisect_right(rows, after, key=_order)
    page = rows[first : first + limit]
    next_cursor = None
    if len(rows) - first > limit:
        last = page[-1]
        next_cursor = occurrence_cursor(last.event.id, last.occurrence)
    return page, next_cursor


def occurrence_cursor(event_id: int, occurrence: recurrence.Occurrence) -> str:
    """The cursor of the page that continues after this occurrence of this event (in the
    order of `_order`); pages cut short by size (occurrence_pages) end with it too."""
    return encode_cursor(
        {"s": iso(occurrence.start), "i": event_id, "r": iso(occurrence.recurrence_id)}
    )


def _order(row: OccurrenceRow) -> tuple[datetime, int, datetime]:
    return (row.occurrence.start, row.event.id, row.occurrence.recurrence_id)
