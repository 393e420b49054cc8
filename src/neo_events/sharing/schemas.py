"""Sharing bodies (SPEC §5)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from neo_events.events.access import Role
from neo_events.events.schemas import ClashRead, PermissionRead
from neo_events.fields import DbId

MAX_SHARES = 100  # people a request shares with (or changes the roles of)


class Grant(BaseModel):
    user_id: DbId
    role: Role


class ShareRequest(BaseModel):
    users: Annotated[list[Grant], Field(min_length=1, max_length=MAX_SHARES)]


class RoleChange(BaseModel):
    role: Role


class PermissionList(BaseModel):
    items: list[PermissionRead]


class ShareResult(PermissionList):
    """The full permission list after sharing, and what the event overlaps in the calendars
    of the people it was newly shared with."""

    conflicts: list[ClashRead] = []
