"""Other people's free/busy and common free time, for the caller's contacts only (SPEC §7):
busy intervals, never what fills them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from itertools import chain
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import ValidationFailed
from neo_events.events.calendars import calendar
from neo_events.events.conflicts import Busy, merge
from neo_events.events.contacts import contacts_of
from neo_events.events.expansions import Expansions
from neo_events.events.listing import MAX_OCCURRENCES, WindowTooLarge
from neo_events.events.off_loop import off_the_loop
from neo_events.models import User
from neo_events.scheduling.slots import Interval, WorkingHours, free_slots, has_working_time

MAX_USERS = 50  # people one free/busy or find-time request asks about
# Busy intervals one free/busy answer holds for everyone asked, as a window holds occurrences
# (a full answer of 19,200 cost 0.11 s of CPU, most of it rendering)
MAX_PERIODS = MAX_OCCURRENCES
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
    read for everyone: a window past MAX_OCCURRENCES in total is a 422, never cut short, and
    so is an answer of more than MAX_PERIODS merged intervals in all (`_per_user`)."""
    contacts, busy = await _busy(session, actor, user_ids, window, cache)
    per_user = await off_the_loop(
        len(busy) > ON_LOOP_BUSY, lambda: _per_user(contacts, _groups(contacts, busy, window))
    )
    return {u: per_user[u] if u in contacts else None for u in user_ids}


# Busy occurrences past which grouping and merging them runs in a worker thread: 50 people's
# shared series merged per person held the loop 110-200 ms even when cached (a profile).
ON_LOOP_BUSY = 200


async def _busy(
    session: AsyncSession,
    actor: User,
    user_ids: Sequence[int],
    window: Interval,
    cache: Expansions | None,
) -> tuple[set[int], list[Busy]]:
    """The users among `user_ids` who are the caller's contacts, and their calendars' busy
    occurrences in the window (one read for everyone)."""
    contacts = await contacts_of(session, actor.id, set(user_ids))
    busy, _, _ = await calendar(session, contacts, window, viewer_id=None, strict=True, cache=cache)
    return contacts, busy


def _groups(
    contacts: set[int], busy: list[Busy], window: Interval
) -> dict[frozenset[int], list[Interval]]:
    """The busy intervals in the window (clipped, merged) by who among the contacts is busy
    then: a series shared by fifty of them is one group, merged once, not fifty copies of
    each occurrence (9,600 occurrences of one shared series × 50 people held the loop
    0.8-2.5 s, an outside attack)."""
    lo, hi = window
    raw: dict[frozenset[int], list[Interval]] = {}
    for b in busy:
        if b.start < hi and b.end > lo:
            who = b.holders if b.holders <= contacts else b.holders & contacts
            if who:
                raw.setdefault(who, []).append((max(b.start, lo), min(b.end, hi)))
    return {who: merge(intervals) for who, intervals in raw.items()}


def _per_user(
    contacts: set[int], groups: dict[frozenset[int], list[Interval]]
) -> dict[int, list[Interval]]:
    """Each contact's intervals: the union of the groups they are in. 422 once the lists
    built pass MAX_PERIODS in all (the answer, not the calendars, is what grows with the
    people asked): counted as each is merged, so no more than that is built."""
    theirs: dict[int, list[list[Interval]]] = {u: [] for u in contacts}
    for who, intervals in groups.items():
        for user_id in who:
            theirs[user_id].append(intervals)
    per_user, total = {}, 0
    for user_id, lists in theirs.items():
        merged = lists[0] if len(lists) == 1 else merge(chain.from_iterable(lists))
        total += len(merged)
        if total > MAX_PERIODS:
            raise WindowTooLarge(
                f"This answer would hold more than {MAX_PERIODS:,} busy intervals; ask for a "
                "shorter window or fewer people."
            )
        per_user[user_id] = merged
    return per_user


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
    contacts, busy = await _busy(session, actor, people, window, cache)
    for index, user_id in enumerate(user_ids):
        if user_id not in contacts:
            raise ValidationFailed.field(
                ["user_ids", index], "is not one of your contacts (or does not exist)"
            )

    def search() -> list[Interval]:
        groups = _groups(contacts, busy, window)
        everyone = merge(chain.from_iterable(groups.values()))  # no one's own list is needed
        return free_slots(
            everyone,
            window,
            duration=duration,
            zone=zone,
            hours=hours,
            granularity=granularity,
            limit=limit,
        )

    return await off_the_loop(len(busy) > ON_LOOP_BUSY, search)
