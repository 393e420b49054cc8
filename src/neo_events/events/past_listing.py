"""The listing as it would have answered at a past instant (`as_of`, SPEC §6): the events the
caller holds a role on now, each in the state of its last version by then.

Bounded like the live listing (`pages`): keys first, snapshots after. A past version's sort
key, filtered fields and size are read in SQL from its row (`snapshot_bytes`, and the
snapshot's `start_time`, `title`, `description`, `location`), so a page without a window
decodes only the snapshots it holds, at most MAX_PAGE_BYTES of them, whatever the calendar
held. With a window every candidate's content is needed to expand it (a past version has
no span columns to prune by), so that listing is refused past a named bound
(MAX_AS_OF_EVENTS, MAX_AS_OF_BYTES) before anything is decoded, and decodes in chunks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import ValidationFailed
from neo_events.events import listing, search_scan
from neo_events.events.access import Role
from neo_events.events.content import iso, parse_iso
from neo_events.events.expansions import Expansions
from neo_events.fields import bigint
from neo_events.history.service import past_event
from neo_events.models import Event, EventPermission, EventVersion
from neo_events.pages import MAX_PAGE_BYTES, fitting
from neo_events.protocol import cursor_fields, encode_cursor

# A listing with `as_of` reads every event the caller held then: the snapshots of them all
# weigh at most MAX_AS_OF_READ (`_readable`). With a window it expands those the filters
# keep: at most MAX_AS_OF_EVENTS, of at most MAX_AS_OF_BYTES of snapshots. Past either it
# is refused (422 `as_of_too_large`) before a snapshot is decoded. ~0.4 s of CPU at most, in
# chunks of listing.LOAD_CHUNK events between which the event loop runs.
MAX_AS_OF_EVENTS = 1_000
MAX_AS_OF_BYTES = 8 * 1024 * 1024
# ...and every one of them is read in SQL for its sort key and filters: at most this many
# bytes of snapshots in all (~5 ns a byte on PostgreSQL: ~0.15 s).
MAX_AS_OF_READ = 32 * 1024 * 1024


class AsOfTooLarge(ValidationFailed):
    code = "as_of_too_large"
    title = "The calendar as it was is too large to expand"


@dataclass(frozen=True, slots=True)
class PastKey:
    """A held event's last version by the instant: what is known before its snapshot is."""

    id: int
    version: int
    owner_id: int
    size: int  # snapshot_bytes
    role: Role
    is_recurring: bool


def _start_key(text: Any) -> Any:
    """A snapshot's `start_time` (`content.iso`: UTC, `Z`, microseconds only when nonzero) in
    a form that sorts as the instants do: `…:SSZ` becomes `…:SS.000000Z`."""
    return case(
        (func.length(text) == 20, func.substr(text, 1, 19).op("||")(literal(".000000Z"))),
        else_=text,
    )


def start_key(value: datetime) -> str:
    """`_start_key` of an instant, computed here: what a cursor's instant is compared as."""
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _past_texts(filters: listing.Filters) -> list[Any]:
    """The text filters on a past version's snapshot fields (`EventVersion`'s row)."""
    snapshot = EventVersion.snapshot
    return listing.text_conditions(
        filters,
        snapshot["title"].as_string(),
        snapshot["description"].as_string(),
        snapshot["location"].as_string(),
    )


