"""Audit rows are written in the caller's transaction, so an action and its record commit together,
and each user reads only the rows that concern them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events.access import Role, visible_events
from neo_events.fields import bigint
from neo_events.models import AuditEntry, Event, User
from neo_events.protocol import cursor_fields, encode_cursor

_INSERT = insert(cast(Table, AuditEntry.__table__))  # Core: plain rows, no ORM bulk path


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, as the audit log records it."""

    ip: str | None = None
    user_agent: str | None = None


def audit_row(
    *,
    action: str,
    origin: Origin,
    actor_id: int | None,
    target_type: str | None,
    target_id: int | None,
    outcome: str,
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "action": action,
        "actor_id": actor_id,
        "target_type": target_type,
        "target_id": target_id,
        "outcome": outcome,
        "ip": origin.ip,
        "user_agent": (origin.user_agent or None) and origin.user_agent[:512],
        "details": details or {},
    }


def record(
    session: AsyncSession,
    *,
    action: str,
    origin: Origin,
    actor_id: int | None,
    target_type: str | None = None,
    target_id: int | None = None,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit row to the session (flushed with the change it records)."""
    entry = AuditEntry(
        **audit_row(
            action=action,
            origin=origin,
            actor_id=actor_id,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            details=details,
        )
    )
    session.add(entry)
    return entry


async def record_all(
    session: AsyncSession,
    *,
    action: str,
    origin: Origin,
    actor_id: int | None,
    target_type: str,
    targets: Sequence[tuple[int, dict[str, Any]]],
) -> None:
    """One audit row per (target id, details), written now in one statement: for a batch,
    where 500 ORM objects cost more than the rest of the write."""
    await record_rows(
        session,
        [
            audit_row(
                action=action,
                origin=origin,
                actor_id=actor_id,
                target_type=target_type,
                target_id=target_id,
                outcome="success",
                details=details,
            )
            for target_id, details in targets
        ],
    )


async def record_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Audit rows made by `audit_row` (of several actions, say), in their order, written now
    in one statement."""
    if rows:
        await session.execute(_INSERT, rows)


@dataclass(frozen=True, slots=True)
class AuditFilters:
    action: str | None = None
    since: datetime | None = None


async def list_entries(
    session: AsyncSession,
    *,
    viewer: User,
    filters: AuditFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[AuditEntry, str | None]], str | None]:
    """Newest first, with each actor's username: everything for an admin; for anyone else their
    own actions, what happened to their account (failed logins included), and every action on
    an event they own now."""
    query = select(AuditEntry, User.username).outerjoin(User, User.id == AuditEntry.actor_id)
    if not viewer.is_admin:
        owned = visible_events(viewer.id, Role.OWNER, include_deleted=True).with_only_columns(
            Event.id
        )
        query = query.where(
            or_(
                AuditEntry.actor_id == viewer.id,
                and_(AuditEntry.target_type == "user", AuditEntry.target_id == viewer.id),
                and_(AuditEntry.target_type == "event", AuditEntry.target_id.in_(owned)),
            )
        )
    if filters.action is not None:
        query = query.where(AuditEntry.action == filters.action)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if cursor is not None:
        # parsed as every cursor is (a forged `true` or 2**63 had been a 500)
        (before,) = cursor_fields(cursor, ("before", bigint))
        query = query.where(AuditEntry.id < before)
    rows = (await session.execute(query.order_by(AuditEntry.id.desc()).limit(limit + 1))).all()
    page: list[tuple[AuditEntry, str | None]] = [(entry, name) for entry, name in rows[:limit]]
    next_cursor = encode_cursor({"before": page[-1][0].id}) if len(rows) > limit else None
    return page, next_cursor
