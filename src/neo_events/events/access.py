"""The one access query: events a user holds at least a given role on.

Every event lookup goes through here, which is how a stranger gets 404 (never 403) on every
event path by construction: an event the caller holds no role on does not exist for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import BindParameter, Select, Table, bindparam, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.auth.signed_in import signed_in
from neo_events.errors import (
    Forbidden,
    InvalidToken,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from neo_events.models import Event, EventPermission
from neo_events.protocol import version_matches


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


class EventNotFound(NotFound):
    code = "event_not_found"
    title = "No such event"


class RoleTooLow(Forbidden):
    code = "role_too_low"
    title = "Your role on this event does not allow this"


def event_not_found(event_id: int) -> EventNotFound:
    return EventNotFound(f"There is no event {event_id}.")


def roles_at_least(role: Role) -> list[str]:
    return [r.value for r in Role if r.at_least(role)]


def visible_events(
    user_id: int | BindParameter[int],
    min_role: Role = Role.VIEWER,
    *,
    include_deleted: bool = False,
) -> Select[Event, str]:
    """Events `user_id` holds at least `min_role` on, with that role (live ones unless
    `include_deleted`: tombstones keep their history readable)."""
    query = select(Event, EventPermission.role).join(
        EventPermission,
        (EventPermission.event_id == Event.id) & (EventPermission.user_id == user_id),
    )
    if not include_deleted:
        query = query.where(Event.deleted_at.is_(None))
    if min_role is not Role.VIEWER:
        query = query.where(EventPermission.role.in_(roles_at_least(min_role)))
    return query


def held_probed(
    dialect: str,
    user_id: int,
    columns: Mapping[str, Any],
    where: Iterable[Any] = (),
    held: Iterable[Any] = (),
) -> tuple[Select[*tuple[Any, ...]], dict[str, Any]]:
    """`visible_events` for a read of many of the user's events: the live events `user_id`
    holds a role on (their roles meeting `held`) that meet `where` (conditions on `Event`),
    as the named `columns` (of `Event`, and `role`: the user's), and those columns by name
    for the caller's ORDER BY or aggregate. On PostgreSQL each of the user's roles probes
    its event by id (a LATERAL subquery that OFFSET 0 keeps from being flattened), so a
    read costs what the user holds: joined, the planner's choice for a user of 2,000 events
    was a (parallel) sequential scan of every event in the database (20-25 ms at 100,000),
    as `calendar_keys` found for the conflict check's keys."""
    base = select().select_from(EventPermission)
    base = base.where(EventPermission.user_id == user_id, *held)
    found = [Event.deleted_at.is_(None), *where]
    role = EventPermission.role.label("role")
    if dialect != "postgresql":
        named = {name: column.label(name) for name, column in columns.items()}
        query = base.join(Event, Event.id == EventPermission.event_id).where(*found)
        return query.add_columns(*named.values(), role), {**named, "role": role}
    probe = select(*(column.label(name) for name, column in columns.items()))
    event = probe.where(Event.id == EventPermission.event_id, *found).offset(0).lateral("event")
    named = {name: event.c[name] for name in columns}
    return base.join(event, true()).add_columns(*named.values(), role), {**named, "role": role}


def _by_id(*, include_deleted: bool, lock: bool, sign_in: bool) -> Select[Any]:
    query = cast(Select[Any], visible_events(bindparam("user_id"), include_deleted=include_deleted))
    query = query.where(Event.id == bindparam("event_id"))
    if sign_in:  # and whether the caller's sign-in session is open (`session_id`)
        query = query.add_columns(_SIGNED_IN.exists().label("signed_in"))
    if lock:  # read after `lock_row`: the session's copy of the event is replaced by this one
        query = query.execution_options(populate_existing=True)
    return query


_EVENTS = cast(Table, Event.__table__)
_GRANTS = cast(Table, EventPermission.__table__)
# The event's row, locked, if the caller holds a role on it (a stranger locks nothing).
_LOCK = (
    select(_EVENTS.c.id)
    .where(
        _EVENTS.c.id == bindparam("event_id"),
        select(_GRANTS.c.event_id)
        .where(
            _GRANTS.c.event_id == bindparam("event_id"),
            _GRANTS.c.user_id == bindparam("user_id"),
        )
        .exists(),
    )
    .with_for_update(of=_EVENTS)
)


async def lock_row(session: AsyncSession, user_id: int, event_id: int) -> bool:
    """Take the event's row lock (PostgreSQL) for a read-modify-write, by a statement of its
    own, before the read. Under READ COMMITTED a statement that waits for a row's lock sees
    that row as the write it waited on left it, and every other row it joins as its snapshot,
    taken before that write, had it: a read that locked the row and joined the caller's
    grant let an editor demoted by the write it waited on edit as an editor (an outside
    attack). Read after the lock, by a statement of its own, the caller's role, the grants
    and the attendees are as last committed, and stay so until this transaction ends: every
    change to them writes the row (`touch`), so it waits for this lock. SQLite's write
    transactions are exclusive already: nothing to do.

    False if nothing was locked: the event is gone, or the caller held no role on it when
    the statement began. A read that follows and finds a role (granted in between) must
    take the lock again and read again (`get_event_for`, `reads.read_for_edit`)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    found = await session.execute(_LOCK, {"user_id": user_id, "event_id": event_id})
    return found.first() is not None


_SIGNED_IN = select(1).where(signed_in(bindparam("user_id"), bindparam("session_id")))
# Built once and bound per call: building the query costs more than running it.
_BY_ID = {
    (d, lock, s): _by_id(include_deleted=d, lock=lock, sign_in=s)
    for d in (False, True)
    for lock in (False, True)
    for s in (False, True)
}


async def get_event_for(
    session: AsyncSession,
    user_id: int,
    event_id: int,
    min_role: Role = Role.VIEWER,
    *,
    lock: bool = False,
    include_deleted: bool = False,
    sign_in: int | None = None,
    if_match: str | None = None,
) -> tuple[Event, Role]:
    """The event and the caller's role: 404 without a role, 403 with one that is too low,
    then 412 if the request's `If-Match` names another version (`check_if_match`).

    `lock` takes the row lock a read-modify-write needs on PostgreSQL (`lock_row`, before
    the read). `sign_in`: the id of the caller's sign-in session
    (`auth.signed_in.signed_in`), checked by the same statement, for a route that takes an
    access token's claims instead of loading its user (a 401 if the session is closed,
    before any 404 or 403). `if_match` is compared with the row as read here, under the
    write's lock, before the write; a 404 or 403 comes first (RFC 9110 §13.2.1), so the
    header tells a stranger nothing.
    """
    locked = not lock or await lock_row(session, user_id, event_id)
    query = _BY_ID[include_deleted, lock, sign_in is not None]
    params = {"user_id": user_id, "event_id": event_id, "session_id": sign_in}
    row = (await session.execute(query, params)).one_or_none()
    if row is not None and not locked:  # a role granted since the lock looked: lock, read
        locked = await lock_row(session, user_id, event_id)
        row = (await session.execute(query, params)).one_or_none() if locked else None
    if sign_in is not None:
        if row is not None:
            open_now = bool(row.signed_in)
        else:  # a second statement only on the way to a 404
            open_now = bool(await session.scalar(select(_SIGNED_IN.exists()), params))
        if not open_now:
            raise InvalidToken()  # a closed session is a 401 before any 404 or 403
    if row is None:
        raise event_not_found(event_id)
    role = check_role(Role(row[1]), min_role)
    check_if_match(row[0], if_match)
    return row[0], role


def check_if_match(event: Event, if_match: str | None) -> None:
    """412, changing nothing, when an If-Match names another version than the event's
    (`*` matches any event that exists). Every unsafe request on an event's URL space
    evaluates it on the event as read for its write (RFC 9110 §13.1.1); without the header
    the write goes ahead."""
    if if_match is not None and not version_matches(if_match, event.version):
        raise PreconditionFailed(
            f"The event is at version {event.version}; read it again and retry.",
            current_version=event.version,
        )


async def touch(session: AsyncSession, event_id: int) -> None:
    """Write the event's row unchanged (PostgreSQL), in the transaction of a change that
    does not write it but that an edit reads with it: who holds a role on the event (the
    edit's change-feed recipients, its author's role), whether anyone is invited (an edit
    of an event with attendees takes the lock) and the editor's reminders (its answer). A
    text edit made without the row's lock (`service.update_event`) is written only if the
    row's `xmin` is the one it read (`statements.EDIT_IF_UNCHANGED`); this changes it. The
    change holds the row's lock already (`get_event_for(lock=True)`). Removing an attendee
    needs none: an event with attendees is edited under the lock. SQLite's writes are
    serialized whole: nothing to do."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_TOUCH, {"event_id": event_id})