def _past_keys(user_id: int, at: datetime, filters: listing.Filters) -> Select[Any]:
    """The key columns of the last version by `at` of each event the user holds a role on
    now, unless it was a deletion, filtered by role (the text filters are the caller's:
    their reading is bounded, `search_scan`; a snapshot is read whole to compare them, so
    its `snapshot_bytes` is what a search of it reads)."""
    mine = select(EventPermission.event_id).where(EventPermission.user_id == user_id)
    latest = (
        select(EventVersion.event_id, func.max(EventVersion.version).label("version"))
        .where(EventVersion.changed_at <= at, EventVersion.event_id.in_(mine))
        .group_by(EventVersion.event_id)
        .subquery()
    )
    snapshot = EventVersion.snapshot
    return (
        select(
            EventVersion.event_id,
            EventVersion.version,
            Event.owner_id,
            EventVersion.snapshot_bytes,
            EventPermission.role,
            snapshot["is_recurring"].as_boolean().label("is_recurring"),
        )
        .join(
            latest,
            (latest.c.event_id == EventVersion.event_id)
            & (latest.c.version == EventVersion.version),
        )
        .join(Event, Event.id == EventVersion.event_id)
        .join(
            EventPermission,
            (EventPermission.event_id == Event.id) & (EventPermission.user_id == user_id),
        )
        .where(EventVersion.change_type != "deleted", *listing.role_conditions(filters))
    )


def _key_of(row: Any) -> PastKey:
    return PastKey(
        row.event_id,
        row.version,
        row.owner_id,
        row.snapshot_bytes,
        Role(row.role),
        bool(row.is_recurring),
    )


async def _past_events(
    session: AsyncSession, keys: Collection[PastKey]
) -> dict[int, tuple[Event, Role]]:
    """The keys' versions decoded, each as a detached Event (`past_event`) with the role."""
    if not keys:
        return {}
    roles = {key.id: key.role for key in keys}
    rows = await session.execute(
        select(Event, EventVersion)
        .join(EventVersion, EventVersion.event_id == Event.id)
        .where(
            tuple_(EventVersion.event_id, EventVersion.version).in_(
                [(key.id, key.version) for key in keys]
            )
        )  # fmt: skip
    )
    return {event.id: (past_event(event, version), roles[event.id]) for event, version in rows}


async def list_events_as_of(
    session: AsyncSession,
    *,
    user_id: int,
    at: datetime,
    filters: listing.Filters,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Event, Role]], str | None]:
    """`listing.list_events` as it would have answered at `at`: by the past (start_time, id),
    keyset-paginated, a page stopping at MAX_PAGE_BYTES of snapshots like the live one."""
    start = _start_key(EventVersion.snapshot["start_time"].as_string())
    held = _past_keys(user_id, at, filters)
    await _readable(session, held)
    query = held.add_columns(start.label("start"))
    if cursor:
        after_start, after_id = cursor_fields(cursor, ("s", parse_iso), ("i", bigint))
        query = query.where(
            tuple_(start, EventVersion.event_id) > (start_key(after_start), after_id)
        )
    searched = _past_texts(filters)
    scan = None
    if not searched:
        ordered = query.order_by(start, EventVersion.event_id)
        rows = (await session.execute(ordered.limit(limit + 1))).all()
    else:  # read in order up to search_scan.SEARCH_BYTES (see `listing.list_events`)
        order = (start, EventVersion.event_id)
        read = search_scan.in_order(query, order, ("start", "event_id"), "snapshot_bytes")
        that = (EventVersion.event_id == read.c.event_id, EventVersion.version == read.c.version)
        matches = select(EventVersion.id).where(*that, *searched).offset(0).exists()
        scan = search_scan.Scan.of(
            (
                await session.execute(
                    select(read)
                    .where(search_scan.matching_within(read.c.before, matches))
                    .order_by(read.c.start, read.c.event_id)
                    .limit(limit + 1)
                )
            ).all()
        )
        rows = scan.hits
    count = fitting((row.snapshot_bytes for row in rows[:limit]), MAX_PAGE_BYTES)
    keys = [_key_of(row) for row in rows[:count]]
    found = await _past_events(session, keys)
    page = [found[key.id] for key in keys if key.id in found]
    next_cursor = None
    if len(rows) > count and page:
        last = page[-1][0]
        next_cursor = encode_cursor({"s": iso(last.start_time), "i": last.id})
    elif scan is not None and scan.unread is not None:
        next_cursor = scan.cursor_before_unread(parse_iso(scan.unread.start), scan.unread.event_id)
    return page, next_cursor


