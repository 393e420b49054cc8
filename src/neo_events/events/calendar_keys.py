"""The keys of a calendar read (`calendars.calendar`): each live, opaque event whose span
reaches the window that one of the users holds a role on, with its version, its holders
among the users, the invitees' series answers and whether the viewer sees it.

A row an event: the roles of several users are gathered by event in the database (100
people who share 2,000 events are 2,000 rows, not 200,000: those took ~2 s of Python), and
the rows are read a part at a time, the event loop running between parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Select, bindparam, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events import db, driver
from neo_events.models import Attendee, Event, EventPermission

KEYS_A_PART = 2_000  # key rows read between two turns of the event loop (~10-20 ms)
# Events a conflict check's calendar reads take at most, all its reads together (a
# `Budget`): the first by start. A busy calendar's year held 20,000 events, and its every
# key cost a check ~5 µs: 0.1-0.2 s a series create; a `suggest` over 100 busy people's
# fortnight (whose every event is expanded, ~20 µs each) 5-6 s (an outside attack). Past
# it a read is complete up to where the events it did not take start (`Keys.cut`). As many
# as the occurrences a read takes (`calendars.CALENDAR_LIMIT`): each event met in the
# window is at least one of those, but for a series at other times.
CHECK_EVENTS = 5_000


class Budget:
    """How many more events the calendar reads of one check (or one strict read) may take."""

    def __init__(self, events: int | None = None) -> None:
        self.left = CHECK_EVENTS if events is None else events


# Built once: an alias made per call costs more than the query's compilation cache saves.
_HELD = aliased(EventPermission, name="held")


async def read(
    session: AsyncSession,
    users: set[int],
    window: tuple[datetime, datetime],
    *,
    viewer_id: int | None,
    budget: Budget,
) -> Keys:
    """The keys of the users' calendars in the window, and which events `viewer_id` sees:
    those of the first `budget.left` events by start (the budget spent by as many), and
    where the others start (`Keys.cut`: the read is complete before it) if there are more."""
    dialect = session.get_bind().dialect.name
    one = len(users) == 1
    params: dict[str, Any] = {"start": window[0], "end": window[1], "key_limit": budget.left + 1}
    params["users"] = next(iter(users)) if one else list(users)
    # A viewer who is the only user sees every event of the calendar (they hold a role on
    # each): the query asks nothing more (a create's check, the common case).
    ask_viewer = viewer_id is not None and users != {viewer_id}
    if ask_viewer:
        params["viewer_id"] = viewer_id
    connection = await driver.connection_of(session)
    result = await connection.execute(_keys(dialect, ask_viewer, one), params)
    keys = Keys(viewer_id, ask_viewer)
    taken, last = 0, None
    for part in result.partitions(KEYS_A_PART):
        if one:
            keys.gather_one(part, params["users"])
        else:
            keys.gather(part, json=dialect != "postgresql")
        taken, last = taken + len(part), part[-1].span_start
        if len(part) == KEYS_A_PART:
            await asyncio.sleep(0)
    keys.spend(budget, taken, last)
    return keys


def one_user_arrays() -> Select[Any, Any, Any, int, Any]:
    """PostgreSQL: one user's keys (`read` of one user who is the viewer) as one row of
    three arrays in one order, `ids`, `versions` and `responses` (NULL for no event), with
    how many (`taken`) and the last one's start (`last_start`), for a statement that reads
    them beside what it writes (`statements.CREATE_CHECKED`); the same parameters as
    `read`'s (`start`, `end`, `users`: the one id, `key_limit`). `Keys.of_arrays` reads the row."""
    found = _keys("postgresql", False, True).subquery("calendar_keys")
    return select(
        func.array_agg(found.c.id).label("ids"),
        func.array_agg(found.c.version).label("versions"),
        func.array_agg(found.c.response).label("responses"),
        func.count().label("taken"),
        func.max(found.c.span_start).label("last_start"),
    )


