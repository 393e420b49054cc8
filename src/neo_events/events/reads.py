"""GET /events/{id} in one statement: the event object read as rows, written as JSON.

The general path (`views.event_reads`) costs five statements (the caller's user, the event
and role, grants with names, attendees, reminders) and builds pydantic models twice. Here
one statement checks the caller's sign-in session (`auth.signed_in.signed_in`), applies the
access rule (`access.visible_events`) and returns the event row with everything the
caller's part of the object needs, aggregated as JSON by the database (PostgreSQL and
SQLite both can). The part fixed by (id, version, owner) comes from the `EventObjects`
cache that listings fill, built by the general serializer when missing. The body is
byte-for-byte the general path's (tested against it); the ETag is known before anything is
serialised, so a 304 costs the statement alone. On PostgreSQL the grants and the people's
names are not read again while the row's `xmin` is the one a worker keeps them for
(`held_parts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Text,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import manager_of_class

from neo_events import db, driver
from neo_events.auth.signed_in import signed_in
from neo_events.auth.tokens import TokenClaims
from neo_events.errors import InvalidToken
from neo_events.events import held_parts
from neo_events.events.access import Role, event_not_found, lock_row, visible_events
from neo_events.events.schemas import UserRef
from neo_events.events.statements import EVENT_COLUMNS, ROW_XMIN, row_params
from neo_events.events.views import EventObjects, event_object, fixed_content
from neo_events.models import Attendee, Event, EventPermission, Reminder, User
from neo_events.protocol import event_etag


def _object(dialect: str, **fields: Any) -> ColumnElement[Any]:
    pairs: list[Any] = []
    for key, value in fields.items():
        pairs += (literal_column(f"'{key}'"), value)
    return (func.json_build_object if dialect == "postgresql" else func.json_object)(*pairs)


def _array(dialect: str, element: Any) -> Select[Any]:
    """Every row's `element` as one JSON array (order is restored in Python: an aggregate's
    input order is not portable). No rows: NULL on PostgreSQL, `[]` on SQLite."""
    return select((func.json_agg if dialect == "postgresql" else func.json_group_array)(element))


def _statement(dialect: str) -> Select[Any]:
    """The one statement, with parameters `user_id`, `session_id` and `event_id`: no row if
    the caller holds no role on a live event of that id. On PostgreSQL also the row's `xmin`
    (`row_xmin`, as text), and `known_xmin`: if the row's is that one, the parts a worker
    keeps by it (`held_parts.PARTS`) are NULL, not read."""
    user_id: Any = bindparam("user_id")
    session_id: Any = bindparam("session_id")
    grant, holder, granter = aliased(EventPermission), aliased(User), aliased(User)
    invited, guest, inviter = aliased(Attendee), aliased(User), aliased(User)
    named = aliased(User)

    def name_of(column: Any) -> Any:
        return held(select(named.username).where(named.id == column).scalar_subquery())

    def held(part: Any) -> Any:
        if dialect != "postgresql":
            return part
        known = bindparam("known_xmin", None, type_=Text)
        return case((literal_column(ROW_XMIN, Text) == known, null()), else_=part)

    grants = (
        _array(
            dialect,
            _object(
                dialect,
                user_id=grant.user_id,
                username=holder.username,
                role=grant.role,
                granted_by_id=grant.granted_by_id,
                granted_by=granter.username,
                granted_at=grant.granted_at,
            ),
        )
        .select_from(grant)
        .join(holder, holder.id == grant.user_id)
        .outerjoin(granter, granter.id == grant.granted_by_id)
        .where(grant.event_id == Event.id)
    )
    attendees = (
        _array(
            dialect,
            _object(
                dialect,
                user_id=invited.user_id,
                username=guest.username,
                response=invited.response,
                comment=invited.comment,
                optional=invited.optional,
                organizer=invited.is_organizer,
                invited_by_id=invited.invited_by_id,
                invited_by=inviter.username,
                invited_at=invited.invited_at,
                responded_at=invited.responded_at,
            ),
        )
        .select_from(invited)
        .outerjoin(guest, guest.id == invited.user_id)
        .outerjoin(inviter, inviter.id == invited.invited_by_id)
        .where(invited.event_id == Event.id)
    )
    reminders = _array(dialect, Reminder.minutes_before).where(
        Reminder.event_id == Event.id, Reminder.user_id == user_id
    )
    statement = (
        visible_events(user_id)
        .where(Event.id == bindparam("event_id"))
        .with_only_columns(
            *Event.__table__.columns,
            EventPermission.role.label("my_role"),
            exists().where(signed_in(user_id, session_id)).label("signed_in"),
            name_of(Event.owner_id).label("owner_name"),
            name_of(Event.created_by_id).label("created_by_name"),
            name_of(Event.updated_by_id).label("updated_by_name"),
            held(grants.scalar_subquery()).label("grants"),
            attendees.scalar_subquery().label("attendees"),
            reminders.scalar_subquery().label("reminders"),
        )
    )
    if dialect == "postgresql":
        statement = statement.add_columns(literal_column(ROW_XMIN, Text).label("row_xmin"))
    return statement


_EVENTS = manager_of_class(Event)  # how the ORM makes an Event without its constructor
_ROW_COLUMNS = ("id", *EVENT_COLUMNS)
_STATEMENTS: dict[str, Select[Any]] = {}  # built once: compiled once, cached
_SIGNED_IN = select(exists().where(signed_in(bindparam("user_id"), bindparam("session_id"))))


@dataclass(frozen=True, slots=True)
class EventDocument:
    """One caller's view of one event, read and not yet written."""

    row: Any  # the statement's Row, or its mapping as a namespace once edited (`after`)
    viewer_id: int
    reminders: list[int]
    etag: str

    def json(self, cache: EventObjects | None) -> bytes:
        """The event object as the general path writes it."""
        return orjson.dumps(self.object(cache), option=orjson.OPT_UTC_Z)

    def object(self, cache: EventObjects | None) -> dict[str, Any]:
        """The event object as a dict, for orjson (a write adds its own keys)."""
        row = self.row
        key = (row.id, row.version, row.owner_id)
        content = cache.get(key) if cache is not None else None
        if content is None:
            refs = {
                row.owner_id: UserRef(id=row.owner_id, username=row.owner_name or ""),
                row.created_by_id: UserRef(
                    id=row.created_by_id, username=row.created_by_name or ""
                ),
                row.updated_by_id: UserRef(
                    id=row.updated_by_id, username=row.updated_by_name or ""
                ),
            }
            content = fixed_content(cast(Event, row), refs)  # a row has the Event's columns
            if cache is not None:
                cache.put(key, content)
        attendees = _attendees(_parsed(row.attendees))
        per_caller = {
            "my_role": row.my_role,
            "permissions": _permissions(_parsed(row.grants)),
            "my_reminders": [{"minutes_before": m} for m in self.reminders],
            "attendees": attendees,
            "my_response": next(
                (a["response"] for a in attendees if a["user_id"] == self.viewer_id), None
            ),
        }
        return event_object(content, per_caller)

    def has_attendees(self) -> bool:
        return bool(_parsed(self.row.attendees))

    def event(self) -> Event:
        """The event's row as an Event that no session holds, for a write that does not go
        through the ORM's unit of work (`events.statements.EDIT`). Made as the ORM makes
        what it loads (its state, then its values as loaded, without recording each as a
        change): a twentieth of the constructor's cost, which sets every column in turn."""
        mapping = self.row._mapping
        event: Event = _EVENTS.new_instance()
        event.__dict__.update({c: mapping[c] for c in _ROW_COLUMNS})
        return event

    def after(self, event: Event) -> EventDocument | None:
        """This document once `event` (this event, its row edited by the viewer and
        written) is the event's row: what else the document holds is as it was (the grants,
        the viewer's reminders), unless it has attendees, whose answers a move resets (None:
        read it again, `read_written`). The editor's name is in the grants it read."""
        row = self.row
        if self.has_attendees():
            return None
        values = dict(row._mapping) | row_params(event)
        if event.updated_by_id != row.updated_by_id:  # the viewer's edit stamped the row
            names = {g["user_id"]: g["username"] for g in _parsed(row.grants)}
            if event.updated_by_id not in names:  # not reached: an editor holds a grant
                return None
            values["updated_by_name"] = names[event.updated_by_id]
        etag = event_etag(event.version, self.reminders)
        return EventDocument(driver.Row(**values), self.viewer_id, self.reminders, etag)


