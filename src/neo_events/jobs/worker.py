"""What the queue runs and how a process runs it: inside `serve`, or `neo-events worker`.

Four lanes: reminders (batches of up to `jobs_batch`, taken and fired in one transaction
each), the webhook fan-out (inline), the sends of webhooks whose next message is a
`reminder.due` with nothing before it (`webhook_due_concurrency` at once, one of a user's at a
time), and the other webhook sends (one task per webhook, `webhook_concurrency` at once, at
most `webhook_concurrency_per_user` of one user's webhooks by every worker together, claimed
in users' turns).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from neo_events import db, db_sqlite
from neo_events.infra import collector
from neo_events.infra.broker import RedisBroker
from neo_events.jobs import queue
from neo_events.jobs.runner import Lane, Runner
from neo_events.live.hub import CHANNEL
from neo_events.live.sequencer import Sequencer, numbers_after_commit
from neo_events.reminders import firing as reminders
from neo_events.settings import Settings
from neo_events.stopping import on_server_stop
from neo_events.webhooks import resealing, retention
from neo_events.webhooks.delivery import Webhooks
from neo_events.webhooks.fanout import FANOUT, FanOut
from neo_events.webhooks.service import DELIVER, DELIVER_DUE
from neo_events.webhooks.signing import SecretBox

logger = logging.getLogger(__name__)

Publish = Callable[[], Awaitable[None]]


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox([settings.resolved_secret_key(), *settings.secret_key_previous])


@asynccontextmanager
async def running(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], publish: Publish
) -> AsyncIterator[Runner]:
    """A started runner for this process; `publish` wakes the live hubs after a reminder."""
    timing = reminders.Timing(
        late_after=timedelta(seconds=settings.reminder_late_after_s),
        drop_after=timedelta(seconds=settings.reminder_drop_after_s),
    )

    lease = timedelta(seconds=settings.jobs_lease_s)

    async def fire(now: datetime, limit: int) -> int:
        jobs: list[queue.Claimed] = []
        try:
            async with sessionmaker() as session:
                session.info["publish_change"] = publish
                try:
                    jobs = await queue.take(
                        session, now=now, limit=limit, lease=lease, kinds=(reminders.KIND,)
                    )
                    if jobs:
                        await reminders.fire(session, jobs, timing)
                    await db.commit(session)
                except BaseException:
                    await db.rollback(session)
                    raise
        except Exception as exc:
            if jobs:
                await _postpone(jobs, now + lease, exc)
            raise
        return len(jobs)

    async def _postpone(jobs: list[queue.Claimed], until: datetime, exc: Exception) -> None:
        """A failed batch waits a lease, as a crashed claim would (best effort)."""
        try:
            async with sessionmaker() as session:
                await queue.postpone(session, jobs, until=until, error=repr(exc))
                await session.commit()
        except Exception:
            logger.warning("could not postpone %d failed reminder jobs", len(jobs))

    box = secret_box(settings)
    if settings.secret_key_previous:  # a rotation under way: its last step needs this
        await resealing.reseal_all(sessionmaker, box)
    hooks = Webhooks(sessionmaker, settings, box)
    fanout = FanOut(sessionmaker, settings.webhook_fanout_rows)
    pruning = retention.Pruning(sessionmaker, settings.webhook_retention_days)
    # A read, then perhaps a write: on SQLite its write lock taken up front (BEGIN IMMEDIATE,
    # waiting its turn), else a deferred one that upgrades fails at once ("database is
    # locked") when another process starting with it wrote first, and this worker's start
    # failed with it (seen with two processes on a loaded machine).
    with db_sqlite.intending(True):
        async with sessionmaker() as session:
            await retention.ensure_job_if_needed(session)
            await session.commit()
    runner = Runner(
        sessionmaker,
        [
            Lane((reminders.KIND,), take=fire, batch=settings.jobs_batch or 200),
            Lane((FANOUT,), fanout.fan_out, batch=1),
            Lane((retention.PRUNE,), pruning.prune, batch=1),
            Lane(
                (DELIVER_DUE,),
                hooks.send_due,
                batch=settings.webhook_due_concurrency,
                background=True,
                concurrency=settings.webhook_due_concurrency,
                per_owner=1,
            ),
            Lane(
                (DELIVER,),
                hooks.send_all,
                batch=settings.webhook_concurrency,
                background=True,
                concurrency=settings.webhook_concurrency,
                per_owner=settings.webhook_concurrency_per_user,
            ),
        ],
        poll_s=settings.jobs_poll_s,
        lease_s=settings.jobs_lease_s,
        gap_s=settings.jobs_gap_s,
        probes=[fanout.probe],
        stop_grace_s=settings.jobs_stop_grace_s,
    )
    await runner.start()
    stopped: asyncio.Future[None] | None = None

    def stop() -> None:
        nonlocal stopped
        if stopped is None:
            logger.info("job runner stopping: it claims nothing more")
            hooks.stopping = True  # a send under way is recorded, the rest handed back
            stopped = asyncio.ensure_future(runner.stop())

    # From the server's stop, not its lifespan's end: that waits for every open response
    # (stopping.py), and the runner claimed work meanwhile.
    forget = on_server_stop(stop)
    try:
        yield runner
    finally:
        forget()
        stop()
        assert stopped is not None
        await stopped
        await hooks.aclose()


async def run_worker(settings: Settings) -> None:
    """`neo-events worker`: the queue alone, until SIGTERM or SIGINT."""
    engine = await db.create_checked_engine(settings)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    broker = RedisBroker(redis) if redis is not None else None

    async def wake() -> None:
        # Hubs of API processes pick this up at once with Redis, else at their next poll.
        if broker is not None:
            await broker.publish(CHANNEL, b"changed")

    publish = wake
    sequencer = None
    if numbers_after_commit(engine):  # a reminder's change is numbered, then they are woken
        sequencer = Sequencer(engine, wake, every=settings.live_poll_s)
        await sequencer.start()
        publish = sequencer.settle

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running(settings, db.create_sessionmaker(engine), publish):
            # As `serve` does (main.py): what is alive now lives as long as the worker.
            # Unfrozen, a burst of reminders paid ~90 ms a full pass, mid-round
            # (BENCHMARKS.md, issue #20).
            collector.settle()
            logger.info("job worker started")
            await stop.wait()
    finally:
        logger.info("job worker stopping")
        if sequencer is not None:
            await sequencer.stop()
        if broker is not None and redis is not None:
            await broker.close()
            await redis.aclose()
        await engine.dispose()