class Keys:
    """The key rows of a calendar read gathered by event: its version, which of the users
    hold it, the invitees' series answers, and whether the viewer may see it."""

    @classmethod
    async def of_arrays(cls, user_id: int, row: Any, budget: Budget) -> Keys:
        """The keys of `one_user_arrays`' row, for `user_id`, who is the viewer, read with
        `budget.left + 1` as its `key_limit`: gathered a part at a time, the event loop
        running between parts, as `read`'s are."""
        keys = cls(user_id, False)
        keys.spend(budget, row.taken, row.last_start)
        ids, versions, responses = row.ids or (), row.versions or (), row.responses or ()
        if not len(ids) == len(versions) == len(responses):
            raise ValueError("the arrays of one_user_arrays differ in length")
        for first in range(0, len(ids), KEYS_A_PART):
            if first:
                await asyncio.sleep(0)
            part = slice(first, first + KEYS_A_PART)
            keys._gather_columns(user_id, ids[part], versions[part], responses[part])
        return keys

    def __init__(self, viewer_id: int | None, ask_viewer: bool) -> None:
        self.viewer_id, self.ask_viewer = viewer_id, ask_viewer
        self.events: dict[int, int] = {}  # version, by id
        self.holders: dict[int, frozenset[int]] = {}
        self.answers: dict[int, dict[int, str | None]] = {}  # invitees' series answers
        # the events the viewer may see, each with its version (a clash list's titles are
        # kept by version: `calendars.titles`)
        self.visible: dict[int, int] = {}
        # where the events a limited read did not take start: complete before it (None: all)
        self.cut: datetime | None = None

    def spend(self, budget: Budget, taken: int, last: datetime | None) -> None:
        """`taken` events read (at most `budget.left + 1`, the last starting at `last`):
        past the budget, the read is cut where the last starts, and the budget is spent."""
        if taken > budget.left:
            self.cut, budget.left = last, 0
        else:
            budget.left -= taken

    def gather_one(self, rows: Sequence[Any], user_id: int) -> None:
        """Rows of one user's calendar: (id, version, response[, visible]), one an event."""
        if not self.ask_viewer:
            ids, versions = [row.id for row in rows], [row.version for row in rows]
            self._gather_columns(user_id, ids, versions, [row.response for row in rows])
            return
        events, holders, answers, visible = self.events, self.holders, self.answers, self.visible
        people, seeing = frozenset((user_id,)), self.viewer_id is not None
        for row in rows:
            events[row.id] = row.version
            holders[row.id] = people
            if row.response is not None:
                answers[row.id] = {user_id: row.response}
            if seeing and row.visible:
                visible[row.id] = row.version

    def _gather_columns(
        self,
        user_id: int,
        ids: Sequence[int],
        versions: Sequence[int],
        responses: Sequence[str | None],
    ) -> None:
        """`gather_one` of rows given as columns, for a viewer who is the user (who sees
        every event of their calendar) or for no viewer (nothing is visible): by the dicts'
        own bulk updates, not a row at a time (2,000 events' keys, a row at a time, were a
        fifth of a check's CPU)."""
        self.events.update(zip(ids, versions, strict=True))
        self.holders.update(dict.fromkeys(ids, frozenset((user_id,))))
        self.answers.update(
            (event_id, {user_id: response})
            for event_id, response in zip(ids, responses, strict=True)
            if response is not None
        )
        if self.viewer_id is not None:
            self.visible.update(zip(ids, versions, strict=True))

    def gather(self, rows: Sequence[Any], *, json: bool) -> None:
        """Rows of several users' calendars, one an event: (id, version, users[, visible])
        with the answers of those of the users invited to it, as `invitees` and `responses`
        (PostgreSQL: two arrays in one order, NULL for none) or `invited` ((user, response)
        pairs; `json`: the arrays as JSON text, SQLite's). An answer counts for a user who
        holds a role on the event (an invitation outlives a role taken away)."""
        events, holders, answers, visible = self.events, self.holders, self.answers, self.visible
        seeing, ask_viewer = self.viewer_id is not None, self.ask_viewer
        for row in rows:
            if json:
                users, invited = orjson.loads(row.users), orjson.loads(row.invited)
            else:  # array_agg of no rows is NULL
                users = row.users
                invited = zip(row.invitees or (), row.responses or (), strict=True)
            events[row.id] = row.version
            holders[row.id] = held = frozenset(users)
            mine = {u: r for u, r in invited if u in held and r is not None}
            if mine:
                answers[row.id] = mine
            if seeing and (not ask_viewer or row.visible):
                visible[row.id] = row.version