def _statement_for(dialect: str) -> Select[Any]:
    """The one statement. On PostgreSQL with the row's `xmin` as text (`row_xmin`), the
    transaction that last wrote it: what a write that holds no lock checks
    (`statements.EDIT_IF_UNCHANGED`), and what the parts a worker keeps are kept by
    (`held_parts`)."""
    statement = _STATEMENTS.get(dialect)
    if statement is None:
        statement = _STATEMENTS[dialect] = _statement(dialect)
    return statement


async def read_written(
    session: AsyncSession, user_id: int, session_id: int, event_id: int
) -> EventDocument:
    """The event as its writer sees it, read in the write's own transaction after the
    write: the same one statement as a GET (three fewer than `views.event_reads`, and no
    models built). The writer holds a role on it (the write checked), so there is a row."""
    caller = {"user_id": user_id, "session_id": session_id, "event_id": event_id}
    statement = _statement_for(session.get_bind().dialect.name)
    row = (await session.execute(statement, caller)).one_or_none()
    if row is None:  # not reached: the write found the event and the caller's role
        raise event_not_found(event_id)
    return _document(row, user_id)


async def read_event(
    engine: AsyncEngine,
    claims: TokenClaims,
    event_id: int,
    held: held_parts.HeldParts | None = None,
) -> EventDocument:
    """The event as the caller sees it: 401 if their sign-in session is closed, 404 if they
    hold no role on a live event of that id (what `authenticate` and `get_event_for` say).
    No ORM session: one connection, one statement (two for a 404); on PostgreSQL on the
    driver (`neo_events.driver`), in autocommit, with the worker's `held` parts."""
    statement = _statement_for(engine.dialect.name)
    caller = (claims.user_id, claims.session_id, event_id)
    if driver.serves(engine.dialect):
        async with driver.connection(engine) as on_driver:
            return await _read(on_driver, statement, *caller, held=held, keep=True)
    async with engine.connect() as connection:
        return await _read(connection, statement, *caller)


