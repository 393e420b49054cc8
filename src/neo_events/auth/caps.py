"""How many of a kind a user already holds, for a per-user cap (feed tokens, app passwords,
webhooks): counted under the user's row lock, so that concurrent creates of one user are
counted one after the other and cannot all pass the cap together (on PostgreSQL, 150 at once
made 58 app passwords against a cap of 50: an outside attack, 2026-12-04). SQLite's write
requests already hold its write lock from their first statement (`BEGIN IMMEDIATE`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.models import User


async def held(session: AsyncSession, model: Any, user_id: int) -> int:
    """How many rows of `model` (with a `user_id` column) the user holds, their user row
    locked until the transaction ends."""
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    count = await session.scalar(
        select(func.count()).select_from(model).where(model.user_id == user_id)
    )
    return int(count or 0)
