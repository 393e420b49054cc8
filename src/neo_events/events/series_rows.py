"""What an event's occurrences depend on, read by id: the columns `content.series_of` reads
(its times, zone, rule and exceptions), never its texts. A calendar read (`calendars`) and
the window listing (`listing.expand_all`) read these for the events whose expansions the
caches lack: a window of 9,000 events of 44 KB loaded their whole rows, descriptions and
all, 0.9 s of PostgreSQL and 0.85 s of the worker (a ninth outside attack, 2026-12-05).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Executable, Select, Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db, driver
from neo_events.models import Event

EXCEPTIONS = ("exdates", "rdates", "overrides")
COLUMNS = (
    Event.id,
    Event.version,
    Event.owner_id,  # (the listing's event objects are cached by id, version and owner)
    Event.start_time,
    Event.end_time,
    Event.timezone,
    Event.all_day,
    Event.start_date,
    Event.end_date,
    Event.is_recurring,
    Event.recurrence_pattern,
    # as their JSON text, decoded where the series is built: in a worker thread for a read of
    # many (400 series of 380 overrides held the loop 65-75 ms decoding them; a profile)
    *(cast(getattr(Event, name), Text).label(name) for name in EXCEPTIONS),
    Event.count_end,  # where a COUNT rule ends: its plan is built without a scan
)
CHUNK = 5_000  # ids to a statement, well within both databases' bind limits


def of_ids(*columns: Any) -> dict[str, Select[Any]]:
    """`columns` of the events whose ids are `:ids`, by dialect (`db.one_of`)."""
    return {
        d: select(*columns).where(db.one_of(d, Event.id, "ids")) for d in ("postgresql", "sqlite")
    }


async def by_id(
    session: AsyncSession, statements: Mapping[str, Executable], ids: Sequence[int]
) -> list[Any]:
    """The rows of a statement (`of_ids`) over `:ids`, in chunks of CHUNK ids."""
    if not ids:  # every series cached: not even the session's connection is asked for
        return []
    statement = statements[session.get_bind().dialect.name]
    found: list[Any] = []
    connection = await driver.connection_of(session)
    for chunk in range(0, len(ids), CHUNK):
        found += await connection.execute(statement, {"ids": list(ids[chunk : chunk + CHUNK])})
    return found


def decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of `contents` as `content.series_of` reads it: its exceptions, read as JSON
    text, decoded (where the series is built: in a calendar read's thread if heavy)."""
    content = dict(row)
    for name in EXCEPTIONS:
        content[name] = orjson.loads(content[name]) if content[name] is not None else []
    return content


async def contents(
    session: AsyncSession, event_ids: Sequence[int]
) -> dict[int, tuple[int, Mapping[Any, Any]]]:
    """The version and the recurrence content (`COLUMNS`, undecoded) of each event, by id."""
    rows = await by_id(session, _CONTENTS, event_ids)
    return {row.id: (row.version, row._mapping) for row in rows}


# Built once (building the select per call cost as much as running it).
_CONTENTS = of_ids(*COLUMNS)