async def read_for_edit(
    session: AsyncSession,
    user_id: int,
    session_id: int,
    event_id: int,
    *,
    lock: bool = True,
    on: driver.Connection | None = None,
) -> tuple[EventDocument, Role]:
    """`read_event` on the session's connection: what an edit on PostgreSQL starts from (the
    caller's sign-in and role, and the document its answer is made of,
    `EventDocument.after`: one statement where `get_event_for` and `read_written` make two).
    `lock`: read after the event's row lock is taken (`access.lock_row`), held until the
    transaction ends; else for a write that checks the row's `xmin` is unchanged instead
    (`row.row_xmin`, PostgreSQL only), read `on` a driver connection if given
    (`events.service`). With the worker's parts (`held_parts`, PostgreSQL), kept by a read in
    autocommit (`on`, not under the lock)."""
    dialect = session.get_bind().dialect.name
    locked = not lock or await lock_row(session, user_id, event_id)
    statement = _statement_for(dialect)
    connection = on if on is not None else await db.core(session)
    held = held_parts.of_session(session) if dialect == "postgresql" else None
    caller = (user_id, session_id, event_id)
    keep = not lock and on is not None  # kept only from a read in autocommit: committed
    document = await _read(connection, statement, *caller, held=held, keep=keep)
    if not locked:  # a role granted since the lock looked (`lock_row`): lock, read again
        if not await lock_row(session, user_id, event_id):
            raise event_not_found(event_id)  # and taken away again meanwhile
        document = await _read(connection, statement, *caller, held=held)
    return document, Role(document.row.my_role)


async def _read(
    connection: AsyncConnection | AsyncSession | driver.Connection,
    statement: Select[Any],
    user_id: int,
    session_id: int,
    event_id: int,
    *,
    held: held_parts.HeldParts | None = None,
    keep: bool = False,
) -> EventDocument:
    """The statement's row as the caller's document; with `held` (PostgreSQL), the parts
    kept for the row's `xmin` are not read again, and with `keep`, what it reads is kept."""
    caller = {"user_id": user_id, "session_id": session_id}
    kept = held.get(event_id) if held is not None else None
    params = caller | {"event_id": event_id, "known_xmin": kept[0] if kept else None}
    row = (await connection.execute(statement, params)).one_or_none()
    if row is None:
        if not await connection.scalar(_SIGNED_IN, caller):  # a closed session is a 401
            raise InvalidToken()  # before any 404
        raise event_not_found(event_id)
    if not row.signed_in:
        raise InvalidToken()
    if held is not None:
        if kept is not None and row.row_xmin == kept[0]:
            row = held_parts.completed(row, kept)
        elif keep:
            held_parts.keep(held, row)
    return _document(row, user_id)


def _document(row: Row[Any] | driver.Row, viewer_id: int) -> EventDocument:
    """The row of the one statement as the viewer's document, its ETag known."""
    reminders = sorted(_parsed(row.reminders))
    return EventDocument(row, viewer_id, reminders, event_etag(row.version, reminders))


def _parsed(value: Any) -> list[Any]:
    """An aggregate's value: decoded JSON (PostgreSQL's `json`), text (SQLite) or NULL."""
    if value is None:
        return []
    if isinstance(value, str | bytes):
        return cast(list[Any], orjson.loads(value))
    return cast(list[Any], value)


def _instant(value: str | None) -> datetime | None:
    """A time inside an aggregate: ISO 8601 with an offset (PostgreSQL) or naive UTC text
    (SQLite, as `UTCDateTime` stores it)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _ref(user_id: int | None, username: str | None) -> dict[str, Any] | None:
    return None if user_id is None else {"id": user_id, "username": username or ""}


def _permissions(grants: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """As `views._permissions` orders and writes them: by grant time, then user."""
    found = [
        {
            "user_id": g["user_id"],
            "username": g["username"],
            "role": g["role"],
            "granted_by": _ref(g["granted_by_id"], g["granted_by"]),
            "granted_at": _instant(g["granted_at"]),
        }
        for g in grants
    ]
    found.sort(key=lambda p: (p["granted_at"], p["user_id"]))
    return found


def _attendees(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """As `views.attendee_reads` orders and writes them: organizer first, then by
    invitation time and user."""
    found = [
        {
            "user_id": a["user_id"],
            "username": a["username"] or "",
            "response": a["response"],
            "comment": a["comment"],
            "optional": bool(a["optional"]),
            "organizer": bool(a["organizer"]),
            "invited_by": _ref(a["invited_by_id"], a["invited_by"]),
            "invited_at": _instant(a["invited_at"]),
            "responded_at": _instant(a["responded_at"]),
        }
        for a in rows
    ]
    found.sort(key=lambda a: (not a["organizer"], a["invited_at"], a["user_id"]))
    return found
