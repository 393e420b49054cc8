"""When a user's reminder is next due: timing.py's bounded search, with their answers.

An occurrence its user declined (an invitation's answer, for the series or for that
occurrence) is passed over: the reminder waits for the next one they did not decline. The
answers of many reminders are read together (`load_answers`, two queries), and the
reminders of a meeting's many guests share one walk of its recurrence (`next_two_for`'s
memo). The search itself is pure, in timing.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events.days import date_in, key_of
from neo_events.events.recurrence import Occurrence, Series
from neo_events.events.rrule import zone_named
from neo_events.invitations.responses import (
    DECLINED,
    declines,
    occurrence_answers,
    series_answers,
)
from neo_events.jobs import queue
from neo_events.models import User
from neo_events.reminders.timing import (
    NextDue,
    at_offset,
    by_dates,
    day_of_instant,
    days_after,
    days_two,
    next_answered,
    next_due,
    next_two,
)


@dataclass(frozen=True, slots=True)
class Answers:
    """One invited user's answers on one event: for the series, and occurrence by occurrence
    (at most MAX_OCCURRENCE_ANSWERS of those, bounded by the RSVP)."""

    series: str | None
    occurrences: Mapping[datetime, str]

    def skipper(self, series: Series) -> Callable[[Occurrence], bool]:
        """Whether these answers pass over an occurrence of `series`: an all-day series'
        occurrences are placed at their midnights in its zone, their answers kept by date
        (`days.key_of`)."""
        if series.all_day_zone is None:
            return lambda o: declines(self.series, self.occurrences, o.recurrence_id)
        zone = zone_named(series.all_day_zone)
        return lambda o: declines(self.series, self.occurrences, key_of(o.recurrence_id, zone))

    @property
    def kind(self) -> tuple[bool, frozenset[datetime]] | None:
        """What of these answers a reminder's next firing depends on: None when they decline
        nothing (as for someone not invited), else whether the series is declined and the
        occurrences declined (or, the series declined, those not declined). Reminders of
        users whose answers are of one kind fire alike: one walk for all of them."""
        if self.series == DECLINED:
            return True, frozenset(self.accepted_alone or ())
        declined = frozenset(rid for rid, answer in self.occurrences.items() if answer == DECLINED)
        return (False, declined) if declined else None

    @property
    def accepted_alone(self) -> list[datetime] | None:
        """With the series declined, the occurrences not declined one by one (the only
        ones that remind); None when the series is not declined."""
        if self.series != DECLINED:
            return None
        return [rid for rid, answer in self.occurrences.items() if answer != DECLINED]


async def own_zones(
    session: AsyncSession, series: Mapping[int, Series], reminders: Iterable[Any]
) -> dict[int, str]:
    """The zones of those of these reminders' users who set one (`auth/preferences.py`),
    read only where a reminder is on an all-day event: one query, or none."""
    users = {r.user_id for r in reminders if (s := series.get(r.event_id)) and s.all_day_zone}
    if not users:
        return {}
    rows = await session.execute(
        select(User.id, User.timezone).where(
            queue.among(session, User.id, users), User.timezone.is_not(None)
        )
    )
    return {user_id: zone for user_id, zone in rows if zone is not None}


async def load_answers(
    session: AsyncSession, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], Answers]:
    """The answers of those (event_id, user_id) pairs that are invitations; two queries."""
    series = await series_answers(session, pairs)
    per_occurrence = await occurrence_answers(session, series)
    return {pair: Answers(answer, per_occurrence.get(pair, {})) for pair, answer in series.items()}


def next_for(
    event: Any,  # an Event, or a row of its columns
    series: Series,
    reminder: Any,  # a Reminder or a row with its user_id and minutes_before
    after: datetime,
    answers: Mapping[tuple[int, int], Answers],
    memo: dict[Any, Any],
) -> NextDue | None:
    """The reminder's next due occurrence after `after`, passing over what its user
    declined; None when nothing is left (or they declined the whole series)."""
    return next_two_for(event, series, reminder, after, answers, memo, two=False)[0]


def next_two_for(
    event: Any,
    series: Series,
    reminder: Any,
    after: datetime,
    answers: Mapping[tuple[int, int], Answers],
    memo: dict[Any, Any],
    *,
    two: bool = True,
) -> tuple[NextDue | None, NextDue | None]:
    """`next_for` after `after`, and (with `two`) `next_for` after that one's due time, from
    one walk of the recurrence where it can be (timing.next_two). Memoised per (event, kind
    of answers (`Answers.kind`), the day it last reminded of, minutes, after): a meeting's
    reminders for its many guests, and those of an event's many holders, are one walk; an
    all-day event's per date its time to remind falls on where its holder lives, whatever
    the zone and the minutes (`_on_days`).

    An all-day event's day the reminder reminded of already (`Reminder.reminded_day`,
    which `reminder` carries), and those before it, are passed over, as a declined one is:
    where its holder's (or the event's) zone moved west, that day begins later and its time
    to remind came back (`reminded_skipper`)."""
    mine = answers.get((event.id, reminder.user_id))
    kind = mine.kind if mine is not None else None
    if kind is None:
        mine = None  # declines nothing: fires as if not invited
    reminded = reminder.reminded_day if series.all_day_zone is not None else None
    minutes = reminder.minutes_before
    only = mine.accepted_alone if mine is not None else None
    if series.all_day_zone is not None and only is None:
        return _on_days(event, series, mine, kind, reminded, minutes, after, memo, two=two)
    key = (event.id, series.all_day_zone, kind, reminded, minutes, after, two)
    if key not in memo:
        skip = _either(mine.skipper(series) if mine else None, reminded_skipper(series, reminded))
        if only is not None:
            first = _answered(series, minutes, after, only, reminded)
            second = None
            if two and first is not None:
                second = _answered(series, minutes, first.due_at, only, reminded)
            memo[key] = (first, second)
        elif two:
            memo[key] = next_two(
                series,
                minutes_before=minutes,
                after=after,
                until=event.span_end,  # (an all-day one's reaches every holder's zone: days.REACH)
                skip=skip,
            )
        else:
            due = next_due(
                series, minutes_before=minutes, after=after, until=event.span_end, skip=skip
            )
            memo[key] = (due, None)
    result: tuple[NextDue | None, NextDue | None] = memo[key]
    return result


def _on_days(
    event: Any,
    series: Series,
    mine: Answers | None,
    kind: tuple[bool, frozenset[datetime]] | None,
    reminded: date | None,
    minutes: int,
    after: datetime,
    memo: dict[Any, Any],
    *,
    two: bool,
) -> tuple[NextDue | None, NextDue | None]:
    """`next_two_for` of an all-day series, walked by its dates (`timing.days_two`): one walk
    for every zone and offset whose time to remind falls on one date there, its holders'
    zones and reminders alike (an event of 500 holders in 400 zones, 5 reminders each: 2,000
    walks, now a few). What is passed over is a matter of dates, the same in every zone:
    an answer names its date (`days.key_of`), and `reminded_skipper` a date."""
    assert series.all_day_zone is not None
    zone = zone_named(series.all_day_zone)
    offset = timedelta(minutes=minutes)
    day = day_of_instant(after + offset, zone)
    key = ("days", event.id, kind, reminded, day, two)
    if key not in memo:
        skip = _either(mine.skipper(series) if mine else None, reminded_skipper(series, reminded))
        flat, _, unplaced = by_dates(series, skip)
        until = event.span_end  # (an all-day one's reaches every holder's zone: days.REACH)
        if two:
            memo[key] = days_two(flat, day=day, until=until, skip=unplaced)
        else:
            memo[key] = (days_after(flat, day, until, unplaced)[0], None)
    where = ("placed", key, series.all_day_zone)  # placed once a zone, offset a reminder
    if where not in memo:
        memo[where] = tuple(at_offset(due, zone, timedelta(0)) for due in memo[key])
    first, second = (
        None if d is None else NextDue(d.due_at - offset, d.occurrence) for d in memo[where]
    )
    return first, second


def reminded_skipper(series: Series, day: date | None) -> Callable[[Occurrence], bool] | None:
    """Whether an occurrence of an all-day series, placed where its holder's days begin
    (`series_types.zoned`), starts on `day` (the last day its reminder reminded of) or
    before it; None for no such day (or a timed series).

    An earlier day's time to remind, in the zone it fired in, came before `day`'s, which
    had come: passing it over loses nothing there. Only a zone where days begin later can
    bring one back: `day` itself if it is up to 24 hours west, the day before too past that
    (UTC+14 to UTC-11 is 25 hours)."""
    if day is None or series.all_day_zone is None:
        return None
    zone = zone_named(series.all_day_zone)
    return lambda o: date_in(o.start, zone) <= day


def _either(
    one: Callable[[Occurrence], bool] | None, other: Callable[[Occurrence], bool] | None
) -> Callable[[Occurrence], bool] | None:
    if one is None or other is None:
        return one or other
    return lambda o: one(o) or other(o)


def _answered(
    series: Series, minutes: int, after: datetime, only: list[datetime], reminded: date | None
) -> NextDue | None:
    """`next_answered` among `only`, passing over the days reminded of (`reminded_skipper`):
    each pass takes a later one of `only`, so at most as many passes as they are."""
    skip = reminded_skipper(series, reminded)
    for _ in range(len(only) + 1):
        due = next_answered(series, minutes_before=minutes, after=after, recurrence_ids=only)
        if due is None or due.occurrence is None or skip is None or not skip(due.occurrence):
            return due
        after = due.due_at
    return None
