"""Event writes: create, batch, update, delete — each a version row and an audit row, atomically."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin, audit_row, record, record_all
from neo_events.auth.signed_in import signed_in_name
from neo_events.db import utcnow
from neo_events.errors import (
    Conflict,
    InvalidToken,
    PreconditionFailed,
    PreconditionRequired,
    ValidationFailed,
)
from neo_events.events import schedule, statements
from neo_events.events.access import Role, check_role, get_event_for
from neo_events.events.content import Content, apply_content, canonical_changes, content_of
from neo_events.events.reads import EventDocument, lock_for_edit
from neo_events.events.schedule import Clash, ConflictPolicy
from neo_events.events.schemas import EventCreate
from neo_events.events.validation import build_content
from neo_events.history.merge import three_way_merge
from neo_events.history.versions import record_created, record_version, version_row
from neo_events.live import feed
from neo_events.models import Event, EventPermission, EventVersion, User
from neo_events.protocol import version_matches


async def _insert(session: AsyncSession, actor_id: int, contents: Sequence[Content]) -> list[Event]:
    """New events owned by the actor at version 1, written with Core, not the ORM's unit of
    work: one INSERT … RETURNING id for all of them, then one each for their owner grants
    and their versions. The events are not in the session."""
    now = utcnow()

    def rows() -> tuple[list[Event], list[dict[str, Any]]]:
        events = [_new_event(actor_id, content, now) for content in contents]
        return events, [statements.row_params(event) for event in events]

    # A batch's 500 rows are CPU work (each event's span is computed): not on the event loop.
    events, values = await asyncio.to_thread(rows) if len(contents) > 1 else rows()
    if session.get_bind().dialect.name == "postgresql":
        ids = list((await session.execute(_INSERT_EVENTS_IN_ORDER, values)).scalars())
    else:
        # SQLAlchemy cannot batch an ordered RETURNING on SQLite (it would insert row by
        # row). SQLite gives one statement's rows rowids one past the largest, in the order
        # of its VALUES, and returns them in no promised order: sorted, they are that order.
        ids = sorted((await session.execute(_INSERT_EVENTS, values)).scalars())
    for event, event_id in zip(events, ids, strict=True):
        event.id = event_id
    grant = {"user_id": actor_id, "role": Role.OWNER.value, "granted_by_id": actor_id}
    await session.execute(
        insert(cast(Table, EventPermission.__table__)),
        [{**grant, "event_id": e.id, "granted_at": now} for e in events],
    )
    await record_created(session, events, actor_id=actor_id, holders=[actor_id])
    return events


def _new_event(actor_id: int, content: Content, now: datetime | None = None) -> Event:
    now = now or utcnow()
    event = Event(
        owner_id=actor_id,
        version=1,
        created_at=now,
        created_by_id=actor_id,
        updated_at=now,
        updated_by_id=actor_id,
        split_from_id=None,
        deleted_at=None,
    )
    apply_content(event, content)
    return event


_EVENTS = statements.EVENTS
# Many rows in one multi-row INSERT … RETURNING id (SQLAlchemy's "insertmanyvalues"), on
# PostgreSQL with the ids in the order of the rows.
_INSERT_EVENTS = insert(_EVENTS).returning(_EVENTS.c.id)
_INSERT_EVENTS_IN_ORDER = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)


def _content_from(data: EventCreate, loc: Sequence[str | int] = ()) -> Content:
    return build_content(None, data.model_dump(), loc=loc)


class Created(NamedTuple):
    event: Event
    clashes: list[Clash]
    owner_name: str  # with `sign_in`, read with its check (for the answer); else ""


async def create_event(
    session: AsyncSession,
    *,
    actor_id: int,
    data: EventCreate,
    origin: Origin,
    policy: ConflictPolicy = ConflictPolicy.WARN,
    sign_in: int | None = None,
) -> Created:
    """A new event owned by the caller, at version 1, checked against their calendar.

    `sign_in`: the caller's sign-in session, for a caller known by an access token's claims
    alone. It is checked by the statement that writes the event on PostgreSQL (a 401 that
    writes nothing: `statements.CREATE_SIGNED_IN`), by a query of its own on SQLite; either
    way the owner's username comes back with it."""
    content = _content_from(data)
    try:
        [clashes] = await schedule.check(
            session,
            policy=policy,
            candidates=[schedule.Candidate.of(None, content, None)],
            user_ids=[actor_id],
            viewer_id=actor_id,
        )
    except schedule.ScheduleConflict:
        if sign_in is not None:  # a closed session learns nothing of the calendar: a 401
            await signed_in_name(session, actor_id, sign_in)
        raise
    if session.get_bind().dialect.name != "postgresql":
        name = await signed_in_name(session, actor_id, sign_in) if sign_in is not None else ""
        [event] = await _insert(session, actor_id, [content])
        record(
            session,
            action="event.created",
            origin=origin,
            actor_id=actor_id,
            target_type="event",
            target_id=event.id,
            details={"version": 1},
        )
        return Created(event, clashes, name)
    event = _new_event(actor_id, content)
    params = statements.row_params(event)
    grant = {"user_id": actor_id, "granted_by_id": actor_id, "granted_at": event.created_at}
    params |= statements.prefixed("event_permissions", grant)
    version = version_row(event, "created", actor_id, content_of(event), None)
    params |= statements.prefixed("event_versions", version)
    audit = audit_row(
        action="event.created",
        origin=origin,
        actor_id=actor_id,
        target_type="event",
        target_id=None,
        outcome="success",
        details={"version": 1},
    )
    params |= statements.prefixed("audit_log", audit | {"at": event.created_at})
    params |= feed.change_params(
        session,
        type=feed.CHANGE_TYPES["created"],
        version=1,
        actor_id=actor_id,
        recipients=[actor_id],
    )
    if sign_in is None:
        event.id = await session.scalar(statements.CREATE, params)
        return Created(event, clashes, "")
    params |= {"sign_in_user": actor_id, "sign_in_session": sign_in}
    written = (await session.execute(statements.CREATE_SIGNED_IN, params)).first()
    if written is None:
        raise InvalidToken()  # the sign-in session is closed: nothing was written
    event.id, name = written
    return Created(event, clashes, name)


