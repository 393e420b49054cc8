"""When a reminder is next due: pure, bounded, on the event's own recurrence expansion.

Only the next due occurrence of each reminder is kept (one job row); after it fires the
reminder rolls forward to the one after. The search for it is bounded: windows doubling from
one hour up to LOOKAHEAD (366 days, so a yearly event is always found), each expansion
capped at WINDOW_LIMIT occurrences, at most MAX_STEPS windows. A series with nothing in
that horizon (every two years, say) gets a re-check at the horizon instead of a reminder.

Occurrences the reminder's user declined are passed over inside the same windows (at most
MAX_OCCURRENCE_ANSWERS of them are declined one by one), so the bound is the same. When they
declined the whole series, only the occurrences they answered one by one can remind them:
`next_answered` checks those alone, rather than walking a year of declined occurrences.

A firing reminder needs two answers, what is due now and where it rolls forward to:
`next_two` takes both from one search when the window that held the first holds the second
(or the event has a single occurrence), so the recurrence is walked once per reminder. A
plain single event (no rule, rdates or exceptions) is not walked at all: its one occurrence
is compared with the window's bounds (`_single`, which gives what the walk gives).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from neo_events.events.days import REACH, date_in, floating, place
from neo_events.events.recurrence import (
    ExpansionLimitExceeded,
    Occurrence,
    Series,
    expand,
    occurrence_at,
)
from neo_events.events.rrule import utc, zone_named

LOOKAHEAD = timedelta(days=366)
FIRST_WINDOW = timedelta(hours=1)
SMALLEST_WINDOW = timedelta(minutes=1)
WINDOW_LIMIT = 1000
MAX_STEPS = 64


@dataclass(frozen=True, slots=True)
class NextDue:
    """The reminder's next due time; `occurrence` is None for a re-check at the horizon."""

    due_at: datetime
    occurrence: Occurrence | None


def next_due(
    series: Series,
    *,
    minutes_before: int,
    after: datetime,
    until: datetime | None,
    skip: Callable[[Occurrence], bool] | None = None,
) -> NextDue | None:
    """The first occurrence whose reminder time (start - minutes_before) is after `after`,
    passing over those `skip` names (the ones its user declined).

    `until` is the end of the series' last occurrence (None: it never ends). None when no
    occurrence is left."""
    return _search(series, minutes_before, after, until, skip)[0]


def next_two(
    series: Series,
    *,
    minutes_before: int,
    after: datetime,
    until: datetime | None,
    skip: Callable[[Occurrence], bool] | None = None,
) -> tuple[NextDue | None, NextDue | None]:
    """`next_due` after `after`, and `next_due` after that one's own time: what a firing
    reminder sends and where it rolls forward to, from one search when it can be.

    The window that held the first holds every occurrence starting in it, so a later one
    there is the next; a single event (no rule, no rdates) has no next. Otherwise (the next
    lies beyond that window) the second is searched for as `next_due` would."""
    first, window = _search(series, minutes_before, after, until, skip)
    return first, _then(
        series,
        first,
        window,
        timedelta(minutes=minutes_before),
        lambda due: next_due(
            series, minutes_before=minutes_before, after=due, until=until, skip=skip
        ),
    )


def days_two(
    flat: Series,
    *,
    day: datetime,
    until: datetime | None,
    skip: Callable[[Occurrence], bool] | None,
) -> tuple[NextDue | None, NextDue | None]:
    """`next_two` of an all-day series on its dates (`days_after`): floating, the same for
    every zone and every reminder whose time to remind falls on `day`'s date there."""
    first, window = days_after(flat, day, until, skip)

    def again(due: datetime) -> NextDue | None:
        return days_after(flat, due, until, skip)[0]

    return first, _then(flat, first, window, timedelta(0), again)


def _then(
    series: Series,
    first: NextDue | None,
    window: list[Occurrence],
    offset: timedelta,
    again: Callable[[datetime], NextDue | None],
) -> NextDue | None:
    """The one after `first`: a later one in its window, or `again` after its due time."""
    if first is None or first.occurrence is None:
        return None
    start = first.occurrence.start
    later = min(
        (o for o in window if o.start > start),
        key=lambda o: (o.start, o.recurrence_id),
        default=None,
    )
    if later is not None:
        return NextDue(later.start - offset, later)
    if series.rule is None and not series.rdates:
        return None
    return again(first.due_at)


