"""Other people's free/busy and common free time, for the caller's contacts only (SPEC §7):
busy intervals, never what fills them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import ValidationFailed
from neo_events.events.calendars import calendar
from neo_events.events.conflicts import merge
from neo_events.events.expansions import Expansions
from neo_events.events.schedule import contacts_of
from neo_events.models import User
from neo_events.scheduling.slots import Interval, WorkingHours, free_slots, has_working_time

MAX_USERS = 50  # people one free/busy or find-time request asks about
MAX_FIND_WINDOW = timedelta(days=62)


async def busy_by_user(
    session: AsyncSession,
    *,
    actor: User,
    user_ids: Sequence[int],
    window: Interval,
    cache: Expansions | None = None,
) -> dict[int, list[Interval] | None]:
    """Each user's merged busy intervals in the window, clipped to it; None for anyone who
    is not the caller's contact (a user who does not exist looks the same). One calendar
    read for everyone: a window past MAX_OCCURRENCES in total is a 422, never cut short."""
    contacts = await contacts_of(session, actor.id, set(user_ids))
    busy, _, _ = await calendar(session, contacts, window, viewer_id=None, strict=True, cache=cache)
    lo, hi = window
    per_user: dict[int, list[Interval]] = {u: [] for u in contacts}
    for b in busy:
        if b.start < hi and b.end > lo:
            for user_id in b.holders & contacts:
                per_user[user_id].append((max(b.start, lo), min(b.end, hi)))
    return {u: merge(per_user[u]) if u in contacts else None for u in user_ids}


async def find_time(
    session: AsyncSession,
    *,
    actor: User,
    user_ids: Sequence[int],
    window: Interval,
    duration: timedelta,
    zone: ZoneInfo,
    hours: WorkingHours,
    granularity: timedelta,
    limit: int,
    cache: Expansions | None = None,
) -> list[Interval]:
    """The earliest slots inside the working hours where the caller and every listed user
    are free. A user who is not the caller's contact is a 422 naming them; so is a window
    without working hours."""
    if window[1] <= window[0]:
        raise ValidationFailed.field(["end_time"], "must be after start_time")
    if window[1] - window[0] > MAX_FIND_WINDOW:
        raise ValidationFailed.field(
            ["end_time"], f"the window may span at most {MAX_FIND_WINDOW.days} days"
        )
    if not has_working_time(window, zone, hours):
        raise ValidationFailed.field(
            ["working_hours"], "the window holds no working hours in that time zone"
        )
    people = [*dict.fromkeys([actor.id, *user_ids])]
    busy = await busy_by_user(session, actor=actor, user_ids=people, window=window, cache=cache)
    for index, user_id in enumerate(user_ids):
        if busy[user_id] is None:
            raise ValidationFailed.field(
                ["user_ids", index], "is not one of your contacts (or does not exist)"
            )
    everyone = merge(i for intervals in busy.values() for i in intervals or ())
    return free_slots(
        everyone,
        window,
        duration=duration,
        zone=zone,
        hours=hours,
        granularity=granularity,
        limit=limit,
    )