@cache
def _keys(dialect: str, for_viewer: bool, one_user: bool = False) -> Select[Any]:
    """A row for each live, opaque event whose span reaches the window that one of the users
    holds a role on: (id, version, response[, visible]) for one user, with that user's
    series answer if invited; for several, the holders among them gathered by event
    (`array_agg` on PostgreSQL, `json_group_array` on SQLite) before the event is probed,
    once however many hold it, then the answers of those invited to each event found (a
    probe of `pk_attendees` an event: after the window, not one a grant before it, which
    read the whole attendees table on PostgreSQL; see `Keys.gather`).
    Parameters: the window (`start`, `end`), the users (`users`: a list, or, if `one_user`,
    the one id), how many events at most (`key_limit`: the first by start) and, for a
    viewer, `viewer_id`. Built once per dialect and kind (every
    conflict check runs it, and building it cost more than running it).

    One user is compared with `=`, not `= ANY` of a one-element array: PostgreSQL estimates
    an array parameter at ten elements, so its generic plan for that statement looked ten
    times dearer than the custom one and it planned every execution afresh (0.15 ms of its
    CPU a check); with `=` it settles on the generic plan (0.01 ms) after five executions,
    as for any prepared statement. On PostgreSQL the events are a LATERAL subquery
    that OFFSET 0 keeps from being flattened: a probe by id per role (or per event, for
    several users: index-only on `ix_events_id_calendar`), where the planner's own choice
    is a hash join over a sequential scan of `events`, three times slower at 100,000
    events. SQLite probes by primary key anyway."""
    query = _one_user_keys(dialect, for_viewer) if one_user else _gathered_keys(dialect, for_viewer)
    # the first events by start, one past the budget (`read`); by id among equals
    found = query.selected_columns
    return query.order_by(found.span_start, found.id).limit(bindparam("key_limit"))


def _one_user_keys(dialect: str, for_viewer: bool) -> Select[Any]:
    """(id, version, response[, visible]): a row a role is a row an event."""
    held = _HELD
    query, event_id, columns = _probed(dialect, held, held.event_id, for_viewer)
    query = query.add_columns(*columns[:2], Attendee.response, *columns[2:])
    query = query.outerjoin(
        Attendee, (Attendee.event_id == event_id) & (Attendee.user_id == held.user_id)
    )
    # a deleted event's grants: not even probed
    return query.where(held.user_id == bindparam("users"), held.live == true())


def _gathered_keys(dialect: str, for_viewer: bool) -> Select[Any]:
    """(id, version, users[, visible], and the answers: `invitees`/`responses` arrays on
    PostgreSQL, `invited` pairs on SQLite), the users' roles gathered by event first."""
    held = _HELD
    gathered: Any = func.array_agg if dialect == "postgresql" else func.json_group_array
    source = (  # json_group_array keeps NULLs, as array_agg does
        select(held.event_id, gathered(held.user_id).label("users"))
        .where(db.one_of(dialect, held.user_id, "users"), held.live == true())
        .group_by(held.event_id)
        .subquery("gathered")
    )
    query, event_id, columns = _probed(dialect, source, source.c.event_id, for_viewer)
    columns[2:2] = [source.c.users]
    # The answers of those of the users invited to an event found in the window: a probe
    # of pk_attendees per event, after the window (not one per grant, before it).
    invited = (Attendee.event_id == event_id, db.one_of(dialect, Attendee.user_id, "users"))
    if dialect == "postgresql":
        answers = (
            select(
                func.array_agg(Attendee.user_id).label("invitees"),
                func.array_agg(Attendee.response).label("responses"),
            )
            .where(*invited)
            .offset(0)
            .lateral("answers")
        )
        query = query.join(answers, true())
        columns += [answers.c.invitees, answers.c.responses]
    else:
        pairs = func.json_group_array(func.json_array(Attendee.user_id, Attendee.response))
        columns.append(select(pairs).where(*invited).scalar_subquery().label("invited"))
    return query.add_columns(*columns)


def _probed(
    dialect: str, source: Any, source_event: Any, for_viewer: bool
) -> tuple[Select[Any], Any, list[Any]]:
    """The events of `source`'s roles (its event ids: `source_event`) that are live, opaque
    and reach the window, each probed by id: the query without columns yet, the probed
    event's id, and its columns (id, version[, visible])."""
    live = (
        Event.deleted_at.is_(None),
        Event.transparency == "opaque",  # free time is never busy, never a conflict
        Event.span_start < bindparam("end"),
        or_(Event.span_end.is_(None), Event.span_end > bindparam("start")),
    )
    # No title: the index holds everything else, so a probe never reads the table (a
    # check's titles are read afterwards for what clashes, `titles`).
    wanted: list[Any] = [Event.id, Event.version, Event.span_start]
    if dialect == "postgresql":
        found = select(*wanted).where(Event.id == source_event, *live).offset(0)
        lateral = found.lateral("found")
        event_id: Any = lateral.c.id
        columns: list[Any] = [lateral.c[c.key] for c in wanted]
        query = select().select_from(source).join(lateral, true())
    else:
        event_id = Event.id
        columns = list(wanted)
        query = select().select_from(source).join(Event, Event.id == source_event)
        query = query.where(*live)
    if for_viewer:
        sees = exists().where(
            EventPermission.event_id == event_id,
            EventPermission.user_id == bindparam("viewer_id"),
        )
        columns.append(sees.label("visible"))
    return query, event_id, columns
