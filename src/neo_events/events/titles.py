"""The titles a conflict check's clash list shows (`schedule.check`): a calendar read leaves
them out, and the few of what clashes are read afterwards, kept in the worker's cache."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db
from neo_events.events import expansions
from neo_events.events.series_rows import by_id as _by_id
from neo_events.events.series_rows import of_ids as _of_ids
from neo_events.models import Event

_TITLES = _of_ids(Event.id, Event.version, Event.title)


async def titles(session: AsyncSession, shown: Mapping[int, int]) -> dict[int, str]:
    """The titles of these events (each with the version the calendar read found), by id: a
    calendar read leaves them out (`calendar_keys`), and a check needs only those of the
    events a write clashes with and may name. A title read is kept in the worker's cache
    by event and version (`expansions.keep_title`): a clash with the same events again (a
    weekly meeting every later create meets) reads none. Kept once the request has
    committed, never before, as `expansions.keep_written` keeps a series: a version (and on
    SQLite an id) rolled back is given again, to another content."""
    cache = expansions.of_session(session)
    named = expansions.kept_titles(cache, shown) if cache is not None else {}
    read = await _by_id(session, _TITLES, sorted(shown.keys() - named.keys()))
    for row in read:
        named[row.id] = row.title  # as it is now, if changed since: under its own version
    if cache is not None and read:
        kept = [((row.id, row.version), row.title) for row in read]

        async def keep() -> None:
            for key, title in kept:
                expansions.keep_title(cache, key, title)

        db.after_commit(session, keep)
    return named
