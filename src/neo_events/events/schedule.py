"""Schedule conflicts: do these occurrences overlap the calendars of the people concerned?

A user's calendar is every live event they hold any role on. Checks cover every occurrence
within a horizon of 366 days from the series' first occurrence (the whole series if it ends
sooner), so a clash on the 40th week is found, not just on the first few.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import Conflict
from neo_events.events import recurrence
from neo_events.events.access import get_event_for
from neo_events.events.conflicts import Busy, find_conflicts, merge
from neo_events.events.content import content_of, iso, series_of, span_of
from neo_events.events.listing import MAX_OCCURRENCES, too_many_occurrences
from neo_events.models import Event, EventPermission, User

HORIZON = timedelta(days=366)


class ConflictPolicy(StrEnum):
    WARN = "warn"
    REJECT = "reject"
    IGNORE = "ignore"


class ScheduleConflict(Conflict):
    code = "schedule_conflict"
    title = "This overlaps other events"


@dataclass(frozen=True, slots=True)
class Clash:
    """A conflicting occurrence as the caller may see it: details only of events they see."""

    event_id: int | None
    title: str
    start: datetime
    end: datetime


def horizon(series: recurrence.Series) -> tuple[datetime, datetime]:
    start, last = span_of(series)
    end = start + HORIZON
    return start, min(end, last) if last is not None else end


def occurrences(
    series: recurrence.Series, window: tuple[datetime, datetime], *, strict: bool = False
) -> list[tuple[datetime, datetime]]:
    """Occurrences in the window. In a check over the horizon, a series too dense for it is
    checked over a shorter one (halved until it holds at most MAX_OCCURRENCES), so a check is
    always bounded. `strict`, for a window the caller chose: too many is a 422, so an answer
    is never silently shortened."""
    start, end = window
    while True:
        try:
            found = recurrence.expand(series, start, end, limit=MAX_OCCURRENCES)
        except recurrence.ExpansionLimitExceeded:
            if strict:
                raise too_many_occurrences() from None
            end = start + (end - start) / 2
            continue
        return [(o.start, o.end) for o in found]


async def calendar(
    session: AsyncSession,
    user_ids: Iterable[int],
    window: tuple[datetime, datetime],
    *,
    viewer_id: int,
    strict: bool = False,
) -> tuple[list[Busy], set[int]]:
    """Occurrences in the window of every event the users hold a role on, and which of those
    events `viewer_id` may see. `strict`: past MAX_OCCURRENCES in all is a 422 (see
    `occurrences`)."""
    ids = list(set(user_ids))
    sees = exists().where(
        EventPermission.event_id == Event.id, EventPermission.user_id == viewer_id
    )
    rows = (
        await session.execute(
            select(Event, sees.label("visible")).where(
                Event.deleted_at.is_(None),
                Event.id.in_(
                    select(EventPermission.event_id).where(EventPermission.user_id.in_(ids))
                ),
                Event.span_start < window[1],
                or_(Event.span_end.is_(None), Event.span_end > window[0]),
            )
        )
    ).all()
    busy: list[Busy] = []
    visible: set[int] = set()
    for event, can_see in rows:
        if can_see:
            visible.add(event.id)
        for start, end in occurrences(series_of(content_of(event)), window, strict=strict):
            busy.append(Busy(start, end, event.id, event.title))
        if strict and len(busy) > MAX_OCCURRENCES:
            raise too_many_occurrences()
    return busy, visible


async def check(
    session: AsyncSession,
    *,
    policy: ConflictPolicy,
    candidates: Sequence[tuple[int | None, recurrence.Series]],
    user_ids: Iterable[int],
    viewer_id: int,
) -> list[list[Clash]]:
    """For each candidate (its event id, or None if new; its series): what it clashes with.

    `reject` raises ScheduleConflict when anything clashes; `ignore` checks nothing. Other
    candidates of the same call count too, so a batch that overlaps itself is caught.
    """
    if policy is ConflictPolicy.IGNORE or not candidates:
        return [[] for _ in candidates]
    windows = [horizon(series) for _, series in candidates]
    window = (min(w[0] for w in windows), max(w[1] for w in windows))
    busy, visible = await calendar(session, user_ids, window, viewer_id=viewer_id)
    mine = [occurrences(series, w) for (_, series), w in zip(candidates, windows, strict=True)]
    results: list[list[Clash]] = []
    for index, (event_id, _) in enumerate(candidates):
        siblings = [
            Busy(start, end, -(other + 1), "")  # batch siblings have no id yet
            for other, occ in enumerate(mine)
            if other != index
            for start, end in occ
        ]
        found = find_conflicts(mine[index], busy + siblings, exclude_event=event_id)
        results.append([_clash(b, visible) for b in found])
    if policy is ConflictPolicy.REJECT and any(results):
        flat = [c for clashes in results for c in clashes]
        raise ScheduleConflict(
            f"{len(flat)} overlapping occurrence(s); ?conflicts=warn or ignore saves anyway.",
            conflicts=[clash_json(c) for c in flat],
        )
    return results


def _clash(busy: Busy, visible: set[int]) -> Clash:
    if busy.event_id < 0:
        return Clash(None, "another event in this batch", busy.start, busy.end)
    if busy.event_id in visible:
        return Clash(busy.event_id, busy.title, busy.start, busy.end)
    return Clash(None, "busy", busy.start, busy.end)  # someone else's private event


def clash_json(clash: Clash) -> dict[str, object]:
    return {
        "event_id": clash.event_id,
        "title": clash.title,
        "start_time": iso(clash.start),
        "end_time": iso(clash.end),
    }


async def busy_intervals(
    session: AsyncSession, *, user_id: int, window: tuple[datetime, datetime]
) -> list[tuple[datetime, datetime]]:
    """The user's calendar in the window as merged busy intervals, clipped to the window."""
    busy, _ = await calendar(session, [user_id], window, viewer_id=user_id, strict=True)
    clipped = (
        (max(b.start, window[0]), min(b.end, window[1]))
        for b in busy
        if b.start < window[1] and b.end > window[0]
    )
    return merge(clipped)


async def event_conflicts(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    window: tuple[datetime, datetime] | None,
) -> list[Clash]:
    """What in the caller's own calendar overlaps an event's occurrences: in the window if
    given (strictly: 422 past MAX_OCCURRENCES), else over the horizon a write checks."""
    event, _ = await get_event_for(session, actor.id, event_id)
    series = series_of(content_of(event))
    strict = window is not None
    span = window or horizon(series)
    mine = occurrences(series, span, strict=strict)
    busy, visible = await calendar(session, [actor.id], span, viewer_id=actor.id, strict=strict)
    return [_clash(b, visible) for b in find_conflicts(mine, busy, exclude_event=event.id)]
