"""The durable change feed: appended in the transaction of the change it records.

Notifications, SSE resume and `/sync` all read this table; the broker only says "there is
something new". Numbers are gap-free and commit-ordered (see FeedState).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db
from neo_events.models import Change, ChangeRecipient, EventPermission, FeedState

CHANGE_TYPES = {
    "created": "event.created",
    "updated": "event.updated",
    "occurrence_updated": "event.updated",
    "occurrence_cancelled": "event.updated",
    "deleted": "event.deleted",
    "rolled_back": "event.rolled_back",
}


async def holders(session: AsyncSession, event_id: int) -> list[int]:
    """Everyone holding a role on the event now (in this transaction): whom a change is
    for, and whose calendars a move concerns."""
    rows = await session.execute(
        select(EventPermission.user_id).where(EventPermission.event_id == event_id)
    )
    return list(rows.scalars())


async def _next_seq(session: AsyncSession) -> int:
    seq = await session.scalar(
        update(FeedState)
        .where(FeedState.id == 1)
        .values(last_seq=FeedState.last_seq + 1)
        .returning(FeedState.last_seq)
    )
    if seq is None:
        raise RuntimeError("feed_state has no row: run the migrations")
    return int(seq)


async def append(
    session: AsyncSession,
    *,
    type: str,
    event_id: int,
    version: int,
    actor_id: int | None,
    changes: Any,
    also_notify: Iterable[int] = (),
) -> Change:
    """Add one change for the event's current holders (and `also_notify`), then wake the
    workers once the transaction has committed."""
    await session.flush()  # grants made in this transaction count as holders
    recipients = set(await holders(session, event_id)) | set(also_notify)
    change = Change(
        seq=await _next_seq(session),
        at=db.utcnow(),
        type=type,
        event_id=event_id,
        version=version,
        actor_id=actor_id,
        changes=changes,
    )
    session.add(change)
    session.add_all(ChangeRecipient(user_id=user_id, seq=change.seq) for user_id in recipients)
    _wake_after_commit(session)
    return change


def _wake_after_commit(session: AsyncSession) -> None:
    publish = session.info.get("publish_change")
    if publish is None or session.info.get("wake_queued"):
        return
    session.info["wake_queued"] = True

    async def wake() -> None:
        session.info.pop("wake_queued", None)
        await publish()

    db.after_commit(session, wake)


def changed_fields(
    before: dict[str, Any] | None, after: dict[str, Any], fields: Sequence[str]
) -> list[str]:
    if before is None:
        return []
    return [name for name in fields if before.get(name) != after.get(name)]
