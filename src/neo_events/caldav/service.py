"""The calendar collection of one user: every live event they hold a role on, read through the
same access query as the API (events/access.py); listing it, whole or by a calendar-query's
time range within a budget, is in caldav/listing.py, writes in caldav/writes.py, the sync
token and CTag in caldav/sync.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    exists,
    false,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events import timezones
from neo_events.caldav import resources
from neo_events.caldav.resources import Stored
from neo_events.events.access import Role, visible_events
from neo_events.events.content import content_of
from neo_events.ical import codec
from neo_events.ical.people import Attendance
from neo_events.ical.service import Answers, answers_of, people_of, people_tag
from neo_events.infra.cache import LruCache
from neo_events.models import (
    CalendarResource,
    Event,
    EventPermission,
    User,
)
from neo_events.reminders.service import my_reminders

# Each whole-calendar read is bounded by what its worst page costs (issue #16; the figures
# measured on the 2-core machine are in BENCHMARKS.md, "Whole-calendar reads bounded"). A
# resource rendered from the model costs ~1 ms of CPU (icalendar; cached per worker after),
# a listed ETag ~30 µs.
# Events in one sync-collection answer; more continue with a 507 for the collection and a
# token that resumes after the last one (RFC 6578 §3.6). Clients follow the tokens (the
# `caldav` library up to 100 pages), so a page is sized by cost: ETags only, as clients ask...
SYNC_PAGE = 1_000
# ...and with calendar-data, a few rendered bodies, and no more than 1 MiB of their content
# (an event's JSON: 1,000 short overrides are 60 KB of it and 300 KB of iCalendar): a page of
# 45 such events had cost 17 s of CPU (an outside attack, 2026-12-04); the first always comes
# whole. People and their answers render to more than the content says (up to the 4 MB of
# `sizes.MAX_RENDERED_BYTES` an event), which this budget does not weigh.
SYNC_DATA_PAGE = 100
SYNC_DATA_PAGE_BYTES = 1024 * 1024
# hrefs in one calendar-multiget (403 DAV:number-of-matches-within-limits past it). DAVx5 asks
# for 10 to 30 at a time, Evolution 100; vdirsyncer and the `caldav` library ask for every
# changed item at once (the library falls back to one GET each when refused; vdirsyncer has
# no fallback: its first sync of a calendar larger than this fails). So the bound is set by
# the clients, not by cost: 5,000 first renders cost seconds of CPU, in a worker thread
# (never on the event loop), once — the texts are cached per worker after.
MAX_MULTIGET = 5_000
CACHE_SIZE = 4_096  # rendered resources (a few KiB each) and window answers per worker
# ...and at most this many bytes of rendered resources per worker: an event renders to up to
# ~4-5 MB (`sizes.MAX_RENDERED_BYTES`, its people estimated), an expanded one to up to
# MAX_ANSWER_BYTES per window asked, and each window asked is a new entry (one user's twelve
# windows of one event took a worker from 0.9 to 2.2 GB, an outside attack, 2026-12-04).
CACHE_BYTES = 64 * 1024 * 1024
# The calendar-data of one answer (PROPFIND, calendar-query, calendar-multiget), as
# iCalendar, before XML escapes it: a listing past it ends with a 507 for the collection (as
# past MAX_RENDERED items), a multiget is refused, an expansion too; the first resource always
# comes whole. 30 series of ~6 MB each were one 430 MB answer (3.7 s of the event loop).
MAX_ANSWER_BYTES = 16 * 1024 * 1024
# The generation of the texts the collection renders: bump it in a release that renders an
# unchanged event otherwise (its people's addresses, its alarms, its times). An ETag is made
# of the event's data, not its text, so without it a client keeps the old text; with it every
# ETag and the CTag change, and a sync token of another generation is refused with
# DAV:valid-sync-token, so clients sync from scratch and fetch the new texts (RFC 6578 §3.2).
# The mark carries the zone rules too (`generation_mark`).
# `tests/caldav/test_render_generation.py` pins the texts of a set of events to this value.
# 2 (2026-12-07): a stored text whose ORGANIZER or ATTENDEE lines end in CR, or have a folded
# name, is rendered from the event (it was served as written, its writer's people with it);
# a reader's alarms go before END:VEVENT lines only (they went inside a value holding U+2028).
RENDER_GENERATION = 2


def generation_mark() -> str:
    """What ETags, the CTag and sync tokens carry of the texts' generation: RENDER_GENERATION
    and the zone rules they are rendered with (`timezones.RULES_VERSION`: a VTIMEZONE, and
    a zone's times, are rendered anew when the rules change)."""
    return f"g{RENDER_GENERATION}-{timezones.RULES_VERSION}"


@dataclass(frozen=True, slots=True)
class Caches:
    """Content-addressed answers (infra/cache.py): a resource's text by (event, version, stored
    text's time, expand window, the reader's reminders, the event's people and answers, for
    the series and per occurrence),
    whether a series reaches a window by (event, version, window)."""

    texts: LruCache[bytes]
    reach: LruCache[bool]

    @classmethod
    def new(cls, lookup: Callable[[str, bool, int], None]) -> Caches:
        """A serving's caches, empty (made by the lifespan); `lookup` counts hits and misses."""
        texts: LruCache[bytes] = LruCache(
            "caldav_texts", size=CACHE_SIZE, on_lookup=lookup, max_bytes=CACHE_BYTES, weigh=len
        )
        return cls(texts, LruCache("caldav_reach", size=CACHE_SIZE * 4, on_lookup=lookup))

    @staticmethod
    def of(state: Any) -> Caches:
        """The serving's caches."""
        found: Caches = state.caldav_caches
        return found


class DavError(Exception):
    """A CalDAV refusal: a status and the DAV/CalDAV precondition element that failed."""

    def __init__(
        self, status: int, condition: tuple[str, str] | None, detail: str, code: str
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.condition = condition
        self.detail = detail
        self.code = code


@dataclass(frozen=True, slots=True)
class Head:
    """The columns of an event that listing the collection needs (ETags, last-modified, the
    model's text properties): reading these instead of whole rows is most of what a month's
    calendar-query costs (BENCHMARKS.md, "CalDAV"). The content (recurrence, overrides) is read
    only for the items whose answer is not cached yet (`full_events`); a single all-day event's
    days are here (a time range places them where the reader is: caldav/listing.py)."""

    id: int
    version: int
    title: str
    description: str | None
    location: str | None
    is_recurring: bool
    created_at: datetime
    updated_at: datetime
    all_day: bool
    start_date: date | None
    end_date: date | None
    timezone: str


HEAD_COLUMNS = (
    Event.id,
    Event.version,
    Event.title,
    Event.description,
    Event.location,
    Event.is_recurring,
    Event.created_at,
    Event.updated_at,
    Event.all_day,
    Event.start_date,
    Event.end_date,
    Event.timezone,
)


@dataclass(slots=True)
class Item:
    """One event of the collection, as the caller sees it: the whole row, or only its head
    (a listing) until its content is needed."""

    event: Event | Head
    role: Role
    stored: Stored | None
    stamp: datetime | None = None  # when the stored text last changed
    # another event of the reader's calendar has the client's name or UID too, and goes first
    # (`_SHADOWED`): this one is served under its own `event-{id}.ics` and UID to this reader
    shadowed: bool = False
    mine: tuple[int, ...] = ()  # the reader's own reminders (minutes before): VALARMs (SPEC §14)
    people: tuple[Attendance, ...] = ()  # organizer and attendees: ORGANIZER, ATTENDEE (§13)
    answers: Answers = field(default_factory=dict)  # per-occurrence answers (ical/service.py)

    @property
    def name(self) -> str:
        if self.stored is None or self.shadowed:
            return resources.default_name(self.event.id)
        return self.stored.name

    @property
    def uid(self) -> str:
        if self.stored is None or self.shadowed:
            return resources.default_uid(self.event.id)
        return self.stored.uid

    @property
    def etag(self) -> str:
        """The version (and stored text's time); invitations, answers and the reader's own
        reminders change the text without a new version, so they are part of it (the .ics
        export's people_tag)."""
        tag = str(self.event.version)
        if self.stored is not None and self.stamp is not None:
            tag += f"-{int(self.stamp.timestamp() * 1000)}"
        if self.shadowed:
            tag += "-u"
        if self.mine or self.people:
            tag += f"-{people_tag(self.people, self.mine, self.answers)}"
        if mark := generation_mark():
            tag += f"-{mark}"
        return f'"{tag}"'

    def outgoing(self, event: Event) -> codec.Outgoing:
        """The resource's event for the codec, from the item's whole row."""
        return codec.Outgoing(
            uid=self.uid,
            sequence=event.version - 1,
            created=event.created_at,
            last_modified=event.updated_at,
            content=content_of(event),
            people=self.people,
            reminders=self.mine,
            answers=self.answers,
        )

    @property
    def answers_key(self) -> tuple[tuple[datetime, tuple[tuple[str, str], ...]], ...]:
        """The per-occurrence answers as a cache key."""
        return tuple((rid, tuple(sorted(a.items()))) for rid, a in sorted(self.answers.items()))


Row = tuple[Event, str, str | None, str | None, datetime | None]


Columns = TypeVarTuple("Columns")


def with_resources(
    query: Select[*Columns], user_id: int
) -> Select[*Columns, str | None, str | None, datetime | None, bool]:
    """The query's rows, each followed by its resource's name, UID and text's time (or Nones:
    an event made through the API has no resource row until a client writes it), and whether
    the name or UID is `_SHADOWED` in the user's calendar."""
    return (
        query.add_columns(
            CalendarResource.name, CalendarResource.uid, CalendarResource.updated_at, _SHADOWED
        )
        .outerjoin(CalendarResource, CalendarResource.event_id == Event.id)
        .params(shadow_reader=user_id)
    )


def _sharing(column: str) -> ColumnElement[bool]:
    """Whether another live event the reader (`shadow_reader`) holds a role on has the
    resource's `column` (name or UID) and goes first (`_SHADOWED`): one index probe."""
    other, grant, first = aliased(CalendarResource), aliased(EventPermission), aliased(Event)
    reader = bindparam("shadow_reader", type_=Integer)
    mine, made_here = first.created_by_id == reader, Event.created_by_id == reader
    return exists().where(
        getattr(other, column) == getattr(CalendarResource, column),
        other.event_id != CalendarResource.event_id,
        grant.event_id == other.event_id,
        grant.user_id == reader,
        first.id == other.event_id,
        first.deleted_at.is_(None),
        or_(and_(mine, ~made_here), and_(first.id < Event.id, or_(mine, ~made_here))),
    )


# Whether another live event of the reader's calendar has the resource's name or UID too,
# and goes first: one the reader's own app made before one someone else's did, else the
# older. A name and a UID are checked against their writer's calendar only (checking
# everyone's would tell whether someone else holds such an event), so two people's apps may
# give their events one name or UID (the `caldav` library names a resource after its UID),
# and a share then puts both in one calendar: there the one that does not go first is served
# under its own name and UID (`Item.name`, `Item.uid`), so that no calendar holds one twice
# (RFC 4791 §5.3.2.1). An event made through the API has no resource row: nothing to probe.
# Built once (aliases made per call made every listing compile its statement anew).
_SHADOWED = case(
    (CalendarResource.event_id.is_(None), false()), else_=or_(_sharing("uid"), _sharing("name"))
)


def item_of(row: Any) -> Item:
    event, role, name, uid, stamp, shadowed = row
    return Item(event, Role(role), _stored(name, uid), stamp, shadowed=bool(shadowed))


async def with_mine(session: AsyncSession, user: User, items: list[Item]) -> list[Item]:
    """The items, each with the reader's own reminders and the event's organizer, attendees
    and per-occurrence answers as the .ics export names them (ical/service.py people_of,
    answers_of; in chunks of ids)."""
    ids = [item.event.id for item in items]
    found: dict[int, list[int]] = {}
    people: dict[int, list[Attendance]] = {}
    answers: dict[int, Answers] = {}
    for chunk in range(0, len(ids), FULL_CHUNK):
        found |= await my_reminders(session, user.id, ids[chunk : chunk + FULL_CHUNK])
        people |= await people_of(session, ids[chunk : chunk + FULL_CHUNK], user.id)
    invited = [i for i in ids if i in people]  # only an invitation has answers
    for chunk in range(0, len(invited), FULL_CHUNK):
        answers |= await answers_of(session, invited[chunk : chunk + FULL_CHUNK], user.id)
    for item in items:
        item.mine = tuple(found.get(item.event.id, ()))
        item.people = tuple(people.get(item.event.id, ()))
        item.answers = answers.get(item.event.id, {})
    return items


def heads(user: User) -> Select[*tuple[Any, ...]]:
    """The heads of the collection's events (HEAD_COLUMNS, the role, the resource's name, UID
    and text's time): what a listing reads, each row an item by `head_item`."""
    query = visible_events(user.id).with_only_columns(*HEAD_COLUMNS, EventPermission.role)
    return with_resources(query, user.id)


def head_item(row: Any) -> Item:
    n = len(HEAD_COLUMNS)
    stored = _stored(row[n + 1], row[n + 2])
    return Item(Head(*row[:n]), Role(row[n]), stored, row[n + 3], shadowed=bool(row[n + 4]))


def _stored(name: str | None, uid: str | None) -> Stored | None:
    return Stored(name, uid, None) if name is not None and uid is not None else None


async def full_events(session: AsyncSession, items: Sequence[Item]) -> dict[int, Event]:
    """The whole rows of the items' events, by id (those an item holds already are reused).
    A deletion leaves a tombstone, so each is found; on PostgreSQL (READ COMMITTED) a row may
    be at a later version than the head it was listed with."""
    found = {item.event.id: item.event for item in items if isinstance(item.event, Event)}
    missing = [item.event.id for item in items if item.event.id not in found]
    for chunk in range(0, len(missing), ROWS_CHUNK):
        ids = missing[chunk : chunk + ROWS_CHUNK]
        rows = await session.scalars(select(Event).where(Event.id.in_(ids)))
        found.update((event.id, event) for event in rows)
    return found


FULL_CHUNK = 1_000  # ids in one IN (...) list: below SQLite's bound-parameter limit
# Whole event rows read at once: the ORM builds them on the event loop, ~0.1 ms a row with its
# JSON columns (1,000 at once held the loop ~0.15 s); the loop runs others between chunks.
ROWS_CHUNK = 200


def named_or_numbered(resources: ColumnElement[bool], event_ids: Sequence[int]) -> Any:
    """Events whose resource row is one of `resources`, or whose id is one of `event_ids`:
    their ids as a UNION ALL of two index lookups. (A condition on the resource OR one on
    the event made PostgreSQL read every event there is: a multiget or a new resource's
    UID check of a user holding 2,000 events among 100,000 took 17-29 ms, 0.04-0.2 ms now.)"""
    named = select(CalendarResource.event_id).where(resources)
    numbered = select(Event.id).where(Event.id.in_(list(event_ids)))
    return Event.id.in_(union_all(named, numbered))


async def items_named(session: AsyncSession, user: User, names: Sequence[str]) -> dict[str, Item]:
    """The collection's items among `names` (others are absent: unknown, not the user's, or
    a name no resource can have)."""
    wanted = {name for name in names if resources.storable(name)}
    by_default = [event_id for name in wanted if (event_id := default_id(name)) is not None]
    query = with_resources(visible_events(user.id), user.id).where(
        named_or_numbered(CalendarResource.name.in_(list(wanted)), by_default)
    )
    found: dict[str, Item] = {}
    for row in (await session.execute(query.order_by(Event.id))).all():
        item = item_of(row)
        if item.name in wanted:
            found.setdefault(item.name, item)
    await with_mine(session, user, list(found.values()))
    return found


def default_id(name: str) -> int | None:
    if not (name.startswith("event-") and name.endswith(".ics")):
        return None
    digits = name[len("event-") : -len(".ics")]
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None
    return int(digits)
