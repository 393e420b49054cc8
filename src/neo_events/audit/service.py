"""Writes audit rows in the caller's transaction, so an action and its record commit together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, as the audit log records it."""

    ip: str | None = None
    user_agent: str | None = None


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
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        ip=origin.ip,
        user_agent=(origin.user_agent or None) and origin.user_agent[:512],
        details=details or {},
    )
    session.add(entry)
    return entry