async def create_events(
    session: AsyncSession,
    *,
    actor: User,
    items: Sequence[EventCreate],
    origin: Origin,
    policy: ConflictPolicy = ConflictPolicy.WARN,
) -> list[tuple[Event, list[Clash]]]:
    """All or nothing: every item is checked (content, then conflicts with the caller's
    calendar and with each other) before the first is written."""
    # Checking 500 rules can take seconds of CPU in the worst case: not on the event loop.
    contents = await asyncio.to_thread(
        lambda: [_content_from(item, ("events", index)) for index, item in enumerate(items)]
    )
    clashes = await schedule.check(
        session,
        policy=policy,
        candidates=[schedule.Candidate.of(None, c, None) for c in contents],
        user_ids=[actor.id],
        viewer_id=actor.id,
    )
    events = await _insert(session, actor.id, contents)
    await record_all(
        session,
        action="event.created",
        origin=origin,
        actor_id=actor.id,
        target_type="event",
        targets=[(event.id, {"version": 1, "batch": True}) for event in events],
    )
    record(
        session,
        action="event.batch_created",
        origin=origin,
        actor_id=actor.id,
        details={"count": len(events), "event_ids": [e.id for e in events]},
    )
    return list(zip(events, clashes, strict=True))


class EditConflict(Conflict):
    code = "edit_conflict"
    title = "Someone else changed the same fields"


@dataclass(frozen=True, slots=True)
class Preconditions:
    """What a writer says it last saw: an If-Match header and/or a base_version."""

    if_match: str | None = None
    base_version: int | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class UpdateResult:
    event: Event
    role: Role
    changed: bool
    merged: bool
    clashes: list[Clash]
    # The event as its editor saw it before the edit, when read with its lock (PostgreSQL).
    before: EventDocument | None = None


SCHEDULE_FIELDS = (
    "start_time",
    "end_time",
    "timezone",
    "all_day",
    "start_date",
    "end_date",
    "transparency",
    "is_recurring",
    "recurrence_pattern",
    "exdates",
    "rdates",
    "overrides",
)


async def check_move(
    session: AsyncSession,
    *,
    event: Event,
    before: Content,
    after: Content,
    actor_id: int,
    policy: ConflictPolicy,
) -> list[Clash]:
    """Conflicts of an event whose times changed, in the calendars of all its holders."""
    if all(before[name] == after[name] for name in SCHEDULE_FIELDS):
        return []
    [clashes] = await schedule.check(
        session,
        policy=policy,
        candidates=[schedule.Candidate.of(event.id, after, before)],
        user_ids=await feed.holders(session, event.id),
        viewer_id=actor_id,
    )
    return clashes


async def _version_content(session: AsyncSession, event_id: int, version: int) -> Content | None:
    snapshot = await session.scalar(
        select(EventVersion.snapshot).where(
            EventVersion.event_id == event_id, EventVersion.version == version
        )
    )
    return dict(snapshot) if snapshot is not None else None


