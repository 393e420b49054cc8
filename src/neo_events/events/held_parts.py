"""The parts of an event's document that only a write of its row changes, kept by each
worker (PostgreSQL): the names of its owner, creator and last editor, and its grants with
their holders' and granters' names (issue #16: the grants' aggregate was the largest part
of a read's work in the database).

A change of who holds a role on the event, or of a role, touches the event's row
(`access.touch`), and a username never changes, so these parts are fixed by the row's
`xmin`: the transaction that last wrote it. A read (`reads._read`) passes the `xmin` it
keeps them for (`known_xmin`), and the statement reads them again only if the row's `xmin`
is another (otherwise they are NULL), so nothing kept is used for a row of another `xmin`.
Kept only from a read in autocommit (a GET, an edit read without the lock): what it read is
committed. (An `xmin` names one transaction until transaction ids wrap around, after four
billion, or a failover to a standby that had not received the last ones reuses them: a
worker that outlived either could show an event's grants as they were until its next write.
The event objects' cache, kept by version, shares the second.)

Not among them: the attendees (an answer to an invitation does not write the row) and the
caller's reminders (theirs alone), read every time. SQLite has no `xmin`: there every read
reads everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import driver
from neo_events.infra.cache import LruCache

# the columns of `reads`' statement read only when the row's xmin is not the one kept
PARTS = ("owner_name", "created_by_name", "updated_by_name", "grants")

Kept = tuple[str, tuple[Any, ...]]  # (the row's xmin, PARTS' values)
HeldParts = LruCache[Kept]  # by event id

_SESSION_KEY = "neo.held_parts"
# What a worker keeps at most, beside its count of events (`EVENT_OBJECT_CACHE_SIZE`): an
# event's grants are not bounded in number, so neither would the entries' size be.
MAX_BYTES = 32 * 2**20


def weight(kept: Kept) -> int:
    """About what an entry holds (tracemalloc, grants decoded from the driver's JSON: ~250
    bytes, and ~600 a grant), for the cache's bound in bytes (`MAX_BYTES`)."""
    grants = kept[1][-1]
    return 300 + 600 * len(grants or ())


def attach(session: AsyncSession, cache: HeldParts) -> None:
    """Let this session's reads of an event for an edit use the worker's parts
    (`web.get_session`)."""
    session.info[_SESSION_KEY] = cache


def of_session(session: AsyncSession) -> HeldParts | None:
    cache: HeldParts | None = session.info.get(_SESSION_KEY)
    return cache


def completed(row: Any, kept: Kept) -> Any:
    """The statement's row with the kept parts, which it left out (its xmin is theirs)."""
    return driver.Row(**(dict(row._mapping) | dict(zip(PARTS, kept[1], strict=True))))


def keep(cache: HeldParts, row: Any) -> None:
    """Keep the parts of a row read in full, for the next read of the event."""
    cache.put(row.id, (row.row_xmin, tuple(getattr(row, name) for name in PARTS)))
