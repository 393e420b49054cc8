"""The keys of a calendar read (`calendars.calendar`): a row for each role one of the users
holds on a live, opaque event whose span reaches the window, gathered by event (its version,
its holders among the users, the invitees' series answers, whether the viewer sees it).
A row a role: 100 people who share 2,000 events are 200,000 rows (~1.5 s of Python, which
held the event loop), so they are read a part at a time, the loop running between parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, any_, bindparam, exists, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events import driver
from neo_events.models import Attendee, Event, EventPermission

KEYS_A_PART = 2_000  # key rows read between two turns of the event loop (~10-20 ms)

# Built once: an alias made per call costs more than the query's compilation cache saves.
_HELD = aliased(EventPermission, name="held")


async def read(
    session: AsyncSession,
    users: set[int],
    window: tuple[datetime, datetime],
    *,
    viewer_id: int | None,
) -> Keys:
    """The keys of the users' calendars in the window, and which events `viewer_id` sees."""
    dialect = session.get_bind().dialect.name
    one = len(users) == 1
    params: dict[str, Any] = {"start": window[0], "end": window[1]}
    params["users"] = next(iter(users)) if one else list(users)
    # A viewer who is the only user sees every event of the calendar (they hold a role on
    # each): the query asks nothing more (a create's check, the common case).
    ask_viewer = viewer_id is not None and users != {viewer_id}
    if ask_viewer:
        params["viewer_id"] = viewer_id
    connection = await driver.connection_of(session)
    result = await connection.execute(_keys(dialect, ask_viewer, one), params)
    keys = Keys(viewer_id, ask_viewer)
    for part in result.partitions(KEYS_A_PART):
        keys.gather(part)
        if len(part) == KEYS_A_PART:
            await asyncio.sleep(0)
    return keys


class Keys:
    """The key rows of a calendar read gathered by event: its version, which of the users
    hold it, the invitees' series answers, and whether the viewer may see it."""

    def __init__(self, viewer_id: int | None, ask_viewer: bool) -> None:
        self.viewer_id, self.ask_viewer = viewer_id, ask_viewer
        self.events: dict[int, int] = {}  # version, by id
        self.holders: dict[int, set[int]] = {}
        self.answers: dict[int, dict[int, str | None]] = {}  # invitees' series answers
        self.visible: set[int] = set()

    def gather(self, rows: Sequence[Any]) -> None:
        events, holders, answers, visible = self.events, self.holders, self.answers, self.visible
        seeing, ask_viewer = self.viewer_id is not None, self.ask_viewer
        for row in rows:
            if row.id not in events:
                events[row.id] = row.version
            holders.setdefault(row.id, set()).add(row.user_id)
            if row.response is not None:
                answers.setdefault(row.id, {})[row.user_id] = row.response
            if seeing and (not ask_viewer or row.visible):
                visible.add(row.id)


@cache
def _keys(dialect: str, for_viewer: bool, one_user: bool = False) -> Select[Any]:
    """(id, version, user_id, response[, visible]): a row per role one of the users
    holds on a live, opaque event whose span reaches the window, with that user's series
    answer if invited. Parameters: the window (`start`, `end`), the users (`users`: a list,
    or, if `one_user`, the one id) and, for a viewer, `viewer_id`. Built once per dialect
    and kind (every conflict check runs it, and building it cost more than running it).

    One user is compared with `=`, not `= ANY` of a one-element array: PostgreSQL estimates
    an array parameter at ten elements, so its generic plan for that statement looked ten
    times dearer than the custom one and it planned every execution afresh (0.15 ms of its
    CPU a check); with `=` it settles on the generic plan (0.01 ms) after five executions,
    as for any prepared statement. On PostgreSQL the events are a LATERAL subquery
    that OFFSET 0 keeps from being flattened: a probe by id per role (index-only on
    `ix_events_id_calendar`), where the planner's own choice is a hash join over a sequential
    scan of `events`, three times slower at 100,000 events. SQLite probes by primary key
    anyway."""
    held = _HELD
    live = (
        Event.deleted_at.is_(None),
        Event.transparency == "opaque",  # free time is never busy, never a conflict
        Event.span_start < bindparam("end"),
        or_(Event.span_end.is_(None), Event.span_end > bindparam("start")),
    )
    # No title: the index holds everything else, so a probe never reads the table (a
    # check's titles are read afterwards for what clashes, `titles`).
    wanted: list[Any] = [Event.id, Event.version]
    if dialect == "postgresql":
        found = select(*wanted).where(Event.id == held.event_id, *live).offset(0).lateral("found")
        event_id: Any = found.c.id
        columns: list[Any] = [found.c[c.key] for c in wanted]
        query = select().select_from(held).join(found, true())
    else:
        event_id = Event.id
        columns = wanted
        query = select().select_from(held).join(Event, Event.id == held.event_id).where(*live)
    if one_user:
        users: Any = held.user_id == bindparam("users")
    elif dialect == "postgresql":
        users = held.user_id == any_(bindparam("users", type_=ARRAY(held.user_id.type)))
    else:
        users = held.user_id.in_(bindparam("users", expanding=True))
    if for_viewer:
        sees = exists().where(
            EventPermission.event_id == event_id,
            EventPermission.user_id == bindparam("viewer_id"),
        )
        columns.append(sees.label("visible"))
    return (
        query.add_columns(*columns, held.user_id, Attendee.response)
        .outerjoin(Attendee, (Attendee.event_id == event_id) & (Attendee.user_id == held.user_id))
        .where(users, held.live == true())  # a deleted event's grants: not even probed
    )
