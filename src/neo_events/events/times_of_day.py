"""Where in the UTC day, and in the UTC week, occurrences fall: lets a conflict check pass
over a series none of whose occurrences can meet the times it checks, without expanding it.

Pure: no FastAPI, no SQLAlchemy. An arc is (start, length) in microseconds of the UTC day,
a closed stretch of the 24-hour circle, shorter than a day; or, of a week's circle (a
`period` of WEEK, from Monday 00:00 UTC), a stretch of the 168 hours. Two occurrences that
overlap in time overlap on either circle too, so a series whose arcs meet none of a check's
arcs cannot clash with it: the day's circle passes over a series at other hours, the week's
one on other weekdays (a weekly meeting on Tuesdays, for a create on a Friday). Arcs are
widened, never narrowed: a series the arcs cannot describe (sub-daily rules, rdates,
overrides, all-day dates, occurrences a day long, many times of day) is "anywhere" (None),
and touching arcs count as meeting.

A series' arcs: a single event's are its own. A rule of FREQ=DAILY or longer places every
occurrence at one of the wall times its BYHOUR × BYMINUTE × BYSECOND (each defaulting to
DTSTART's) name, or at DTSTART's own to the second (the first occurrence keeps DTSTART's
fraction of a second: it is an arc of its own); a wall time becomes an instant by one of the
offsets its zone has in force around the window (a time in a spring-forward gap takes the
offset before the gap, also one of them), so each wall time's occurrences start within an
arc as wide as the offsets' spread. On the week's circle the same holds of each weekday its
BYDAY names (or, for a WEEKLY rule without one, DTSTART's): a local date's weekday and wall
time, less the offset, are the instant's place in the UTC week. A rule whose weekdays are not
named (DAILY, MONTHLY by day of the month) is anywhere in the week.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from dateutil import rrule as du

from neo_events.events.plans import plan_of
from neo_events.events.recurrence import Series
from neo_events.events.rrule import utc, values, zone_named

Arc = tuple[int, int]  # (start, length): microseconds of the UTC day

DAY = 86_400_000_000  # microseconds
WEEK = 7 * DAY
MOST_ARCS = 16  # more distinct arcs than this: "anywhere" (the test is pairwise)
LONGEST_WINDOW = timedelta(days=2 * 366)  # longer windows (a batch's): not described
# How often a zone's offset is sampled for the offsets it has within a year. An offset of
# the tz database lasts days at the least (four, Africa/Freetown's shortest; the unit test
# checks every zone's transitions are further apart than this), so none is missed.
_SAMPLE = timedelta(days=1)
_SLACK = timedelta(days=2)  # an occurrence reaching the window starts at most a day before
# A zone's offsets in a year cost about 0.6 ms to work out (kept for every later read): a
# read works out at most this many afresh, and expands the series of other zones as before.
FRESH_ZONE_YEARS = 16
_KEPT_ZONE_YEARS = 8_192


class Budget:
    """What one calendar read may still spend on zones' offsets (`FRESH_ZONE_YEARS`)."""

    __slots__ = ("left",)

    def __init__(self, left: int = FRESH_ZONE_YEARS) -> None:
        self.left = left


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _of_day(value: datetime) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def _place(instant: datetime, period: int) -> int:
    """Where a UTC instant falls on the day's circle (or the week's, from Monday 00:00)."""
    return _of_day(instant) + (instant.weekday() * DAY if period == WEEK else 0)


def arcs_of(
    occurrences: Iterable[tuple[datetime, datetime]], period: int = DAY
) -> list[Arc] | None:
    """The distinct arcs of these UTC (start, end) pairs on the day's circle (or the
    week's); None (anywhere) if one lasts a day or more, or there are more than MOST_ARCS."""
    found: set[Arc] = set()
    for start, end in occurrences:
        if start.tzinfo is not UTC or end.tzinfo is not UTC:
            # (two datetimes of one zone subtract as wall times: across a change of offset
            # that is not how long the occurrence lasts)
            start, end = start.astimezone(UTC), end.astimezone(UTC)
        length = _micros(end - start)
        if length >= DAY:
            return None
        found.add((_place(start, period), length))
        if len(found) > MOST_ARCS:
            return None
    return sorted(found)


class Near:
    """Where the occurrences a conflict check asks about fall, in the UTC day and week, for
    a calendar read to pass over the series that cannot meet them (`meets`)."""

    __slots__ = ("day", "week")

    def __init__(self, occurrences: Iterable[tuple[datetime, datetime]]) -> None:
        spans = list(occurrences)
        self.day = arcs_of(spans)
        self.week = arcs_of(spans, WEEK) if self.day is not None else None

    def meets(self, series: Series, lo: datetime, hi: datetime, budget: Budget) -> bool:
        """Whether an occurrence of the series in [lo, hi) may meet one of these."""
        if self.day is None:  # anywhere: nothing is passed over
            return True
        day, week = _arcs(series, lo, hi, budget)
        return meet(self.day, day) and (self.week is None or meet(self.week, week, WEEK))


def series_arcs(
    series: Series, lo: datetime, hi: datetime, budget: Budget | None = None, period: int = DAY
) -> list[Arc] | None:
    """Arcs of the day's circle (or the week's) holding the UTC start-to-end of every
    occurrence of the series that reaches [lo, hi); None (anywhere) where a series is not
    one the arcs describe (module doc), the window is longer than LONGEST_WINDOW, or the
    zone's offsets would cost more than what is left of `budget` to work out."""
    return _arcs(series, lo, hi, budget or Budget())[period == WEEK]


_ANYWHERE: tuple[None, None] = (None, None)


