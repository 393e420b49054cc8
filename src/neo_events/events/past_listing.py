"""The listing as it would have answered at a past instant (`as_of`, SPEC §6): the events the
caller holds a role on now, each in the state of its last version by then.

Bounded like the live listing (`pages`): keys first, snapshots after. Each held event's last
version by the instant is found by walking its versions' index back from the newest, and
its sort key and size are columns of that row (`start_key`, `snapshot_bytes`), so a page
without a window reads no snapshot but those it holds, at most MAX_PAGE_BYTES of them; a
search compares the texts of a bounded part (`search_scan`). Every held event is looked
at, so a caller who holds more than MAX_AS_OF_HELD is refused. With a window every
candidate's content is needed to expand it (a past version has no span columns to prune
by), so that listing is refused past a named bound (MAX_AS_OF_EVENTS, MAX_AS_OF_BYTES)
before anything is decoded, and decodes in chunks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, func, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events.errors import ValidationFailed
from neo_events.events import listing, search_scan
from neo_events.events.access import Role
from neo_events.events.content import iso, parse_iso
from neo_events.events.expansions import Expansions
from neo_events.fields import bigint
from neo_events.history.service import past_event
from neo_events.history.versions import start_key
from neo_events.models import Event, EventPermission, EventVersion
from neo_events.pages import MAX_PAGE_BYTES, fitting
from neo_events.protocol import cursor_fields, encode_cursor

# A listing with `as_of` looks at every event the caller holds and did not see deleted by
# then (its last version by then, its sort key and size: 3-4 µs an event on PostgreSQL,
# 10,000 held 0.06 s a page), and steps over every version made since (an index entry each
# on PostgreSQL, a row on SQLite: 2,000 held events of 1,000 later versions each cost 0.18-0.2
# s, an outside review; a known gap, SECURITY.md): at most MAX_AS_OF_HELD events, counted
# first (`_held_within`). With a window it expands those the filters keep: at most
# MAX_AS_OF_EVENTS, of at most MAX_AS_OF_BYTES of snapshots. Past any of them it is refused
# (422 `as_of_too_large`) before a snapshot is decoded. ~0.4 s of CPU at most, in chunks of
# listing.LOAD_CHUNK events between which the event loop runs.
MAX_AS_OF_HELD = 10_000
MAX_AS_OF_EVENTS = 1_000
MAX_AS_OF_BYTES = 8 * 1024 * 1024


class AsOfTooLarge(ValidationFailed):
    code = "as_of_too_large"
    title = "The calendar as it was is too large to read"


@dataclass(frozen=True, slots=True)
class PastKey:
    """A held event's last version by the instant: what is known before its snapshot is."""

    id: int
    version: int
    size: int  # snapshot_bytes
    role: Role


def _past_texts(filters: listing.Filters) -> list[Any]:
    """The text filters on a past version's snapshot fields (`EventVersion`'s row)."""
    snapshot = EventVersion.snapshot
    return listing.text_conditions(
        filters,
        snapshot["title"].as_string(),
        snapshot["description"].as_string(),
        snapshot["location"].as_string(),
    )


_EARLIER = aliased(EventVersion, name="earlier")  # the versions a held event's last is found in


def _past_keys(dialect: str, user_id: int, at: datetime, filters: listing.Filters) -> Subquery:
    """The last version by `at` of each event the user holds a role on now, unless it was a
    deletion, filtered by role: `event_id`, `role`, `version_id`, `version`,
    `snapshot_bytes` and the sort key `start` (the text filters are the caller's: their
    reading is bounded, `search_scan`; a snapshot is read whole to compare them, so its
    `snapshot_bytes` is what a search of it reads). Only grants `_held_by` keeps.

    For each held event, its versions are walked backward from the newest, by the
    `(event_id, version)` index, to the first one made by `at`: the walk steps over every
    version made after `at` (in the index alone on PostgreSQL, which carries `changed_at` and
    `id` since migration 0021; on SQLite each step reads the version's row). Grouping every
    version of every held event, as before, read them all. On PostgreSQL it is a LATERAL
    subquery, so that the plan cannot be anything but that walk (as a join condition the
    planner hashed every version of every event); the version's row is then read by its id."""
    earlier = (
        select(_EARLIER.id)
        .where(_EARLIER.event_id == EventPermission.event_id, _EARLIER.changed_at <= at)
        .order_by(_EARLIER.version.desc())
        .limit(1)
    )
    keys = select(
        EventPermission.event_id,
        EventPermission.role,
        EventVersion.id.label("version_id"),
        EventVersion.version,
        EventVersion.snapshot_bytes,
        EventVersion.start_key.label("start"),
    ).select_from(EventPermission)
    if dialect == "postgresql":
        last = earlier.lateral("last")
        keys = keys.join(last, true()).join(EventVersion, EventVersion.id == last.c.id)
    else:
        keys = keys.join(EventVersion, EventVersion.id == earlier.scalar_subquery())
    kept = (*_held_by(user_id, at), *listing.role_conditions(filters))
    return keys.where(*kept, EventVersion.change_type != "deleted").subquery("past")


