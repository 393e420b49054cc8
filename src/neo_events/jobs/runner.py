"""The loop that drives the queue in each process: look, claim, run, sleep a little.

Lanes separate work by how it runs: reminders are taken and run in one transaction per
batch (`take`: no claim written, see queue.py); the webhook fan-out is claimed in batches
and run inline; webhook deliveries wait on the network, so each runs as its own task, at
most `concurrency` at once, and a lane claims only as many as it has room for (a lease
starts ticking at the claim). Every loop here is bounded: a round claims at most `batch`
jobs per lane, and an idle runner sleeps `poll_s` between looks (a read that takes no
lock, so SQLite's write lock is taken only when work is due).

Between rounds the runner sleeps until the earliest job is due when that comes before the
next look (a reminder is not kept waiting for the poll), and `gap_s` after a round that found
work but did not fill a batch: work falling due in a trickle (10,000 reminders over a minute)
is then taken a few jobs per transaction, not one transaction each.

While a lane that takes its jobs fills its batch round after round (a burst of reminders),
the lanes after it claim at the usual pace (every `poll_s`), not every round: an empty claim
walks every due job of the burst to find none of its kinds (5–10 ms of a ~100 ms round).

A stop (SIGTERM, the server's shutdown) claims nothing more and gives the round and the jobs
under way `stop_grace_s` to finish and record what they did; what is still running then is
cancelled and its claims handed back, due at once: another worker (or this one, restarted)
takes them straight away, not when their lease ends (a minute by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from neo_events import db, db_sqlite
from neo_events.jobs import queue

logger = logging.getLogger(__name__)

BatchHandler = Callable[[list[queue.Claimed]], Coroutine[Any, Any, None]]
# Takes up to `limit` jobs due at `now` and runs them in one transaction; returns how many.
TakeHandler = Callable[[datetime, int], Coroutine[Any, Any, int]]
Probe = Callable[[], Awaitable[None]]


@dataclass
class Lane:
    """Kinds of job run the same way: taken and run in one transaction (`take`), claimed
    under a lease and run inline in batches (`handler`), or one task per job (`background`)."""

    kinds: tuple[str, ...]
    handler: BatchHandler | None = None
    take: TakeHandler | None = None
    batch: int = 200
    background: bool = False
    concurrency: int = 1
    per_owner: int | None = None  # claims shared fairly between owners (`queue.claim`)
    running: set[asyncio.Task[None]] = field(default_factory=set)
    looked: float = float("-inf")  # when it last claimed (the event loop's clock)


class Runner:
    """Claims due jobs and runs them until stopped."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        lanes: Sequence[Lane],
        *,
        poll_s: float,
        lease_s: float,
        gap_s: float = 0.0,
        probes: Sequence[Probe] = (),
        stop_grace_s: float = 0.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._lanes = list(lanes)
        self._poll_s = poll_s
        self._gap_s = min(gap_s, poll_s)
        self._lease = timedelta(seconds=lease_s)
        self._probes = list(probes)
        self._stop_grace_s = stop_grace_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._held: dict[asyncio.Task[None] | None, list[queue.Claimed]] = {}  # None: inline

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="jobs-runner")

    async def stop(self) -> None:
        """Claim nothing more; give the round and the jobs under way `stop_grace_s` to
        finish, then cancel what still runs and hand its claims back, due now."""
        self._stopping = True
        self._wake.set()
        deadline = asyncio.get_running_loop().time() + self._stop_grace_s
        rounds = [t for t in [self._task] if t is not None]
        if rounds and self._stop_grace_s > 0:  # the round under way claims nothing more
            await asyncio.wait(rounds, timeout=self._stop_grace_s)
        await self._cancel(rounds)  # over, or cut short: nothing is claimed after this
        # the jobs under way, those the last round started included
        tasks = [t for lane in self._lanes for t in lane.running]
        left = deadline - asyncio.get_running_loop().time()
        if tasks and left > 0:
            await asyncio.wait(tasks, timeout=left)
        await self._cancel(tasks)
        await self._hand_back([job for jobs in self._held.values() for job in jobs])

    @staticmethod
    async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _hand_back(self, jobs: list[queue.Claimed]) -> None:
        """Make cancelled claims due now (only those still ours), best effort: whatever
        fails to, waits for its lease as after a crash."""
        self._held.clear()
        if not jobs:
            return
        try:
            async with asyncio.timeout(self._stop_grace_s or 5), self._sessionmaker() as session:
                await queue.release(session, jobs, now=db.utcnow())
                await session.commit()
        except Exception as exc:
            logger.warning("could not hand back %d claimed jobs (%r)", len(jobs), exc)
        else:
            logger.info("handed back %d claimed jobs at stop", len(jobs))

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        # this task's transactions write (BEGIN IMMEDIATE on SQLite), to its end
        db_sqlite.write_intent.set(True)
        while not self._stopping:
            pause = self._poll_s
            try:
                pause = await self.tick()
            except DBAPIError as exc:  # the database is away: look again after the pause
                logger.warning("job queue round failed (%s); retrying", type(exc).__name__)
            except Exception:
                logger.exception("job queue round failed; retrying")
            if pause <= 0:
                await asyncio.sleep(0)  # let requests and deliveries in between rounds
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()
            self._wake.clear()

    async def tick(self) -> float:
        """One round: claim what is due in each lane and run it. Returns the pause before
        the next: none after a full batch (more may be waiting), `gap_s` after a round that
        took some work, else until the earliest job is due, `poll_s` at most."""
        for probe in self._probes:
            await probe()
        now = db.utcnow()
        with db_sqlite.intending(False):
            async with self._sessionmaker() as session:
                earliest = await queue.next_run_at(session)
        if earliest is None:
            return self._poll_s
        if earliest > now:
            return min(self._poll_s, (earliest - now).total_seconds())
        busy = took = burst = False  # burst: a lane taking in one transaction is full
        loop = asyncio.get_running_loop()
        for lane in self._lanes:
            if self._stopping:  # (`stop`: what was claimed runs, nothing more is)
                break
            room = lane.batch
            if lane.background:
                room = min(room, lane.concurrency - len(lane.running))
            if room <= 0:
                continue
            if lane.take is not None:
                taken = await lane.take(now, room)
                took = took or taken > 0
                burst = burst or taken == room
                busy = busy or burst
                continue
            assert lane.handler is not None
            if burst and loop.time() - lane.looked < self._poll_s:
                continue  # a burst in a lane before: claim here at the usual pace only
            lane.looked = loop.time()
            async with self._sessionmaker() as session:
                claimed = await queue.claim(
                    session,
                    now=now,
                    limit=room,
                    lease=self._lease,
                    kinds=lane.kinds,
                    per_owner=lane.per_owner,
                )
                await session.commit()
            if not claimed:
                continue
            took = True
            busy = busy or len(claimed) == room
            if not lane.background:
                self._held[None] = claimed
                try:
                    await lane.handler(claimed)
                except asyncio.CancelledError:
                    raise  # cancelled by `stop`, which hands these claims back
                except BaseException:
                    del self._held[None]
                    raise
                del self._held[None]
                continue
            for job in claimed:
                task = asyncio.create_task(lane.handler([job]), name=f"job-{job.key}")
                lane.running.add(task)
                self._held[task] = [job]
                task.add_done_callback(self._finished(lane))
        if busy:
            return 0.0
        # Nothing taken: what is due waits for room in a full lane (a finished task wakes
        # the runner), so look again at the usual pace, not every gap.
        return self._gap_s if took else self._poll_s

    def _finished(self, lane: Lane) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            lane.running.discard(task)
            if not task.cancelled():  # a cancelled one's claim is handed back (`stop`)
                self._held.pop(task, None)
            if not task.cancelled() and task.exception() is not None:
                logger.error("job failed", exc_info=task.exception())
            self._wake.set()  # room in the lane: look for more

        return done
