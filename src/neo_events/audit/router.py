"""HTTP endpoint of SPEC §9: the audit trail a caller may read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from neo_events.audit import service
from neo_events.audit.schemas import ActorRef, AuditEntryRead, AuditPage
from neo_events.auth.dependencies import CurrentUser
from neo_events.fields import NO_NUL, QueryInstant
from neo_events.models import AuditEntry
from neo_events.web import Session, TransactionalRoute

router = APIRouter(prefix="/api/v1", tags=["audit"], route_class=TransactionalRoute)

Action = Annotated[str, StringConstraints(max_length=48), NO_NUL]


@router.get("/audit")
async def list_audit(
    user: CurrentUser,
    session: Session,
    action: Annotated[Action | None, Query(description="exact action, e.g. `login`")] = None,
    since: Annotated[QueryInstant | None, Query(description="entries at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="page size (max 500)")] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> AuditPage:
    """Newest first: your own actions, failed logins on your account and every action on
    events you own (others' without their `ip` and `user_agent`); an administrator sees
    everything."""
    rows, next_cursor = await service.list_entries(
        session,
        viewer=user,
        filters=service.AuditFilters(action=action, since=since),
        limit=limit,
        cursor=cursor,
    )

    def private(entry: AuditEntry) -> bool:
        # someone else's address and device are theirs: an owner sees what others did on
        # the event, not from where (inviting anyone, then reading their answer's row, was a
        # tracking pixel); yours and an admin's view keep them, and a failed login on your
        # account (no actor) shows where it came from
        return not user.is_admin and entry.actor_id is not None and entry.actor_id != user.id

    items = [
        AuditEntryRead(
            id=entry.id,
            at=entry.at,
            actor=ActorRef(id=entry.actor_id, username=username)
            if entry.actor_id is not None and username is not None
            else None,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            outcome=entry.outcome,
            ip=None if private(entry) else entry.ip,
            user_agent=None if private(entry) else entry.user_agent,
            details=entry.details,
        )
        for entry, username in rows
    ]
    return AuditPage(items=items, next_cursor=next_cursor)
