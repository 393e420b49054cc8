"""The webhook fan-out: follow the change feed and write each webhook's deliveries.

One job (`webhook.fanout`) keeps a cursor in the change feed. Each run reads up to
FANOUT_PAGE change numbers (FANOUT_ROWS rows) past it, writes a delivery row for every
(message, matching webhook of a recipient), makes sure each such webhook has its delivery
job, and moves the cursor — all in one transaction under its lease, so a crash repeats a
page, never skips one (delivery rows are unique per webhook and seq). Only recipients of a
change get it: the same rows the WebSocket and SSE read. Sending them is `delivery.py`'s.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from neo_events import db
from neo_events.jobs import queue
from neo_events.models import Change, ChangeRecipient, FeedState, Job, Webhook, WebhookDelivery
from neo_events.webhooks.schemas import ALL
from neo_events.webhooks.service import DELIVER, deliver_key

FANOUT = "webhook.fanout"
FANOUT_KEY = "webhook.fanout"
FANOUT_PAGE = 1000
# Delivery rows a fan-out round writes, ending with a whole change (60,000 broke bind limits).
FANOUT_ROWS = 2_000
INSERT_ROWS = 1_000  # rows of one INSERT: 6,000 binds, within both databases' limits
FANOUT_IDLE = timedelta(hours=1)  # a caught-up fan-out sleeps; the probe wakes it


async def _fan_rows(session: AsyncSession, after: int, upto: int, limit: int | None) -> list[Any]:
    """(seq, type, webhook, its events, its owner) of changes (after, upto] by recipient;
    ≤ `limit`."""
    query = (
        select(Change.seq, Change.type, Webhook.id, Webhook.events, Webhook.user_id)
        .join(ChangeRecipient, ChangeRecipient.seq == Change.seq)
        .join(Webhook, Webhook.user_id == ChangeRecipient.user_id)
        .where(
            Change.seq > after,
            Change.seq <= upto,
            Change.seq > Webhook.after_seq,
            Webhook.disabled_at.is_(None),
        )
        .order_by(Change.seq)
    )
    return list((await session.execute(query.limit(limit))).all())


class FanOut:
    """The fan-out and the probe that wakes it, for one worker process."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def probe(self) -> None:
        """Wake (or create) the fan-out when the feed has moved past it; a read otherwise."""
        intent = db.write_intent.set(False)
        try:
            async with self._sessionmaker() as session:
                since = await session.scalar(
                    select(func.min(Webhook.after_seq)).where(Webhook.disabled_at.is_(None))
                )
                if since is None:
                    return
                head = int(await session.scalar(select(FeedState.last_seq)) or 0)
                job = await session.scalar(select(Job).where(Job.key == FANOUT_KEY))
        finally:
            db.write_intent.reset(intent)
        now = db.utcnow()
        if job is not None and (
            job.locked_by is not None or job.run_at <= now or job.payload["after"] >= head
        ):
            return
        async with self._sessionmaker() as session:
            if job is None:
                await queue.ensure(
                    session, kind=FANOUT, key=FANOUT_KEY, due_at=now, payload={"after": since}
                )
            else:
                await session.execute(
                    update(Job)
                    .where(Job.key == FANOUT_KEY, Job.locked_by.is_(None), Job.run_at > now)
                    .values(run_at=now, due_at=now)
                )
            await session.commit()

    async def fan_out(self, jobs: list[queue.Claimed]) -> None:
        for job in jobs:
            async with self._sessionmaker() as session:
                if job.id not in await queue.held(session, [job]):
                    continue
                after = int(job.payload["after"])
                upto = await session.scalar(
                    select(func.max(Change.seq)).where(Change.seq <= after + FANOUT_PAGE)
                )
                upto = max(int(upto or after), after)
                rows = await _fan_rows(session, after, upto, FANOUT_ROWS + 1)
                if len(rows) > FANOUT_ROWS:  # a round ends with a whole change
                    cut = rows[FANOUT_ROWS].seq
                    if rows[0].seq == cut:  # one change of more rows than a round holds
                        rows = await _fan_rows(session, cut - 1, cut, None)
                        upto = cut
                    else:
                        rows = [row for row in rows if row.seq < cut]
                        upto = cut - 1
                wanted: list[dict[str, Any]] = [
                    {"webhook_id": hook, "seq": seq, "type": type_, "status": "pending"}
                    for seq, type_, hook, events, _ in rows
                    if ALL in events or type_ in events
                ]
                owners = {row.id: row.user_id for row in rows}
                now = db.utcnow()
                if wanted:
                    insert = (
                        pg_insert
                        if session.get_bind().dialect.name == "postgresql"
                        else sqlite_insert
                    )
                    for first in range(0, len(wanted), INSERT_ROWS):
                        await session.execute(
                            insert(WebhookDelivery)
                            .values(
                                [
                                    {**w, "created_at": now, "attempts": 0}
                                    for w in wanted[first : first + INSERT_ROWS]
                                ]
                            )
                            .on_conflict_do_nothing(index_elements=["webhook_id", "seq"])
                        )
                    hooks = sorted({int(w["webhook_id"]) for w in wanted})
                    # Serialises with a sender deciding its webhook has nothing left (below).
                    await session.execute(
                        select(Webhook.id)
                        .where(Webhook.id.in_(hooks))
                        .order_by(Webhook.id)
                        .with_for_update()
                    )
                    for hook in hooks:
                        await queue.ensure(
                            session,
                            kind=DELIVER,
                            key=deliver_key(hook),
                            due_at=now,
                            payload={"webhook_id": hook},
                            owner_id=owners[hook],  # claimed in its user's turn (jobs/turns.py)
                        )
                head = int(await session.scalar(select(FeedState.last_seq)) or 0)
                due = now if upto < head else now + FANOUT_IDLE
                await queue.reschedule(session, job, due_at=due, payload={"after": upto})
                await session.commit()