def _search(
    series: Series,
    minutes_before: int,
    after: datetime,
    until: datetime | None,
    skip: Callable[[Occurrence], bool] | None,
) -> tuple[NextDue | None, list[Occurrence]]:
    """`next_due`, and the occurrences after `after` (not skipped) of the window it was
    found in."""
    offset = timedelta(minutes=minutes_before)
    threshold = after + offset  # an occurrence must start after this
    if series.all_day_zone is not None:
        flat, zone, unplaced = by_dates(series, skip)
        first, window = days_after(flat, day_of_instant(threshold, zone), until, unplaced)
        return at_offset(first, zone, offset), [placed(o, zone) for o in window]
    horizon = threshold + LOOKAHEAD
    single = _single(series, threshold, horizon, until, skip)
    if single is not None:
        return NextDue(single.start - offset, single), [single]
    return _walk(series, offset, threshold, horizon, until, skip)


# An all-day series is walked by its dates (`days_after`): its first window two days wide.
DAYS_WINDOW = timedelta(days=2)


def by_dates(
    series: Series, skip: Callable[[Occurrence], bool] | None
) -> tuple[Series, ZoneInfo, Callable[[Occurrence], bool] | None]:
    """An all-day series as `days_after` walks it: its floating form, the zone it is placed
    in, and `skip` asked of each occurrence as placed there."""
    assert series.all_day_zone is not None
    zone = zone_named(series.all_day_zone)
    unplaced = None if skip is None else lambda o: skip(placed(o, zone))
    return replace(series, all_day_zone=None), zone, unplaced


def day_of_instant(instant: datetime, zone: ZoneInfo) -> datetime:
    """The floating midnight of the date `instant` falls on in `zone`: an all-day
    occurrence placed there starts after `instant` exactly when its date is a later one."""
    return floating(date_in(instant, zone))


def days_after(
    flat: Series,
    day: datetime,
    until: datetime | None,
    skip: Callable[[Occurrence], bool] | None,
) -> tuple[NextDue | None, list[Occurrence]]:
    """The first occurrence of an all-day series in its floating form (its dates' midnights
    in UTC, `all_day_zone` None) on a date after `day`'s, not skipped, and the window's
    others after `day`: one walk for every zone it is placed in, whose order of dates is
    the same everywhere (`days.midnight` grows with the date), so the first occurrence
    after an instant there is the first on a date after that instant's there
    (`day_of_instant`). Its due time is its floating start. Bounded as `_walk` is; `until`
    (the series' span end, widened by `days.REACH`) bounds the floating times too, and the
    horizon lies REACH twice past the instant's own (a floating date and where it begins
    are up to REACH apart): no occurrence the zone's own walk would find is left out."""
    horizon = day + LOOKAHEAD + 2 * REACH
    return _walk(flat, timedelta(0), day, horizon, until, skip, width=DAYS_WINDOW)


def placed(occurrence: Occurrence, zone: ZoneInfo) -> Occurrence:
    """A floating all-day occurrence at the zone's midnights, as `recurrence.expand` places
    it."""
    start = place(occurrence.start, zone)
    moved = occurrence.recurrence_id != occurrence.start  # (an override's own date)
    return Occurrence(
        place(occurrence.recurrence_id, zone) if moved else start,
        start,
        place(occurrence.end, zone),
        occurrence.override,
    )


def at_offset(due: NextDue | None, zone: ZoneInfo, offset: timedelta) -> NextDue | None:
    """A floating `days_after` result as its reminder `offset` before it in `zone`."""
    if due is None:
        return None
    if due.occurrence is None:  # a re-check at the horizon
        return NextDue(place(due.due_at, zone) - offset, None)
    occurrence = placed(due.occurrence, zone)
    return NextDue(occurrence.start - offset, occurrence)


