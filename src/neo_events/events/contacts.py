"""Whose calendars a conflict check and find-time look at: the caller's contacts (SPEC §7:
users who hold a role on a live event the caller holds one on too) and, of many people,
the calendars one check reads (`checked_people`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events.models import Event, EventPermission

# Calendars one check reads at most (each read bounded by CALENDAR_LIMIT occurrences, not
# their number): an event shared with 1,500 people with busy calendars took 5-14 s of CPU to
# move (an outside attack). The caller's first, then the others by user id.
CHECKED_PEOPLE = 100

# Built once: an alias made per call costs more than the query's compilation cache saves.
_MINE, _THEIRS = aliased(EventPermission, name="mine"), aliased(EventPermission, name="theirs")


def checked_people(viewer_id: int, people: Iterable[int]) -> set[int]:
    """The calendars of these people a check reads: all of them, or past CHECKED_PEOPLE the
    viewer's (if among them) and the others' with the lowest user ids."""
    found = set(people)
    if len(found) <= CHECKED_PEOPLE:
        return found
    mine = {viewer_id} & found
    return mine | set(sorted(found - mine)[: CHECKED_PEOPLE - len(mine)])


async def contacts_of(session: AsyncSession, viewer_id: int, user_ids: set[int]) -> set[int]:
    """Those of the users who hold a role on a live event the viewer holds one on too."""
    if not user_ids:
        return set()
    mine, theirs = _MINE, _THEIRS
    rows = await session.execute(
        select(theirs.user_id)
        .distinct()
        .join(mine, mine.event_id == theirs.event_id)
        .join(Event, Event.id == theirs.event_id)
        .where(
            mine.user_id == viewer_id,
            theirs.user_id.in_(user_ids),
            Event.deleted_at.is_(None),
        )
    )
    return set(rows.scalars()) | ({viewer_id} & user_ids)
