"""Advisory locks that make a write which reads before it writes one at a time (PostgreSQL).

A write that decides from what it reads (is this slot free? is this resource name taken?)
and then writes is a race under READ COMMITTED: two such writes read the same state, both
decide yes, and both write (an outside attack: four concurrent `?conflicts=reject` creates
of one slot were four events; four CalDAV PUTs of one new resource with `If-None-Match: *`
were four events, each answered 201). Each takes the lock of what it decides about before
it reads, held to its transaction's end: the second waits for the first to commit, and then
reads what the first wrote.

Locks are `pg_advisory_xact_lock(kind, key)`, the two-integer form: their space is apart
from the one-bigint locks of the job queue's turns and idempotency keys. A key is a user's
id (folded into 31 bits: two users sharing a lock only wait for each other). Several are
taken in ascending order, by everyone, so that two writes never wait for each other's. On
SQLite there is nothing to do: a write request holds the one write lock from its first
statement (`BEGIN IMMEDIATE`, db.py), so its reads already see every committed write.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# What a lock decides about, per user (its `kind`):
CALENDAR = 1  # a checked write's calendar (`schedule.check` under `reject` or `suggest`)
CALDAV_COLLECTION = 2  # the names and UIDs of a user's CalDAV collection (`caldav/writes.py`)

_HOLD = text(
    "SELECT count(pg_advisory_xact_lock(:kind, key)) FROM unnest(CAST(:keys AS integer[])) AS key"
)
# How long the transaction waits for a lock, this one or any after it (the write's rows):
# past it PostgreSQL refuses the statement (55P03), a 503 with Retry-After
# (`errors.database_unavailable`), rather than a request holding its connection while a
# queue of writes to one calendar goes by.
LOCK_TIMEOUT_MS = 5_000


async def hold(session: AsyncSession, kind: int, user_ids: Iterable[int]) -> None:
    """Take the locks of `kind` for these users (in one statement, in ascending order), held
    until the session's transaction ends; nothing on SQLite. The session must be in a
    transaction: a lock taken in autocommit would end with its statement (a RuntimeError)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({user_id & 0x7FFF_FFFF for user_id in user_ids})
    if not keys:
        return
    raw = await (await session.connection()).get_raw_connection()
    if getattr(raw.dbapi_connection, "autocommit", False):  # (as driver.connection_of tells)
        raise RuntimeError("an advisory lock taken in autocommit would hold nothing")
    await session.execute(text(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"))
    await session.execute(_HOLD, {"kind": kind, "keys": keys})