def _held_by(user_id: int, at: datetime) -> tuple[Any, ...]:
    """The user's grants on events that were not deleted by `at`: a grant on a deleted event
    stays (`EventPermission.live` false) and counts only if the deletion came after `at`
    (its event's row probed, from the index that carries `deleted_at`). Without this,
    anyone could share 10,000 events with a user and delete them, and that user's listing
    with `as_of` would be refused from then on (an outside review, 2026-12-05)."""
    alive_then = (
        select(Event.id).where(Event.id == EventPermission.event_id, Event.deleted_at > at).exists()
    )
    return (EventPermission.user_id == user_id, or_(EventPermission.live, alive_then))


def _key_of(row: Any) -> PastKey:
    return PastKey(row.event_id, row.version, row.snapshot_bytes, Role(row.role))


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
    await _held_within(session, user_id, at)
    past = _past_keys(session.get_bind().dialect.name, user_id, at, filters)
    query = select(past)
    if cursor:
        after_start, after_id = cursor_fields(cursor, ("s", parse_iso), ("i", bigint))
        query = query.where(
            tuple_(past.c.start, past.c.event_id) > (start_key(iso(after_start)), after_id)
        )
    searched = _past_texts(filters)
    scan = None
    if not searched:
        ordered = query.order_by(past.c.start, past.c.event_id)
        rows = (await session.execute(ordered.limit(limit + 1))).all()
    else:  # read in order up to search_scan.SEARCH_BYTES (see `listing.list_events`)
        order = (past.c.start, past.c.event_id)
        searched_size = (past.c.snapshot_bytes * listing.text_weight(filters)).label("searched")
        query = query.add_columns(searched_size)
        read = search_scan.in_order(query, order, ("start", "event_id"), "searched")
        that = EventVersion.id == read.c.version_id
        matches = select(EventVersion.id).where(that, *searched).offset(0).exists()
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
    await _held_within(session, user_id, at)
    past = _past_keys(session.get_bind().dialect.name, user_id, at, filters)
    searched = _past_texts(filters)
    if searched:  # no span: all held then are searched
        weight = func.coalesce(func.sum(past.c.snapshot_bytes), 0) * listing.text_weight(filters)
        total: int = await session.scalar(select(weight)) or 0
        if total > search_scan.SEARCH_BYTES:
            everything = "the events you held then (with as_of, a window does not narrow a search)"
            raise search_scan.too_broad(total, everything)
    held = select(past)
    if searched:  # their texts compared: at most SEARCH_BYTES of them (above)
        held = held.join(EventVersion, EventVersion.id == past.c.version_id).where(*searched)
    found = (await session.execute(held.limit(MAX_AS_OF_EVENTS + 1))).all()
    keys = [_key_of(row) for row in found]
    if len(keys) > MAX_AS_OF_EVENTS or sum(key.size for key in keys) > MAX_AS_OF_BYTES:
        raise too_large()
    # Only now is a snapshot opened, of those within the bounds (a boolean read from each
    # detoasts it whole: 300 held of 1 MB cost 125 ms before the refusal, an outside review).
    recurring = EventVersion.snapshot["is_recurring"].as_boolean()
    kinds = {
        row.event_id: (row.owner_id, bool(row.is_recurring))
        for row in await session.execute(
            select(Event.id.label("event_id"), Event.owner_id, recurring.label("is_recurring"))
            .join(EventVersion, EventVersion.event_id == Event.id)
            .where(EventVersion.id.in_([row.version_id for row in found]))
        )
    }
    candidates = [listing.Candidate(key.id, key.version, *kinds[key.id], key.role) for key in keys]
    load = past_loader(session, keys)
    rows = await listing.expand_all(candidates, window, listing.of_events(load), cache)
    page, next_cursor = listing.paginate_occurrences(rows, limit=limit, cursor=cursor)
    return page, load, next_cursor


async def _held_within(session: AsyncSession, user_id: int, at: datetime) -> None:
    """422 `as_of_too_large` if the user holds a role on more than MAX_AS_OF_HELD events not
    deleted by `at` (`_held_by`, as the listing looks at them): counted on the grants'
    index, at most that many + 1. Every one would be looked at: 30,000 held events cost
    PostgreSQL 0.8 s a page before migration 0021 (2026-12-05)."""
    mine = select(EventPermission.event_id).where(*_held_by(user_id, at))
    held = select(func.count()).select_from(mine.limit(MAX_AS_OF_HELD + 1).subquery())
    if (await session.scalar(held) or 0) > MAX_AS_OF_HELD:
        raise AsOfTooLarge(
            f"The calendar as it was then is too large to list: you hold a role on more than"
            f" {MAX_AS_OF_HELD:,} events, and a listing with as_of looks at each of them. Read"
            " an event's own past (GET /events/{id}?as_of=) or its history.",
            max_events_held=MAX_AS_OF_HELD,
        )


def too_large() -> AsOfTooLarge:
    mib = MAX_AS_OF_BYTES // (1024 * 1024)
    return AsOfTooLarge(
        "The calendar as it was then is too large to expand: a window listing with as_of"
        f" expands at most {MAX_AS_OF_EVENTS} events of at most {mib} MiB of content in all,"
        " those the filters keep. Narrow it with q, location or role, or list without a window"
        " (paginated)."
    )
