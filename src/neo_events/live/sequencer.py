"""Numbers the change feed after the writers' commits (PostgreSQL; migration 0022).

A writer commits its changes as a `feed_pending` row and holds no lock of the feed's, so
writers commit together, each without waiting for another's WAL flush. Each process's
`Sequencer` then runs `feed_number_pending()`: under the `feed_state` lock it numbers every
pending row committed by then (anyone's, in the order of their ids), in one statement. A
writer's request waits for a run that began after its commit (`settle`), so a client that
has its answer finds its change in the feed (`/sync`, CalDAV's sync token, the live hubs),
as when the feed was numbered inside COMMIT.

One run at a time in a process, and one more queued for those who commit meanwhile: under
load one run numbers many writers' rows, at one round trip and one commit for all of them.
The live hubs are woken once a run has numbered something (on a task of its own: a slow
broker holds up no run). A run that fails is tried once more (`RETRY_S` later) before its
waiters have their answers anyway (their writes are committed); then the next commit's run
or the tick (every `live_poll_s`) numbers it, as it numbers what a process that ended
between its commit and its run left pending. A run whose statement fails on a pending row's
data numbers the rows one at a time instead, setting that row aside (migration 0023).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from neo_events import driver

logger = logging.getLogger(__name__)

_NUMBER_PENDING = text("SELECT feed_number_pending()")
# the same rows one at a time, setting aside those that cannot be numbered (migration 0023)
_NUMBER_APART = text("SELECT feed_number_pending_apart()")
_REFUSED_DATA = ("22", "23")  # SQLSTATE classes: data exception, integrity constraint violation
RETRY_S = 0.2  # a failed run is tried once more this much later


def numbers_after_commit(engine: AsyncEngine) -> bool:
    """Whether this database numbers the feed after the writers' commits: PostgreSQL. SQLite
    numbers it in the writing transaction (`feed._Numbering`)."""
    return engine.dialect.name == "postgresql"


async def number_pending(engine: AsyncEngine) -> int:
    """One run: number what is pending and committed; how many changes it numbered. If a
    pending row's data cannot be numbered (a value or a key its table refuses), the same
    rows one at a time, that row set aside in `feed_rejected` (migration 0023): one bad row
    stops nobody's feed."""
    try:
        return await _scalar(engine, _NUMBER_PENDING)
    except DBAPIError as exc:
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        if not state.startswith(_REFUSED_DATA):
            raise
        logger.warning("a pending change could not be numbered (%s): numbering apart", state)
        return await _scalar(engine, _NUMBER_APART)


async def _scalar(engine: AsyncEngine, statement: TextClause) -> int:
    """A statement of its own, in autocommit (on the driver; through SQLAlchemy for a driver
    other than asyncpg)."""
    if driver.serves(engine.dialect):
        async with driver.connection(engine) as conn:
            return int(await conn.scalar(statement, {}) or 0)
    async with engine.connect() as conn:
        numbered = int(await conn.scalar(statement) or 0)
        await conn.commit()
        return numbered


class Sequencer:
    """A process's runs of `number_pending`, one at a time, shared by whoever waits."""

    def __init__(
        self, engine: AsyncEngine, numbered: Callable[[], Awaitable[None]], *, every: float
    ) -> None:
        self._engine = engine
        self._numbered = numbered  # after a run that numbered something: wake the hubs
        self._every = every
        self._next: asyncio.Future[None] | None = None  # the queued run, done when it ends
        self._running: asyncio.Task[None] | None = None
        self._ticking: asyncio.Task[None] | None = None
        self._waking: set[asyncio.Task[None]] = set()
        self._stopped = False

    async def settle(self) -> None:
        """Return once a run that began after this call has ended: what this process
        committed before the call is numbered then (unless the run failed twice; a later
        one numbers it)."""
        if self._stopped:
            return  # the process is stopping: the next process's first run numbers it
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._running is None:
                self._running = _task(self._run(), "feed-sequencer")
        # shielded: a waiter cancelled (its client went away) does not cancel the run
        await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while (done := self._next) is not None:
                self._next = None  # who comes now waits for the next run
                try:
                    numbered = await self._number()
                finally:
                    if not done.done():
                        done.set_result(None)
                if numbered:
                    waking = _task(self._wake(), "feed-wake")
                    self._waking.add(waking)
                    waking.add_done_callback(self._waking.discard)
        finally:
            self._running = None

    async def _number(self) -> int:
        for attempt in (1, 2):
            try:
                return await number_pending(self._engine)
            except Exception as exc:  # the writes are committed: numbered by a later run
                logger.warning("numbering the change feed failed (attempt %d): %r", attempt, exc)
                if attempt == 1:
                    await asyncio.sleep(RETRY_S)
        return 0

    async def _wake(self) -> None:
        try:
            await self._numbered()
        except Exception:
            logger.exception("waking the live hubs failed")

    async def start(self) -> None:
        """Number what an earlier process left pending, then tick."""
        await self.settle()
        self._ticking = _task(self._tick(), "feed-sequencer-tick")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.settle()

    async def stop(self) -> None:
        self._stopped = True
        for task in (self._ticking, self._running, *self._waking):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._next is not None and not self._next.done():
            self._next.set_result(None)  # numbered by the next process's first run
        self._next = None


def _task(coroutine: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """A task in a context of its own, not that of the request that happened to start it
    (its request id would be on every log line of the runs that follow)."""
    return asyncio.create_task(coroutine, name=name, context=contextvars.Context())
