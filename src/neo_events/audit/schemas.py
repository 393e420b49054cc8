"""Response bodies of the audit endpoint (SPEC §9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ActorRef(BaseModel):
    id: int
    username: str


class AuditEntryRead(BaseModel):
    id: int
    at: datetime
    actor: ActorRef | None
    action: str
    target_type: str | None
    target_id: int | None
    outcome: str
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    next_cursor: str | None