def past_loader(session: AsyncSession, keys: Collection[PastKey]) -> listing.EventLoader:
    """Loads the listed events as they were (each its key's version), for the expansions the
    cache does not hold and for the objects of a page."""
    by_id = {key.id: key for key in keys}
    loaded: dict[int, Event] = {}  # those expanded are decoded once, not again for the page

    async def load(ids: Collection[int]) -> Mapping[int, Event]:
        wanted = [by_id[i] for i in ids if i in by_id and i not in loaded]
        loaded.update({i: event for i, (event, _) in (await _past_events(session, wanted)).items()})
        return {i: loaded[i] for i in ids if i in loaded}

    return load


async def list_occurrences_as_of(
    session: AsyncSession,
    *,
    user_id: int,
    at: datetime,
    window: listing.Window,
    filters: listing.Filters,
    limit: int,
    cursor: str | None,
    cache: Expansions | None = None,
) -> tuple[list[listing.OccurrenceRow], listing.EventLoader, str | None]:
    """`listing.list_occurrences` as it would have answered at `at`, and a loader of the
    events as they were then (for the page's objects). 422 `as_of_too_large` when more than
    MAX_AS_OF_EVENTS events or MAX_AS_OF_BYTES of snapshots would have to be expanded."""
    held = _past_keys(user_id, at, filters)
    total = await _readable(session, held)
    searched = _past_texts(filters)
    if searched and total > search_scan.SEARCH_BYTES:  # no span: all held then are searched
        everything = "the events you held then (with as_of, a window does not narrow a search)"
        raise search_scan.too_broad(total, everything)
    held = held.where(*searched).limit(MAX_AS_OF_EVENTS + 1)
    keys = [_key_of(row) for row in await session.execute(held)]
    if len(keys) > MAX_AS_OF_EVENTS or sum(key.size for key in keys) > MAX_AS_OF_BYTES:
        raise too_large()
    candidates = [
        listing.Candidate(key.id, key.version, key.owner_id, key.is_recurring, key.role)
        for key in keys
    ]
    load = past_loader(session, keys)
    rows = await listing.expand_all(candidates, window, listing.of_events(load), cache)
    page, next_cursor = listing.paginate_occurrences(rows, limit=limit, cursor=cursor)
    return page, load, next_cursor


async def _readable(session: AsyncSession, held: Select[Any]) -> int:
    """The bytes of the snapshots of the events the user held at the instant (`held`:
    `_past_keys`), read from the version rows before any snapshot is; 422 `as_of_too_large`
    past MAX_AS_OF_READ. A listing with `as_of` reads each one's sort key (or, with a
    window, its filters) from its snapshot: 9,000 events of 44 KB cost PostgreSQL 1.8 s a page
    (a ninth outside attack, 2026-12-05)."""
    weight = func.coalesce(func.sum(EventVersion.snapshot_bytes), 0)
    total: int = await session.scalar(held.with_only_columns(weight)) or 0
    if total > MAX_AS_OF_READ:
        raise too_large(total)
    return total


def too_large(total: int | None = None) -> AsOfTooLarge:
    mib = MAX_AS_OF_BYTES // (1024 * 1024)
    if total is not None:
        return AsOfTooLarge(
            f"The calendar as it was then is too large to list: the events you held then weigh"
            f" {total:,} bytes, and a listing with as_of reads at most"
            f" {MAX_AS_OF_READ // (1024 * 1024)} MiB of past contents. Read an event's own past"
            " (GET /events/{id}?as_of=) or its history.",
            snapshot_bytes=total,
            max_bytes=MAX_AS_OF_READ,
        )
    return AsOfTooLarge(
        "The calendar as it was then is too large to expand: a window listing with as_of"
        f" expands at most {MAX_AS_OF_EVENTS} events of at most {mib} MiB of content in all,"
        " those the filters keep. Narrow it with q, location or role, or list without a window"
        " (paginated)."
    )