def _arcs(
    series: Series, lo: datetime, hi: datetime, budget: Budget
) -> tuple[list[Arc] | None, list[Arc] | None]:
    """`series_arcs` on the day's circle and on the week's, worked out together."""
    if (
        series.rdates
        or series.overrides
        or series.all_day_zone is not None
        or not (datetime(2, 1, 1, tzinfo=UTC) < lo <= hi < datetime(9998, 1, 1, tzinfo=UTC))
        or hi - lo > LONGEST_WINDOW
    ):
        return _ANYWHERE
    key = (series.start, series.end, series.timezone, series.rule, lo.year, hi.year)
    kept = _series_years.get(key)
    if kept is not None:
        return kept
    found, settled = _worked_out(series, lo.year, hi.year, budget)
    if settled:  # (not an answer the budget forced: a later read may work it out)
        if len(_series_years) >= _KEPT_SERIES_YEARS:
            _series_years.clear()  # rare: thousands of rules in use; worked out again
        _series_years[key] = found
    return found


# A series' arcs over a span of years, by what they depend on (its start, end, zone and rule,
# and the years: not its exdates, which only take occurrences away): a check met the same
# series again and again (a create's ~6 of its owner's series, each 20 us to work out).
_series_years: dict[tuple[object, ...], tuple[list[Arc] | None, list[Arc] | None]] = {}
_KEPT_SERIES_YEARS = 16_384


def _worked_out(
    series: Series, first_year: int, last_year: int, budget: Budget
) -> tuple[tuple[list[Arc] | None, list[Arc] | None], bool]:
    """`_arcs` of a series with no rdates, overrides or all-day dates, over those years, and
    whether that is settled: False where the zone's offsets would have cost more than what is
    left of `budget` (then it is anywhere, this once)."""
    start, end = utc(series.start), utc(series.end)
    if end < start:  # not a series (expanding it says so)
        return _ANYWHERE, True
    # the first occurrence exactly (its microseconds too)
    own_length = _micros(end - start)
    if own_length >= DAY:
        return _ANYWHERE, True
    own_day, own_week = (_place(start, DAY), own_length), (_place(start, WEEK), own_length)
    if series.rule is None:  # a single event: its own time
        return ([own_day], [own_week]), True
    plan = plan_of(series.rule, start, series.timezone)
    if plan.rule.freq > du.DAILY:  # HOURLY, MINUTELY: the times are the rule's steps
        return _ANYWHERE, True
    explicit = plan.explicit
    walls = {_of_day(plan.dt0)} | {
        ((h * 60 + m) * 60 + s) * 1_000_000
        for h in values(explicit["byhour"])
        for m in values(explicit["byminute"])
        for s in values(explicit["bysecond"])
    }
    if len(walls) > MOST_ARCS:
        return _ANYWHERE, True
    offsets = _offsets(series.timezone, first_year, last_year, budget)
    if offsets is None:
        return _ANYWHERE, False
    least, most = offsets
    length = own_length + most - least
    if length >= DAY:
        return _ANYWHERE, True
    day = sorted({((wall - most) % DAY, length) for wall in walls} | {own_day})
    if explicit.get("byweekday") is None:  # DAILY, MONTHLY by day of the month...
        return (day, None), True  # ...anywhere in the week
    # dateutil's weekdays (`MO`, or `MO(+1)` of BYDAY=1MO), or DTSTART's as a number
    weekdays = {getattr(d, "weekday", d) for d in values(explicit["byweekday"])}
    week = {((w * DAY + wall - most) % WEEK, length) for w in weekdays for wall in walls}
    if len(week) > MOST_ARCS:
        return (day, None), True
    return (day, sorted(week | {own_week})), True


_zone_years: dict[tuple[str, int], tuple[int, int]] = {}


def _offsets(
    zone_name: str, first_year: int, last_year: int, budget: Budget
) -> tuple[int, int] | None:
    """The least and the greatest UTC offset (microseconds) the zone has in those years, two
    days either side included; None if working out those not kept would pass the budget."""
    keys = [(zone_name, year) for year in range(first_year, last_year + 1)]
    fresh = [key for key in keys if key not in _zone_years]
    if len(fresh) > budget.left:
        return None
    budget.left -= len(fresh)
    if len(_zone_years) + len(fresh) > _KEPT_ZONE_YEARS:
        _zone_years.clear()  # rare: thousands of zone-years; they are worked out again
    spans = []
    for key in keys:
        span = _zone_years.get(key)
        if span is None:
            span = _zone_years[key] = _offsets_in(*key)
        spans.append(span)
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _offsets_in(zone_name: str, year: int) -> tuple[int, int]:
    """The offsets of one zone-year (sampled every `_SAMPLE`: 370 conversions)."""
    zone = zone_named(zone_name)
    instant = datetime(year, 1, 1, tzinfo=UTC) - _SLACK
    last = datetime(year + 1, 1, 1, tzinfo=UTC) + _SLACK
    seen: set[timedelta] = set()
    while instant <= last:
        offset = instant.astimezone(zone).utcoffset()
        assert offset is not None
        seen.add(offset)
        instant += _SAMPLE
    return _micros(min(seen)), _micros(max(seen))


def meet(ours: Sequence[Arc] | None, theirs: Sequence[Arc] | None, period: int = DAY) -> bool:
    """Whether any arc of one meets any of the other on the circle of `period` (closed arcs;
    None is anywhere)."""
    if ours is None or theirs is None:
        return True
    for start, length in ours:
        for other, other_length in theirs:
            if (other - start) % period <= length or (start - other) % period <= other_length:
                return True
    return False
