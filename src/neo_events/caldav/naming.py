"""The calendar collection's own settings: its display name (PROPPATCH DAV:displayname)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.db import utcnow
from neo_events.models import CalendarSettings, User

DEFAULT_CALENDAR_NAME = "Neo Events"
MAX_CALENDAR_NAME = 200


async def calendar_name(session: AsyncSession, user: User) -> str:
    """The user's calendar's display name: theirs if they renamed it, else the default."""
    name = await session.scalar(
        select(CalendarSettings.display_name).where(CalendarSettings.user_id == user.id)
    )
    return name or DEFAULT_CALENDAR_NAME


def calendar_name_problem(name: str) -> str | None:
    """Why `name` cannot be the calendar's display name (empty, too long, control
    characters), or None if it can."""
    name = name.strip()
    if not name:
        return "A calendar's name cannot be empty."
    if len(name) > MAX_CALENDAR_NAME:
        return f"A calendar's name has at most {MAX_CALENDAR_NAME} characters."
    if any(ord(c) < 32 for c in name):
        return "A calendar's name holds no control characters."
    return None


async def rename_calendar(session: AsyncSession, user: User, name: str | None) -> None:
    """Set (or, with None, reset) the calendar's display name, which calendar_name_problem
    accepted."""
    row = await session.get(CalendarSettings, user.id)
    if name is None:
        if row is not None:
            await session.delete(row)
        return
    assert calendar_name_problem(name) is None
    name = name.strip()
    if row is None:
        session.add(CalendarSettings(user_id=user.id, display_name=name, updated_at=utcnow()))
    else:
        row.display_name, row.updated_at = name, utcnow()
    await session.flush()
