"""Event objects as clients read them: the row plus role, permissions and user names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events import db
from neo_events.events.access import Role
from neo_events.events.content import parse_iso
from neo_events.events.days import parse_day
from neo_events.events.listing import EventLoader
from neo_events.events.schemas import (
    AttendeeRead,
    EventRead,
    OverrideRead,
    PermissionRead,
    ResponseName,
    UserRef,
)
from neo_events.infra.cache import LruCache
from neo_events.models import Attendee, Event, EventPermission, User
from neo_events.reminders.schemas import ReminderRead
from neo_events.reminders.service import my_reminders


async def usernames(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    named = select(User.id, User.username).where(_one_of(session, User.id))
    rows = await session.execute(named, {"ids": list(wanted)})
    return {row.id: row.username for row in rows}


def _one_of(session: AsyncSession, column: Any) -> Any:
    """`column` is one of the `ids` parameter (`db.one_of`): a page's reads are prepared once
    on PostgreSQL whatever their count, not rendered and prepared again for each count."""
    return db.one_of(session.get_bind().dialect.name, column, "ids")


async def event_reads(
    session: AsyncSession,
    pairs: Sequence[tuple[Event, Role]],
    viewer_id: int | None = None,
    mine: Mapping[int, list[int]] | None = None,
) -> list[EventRead]:
    """Event objects for (event, caller's role) pairs, in two queries whatever their number
    (a third for `my_reminders` when the caller, `viewer_id`, is given, unless the caller
    already read them: `mine`)."""
    if not pairs:
        return []
    named = (uid for event, _ in pairs for uid in _named_by(event))
    permissions, refs = await _permissions(session, [event.id for event, _ in pairs], named)
    reads = [_event_read(event, role, permissions.get(event.id, []), refs) for event, role in pairs]
    attendees = await attendee_reads(session, [read.id for read in reads])
    for read in reads:
        read.attendees = attendees.get(read.id, [])
        read.my_response = my_response(read.attendees, viewer_id)
    if viewer_id is not None:
        if mine is None:
            mine = await my_reminders(session, viewer_id, [read.id for read in reads])
        for read in reads:
            read.my_reminders = [ReminderRead(minutes_before=m) for m in mine.get(read.id, [])]
    return reads


def new_event_reads(events: Sequence[Event], owner: UserRef) -> list[EventRead]:
    """Event objects for events the owner has just created: their one grant and every name
    they show are the owner's, so nothing is read back."""
    refs = {owner.id: owner}
    return [
        _event_read(
            event,
            Role.OWNER,
            [
                PermissionRead(
                    user_id=owner.id,
                    username=owner.username,
                    role=Role.OWNER,
                    granted_by=owner,
                    granted_at=event.created_at,
                )
            ],
            refs,
        )
        for event in events
    ]


class EventKey(Protocol):
    """What names an event object's cached part, and the caller's role on it."""

    @property
    def id(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def owner_id(self) -> int: ...
    @property
    def role(self) -> Role: ...


EventObjects = LruCache[dict[str, Any]]


def object_bytes(content: Mapping[str, Any]) -> int:
    """About the memory an event object's cached part holds, for the cache's bound in bytes
    (`EVENT_OBJECT_CACHE_BYTES`): three times its JSON (tracemalloc of decoded objects: 1.0×
    for an event of long texts, 2.6-3.0× for one of many small exceptions, 4-6× for a small
    event, which the 500 covers), so 5,000 events of a megabyte each cannot be kept."""
    return 500 + 3 * len(orjson.dumps(content))


_FIELDS = tuple(EventRead.model_fields)
# Per caller, or changed without a new version (an RSVP): never cached.
_PER_CALLER = {"my_role", "permissions", "my_reminders", "attendees", "my_response"}


async def event_objects(
    session: AsyncSession,
    keys: Sequence[EventKey],
    load: EventLoader,
    cache: EventObjects | None = None,
    *,
    viewer_id: int,
) -> dict[int, dict[str, Any]]:
    """JSON-ready event objects by id, for pages that show hundreds of events.

    Everything but `my_role`, `permissions`, `my_reminders`, `attendees` and `my_response`
    (the viewer's, or changed without a new version) is fixed by (id, version, owner) —
    usernames never change — so that part is cached under that key, on any worker, never
    stale; full rows are loaded only for what the cache lacks. An event deleted meanwhile is
    left out.
    """
    contents: dict[int, dict[str, Any]] = {}
    missing = []
    cached = ((key.id, key.version, key.owner_id) for key in keys)
    hits = cache.get_many(cached) if cache is not None else [None] * len(keys)
    for key, hit in zip(keys, hits, strict=True):
        if hit is None:
            missing.append(key.id)
        else:
            contents[key.id] = hit
    events = await load(missing) if missing else {}
    named = (uid for event in events.values() for uid in _named_by(event))
    permissions, refs = await _permissions(session, [key.id for key in keys], named)
    attendees = await attendee_reads(session, [key.id for key in keys])
    for key in keys:  # in page order, not the rows': the last shown is the cache's newest
        if key.id in contents or (event := events.get(key.id)) is None:
            continue
        fixed = fixed_content(event, refs)
        if cache is not None:
            cache.put((event.id, event.version, event.owner_id), fixed)
        contents[event.id] = fixed
    mine = await my_reminders(session, viewer_id, [key.id for key in keys])
    objects = {}
    for key in keys:
        if (content := contents.get(key.id)) is None:
            continue
        invited = attendees.get(key.id, [])
        per_caller = {
            "my_role": key.role.value,
            "permissions": [p.model_dump(mode="json") for p in permissions.get(key.id, [])],
            "my_reminders": [{"minutes_before": m} for m in mine.get(key.id, [])],
            "attendees": [a.model_dump(mode="json") for a in invited],
            "my_response": my_response(invited, viewer_id),
        }
        objects[key.id] = event_object(content, per_caller)
    return objects


def fixed_content(event: Event, refs: Mapping[int, UserRef]) -> dict[str, Any]:
    """The JSON-ready part of an event object fixed by (id, version, owner): what
    `EventObjects` caches. `refs` names its owner, creator and last editor."""
    return _event_read(event, Role.VIEWER, [], refs).model_dump(mode="json", exclude=_PER_CALLER)


def event_object(content: Mapping[str, Any], per_caller: Mapping[str, Any]) -> dict[str, Any]:
    """The whole event object, in `EventRead`'s field order, from its fixed part and the
    caller's (`my_role`, `permissions`, `my_reminders`, `attendees`, `my_response`)."""
    return {name: per_caller[name] if name in _PER_CALLER else content[name] for name in _FIELDS}


def _named_by(event: Event) -> tuple[int, int, int]:
    return event.owner_id, event.created_by_id, event.updated_by_id


_HOLDER, _GRANTER = aliased(User, name="holder"), aliased(User, name="granter")


async def _permissions(
    session: AsyncSession, event_ids: Sequence[int], also_named: Iterable[int]
) -> tuple[dict[int, list[PermissionRead]], dict[int, UserRef]]:
    """Each event's permission objects, and a `{id, username}` for everyone they name and for
    `also_named` — in one query with the holders' and granters' names (owners, creators and
    editors almost always hold a role; anyone else costs a second query)."""
    holder, granter = _HOLDER, _GRANTER
    grants = (
        await session.execute(
            select(
                EventPermission.event_id,
                EventPermission.user_id,
                EventPermission.role,
                EventPermission.granted_by_id,
                EventPermission.granted_at,
                holder.username,
                granter.username.label("granted_by_username"),
            )
            .join(holder, holder.id == EventPermission.user_id)
            .outerjoin(granter, granter.id == EventPermission.granted_by_id)
            .where(_one_of(session, EventPermission.event_id))
            .order_by(
                EventPermission.event_id, EventPermission.granted_at, EventPermission.user_id
            ),
            {"ids": list(event_ids)},
        )
    ).all()
    refs: dict[int, UserRef] = {}
    for g in grants:
        if g.user_id not in refs:
            refs[g.user_id] = UserRef(id=g.user_id, username=g.username)
        if g.granted_by_id is not None and g.granted_by_id not in refs:
            refs[g.granted_by_id] = UserRef(
                id=g.granted_by_id, username=g.granted_by_username or ""
            )
    refs |= await user_refs(session, set(also_named) - refs.keys())
    by_event: dict[int, list[PermissionRead]] = {}
    for grant in grants:
        by_event.setdefault(grant.event_id, []).append(permission_read(grant, refs))
    return by_event, refs


async def attendee_reads(
    session: AsyncSession, event_ids: Sequence[int]
) -> dict[int, list[AttendeeRead]]:
    """Each event's attendees (organizer first, then by invitation), in two queries."""
    if not event_ids:
        return {}
    rows = (
        await session.execute(
            select(Attendee)
            .where(_one_of(session, Attendee.event_id))
            .order_by(
                Attendee.event_id,
                Attendee.is_organizer.desc(),
                Attendee.invited_at,
                Attendee.user_id,
            ),
            {"ids": list(event_ids)},
        )
    ).scalars()
    attendees = list(rows)
    if not attendees:
        return {}
    refs = await user_refs(
        session, [a.user_id for a in attendees] + [a.invited_by_id for a in attendees]
    )
    by_event: dict[int, list[AttendeeRead]] = {}
    for a in attendees:
        by_event.setdefault(a.event_id, []).append(
            AttendeeRead(
                user_id=a.user_id,
                username=refs[a.user_id].username,
                response=a.response,
                comment=a.comment,
                optional=a.optional,
                organizer=a.is_organizer,
                invited_by=refs[a.invited_by_id] if a.invited_by_id is not None else None,
                invited_at=a.invited_at,
                responded_at=a.responded_at,
            )
        )
    return by_event


def my_response(attendees: Sequence[AttendeeRead], viewer_id: int | None) -> ResponseName | None:
    return next((a.response for a in attendees if a.user_id == viewer_id), None)


class Grant(Protocol):
    """What a permission object is built from: an `EventPermission` or a row of its columns."""

    @property
    def user_id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def granted_by_id(self) -> int | None: ...
    @property
    def granted_at(self) -> datetime: ...


def permission_read(grant: Grant, refs: Mapping[int, UserRef]) -> PermissionRead:
    return PermissionRead(
        user_id=grant.user_id,
        username=refs[grant.user_id].username,
        role=Role(grant.role),
        granted_by=refs[grant.granted_by_id] if grant.granted_by_id is not None else None,
        granted_at=grant.granted_at,
    )


async def permission_reads(
    session: AsyncSession, grants: Sequence[EventPermission]
) -> list[PermissionRead]:
    refs = await user_refs(session, [g.user_id for g in grants] + [g.granted_by_id for g in grants])
    return [permission_read(g, refs) for g in grants]


async def user_refs(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, UserRef]:
    """One `{id, username}` object per user, shared by every place that names them."""
    wanted = {i for i in ids if i is not None}
    names = await usernames(session, wanted)
    return {uid: UserRef(id=uid, username=names.get(uid, "")) for uid in wanted}


def _event_read(
    event: Event, role: Role, permissions: list[PermissionRead], refs: Mapping[int, UserRef]
) -> EventRead:
    return EventRead(
        id=event.id,
        **content_values(event),
        version=event.version,
        split_from=event.split_from_id,
        owner=refs[event.owner_id],
        my_role=role,
        permissions=permissions,
        created_at=event.created_at,
        created_by=refs[event.created_by_id],
        updated_at=event.updated_at,
        updated_by=refs[event.updated_by_id],
    )


def content_values(event: Event) -> dict[str, Any]:
    """An event's content as its object shows it (`EventContentRead`'s fields): instants with
    their offset, an all-day series' dates, exdates and recurrence ids as dates. A version's
    snapshot shows its content so too (`history.router`, of `history.service.past_event`)."""
    return {
        "title": event.title,
        "description": event.description,
        "start_time": event.start_time,
        "end_time": event.end_time,
        "timezone": event.timezone,
        "location": event.location,
        "all_day": event.all_day,
        "start_date": event.start_date,
        "end_date": event.end_date,
        "transparency": event.transparency,
        "is_recurring": event.is_recurring,
        "recurrence_pattern": event.recurrence_pattern,
        "exdates": [_occurrence_key(x) for x in event.exdates],
        "rdates": [_occurrence_key(x) for x in event.rdates],
        "overrides": [
            OverrideRead.model_validate(o | {"recurrence_id": _occurrence_key(o["recurrence_id"])})
            for o in event.overrides
        ],
    }


def _occurrence_key(value: str) -> datetime | date:
    """An instant, or an all-day series' date."""
    return parse_day(value) or parse_iso(value)
