"""Claims shared fairly between owners: each owner's due jobs taken in turns, and never more
than a set number held by one owner at once, however many workers claim.

An owner's n-th due job (oldest first) has turn held + n, where `held` counts its jobs of the
kinds claimed under a lease still running (released, retried, finished or expired claims do
not count). Jobs are taken by turn, then age, up to turn `per_owner`: an owner with nothing in
flight goes before every owner with something, and one owner never holds more than
`per_owner` at once. A webhook's sending is such a kind (SPEC §14 is silent on fairness; see
docs/api.md): one user's slow receivers cannot hold every delivery slot.

Claims in turns are taken one at a time (SQLite's write lock; on PostgreSQL an advisory lock
for the claim's transaction): each counts what the one before it took, where two at once
would each see the other's as not yet taken and could together pass the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.models import Job

# Held for the claim's transaction (PostgreSQL): claims in turns are one at a time.
CLAIM_LOCK = int.from_bytes(b"neo-turn", "big", signed=True)


async def due_in_turns(
    session: AsyncSession, *, now: datetime, limit: int, kinds: Sequence[str], per_owner: int
) -> Select[Any]:
    """The ids of up to `limit` due jobs of `kinds` in owners' turns, rows locked once read
    (FOR UPDATE SKIP LOCKED: a window function cannot be read FOR UPDATE itself)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    wanted = list(kinds)
    held = (
        select(Job.owner_id, func.count().label("held"))
        .where(Job.kind.in_(wanted), Job.locked_by.is_not(None), Job.run_at > now)
        .group_by(Job.owner_id)
        .subquery()
    )
    nth = func.row_number().over(partition_by=Job.owner_id, order_by=(Job.run_at, Job.id))
    ranked = (
        select(Job.id, Job.run_at, (func.coalesce(held.c.held, 0) + nth).label("turn"))
        .outerjoin(held, held.c.owner_id == Job.owner_id)
        .where(Job.run_at <= now, Job.kind.in_(wanted))
        .subquery()
    )
    picked = (
        select(ranked.c.id)
        .where(ranked.c.turn <= per_owner)
        .order_by(ranked.c.turn, ranked.c.run_at, ranked.c.id)
        .limit(limit)
    )
    return (
        select(Job.id)
        .where(Job.id.in_(picked.scalar_subquery()), Job.run_at <= now)
        .with_for_update(skip_locked=True)
    )
