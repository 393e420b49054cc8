"""The webhook fan-out: follow the change feed and write each webhook's deliveries, every
user's in turn, so that one user's backlog does not hold back anyone else's messages.

Each webhook keeps its own cursor in the feed (`Webhook.after_seq`: changes up to it are
written, or came before the webhook). One job (`webhook.fanout`) runs rounds. A round first
moves every webhook whose owner has nothing new up to the head of the feed (one statement);
then it takes the owners who have something new, in turns (by user id, from where the last
round stopped; at most FANOUT_USERS), and gives each a share of the round's
`webhook_fanout_rows` rows: it writes a delivery row for each (message, matching webhook),
makes sure each such webhook has its delivery job, and moves the owner's cursors. Each
owner's share is one transaction under the job's lease, so a crash repeats a share, never
skips one (delivery rows are unique per webhook and seq). Another user's change therefore
waits at most one round (`webhook_fanout_rows` rows written before it), however large one
user's backlog is. Only recipients of a change get it: the same rows the WebSocket and SSE
read. Sending them is `delivery.py`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from neo_events import db, db_sqlite
from neo_events.jobs import queue
from neo_events.live.feed import REMINDER_DUE
from neo_events.models import Change, ChangeRecipient, FeedState, Job, Webhook, WebhookDelivery
from neo_events.webhooks.schemas import ALL
from neo_events.webhooks.service import DELIVER, DELIVER_DUE, deliver_key

FANOUT = "webhook.fanout"
FANOUT_KEY = "webhook.fanout"
FANOUT_USERS = 200  # owners served in one round, in turns: the rest in the next
INSERT_ROWS = 1_000  # rows of one INSERT: 6,000 binds, within both databases' limits
FANOUT_IDLE = timedelta(hours=1)  # a caught-up fan-out sleeps; the probe wakes it


@dataclass(frozen=True, slots=True)
class _Hook:
    id: int
    after: int
    events: list[str]


async def _head(session: AsyncSession) -> int:
    return int(await session.scalar(select(FeedState.last_seq)) or 0)


async def _catch_up(session: AsyncSession, head: int) -> None:
    """Move every enabled webhook whose owner got no change since its cursor to `head`."""
    news = exists().where(
        ChangeRecipient.user_id == Webhook.user_id,
        ChangeRecipient.seq > Webhook.after_seq,
        ChangeRecipient.seq <= head,
    )
    await session.execute(
        update(Webhook)
        .where(Webhook.disabled_at.is_(None), Webhook.after_seq < head, ~news)
        .values(after_seq=head),
        execution_options={"synchronize_session": False},
    )


async def _behind(session: AsyncSession, head: int) -> dict[int, int]:
    """Owners of an enabled webhook whose cursor is behind `head`, by id: their cursors'
    lowest."""
    rows = await session.execute(
        select(Webhook.user_id, func.min(Webhook.after_seq))
        .where(Webhook.disabled_at.is_(None), Webhook.after_seq < head)
        .group_by(Webhook.user_id)
        .order_by(Webhook.user_id)
    )
    return {int(owner): int(after) for owner, after in rows}


def _in_turns(owners: dict[int, int], last: int) -> tuple[list[int], int]:
    """Up to FANOUT_USERS owners, taken in turns from after the one the last round took
    last, and the one taken last now: served least behind first (one user's backlog after
    the others' few messages, `reminder.due` among them)."""
    ids = list(owners)
    taken = [o for o in ids if o > last] + [o for o in ids if o <= last]
    taken = taken[:FANOUT_USERS]
    return sorted(taken, key=lambda owner: -owners[owner]), (taken[-1] if taken else 0)


class FanOut:
    """The fan-out and the probe that wakes it, for one worker process."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], rows: int) -> None:
        self._sessionmaker = sessionmaker
        self._rows = rows  # delivery rows a round writes, shared between its owners

    async def probe(self) -> None:
        """Wake (or create) the fan-out when the feed has moved past a webhook's cursor; a
        read otherwise."""
        with db_sqlite.intending(False):
            async with self._sessionmaker() as session:
                since = await session.scalar(
                    select(func.min(Webhook.after_seq)).where(Webhook.disabled_at.is_(None))
                )
                if since is None:
                    return
                head = await _head(session)
                job = await session.scalar(select(Job).where(Job.key == FANOUT_KEY))
        now = db.utcnow()
        if since >= head or (job is not None and (job.locked_by is not None or job.run_at <= now)):
            return
        async with self._sessionmaker() as session:
            if job is None:
                await queue.ensure(session, kind=FANOUT, key=FANOUT_KEY, due_at=now, payload={})
            else:
                await session.execute(
                    update(Job)
                    .where(Job.key == FANOUT_KEY, Job.locked_by.is_(None), Job.run_at > now)
                    .values(run_at=now, due_at=now)
                )
            await session.commit()

    async def fan_out(self, jobs: list[queue.Claimed]) -> None:
        for job in jobs:
            await self._round(job)

    async def _round(self, job: queue.Claimed) -> None:
        async with self._sessionmaker() as session:
            if job.id not in await queue.held(session, [job]):
                return
            head = await _head(session)
            await _catch_up(session, head)
            owners, last = _in_turns(await _behind(session, head), int(job.payload.get("user", 0)))
            await session.commit()
        share = max(1, self._rows // max(1, len(owners)))
        for owner in owners:
            async with self._sessionmaker() as session:
                if job.id not in await queue.held(session, [job]):
                    return
                await self._share(session, owner, head, share)
                await session.commit()
        async with self._sessionmaker() as session:
            now = db.utcnow()
            more = await session.scalar(
                select(func.count())
                .select_from(Webhook)
                .where(Webhook.disabled_at.is_(None), Webhook.after_seq < await _head(session))
            )
            due = now if more else now + FANOUT_IDLE
            await queue.reschedule(session, job, due_at=due, payload={"user": last})
            await session.commit()

    async def _share(self, session: AsyncSession, owner: int, head: int, rows: int) -> None:
        """Write up to about `rows` of `owner`'s delivery rows past its webhooks' cursors
        (whole changes: at least one), and move the cursors past what was read."""
        hooks = [
            _Hook(row.id, row.after_seq, list(row.events))
            for row in await session.execute(
                select(Webhook.id, Webhook.after_seq, Webhook.events).where(
                    Webhook.user_id == owner, Webhook.disabled_at.is_(None)
                )
            )
        ]
        if not hooks:
            return
        limit = max(1, rows // len(hooks))  # changes: each makes at most one row a webhook
        changes = (
            await session.execute(
                select(Change.seq, Change.type)
                .join(ChangeRecipient, ChangeRecipient.seq == Change.seq)
                .where(
                    ChangeRecipient.user_id == owner,
                    ChangeRecipient.seq > min(hook.after for hook in hooks),
                    ChangeRecipient.seq <= head,
                )
                .order_by(ChangeRecipient.seq)
                .limit(limit)
            )
        ).all()
        upto = changes[-1].seq if len(changes) == limit else head
        wanted: list[dict[str, Any]] = [
            {"webhook_id": hook.id, "seq": seq, "type": type_, "status": "pending"}
            for seq, type_ in changes
            for hook in hooks
            if seq > hook.after and (ALL in hook.events or type_ in hook.events)
        ]
        now = db.utcnow()
        insert = queue.insert_for(session)
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
        # Serialises with a sender deciding its webhook has nothing left (delivery.py), and
        # with an owner's change to the webhook.
        await session.execute(
            select(Webhook.id)
            .where(Webhook.id.in_([hook.id for hook in hooks]))
            .order_by(Webhook.id)
            .with_for_update()
        )
        heads: dict[int, str] = {}  # each webhook's first new message's type
        for w in wanted:
            heads.setdefault(int(w["webhook_id"]), w["type"])
        for hook, type_ in sorted(heads.items()):
            # A webhook with a job has messages waiting (or is failing): its job stays as is.
            await queue.ensure(
                session,
                kind=DELIVER_DUE if type_ == REMINDER_DUE else DELIVER,
                key=deliver_key(hook),
                due_at=now,
                payload={"webhook_id": hook},
                owner_id=owner,  # claimed in its user's turn (jobs/turns.py)
            )
        await session.execute(
            update(Webhook)
            .where(
                Webhook.id.in_([hook.id for hook in hooks]),
                Webhook.disabled_at.is_(None),
                Webhook.after_seq < upto,
            )
            .values(after_seq=upto),
            execution_options={"synchronize_session": False},
        )
