"""How long the deliveries log keeps a message: `webhook_retention_days` after it was written,
unless it is still to be sent.

A periodic job (`webhook.prune`) deletes, in rounds of PRUNE_ROWS, the delivery rows older
than that which are delivered or given up, and those of a disabled webhook (pending or not:
re-enabled, it resumes with the oldest message still kept). A pending row of an enabled
webhook is kept however old: it is still owed (SPEC §14, at least once). A round is one
transaction under the job's lease; a run takes at most PRUNE_ROUNDS, then the job comes back
at once while there is more, else after PRUNE_EVERY (or the retention, if shorter).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from neo_events import db
from neo_events.jobs import queue
from neo_events.models import Webhook, WebhookDelivery

PRUNE = "webhook.prune"
PRUNE_KEY = "webhook.prune"
PRUNE_ROWS = 1_000
PRUNE_ROUNDS = 20
PRUNE_EVERY = timedelta(hours=1)


async def ensure_job(session: AsyncSession) -> None:
    """The pruning job, due now unless there is one: made with the first webhook (a service
    nobody gave a webhook has no deliveries log to prune, and no job)."""
    await queue.ensure(session, kind=PRUNE, key=PRUNE_KEY, due_at=db.utcnow(), payload={})


async def ensure_job_if_needed(session: AsyncSession) -> None:
    """At a worker's start: the pruning job, if anyone has a webhook (a database upgraded
    with webhooks already made gets it here)."""
    if await session.scalar(select(Webhook.id).limit(1)) is not None:
        await ensure_job(session)


class Pruning:
    """The deliveries log's pruning, for one worker process."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], days: float) -> None:
        self._sessionmaker = sessionmaker
        self._keep = timedelta(days=days)

    async def prune(self, jobs: list[queue.Claimed]) -> None:
        for job in jobs:
            more = False
            for _ in range(PRUNE_ROUNDS):
                async with self._sessionmaker() as session:
                    if job.id not in await queue.held(session, [job]):
                        return
                    more = await self._round(session, db.utcnow() - self._keep)
                    await session.commit()
                if not more:
                    break
            async with self._sessionmaker() as session:
                now = db.utcnow()
                due = now if more else now + min(PRUNE_EVERY, self._keep)
                await queue.reschedule(session, job, due_at=due)
                await session.commit()

    @staticmethod
    async def _round(session: AsyncSession, before: datetime) -> bool:
        """Delete up to PRUNE_ROWS rows written before `before` that are not owed; True if
        that many went (there may be more)."""
        disabled = select(Webhook.id).where(Webhook.disabled_at.is_not(None))
        ids = list(
            await session.scalars(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.created_at < before,
                    or_(
                        WebhookDelivery.status != "pending",
                        WebhookDelivery.webhook_id.in_(disabled),
                    ),
                )
                .order_by(WebhookDelivery.created_at)
                .limit(PRUNE_ROWS)
            )
        )
        if ids:
            await session.execute(
                delete(WebhookDelivery).where(queue.among(session, WebhookDelivery.id, ids)),
                execution_options={"synchronize_session": False},
            )
        return len(ids) == PRUNE_ROWS