def _single(
    series: Series,
    threshold: datetime,
    horizon: datetime,
    until: datetime | None,
    skip: Callable[[Occurrence], bool] | None,
) -> Occurrence | None:
    """The one occurrence of a plain single event (no rule, rdates, exdates, overrides or
    all-day dates) when it is what `_walk` would find: it starts after `threshold`, before
    the horizon and before `until`, and is not skipped. None: walk the windows instead
    (which also says when nothing is left). A burst of meetings is mostly single events:
    this is one comparison each, not an expansion of each meeting's hour."""
    if (
        series.rule is not None
        or series.rdates
        or series.exdates
        or series.overrides
        or series.all_day_zone is not None
    ):
        return None
    start, end = utc(series.start), utc(series.end)
    if not threshold < start < horizon or end < start or (until is not None and until <= start):
        return None
    occurrence = Occurrence(start, start, end, None)
    return None if skip is not None and skip(occurrence) else occurrence


def _walk(
    series: Series,
    offset: timedelta,
    threshold: datetime,
    horizon: datetime,
    until: datetime | None,
    skip: Callable[[Occurrence], bool] | None,
    *,
    width: timedelta = FIRST_WINDOW,
) -> tuple[NextDue | None, list[Occurrence]]:
    """`_search` by expanding windows doubling from `width` up to the horizon, from
    where the series' first occurrence can start at the earliest (the windows before it
    hold nothing: a series a week or a year ahead is not walked to from now)."""
    lo = threshold
    # its window holds it, even if it lasts no time
    earliest = _earliest(series, threshold) - SMALLEST_WINDOW
    if earliest > lo:
        lo = min(earliest, horizon)
    for _ in range(MAX_STEPS):
        if lo >= horizon:
            break
        if until is not None and lo >= until:
            return None, []
        hi = min(lo + width, horizon)
        try:
            found = expand(series, lo, hi, limit=WINDOW_LIMIT)
        except ExpansionLimitExceeded:
            width = max(width / 8, SMALLEST_WINDOW)
            continue
        starts = [o for o in found if o.start > threshold and not (skip and skip(o))]
        if starts:
            first = min(starts, key=lambda o: (o.start, o.recurrence_id))
            return NextDue(first.start - offset, first), starts
        lo, width = hi, width * 2
        if lo >= horizon:
            break
    if until is not None and until <= lo:
        return None, []
    return NextDue(lo - offset, None), []


def _earliest(series: Series, threshold: datetime) -> datetime:
    """A time before which no occurrence starting after `threshold` starts: the rule's
    occurrences start at the series' start or later, the rest are the rdates and the
    overrides' moved starts after it (an all-day series' floating ones: `days_after`).
    Bounded by the rdates and overrides an event may hold."""
    candidates = [max(utc(series.start), threshold)]
    candidates += [r for r in series.rdates[bisect_right(series.rdates, threshold) :][:1]]
    candidates += [
        start
        for o in series.overrides
        if o.start is not None and (start := utc(o.start)) > threshold
    ]
    return min(candidates)


def next_answered(
    series: Series, *, minutes_before: int, after: datetime, recurrence_ids: Iterable[datetime]
) -> NextDue | None:
    """Like next_due, among these occurrences only (a declined series' occurrences accepted
    one by one). Bounded by their number; the rule is checked at each candidate's own
    instant, earliest first, until one is an occurrence."""
    offset = timedelta(minutes=minutes_before)
    threshold = after + offset
    excluded = {utc(x) for x in series.exdates}
    overrides = {utc(o.recurrence_id): o for o in series.overrides}
    duration = utc(series.end) - utc(series.start)
    candidates = []
    for rid in {utc(r) for r in recurrence_ids} - excluded:
        override = overrides.get(rid)
        start = rid if override is None or override.start is None else utc(override.start)
        if start > threshold:
            candidates.append((start, rid))
    for start, rid in sorted(candidates):
        if occurrence_at(series, rid):
            override = overrides.get(rid)
            end = start + duration if override is None or override.end is None else override.end
            return NextDue(start - offset, Occurrence(rid, start, utc(end), override))
    return None
