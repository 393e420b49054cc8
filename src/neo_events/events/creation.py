"""Event creates: one event (`create_event`: the API and CalDAV) or many (`create_events`, a
batch of up to 500; `create_built`, also an import's), each checked against the caller's
calendar and written with its owner's grant, version 1, audit row and change-feed row,
atomically."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db, driver
from neo_events.audit.service import Origin, audit_row, record, record_all
from neo_events.auth.signed_in import signed_in_name
from neo_events.db import utcnow
from neo_events.errors import InvalidToken, database_unavailable
from neo_events.events import calendar_keys, check_windows, expansions, schedule, statements
from neo_events.events.access import Role
from neo_events.events.content import Content, apply_content, content_of, remembered
from neo_events.events.schedule import Clash, ConflictPolicy
from neo_events.events.schemas import EventCreate
from neo_events.events.validation import build_content
from neo_events.history.versions import record_created, version_row
from neo_events.live import feed, pending
from neo_events.models import Event, EventPermission, User

logger = logging.getLogger(__name__)


async def _insert(
    session: AsyncSession,
    actor_id: int,
    contents: Sequence[Content],
    candidates: Sequence[check_windows.Candidate],
) -> list[Event]:
    """New events owned by the actor at version 1 (each with its check's candidate, whose
    series it keeps), written with Core, not the ORM's unit of work: one INSERT … RETURNING
    id for all of them, then one each for their owner grants and their versions. The events
    are not in the session."""
    now = utcnow()

    def rows() -> tuple[list[Event], list[dict[str, Any]]]:
        events = [
            _new_event(actor_id, content, candidate, now)
            for content, candidate in zip(contents, candidates, strict=True)
        ]
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


def _new_event(
    actor_id: int, content: Content, candidate: check_windows.Candidate, now: datetime | None = None
) -> Event:
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
    apply_content(event, content, series=candidate.series)
    return event


_EVENTS = statements.EVENTS
# Many rows in one multi-row INSERT … RETURNING id (SQLAlchemy's "insertmanyvalues"), on
# PostgreSQL with the ids in the order of the rows.
_INSERT_EVENTS = insert(_EVENTS).returning(_EVENTS.c.id)
_INSERT_EVENTS_IN_ORDER = insert(_EVENTS).returning(_EVENTS.c.id, sort_by_parameter_order=True)


def content_from(data: EventCreate, loc: Sequence[str | int] = ()) -> Content:
    return build_content(None, data.model_dump(), loc=loc)


def _keep(
    session: AsyncSession, events: Sequence[Event], candidates: Sequence[check_windows.Candidate]
) -> None:
    """The new events' series, kept for the worker once the request commits
    (`expansions.keep_written`), each telling its plan where its COUNT rule ends as a read
    of its row would."""
    expansions.keep_written(
        session,
        [
            (e.id, 1, remembered(c.series, e.count_end))
            for e, c in zip(events, candidates, strict=True)
        ],
    )


class Created(NamedTuple):
    event: Event
    clashes: list[Clash] | None  # None: written, but its check could not finish
    owner_name: str  # with `sign_in`, read with its check (for the answer); else ""


async def create_event(
    session: AsyncSession,
    *,
    actor_id: int,
    data: EventCreate,
    origin: Origin,
    policy: ConflictPolicy = ConflictPolicy.WARN,
    sign_in: int | None = None,
    alone: bool = False,
) -> Created:
    """A new event owned by the caller, at version 1, checked against their calendar.

    `alone`: the request writes nothing else (the API's create, not CalDAV's, which stores
    the resource and the attendees too), and is checked under `warn` or `ignore` (under
    `reject` or `suggest` its check holds a lock until the write commits, in a transaction:
    `schedule.check`): on PostgreSQL it then runs without a transaction:
    one statement writes everything (`statements.CREATE`), on a connection of the pool of
    its own (as a text edit's: `driver.connection`, none of the session's machinery) if the
    session has not begun by then, and the conflict check's reads, which lock nothing, go
    through the session in autocommit (`driver.autocommit_first`), which takes a connection
    only if the check reads something once the write's is back in the pool (a request holds
    one at a time).

    `sign_in`: the caller's sign-in session, for a caller known by an access token's claims
    alone. It is checked by the statement that writes the event on PostgreSQL (a 401 that
    writes nothing: `statements.CREATE_SIGNED_IN`), by a query of its own on SQLite; either
    way the owner's username comes back with it.

    Under `warn`, nothing the check finds stops the create: on PostgreSQL, for a signed-in
    caller, the statement that writes the event also reads the keys of the caller's calendar
    over the check's window (`statements.CREATE_CHECKED`), and the check goes on from them
    once the event is written, a round trip fewer."""
    content = content_from(data)
    candidate = check_windows.Candidate.of(None, content, None)
    if policy in (ConflictPolicy.REJECT, ConflictPolicy.SUGGEST):
        alone = False  # its check holds its calendar's lock until the write commits (`locks`)
    if alone:
        driver.autocommit_first(session)
    postgres = session.get_bind().dialect.name == "postgresql"
    later = postgres and sign_in is not None and policy is ConflictPolicy.WARN
    added = await check_windows.added_by([candidate]) if later else None
    window = check_windows.window_of(added) if added is not None else None
    clashes: list[Clash] | None = None
    if window is None:
        clashes = await _checked(session, policy, candidate, actor_id, sign_in, added)
    if not postgres:
        name = await signed_in_name(session, actor_id, sign_in) if sign_in is not None else ""
        [event] = await _insert(session, actor_id, [content], [candidate])
        _keep(session, [event], [candidate])
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
    event = _new_event(actor_id, content, candidate)
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
    params |= pending.change_params(
        session,
        type=feed.CHANGE_TYPES["created"],
        version=1,
        actor_id=actor_id,
        recipients=[actor_id],
    )
    budget = calendar_keys.Budget()  # of the check a statement's keys begin (`window`)
    if sign_in is None:
        statement = statements.CREATE
    else:
        params |= {"sign_in_user": actor_id, "sign_in_session": sign_in}
        statement = statements.CREATE_SIGNED_IN
        if window is not None:
            params |= {"start": window[0], "end": window[1], "users": actor_id}
            params |= budget.params()
            statement = statements.CREATE_CHECKED
    # committed once written: on a connection of its own, or by a session in autocommit
    written: Any
    if alone and driver.usable(session):  # (else it joins the session's work)
        async with driver.connection(driver.engine_of(session)) as own:
            written = (await own.execute(statement, params)).one_or_none()
        committed = True
    else:
        connection = await driver.connection_of(session)
        written = (await connection.execute(statement, params)).one_or_none()
        committed = isinstance(connection, driver.Connection)
    if written is None:
        raise InvalidToken()  # the sign-in session is closed: nothing was written
    event.id, name = written.id, (written.username if sign_in is not None else "")
    if window is not None:
        keys = await calendar_keys.Keys.of_arrays(actor_id, written, budget)
        try:
            clashes = await _checked(
                session, policy, candidate, actor_id, sign_in, added, keys, budget
            )
        except Exception as exc:
            if not (committed and database_unavailable(exc)):
                raise  # in a transaction (an Idempotency-Key's), nothing is written then
            await _written_unchecked(session, event.id, exc)  # no clashes known
    _keep(session, [event], [candidate])
    return Created(event, clashes, name)


async def _written_unchecked(session: AsyncSession, event_id: int, exc: Exception) -> None:
    """The database failed in the check that follows a write it had already committed: the
    event stands, and the answer must not ask for a retry (a 503 would, and a retry without
    an Idempotency-Key would write it twice). The session is let go of its lost connection
    and the answer says nothing of conflicts (`GET /events/{id}/conflicts` asks again)."""
    logger.warning(
        "event %s written; its conflict check failed: %s", event_id, exc.__class__.__name__
    )
    await db.rollback(session)  # the lost connection: the session starts afresh
    feed.wake_after_commit(session)  # what the rollback forgot: the hubs' wake-up


async def _checked(
    session: AsyncSession,
    policy: ConflictPolicy,
    candidate: check_windows.Candidate,
    actor_id: int,
    sign_in: int | None,
    added: list[list[check_windows.Span]] | None,
    keys: calendar_keys.Keys | None = None,
    budget: calendar_keys.Budget | None = None,
) -> list[Clash]:
    """A create's check: before its write, or, from the `keys` its write read (with the
    `budget` they spent), after it (`create_event`)."""
    try:
        [clashes] = await schedule.check(
            session,
            policy=policy,
            candidates=[candidate],
            user_ids=[actor_id],
            viewer_id=actor_id,
            added=added,
            keys=keys,
            budget=budget,
        )
    except schedule.ScheduleConflict:
        if sign_in is not None:  # a closed session learns nothing of the calendar: a 401
            await signed_in_name(session, actor_id, sign_in)
        raise
    return clashes


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
        lambda: [content_from(item, ("events", index)) for index, item in enumerate(items)]
    )
    created = await create_built(
        session,
        actor_id=actor.id,
        contents=contents,
        origin=origin,
        policy=policy,
        details={"version": 1, "batch": True},
    )
    record(
        session,
        action="event.batch_created",
        origin=origin,
        actor_id=actor.id,
        details={"count": len(created), "event_ids": [e.id for e, _ in created]},
    )
    return created


async def create_built(
    session: AsyncSession,
    *,
    actor_id: int,
    contents: Sequence[Content],
    origin: Origin,
    policy: ConflictPolicy,
    details: dict[str, Any],
) -> list[tuple[Event, list[Clash]]]:
    """New events of contents already built (`build_content`), checked against the caller's
    calendar and each other, then written together: a few multi-row statements for them,
    their owner grants, versions and change-feed rows, and one `event.created` audit row
    each (with `details`). A batch's summary row, if any, is the caller's."""
    if not contents:
        return []
    # Each content's series (18 of 1,000 overrides: 60 ms), built off the loop.
    candidates = await asyncio.to_thread(
        lambda: [check_windows.Candidate.of(None, c, None) for c in contents]
    )
    clashes = await schedule.check(
        session,
        policy=policy,
        candidates=candidates,
        user_ids=[actor_id],
        viewer_id=actor_id,
        items=True,
    )
    events = await _insert(session, actor_id, contents, candidates)
    _keep(session, events, candidates)
    clashes = [[_named(clash, events) for clash in found] for found in clashes]
    await record_all(
        session,
        action="event.created",
        origin=origin,
        actor_id=actor_id,
        target_type="event",
        targets=[(event.id, details) for event in events],
    )
    return list(zip(events, clashes, strict=True))


def _named(clash: schedule.Clash, events: Sequence[Event]) -> schedule.Clash:
    """A clash with another item of the same batch, once written: with that event, which the
    caller owns (its id and title, as any clash with their calendar)."""
    if clash.item is None:
        return clash
    other = events[clash.item]
    return schedule.Clash(other.id, other.title, clash.start, clash.end)