# Core, not ORM: nothing in the session is to be synchronized with a row left as it was.
_TOUCH = (
    update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id")).values(version=_EVENTS.c.version)
)


def check_role(role: Role, min_role: Role) -> Role:
    """The caller's role if it is at least `min_role`, else 403 (they hold one: they may
    know the event exists)."""
    if not role.at_least(min_role):
        raise RoleTooLow(f"This needs the {min_role.value} role; you are {role.value}.")
    return role


# The most people who may hold a role on one event, its owner included: each change of it
# is for each of them (its recipients' rows, their live messages, their webhooks), so an
# edit's cost grows with them; a share adds at most 100 a request and nothing bounded the
# sum (an outside attack grew one to 1,500). Twice an event's attendees (MAX_PEOPLE).
MAX_HOLDERS = 1_000


async def grant_all(
    session: AsyncSession,
    event_id: int,
    roles: Iterable[tuple[int, Role]],
    *,
    granted_by_id: int,
    at: datetime,
) -> None:
    """New roles on the event, (user id, role) each, written in one statement (a request's
    shares or invitations: not an ORM object and a flush per person). Past MAX_HOLDERS
    people in all, a 422 naming `users` (the request's transaction then writes nothing)."""
    roles = list(roles)
    if not roles:
        return
    holding = await session.scalar(
        select(func.count())
        .select_from(EventPermission)
        .where(EventPermission.event_id == event_id)
    )
    if (holding or 0) + len(roles) > MAX_HOLDERS:
        raise ValidationFailed.field(
            ["users"], f"an event is shared with at most {MAX_HOLDERS} people, its owner included"
        )
    rows = [
        {
            "event_id": event_id,
            "user_id": user_id,
            "role": role.value,
            "granted_by_id": granted_by_id,
            "granted_at": at,
        }
        for user_id, role in roles
    ]
    if rows:
        await session.execute(insert(EventPermission), rows)
