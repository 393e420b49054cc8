"""Secrets a user makes, sees once and can revoke: feed tokens (SPEC §10) and app passwords
(SPEC §15) are two kinds of one thing.

A secret is shown once, at creation; only its SHA-256 is stored. Each carries 190 or more
random bits, so a slow hash would protect nothing more and would cost every request that
presents one. A user holds at most `limit` of a kind; revoking one deletes its row, and
someone else's is as unknown as a missing one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin, record
from neo_events.auth import caps
from neo_events.db import utcnow
from neo_events.errors import AppError
from neo_events.models import User


@dataclass(frozen=True)
class Kind:
    """One kind of secret: its table (with `id`, `user_id`, `name`, `created_at` and the
    hash column), how its secrets look, how many a user may hold, and its audit name."""

    model: Any
    hash_column: str
    prefix: str  # recognisable by secret scanners and in a leaked URL
    random_bytes: int
    limit: int
    audit_name: str  # "feed_token": audit actions feed_token.created / .revoked
    noun: str  # "feed token", in messages
    too_many: type[AppError]
    not_found: type[AppError]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create(
    session: AsyncSession, kind: Kind, *, actor: User, name: str | None, origin: Origin
) -> tuple[Any, str]:
    """A new row and its secret, which is shown this once and never stored."""
    if await caps.held(session, kind.model, actor.id) >= kind.limit:
        raise kind.too_many(f"Revoke one of your {kind.limit} {kind.noun}s first.")
    secret = kind.prefix + secrets.token_urlsafe(kind.random_bytes)
    row = kind.model(user_id=actor.id, name=name, created_at=utcnow())
    setattr(row, kind.hash_column, digest(secret))
    session.add(row)
    await session.flush()
    record(
        session,
        action=f"{kind.audit_name}.created",
        origin=origin,
        actor_id=actor.id,
        target_type=kind.audit_name,
        target_id=row.id,
        details={"name": name},
    )
    return row, secret


async def listed(session: AsyncSession, kind: Kind, *, actor: User) -> list[Any]:
    rows = await session.scalars(
        select(kind.model).where(kind.model.user_id == actor.id).order_by(kind.model.id)
    )
    return list(rows)


async def one(
    session: AsyncSession, kind: Kind, *, actor: User, row_id: int, lock: bool = False
) -> Any:
    """One of the actor's rows; someone else's is as unknown as a missing one. `lock`: its
    row locked until the request commits (for a condition on it: `If-Match`)."""
    query = select(kind.model).where(kind.model.id == row_id, kind.model.user_id == actor.id)
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise kind.not_found(f"You have no {kind.noun} {row_id}.")
    return row


async def revoke(
    session: AsyncSession, kind: Kind, *, actor: User, row_id: int, origin: Origin
) -> None:
    """The secret stops working at once."""
    deleted = await session.scalar(
        delete(kind.model)
        .where(kind.model.id == row_id, kind.model.user_id == actor.id)
        .returning(kind.model.id)
    )
    if deleted is None:
        raise kind.not_found(f"You have no {kind.noun} {row_id}.")
    record(
        session,
        action=f"{kind.audit_name}.revoked",
        origin=origin,
        actor_id=actor.id,
        target_type=kind.audit_name,
        target_id=row_id,
    )
