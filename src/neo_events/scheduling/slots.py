"""Free slots of a given length among merged busy intervals, inside working hours on a
zone's wall clock. Pure: no FastAPI, no SQLAlchemy.

Working hours are wall-clock times in the zone, so a 09:00–17:00 day is 08:00–16:00Z in
Berlin's winter and 07:00–15:00Z in its summer; a day whose working hours fall in a
daylight-saving gap or fold keeps the instants zoneinfo gives (a gap's wall time takes the
offset before it, RFC 5545 §3.3.5). Candidate starts lie on the granularity counted on the
wall clock from the start of each day's working hours (from local midnight without working
hours): every day has its own grid, so 00:00, 02:00, 04:00 stay so across a change of
summer time (where 02:00 does not exist, the next is 04:00; where 01:00 comes twice, both
are starts). A day starting inside a gap counts from the wall time its start shows.
Whole days (`free_days`, an all-day event's slots) run from a midnight on the zone's clock
to the midnight as many days later, one start a day.

Cost: O(days + busy + limit) steps. Each step either yields a slot (at most `limit`),
jumps past one busy interval (the busy list is read once, in order), or moves to the next
working day (at most the window's days + 1): never one step per granularity tick.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from neo_events.events.days import date_in, midnight
from neo_events.events.rrule import localize, wall_time

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


@dataclass(frozen=True, slots=True)
class Day:
    """One day's working hours inside the window, in UTC, and the naive wall time its
    slots' grid counts from (its working hours' start as the zone's clock shows it)."""

    start: datetime
    end: datetime
    origin: datetime


def working_stretches(
    window: Interval, zone: ZoneInfo, hours: WorkingHours
) -> Iterator[tuple[datetime, list[Day]]]:
    """The working days inside the window, grouped into stretches of days that touch
    (working hours to 24:00 and from 00:00), each with the stretch's end: a slot may cross
    midnight into the next day of its stretch, but starts on its own day's grid."""
    days: list[Day] = []
    for day in _days(window, zone, hours):
        if days and days[-1].end != day.start:
            yield days[-1].end, days
            days = []
        days.append(day)
    if days:
        yield days[-1].end, days


def _days(window: Interval, zone: ZoneInfo, hours: WorkingHours) -> Iterator[Day]:
    lo, hi = window
    day = lo.astimezone(zone).date() - timedelta(days=1)  # a stretch may begin the day before
    last = hi.astimezone(zone).date()
    while day <= last:
        if day.isoweekday() in hours.days:
            wall = datetime.combine(day, hours.start)
            begin = localize(wall, zone)
            end = localize(hours.ends_at(wall), zone)
            if begin < hi and end > lo and end > begin:
                yield Day(max(begin, lo), min(end, hi), wall_time(begin, zone))
        day += timedelta(days=1)


def _offset(at: datetime, zone: ZoneInfo) -> timedelta:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset


def _tick(at: datetime, origin: datetime, offset: timedelta, step: timedelta) -> datetime:
    """The first instant at or after `at` whose wall time, read at a fixed `offset`, lies a
    whole number of steps after `origin` (naive)."""
    wall = at.astimezone(UTC).replace(tzinfo=None) + offset
    ticks = -((origin - wall) // step)  # ceiling division
    return (origin + ticks * step - offset).replace(tzinfo=UTC)


def _on_grid(at: datetime, origin: datetime, zone: ZoneInfo, step: timedelta) -> datetime:
    """The first instant at or after `at` whose wall-clock time in the zone lies a whole
    number of steps after `origin`. Between changes of the zone's offset its clock runs with
    real time, so the grid is a real-time one there. A change before the next tick (at most
    one: in every zone since 1900 offset changes lie more than 4 hours apart, and a step is
    at most 4 hours) shifts the grid: the first tick after it is one of the shifted grid's
    next two."""
    offset = _offset(at, zone)
    found = _tick(at, origin, offset, step)
    after = _offset(found, zone)
    if after == offset:
        return found
    found = _tick(at, origin, after, step)
    return found if _offset(found, zone) == after else found + step


_NEXT = timedelta(microseconds=1)  # the next tick after a start is the first one past it


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
    earliest = window[0]  # where the next start may be, before aligning it to a day's grid
    for end, days in working_stretches(window, zone, hours):
        for day in days:
            at = _on_grid(max(earliest, day.start), day.origin, zone, granularity)
            while at < day.end and at + duration <= end and len(found) < limit:
                while index < len(busy) and busy[index][1] <= at:
                    index += 1
                if index < len(busy) and busy[index][0] < at + duration:
                    earliest = busy[index][1]  # jump past it (perhaps into a later day)
                else:
                    found.append((at, at + duration))
                    earliest = at + _NEXT
                at = _on_grid(earliest, day.origin, zone, granularity)
        if len(found) >= limit:
            break
    return found


def free_days(
    busy: Sequence[Interval],
    first: date,
    last: date,
    *,
    days: int,
    zone: ZoneInfo,
    limit: int,
    until: datetime,
) -> list[tuple[date, date]]:
    """The earliest `limit` runs of `days` whole days (each from its midnight to the
    midnight `days` later on the zone's clock, 23 or 25 hours across a change of summer
    time), starting from `first` to `last`, one a day, ending by `until`, that overlap none
    of `busy` (merged: sorted, disjoint): (first date, the date after the last).
    O(days + busy + limit): a clash jumps to the first day starting after what it met."""
    found: list[tuple[date, date]] = []
    index = 0
    day = first
    while day <= last and len(found) < limit:
        start, end = midnight(day, zone), midnight(day + timedelta(days=days), zone)
        if end > until:
            break
        while index < len(busy) and busy[index][1] <= start:
            index += 1
        if index < len(busy) and busy[index][0] < end:
            over = busy[index][1]  # the first day starting at or after it, never this one
            after = date_in(over, zone)
            if midnight(after, zone) < over:
                after += timedelta(days=1)
            day = max(day + timedelta(days=1), after)
        else:
            found.append((day, day + timedelta(days=days)))
            day += timedelta(days=1)
    return found


def has_working_time(window: Interval, zone: ZoneInfo, hours: WorkingHours) -> bool:
    return next(_days(window, zone, hours), None) is not None
