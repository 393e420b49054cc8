"""Free slots of a given length among merged busy intervals, inside working hours on a
zone's wall clock. Pure: no FastAPI, no SQLAlchemy.

Working hours are wall-clock times in the zone, so a 09:00–17:00 day is 08:00–16:00Z in
Berlin's winter and 07:00–15:00Z in its summer; a day whose working hours fall in a
daylight-saving gap or fold keeps the instants zoneinfo gives (a gap's wall time takes the
offset before it, RFC 5545 §3.3.5). Candidate starts lie on the granularity counted from
the start of the working day (from local midnight without working hours).

Cost: O(days + busy + limit) steps. Each step either yields a slot (at most `limit`),
jumps past one busy interval (the busy list is read once, in order), or moves to the next
working day (at most the window's days + 1): never one step per granularity tick.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from neo_events.events.rrule import localize

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class WorkingHours:
    start: time
    end: time  # after start; time(0) means the end of the day (24:00)
    days: frozenset[int]  # ISO weekdays, 1 = Monday

    def ends_at(self, day: datetime) -> datetime:
        if self.end == time(0):
            return datetime.combine(day.date() + timedelta(days=1), time(0))
        return datetime.combine(day.date(), self.end)


ALL_DAY = WorkingHours(time(0), time(0), frozenset(range(1, 8)))


def working_intervals(
    window: Interval, zone: ZoneInfo, hours: WorkingHours
) -> Iterator[tuple[Interval, datetime]]:
    """The working stretches inside the window, in UTC, each with the instant its
    granularity counts from (the stretch's own start on the wall clock). Days that touch
    (working hours to 24:00 and from 00:00) make one stretch, so a slot may cross midnight."""
    pending: tuple[Interval, datetime] | None = None
    for (start, end), origin in _days(window, zone, hours):
        if pending is not None and pending[0][1] == start:
            pending = ((pending[0][0], end), pending[1])
            continue
        if pending is not None:
            yield pending
        pending = (start, end), origin
    if pending is not None:
        yield pending


def _days(
    window: Interval, zone: ZoneInfo, hours: WorkingHours
) -> Iterator[tuple[Interval, datetime]]:
    lo, hi = window
    day = lo.astimezone(zone).date() - timedelta(days=1)  # a stretch may begin the day before
    last = hi.astimezone(zone).date()
    while day <= last:
        if day.isoweekday() in hours.days:
            wall = datetime.combine(day, hours.start)
            begin = localize(wall, zone)
            end = localize(hours.ends_at(wall), zone)
            if begin < hi and end > lo and end > begin:
                yield (max(begin, lo), min(end, hi)), begin
        day += timedelta(days=1)


def _aligned(at: datetime, origin: datetime, step: timedelta) -> datetime:
    """The first instant at or after `at` that lies a whole number of steps after `origin`."""
    if at <= origin:
        return origin
    ticks = -((origin - at) // step)  # ceiling division
    return origin + ticks * step


def free_slots(
    busy: Sequence[Interval],
    window: Interval,
    *,
    duration: timedelta,
    zone: ZoneInfo,
    hours: WorkingHours = ALL_DAY,
    granularity: timedelta = timedelta(minutes=15),
    limit: int = 10,
) -> list[Interval]:
    """The earliest `limit` slots of `duration` inside the working hours and the window that
    overlap none of `busy` (merged: sorted, disjoint). Consecutive slots may overlap: each
    start on the granularity is an option, as a scheduling assistant lists them."""
    found: list[Interval] = []
    index = 0
    for (start, end), origin in working_intervals(window, zone, hours):
        at = _aligned(start, origin, granularity)
        while at + duration <= end and len(found) < limit:
            while index < len(busy) and busy[index][1] <= at:
                index += 1
            if index < len(busy) and busy[index][0] < at + duration:
                at = _aligned(busy[index][1], origin, granularity)  # jump past it
                continue
            found.append((at, at + duration))
            at += granularity
        if len(found) >= limit:
            break
    return found


def has_working_time(window: Interval, zone: ZoneInfo, hours: WorkingHours) -> bool:
    return next(working_intervals(window, zone, hours), None) is not None
