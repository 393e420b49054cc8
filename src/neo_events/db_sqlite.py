"""SQLite's writers: one at a time in a process, each taking the write lock when its
transaction begins (BEGIN IMMEDIATE) if its context said it will write (`intending`)."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

_HOLDS_WRITE_TURN = "neo_events.sqlite_write_turn"

# Whether the transactions begun in this context write: on SQLite they then begin with BEGIN
# IMMEDIATE, because a deferred BEGIN that later upgrades to a write fails at once ("database
# is locked") when another writer went first. Set with `intending`.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


class intending:  # (lower case: used as `with intending(True):`, as a function would be)
    """The transactions begun within write (`writes`: a write request, a job that writes) or
    only read (a probe, a poll, whatever the context around said); as before, after. A class,
    not a generator: it wraps every request (0.27 µs against @contextmanager's 0.82)."""

    __slots__ = ("_token", "_writes")

    def __init__(self, writes: bool) -> None:
        self._writes = writes

    def __enter__(self) -> None:
        self._token = write_intent.set(self._writes)

    def __exit__(self, *_exc: object) -> None:
        write_intent.reset(self._token)


def configure(engine: AsyncEngine, *, write_wait_s: float) -> None:
    # SQLite has one write lock per file, and a writer that finds it taken sleeps and retries
    # (busy_timeout) with no queue: under a burst, some waiters lose every retry for 10 s and
    # fail. Inside one process writers queue here instead, first come first served, and
    # take the file lock only when it is their turn. Between processes busy_timeout remains.
    writers = asyncio.Lock()

    async def wait_for_turn(_driver_connection: Any) -> None:
        try:
            async with asyncio.timeout(write_wait_s):
                await writers.acquire()
        except TimeoutError:
            raise OperationalError(
                "BEGIN IMMEDIATE",
                None,
                TimeoutError(f"no turn to write within {write_wait_s:g} s"),
            ) from None

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not write_intent.get():
            connection.exec_driver_sql("BEGIN")
            return
        if not connection.info.get(_HOLDS_WRITE_TURN):
            # AdaptedConnection.run_async: await from inside SQLAlchemy's synchronous event
            connection.connection.dbapi_connection.run_async(wait_for_turn)
            connection.info[_HOLDS_WRITE_TURN] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # Back in the pool, after its commit or rollback (or its invalidation): the next
        # writer's turn. Held until here, not released at the "commit" event, which fires
        # before the COMMIT is sent.
        if record.info.pop(_HOLDS_WRITE_TURN, False):
            writers.release()