def check_if_match(event: Event, if_match: str | None) -> None:
    """412, changing nothing, when an If-Match names another version than the event's."""
    if if_match is not None and not version_matches(if_match, event.version):
        raise PreconditionFailed(
            f"The event is at version {event.version}; read it again and retry.",
            current_version=event.version,
        )


async def _resolve_changes(
    session: AsyncSession, event: Event, current: Content, changes: Content, pre: Preconditions
) -> tuple[Content, bool]:
    """The changes to write after the preconditions: as sent, or three-way-merged."""
    check_if_match(event, pre.if_match)
    if pre.base_version is None or pre.base_version == event.version:
        if pre.required and pre.if_match is None and pre.base_version is None:
            raise PreconditionRequired('Send If-Match: "<version>" or base_version.')
        return changes, False
    if pre.base_version > event.version:
        raise ValidationFailed.field(["base_version"], "is newer than the event")
    base = await _version_content(session, event.id, pre.base_version)
    if base is None:
        raise ValidationFailed.field(["base_version"], "no such version of this event")
    result = three_way_merge(base, current, changes)
    if result.conflicts:
        raise EditConflict(
            "These fields were changed by someone else since version "
            f"{pre.base_version}: {', '.join(c.field for c in result.conflicts)}.",
            current_version=event.version,
            conflicts=[
                {"field": c.field, "base": c.base, "yours": c.yours, "theirs": c.theirs}
                for c in result.conflicts
            ],
        )
    return result.changes, result.merged


async def update_event(
    session: AsyncSession,
    *,
    actor_id: int,
    event_id: int,
    changes: Mapping[str, Any],
    origin: Origin,
    preconditions: Preconditions = Preconditions(),
    policy: ConflictPolicy = ConflictPolicy.WARN,
    sign_in: int | None = None,
) -> UpdateResult:
    """Apply a partial change under the caller's preconditions (412, 428, 409 merge conflict).

    An edit that changes nothing writes nothing: no version, no audit row. `sign_in`: the
    caller's sign-in session, checked with the event's row, for a caller known by an access
    token's claims alone; on PostgreSQL the statement that locks the row then also reads the
    document the answer is made of (`reads.lock_for_edit`, `UpdateResult.before`).
    """
    before: EventDocument | None = None
    if sign_in is not None and session.get_bind().dialect.name == "postgresql":
        before, held = await lock_for_edit(session, actor_id, sign_in, event_id)
        role = check_role(held, Role.EDITOR)
        event = before.event()
    else:
        event, role = await get_event_for(
            session, actor_id, event_id, Role.EDITOR, lock=True, sign_in=sign_in
        )
    current = content_of(event)
    wanted, merged = await _resolve_changes(
        session, event, current, canonical_changes(changes), preconditions
    )
    content = build_content(current, wanted)
    if content == current:
        return UpdateResult(event, role, changed=False, merged=merged, clashes=[], before=before)
    clashes = await check_move(
        session, event=event, before=current, after=content, actor_id=actor_id, policy=policy
    )
    apply_content(event, content)
    audit = audit_row(
        action="event.updated",
        origin=origin,
        actor_id=actor_id,
        target_type="event",
        target_id=event.id,
        outcome="success",
        details={
            "version": event.version + 1,  # the version this change makes
            "fields": [k for k in content if content[k] != current[k]],
            "merged": merged,
        },
    )
    await record_version(
        session, event, change_type="updated", actor_id=actor_id, previous=current, audit=audit
    )
    return UpdateResult(event, role, changed=True, merged=merged, clashes=clashes, before=before)


async def delete_event(
    session: AsyncSession, *, actor: User, event_id: int, origin: Origin
) -> Event:
    """Soft delete by an owner: the row stays as a tombstone with a final `deleted` version."""
    event, _ = await get_event_for(session, actor.id, event_id, Role.OWNER, lock=True)
    await record_version(session, event, change_type="deleted", actor_id=actor.id)
    event.deleted_at = event.updated_at
    # Its grants stay (its history stays readable), marked so that calendar reads pass over
    # them without probing the event (`models.EventPermission.live`).
    await session.execute(
        update(EventPermission).where(EventPermission.event_id == event.id).values(live=False)
    )
    record(
        session,
        action="event.deleted",
        origin=origin,
        actor_id=actor.id,
        target_type="event",
        target_id=event.id,
        details={"version": event.version},
    )
    return event
