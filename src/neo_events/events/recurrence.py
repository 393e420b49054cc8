"""RFC 5545 recurrence in the event's wall clock: DTSTART is always the first occurrence."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from neo_events.events import days
from neo_events.events.rrule import (
    DAY,
    HIGHEST,
    LOWEST,
    RecurrenceError,
    Rule,
    UnsupportedRecurrence,
    clamp,
    format_utc,
    localize,
    parse_rule,
    utc,
    wall_time,
    zone_named,
)

__all__ = [
    "ExpansionLimitExceeded",
    "Occurrence",
    "Override",
    "RecurrenceError",
    "Series",
    "UnsupportedRecurrence",
    "expand",
    "following_rule",
    "normalize_rule",
    "occurrence_at",
    "overlaps",
    "series_end",
    "split_rule",
]


class ExpansionLimitExceeded(Exception):
    """More occurrences overlap the window than the caller's limit allows; `reached` is the
    original start at which the count went past it (None if unknown), and `before`, when
    known, what expanding the window only up to `reached` returns — so a caller that settles
    for the shorter window need not expand it again."""

    def __init__(
        self,
        message: str,
        reached: datetime | None = None,
        before: list[Occurrence] | None = None,
    ) -> None:
        super().__init__(message)
        self.reached = reached
        self.before = before


@dataclass(frozen=True, slots=True)
class Override:
    """A change to one occurrence, keyed by its original start instant."""

    recurrence_id: datetime
    start: datetime | None = None
    end: datetime | None = None
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Series:
    """An event and its recurrence; `rule` None and no `rdates` means a single event.

    An all-day series is floating: its times are its dates' midnights in UTC (its
    `timezone` is "UTC", so the rule recurs by date) and `all_day_zone` names the zone whose
    midnights `expand` places its occurrences at (see events/days.py).
    """

    start: datetime
    end: datetime
    timezone: str
    rule: str | None
    exdates: tuple[datetime, ...] = ()
    overrides: tuple[Override, ...] = ()
    rdates: tuple[datetime, ...] = ()  # sorted, UTC: occurrences besides the rule's
    all_day_zone: str | None = None


class Occurrence(NamedTuple):
    """One expanded occurrence, all datetimes in UTC (a tuple: an expansion makes thousands)."""

    recurrence_id: datetime
    start: datetime
    end: datetime
    override: Override | None


@dataclass(frozen=True, slots=True)
class _Plan:
    rule: Rule
    zone: ZoneInfo
    start: datetime  # UTC first occurrence
    dt0: datetime  # naive wall-clock DTSTART handed to dateutil
    explicit: Mapping[str, Any]  # kwargs plus the defaults dateutil would derive from dt0
    bound: datetime | None  # naive wall time after which no occurrence is generated
    # A rule with several times of day and no BYSETPOS generates (matching days) × (times):
    # the days come from dateutil with one time of day, the times are crossed in here, so
    # reaching a window skips whole days instead of every time on them (1,440 a day at most).
    times: tuple[time, ...] | None
    day_kwargs: Mapping[str, Any] | None
    steps: tuple[timedelta, ...] | None  # see _steps
    # A BYDAY mixing plain and numbered weekdays (MO,1TU) means their union (RFC 5545);
    # dateutil would intersect them, so each kind is its own plan and they are merged here.
    union: tuple[_Plan, ...] | None = None


def _explicit(rule: Rule, dt0: datetime) -> dict[str, Any]:
    """The keywords with the defaults dateutil derives from dtstart spelled out."""
    kwargs = dict(rule.kwargs)
    if not kwargs.keys() & {"byweekno", "byyearday", "bymonthday", "byweekday"}:
        if rule.freq == du.YEARLY:
            kwargs.setdefault("bymonth", dt0.month)
            kwargs["bymonthday"] = dt0.day
        elif rule.freq == du.MONTHLY:
            kwargs["bymonthday"] = dt0.day
        elif rule.freq == du.WEEKLY:
            kwargs["byweekday"] = dt0.weekday()
    if rule.freq < du.HOURLY:  # sub-daily rules recur through the hours/minutes themselves
        kwargs.setdefault("byhour", dt0.hour)
    if rule.freq < du.MINUTELY:
        kwargs.setdefault("byminute", dt0.minute)
    kwargs.setdefault("bysecond", dt0.second)
    return kwargs


# The length of a period of a sub-daily rule, on the wall clock (RFC 5545 §3.3.10).
_SUB_DAILY = {du.HOURLY: timedelta(hours=1), du.MINUTELY: timedelta(minutes=1)}


def _period_start(plan: _Plan, lo: datetime) -> datetime:
    """Start of dt0's period, moved on by whole intervals to the last one starting by lo."""
    rule, first = plan.rule, plan.dt0.date()
    step = rule.interval
    if rule.freq in _SUB_DAILY:  # hours or minutes counted on the naive wall clock
        unit = _SUB_DAILY[rule.freq] * step
        base = plan.dt0.replace(second=0)
        if rule.freq == du.HOURLY:
            base = base.replace(minute=0)
        return base + unit * max(0, (lo - base) // unit)
    if rule.freq == du.DAILY:
        periods = max(0, (lo.date() - first).days // step)
        first += timedelta(days=step * periods)
    elif rule.freq == du.WEEKLY:
        first -= timedelta(days=(first.weekday() - rule.wkst) % 7)
        periods = max(0, (lo.date() - first).days // (7 * step))
        first += timedelta(weeks=step * periods)
    elif rule.freq == du.MONTHLY:
        periods = max(0, ((lo.year - first.year) * 12 + lo.month - first.month) // step)
        year, month = divmod(first.year * 12 + first.month - 1 + step * periods, 12)
        first = date(year, month + 1, 1)
    else:
        periods = max(0, (lo.year - first.year) // step)
        first = date(first.year + step * periods, 1, 1)
    return datetime.combine(first, time())


def _rrule(dtstart: datetime, kwargs: Mapping[str, Any]) -> Iterator[datetime]:
    return iter(du.rrule(dtstart=dtstart, **kwargs))


def _values(value: int | tuple[int, ...]) -> tuple[int, ...]:
    return value if isinstance(value, tuple) else (value,)


def _times_of_day(rule: Rule, explicit: Mapping[str, Any]) -> tuple[time, ...] | None:
    """The times of day of a rule that generates days × times (see _Plan.times), else None."""
    if rule.freq > du.DAILY or "bysetpos" in explicit:
        return None
    times = sorted(
        time(h, m, s)
        for h in _values(explicit["byhour"])
        for m in _values(explicit["byminute"])
        for s in _values(explicit["bysecond"])
    )
    return tuple(times) if len(times) > 1 else None


def _steps(rule: Rule, dt0: datetime) -> tuple[timedelta, ...] | None:
    """For the commonest rules — MINUTELY, HOURLY, DAILY, and WEEKLY with plain weekdays,
    nothing else but INTERVAL and WKST — the offsets of the occurrences from the start of
    their period, which is then all there is to generating them (see _stepped); None for
    any other rule."""
    if rule.kwargs.keys() - {"freq", "interval", "wkst", "byweekday"}:
        return None
    if rule.freq in _SUB_DAILY and "byweekday" not in rule.kwargs:
        within_hour = timedelta(minutes=dt0.minute) if rule.freq == du.HOURLY else timedelta()
        return (within_hour + timedelta(seconds=dt0.second),)
    at = timedelta(hours=dt0.hour, minutes=dt0.minute, seconds=dt0.second)
    if rule.freq == du.DAILY and "byweekday" not in rule.kwargs:
        return (at,)
    if rule.freq != du.WEEKLY:
        return None
    days = {d.weekday for d in rule.kwargs.get("byweekday", (du.weekdays[dt0.weekday()],))}
    return tuple(sorted(DAY * ((d - rule.wkst) % 7) + at for d in days))


def _stepped(plan: _Plan, shifted: datetime) -> Iterator[datetime]:
    """What dateutil generates for such a rule from a period start, by arithmetic."""
    assert plan.steps is not None
    unit = _SUB_DAILY.get(plan.rule.freq, DAY * (7 if plan.rule.freq == du.WEEKLY else 1))
    period = unit * plan.rule.interval
    try:
        while True:
            for step in plan.steps:
                yield shifted + step
            shifted += period
    except OverflowError:  # past year 9999
        return


def _by_day(plan: _Plan, shifted: datetime, lo: datetime) -> Iterator[datetime]:
    assert plan.times is not None and plan.day_kwargs is not None
    first, times = lo.date(), plan.times
    for day in _rrule(shifted, plan.day_kwargs):
        if day.date() < first:
            continue  # earlier days hold only times before lo
        # on lo's own day, start at lo's time of day
        skip = bisect_left(times, lo.time()) if day.date() == first else 0
        for moment in times[skip:]:
            yield datetime.combine(day.date(), moment)


def _whole_periods(plan: _Plan, shifted: datetime) -> Iterator[datetime]:
    """Every wall time the plan generates from the period starting at `shifted` on, the
    part of dt0's period before dt0 included (BYSETPOS counts the whole period)."""
    if plan.times is not None:
        return _by_day(plan, shifted, shifted)
    return _rrule(shifted, plan.explicit)


def _period_of(freq: int, wall: datetime) -> tuple[int, int]:
    return (wall.year, wall.month if freq == du.MONTHLY else 0)


def _merged(plan: _Plan, lo: datetime, skip: bool) -> Iterator[datetime]:
    """The union of a mixed BYDAY's plans, in order, each wall time once; with BYSETPOS
    applied to each period's united set (mixed BYDAY is MONTHLY or YEARLY only)."""
    assert plan.union is not None
    shifted = _period_start(plan, lo if skip else plan.dt0)
    walls = heapq.merge(*(_whole_periods(part, shifted) for part in plan.union))
    unique = (wall for wall, _ in groupby(walls))
    setpos = plan.rule.kwargs.get("bysetpos")
    if not setpos:
        yield from unique
        return
    for _, group in groupby(unique, key=lambda wall: _period_of(plan.rule.freq, wall)):
        found = list(group)
        chosen = {found[p - 1 if p > 0 else p] for p in setpos if abs(p) <= len(found)}
        yield from sorted(chosen)


def _pattern(plan: _Plan, lo: datetime, skip: bool) -> Iterator[datetime]:
    """Naive wall times the rule generates (callers drop those up to dt0), complete from lo on."""
    if plan.union is not None:
        return _merged(plan, lo, skip)
    shifted = _period_start(plan, lo if skip else plan.dt0)
    # dateutil applies BYSETPOS to DTSTART's week counted from DTSTART only; RFC 5545 means
    # the whole week, which is also what a series split off at a later occurrence sees.
    partial_week = plan.rule.freq == du.WEEKLY and "bysetpos" in plan.rule.kwargs
    if plan.times is not None:
        return _by_day(plan, shifted, lo if skip else plan.dt0)
    if plan.steps is not None:
        return _stepped(plan, shifted)
    if shifted > plan.dt0 or partial_week:
        # Whole periods are skipped, so with the BY* values that dateutil would derive from
        # dt0 given explicitly the generated set is unchanged.
        return _rrule(shifted, plan.explicit)
    return _rrule(plan.dt0, plan.rule.kwargs)


def _instants(plan: _Plan, lo: datetime, hi: datetime, skip: bool = True) -> Iterator[datetime]:
    """UTC starts of original occurrences generated at wall times in [lo, hi] (may repeat)."""
    if lo <= plan.dt0 <= hi:
        yield plan.start
    stop = hi if plan.bound is None else min(hi, plan.bound)
    until, zone, dt0 = plan.rule.until or HIGHEST, plan.zone, plan.dt0
    for wall in _pattern(plan, lo, skip):
        if wall > stop:
            return
        if wall >= lo and wall > dt0:
            instant = localize(wall, zone)
            if instant <= until:
                yield instant


def _count_bound(plan: _Plan, count: int) -> datetime:
    # COUNT counts distinct instants in generation order, DTSTART first; two wall times in
    # a spring-forward gap can map to one instant and count once.
    seen, last = {plan.start}, plan.dt0
    if count == 1:
        return last
    for wall in _pattern(plan, plan.dt0, skip=False):
        if wall > plan.dt0 and (instant := localize(wall, plan.zone)) not in seen:
            seen.add(instant)
            last = wall
            if len(seen) == count:
                break
    return last


@lru_cache(maxsize=1024)
def _plan(rule: str, start: datetime, timezone: str) -> _Plan:
    parsed, zone = parse_rule(rule, timezone), zone_named(timezone)
    # The wall clock is the start instant's own: a start entered as a non-existent 02:30 has
    # already become 03:30 by the time it is an instant, and the series then keeps 03:30.
    dt0 = start.astimezone(zone).replace(tzinfo=None, microsecond=0)
    bound = None
    if parsed.until is not None:
        bound = wall_time(parsed.until, zone) + DAY  # dateutil's order is by wall time
    explicit = _explicit(parsed, dt0)
    times = _times_of_day(parsed, explicit)
    day_kwargs = None if times is None else {**explicit, "byhour": 0, "byminute": 0, "bysecond": 0}
    steps = _steps(parsed, dt0)
    plan = _Plan(parsed, zone, start, dt0, explicit, bound, times, day_kwargs, steps)
    if (kinds := _byday_kinds(parsed)) is not None:
        parts = tuple(_plan(_part_text(parsed, kind), start, timezone) for kind in kinds)
        plan = replace(plan, union=parts)
    if parsed.count is not None:
        plan = replace(plan, bound=_count_bound(plan, parsed.count))
    return plan


def _byday_kinds(rule: Rule) -> tuple[str, str] | None:
    """A mixed BYDAY's plain and numbered weekdays (`MO,WE` and `1TU,-1FR`), else None."""
    items = dict(rule.parts).get("BYDAY", "").split(",")
    plain = [item for item in items if item.isalpha()]
    numbered = [item for item in items if item and not item.isalpha()]
    if not plain or not numbered:
        return None
    return ",".join(plain), ",".join(numbered)


def _part_text(rule: Rule, weekdays: str) -> str:
    """One kind of a mixed BYDAY as a rule of its own: no COUNT, UNTIL or BYSETPOS, which
    apply to the union."""
    return rule.text(BYDAY=weekdays, COUNT=None, UNTIL=None, BYSETPOS=None)


FIRST_WITHIN_YEARS = 100
_CYCLE_DAYS = 146_097  # 400 Gregorian years: the calendar, weekdays included, repeats exactly
# days in a period (a sub-daily period is within one day)
_MOST_DAYS = {
    du.MINUTELY: 1,
    du.HOURLY: 1,
    du.DAILY: 1,
    du.WEEKLY: 7,
    du.MONTHLY: 31,
    du.YEARLY: 366,
}


def _occurs_within(kwargs: Mapping[str, Any], dt0: datetime, years: int) -> bool:
    """Whether the rule, started at the naive wall time dt0, generates anything within `years`.

    dateutil looks for a first occurrence all the way to year 9999, whatever `until` says,
    which for a rule that never matches costs seconds. The scan starts instead from dt0 moved
    forward by whole 400-year cycles (same calendar, same weekdays, same alignment of
    INTERVAL) as far as leaves at least `years` before 9999, so it covers under 400 + `years`.
    """
    cycles = max(0, (MAXYEAR - years - dt0.year) // 400)
    moved = dt0.replace(year=dt0.year + 400 * cycles)
    first = next(_rrule(moved, kwargs), None)
    return first is not None and first - moved <= timedelta(days=_CYCLE_DAYS * years // 400)


@lru_cache(maxsize=4096)  # an import checks each rule twice: in a worker thread, then to write
def normalize_rule(rule: str, *, start: datetime, timezone: str) -> str:
    """Validate an RRULE value and return its canonical form (UNTIL in UTC).

    A rule must produce a first occurrence within FIRST_WITHIN_YEARS of the start: one that
    never does (or only centuries later) would make every expansion scan in vain.
    """
    parsed, zone, first = parse_rule(rule, timezone), zone_named(timezone), utc(start)
    if parsed.until is not None and parsed.until < first:
        raise RecurrenceError(f"UNTIL {format_utc(parsed.until)} is before the event start")
    if (kinds := _byday_kinds(parsed)) is not None:
        # a union occurs if either kind does (BYSETPOS is checked on the union's periods)
        errors = []
        for kind in kinds:
            try:
                normalize_rule(_part_text(parsed, kind), start=start, timezone=timezone)
            except RecurrenceError as exc:
                errors.append(exc)
        if len(errors) == len(kinds):
            raise errors[0]
        text = parsed.text()
        _plan(text, first, timezone)
        return text
    dt0 = first.astimezone(zone).replace(tzinfo=None)
    kwargs = dict(parsed.kwargs)
    if _times_of_day(parsed, _explicit(parsed, dt0)) is not None:
        # Whether days × times starts within the years depends only on the days: look for
        # one day from dt0's midnight, not at every time of every earlier day of its period.
        kwargs |= {"byhour": 0, "byminute": 0, "bysecond": 0}
        dt0 = dt0.replace(hour=0, minute=0, second=0)
    # A yearly rule with the same day filters matches a superset and scans fastest; BYSETPOS
    # past the most a period can hold never selects anything.
    loose = {k: v for k, v in kwargs.items() if k not in ("interval", "bysetpos")}
    weekdays = [d.weekday for d in loose.get("byweekday", du.weekdays)]
    loose |= {"freq": du.YEARLY, "byweekday": weekdays}
    per_period = _MOST_DAYS[parsed.freq]
    if parsed.freq == du.WEEKLY:  # a week holds each weekday once
        per_period = len(parsed.kwargs.get("byweekday", (0,)))
    for part in ("byhour", "byminute", "bysecond"):
        per_period *= len(parsed.kwargs.get(part, (0,)))
    setpos = parsed.kwargs.get("bysetpos", ())
    try:
        never = (
            (setpos and all(abs(p) > per_period for p in setpos))
            or not _occurs_within(loose, dt0, FIRST_WITHIN_YEARS)
            or not _occurs_within(kwargs, dt0, FIRST_WITHIN_YEARS)
        )
    except ValueError:  # dateutil: BYHOUR/BYMINUTE the INTERVAL never reaches from the start
        never = True
    if never:
        raise RecurrenceError(
            f"the rule produces no occurrence within {FIRST_WITHIN_YEARS} years of the start"
        )
    text = parsed.text()
    _plan(text, first, timezone)
    return text


def _duration(series: Series) -> timedelta:
    duration = utc(series.end) - utc(series.start)
    if duration < timedelta(0):
        raise ValueError("a series cannot end before it starts")
    return duration


def _rdates_within(series: Series, lo: datetime, hi: datetime) -> list[datetime]:
    """The rdates in [lo, hi] (two binary searches: a series may hold a thousand)."""
    rdates = series.rdates
    return list(rdates[bisect_left(rdates, lo) : bisect_right(rdates, hi)])


def _wall_bounds(lo: datetime, hi: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The wall times whose instants can lie in [lo, hi]: a wall time is its instant plus
    an offset in force within a day of it (a gap's wall time takes the offset before it),
    so lo plus the least offset near lo, to hi plus the greatest near hi. Tighter than a
    day's slack either side, which a rule of every minute would generate 2,880 times.

    Every series of a calendar read asks this of the same window and a handful of zones:
    remembered, by the instants in UTC (the answer depends on nothing else)."""
    return _utc_wall_bounds(utc(lo), utc(hi), zone)


@lru_cache(maxsize=256)
def _utc_wall_bounds(lo: datetime, hi: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    def offsets(at: datetime) -> list[timedelta]:
        found = (clamp(at + shift * DAY).astimezone(zone).utcoffset() for shift in (-1, 0, 1))
        return [offset for offset in found if offset is not None]

    low = clamp(clamp(lo) + min(offsets(lo))).replace(tzinfo=None)
    high = clamp(clamp(hi) + max(offsets(hi))).replace(tzinfo=None)
    return low, high


def _originals(series: Series, lo: datetime, hi: datetime, skip: bool = True) -> Iterator[datetime]:
    """Distinct original occurrence starts in [lo, hi], exdates ignored: the rule's and the
    rdates, merged in order."""
    start = utc(series.start)
    ruled: Iterable[datetime]
    if series.rule is None:
        ruled = [start] if lo <= start <= hi else []
    else:
        plan = _plan(series.rule, start, series.timezone)
        ruled = _instants(plan, *_wall_bounds(lo, hi, plan.zone), skip)
    extra = _rdates_within(series, lo, hi)
    if not extra and series.rule is not None and _is_stepped(plan):
        yield from _stepped_originals(plan, lo, hi, skip)
        return
    seen: set[datetime] = set()
    for instant in heapq.merge(ruled, extra) if extra else ruled:
        if lo <= instant <= hi and instant not in seen:
            seen.add(instant)
            yield instant


def _is_stepped(plan: _Plan) -> bool:
    """Whether `_pattern` generates the plan by arithmetic (see _steps)."""
    return plan.steps is not None and plan.union is None and plan.times is None


def _stepped_originals(plan: _Plan, lo: datetime, hi: datetime, skip: bool) -> Iterator[datetime]:
    """`_originals` of a stepped plan with no rdates: what _stepped, _instants and
    _originals do for it, in one loop. It is the hot path of the commonest rules (daily,
    weekly, hourly, minutely), where three stacked generators cost more than the work;
    tests/unit/test_recurrence_oracle.py holds it to dateutil like every other path."""
    assert plan.steps is not None
    zone, dt0, steps = plan.zone, plan.dt0, plan.steps
    wall_lo, wall_hi = _wall_bounds(lo, hi, zone)
    stop = wall_hi if plan.bound is None else min(wall_hi, plan.bound)
    until = plan.rule.until or HIGHEST
    unit = _SUB_DAILY.get(plan.rule.freq, DAY * (7 if plan.rule.freq == du.WEEKLY else 1))
    period = unit * plan.rule.interval
    seen: set[datetime] = set()  # a spring-forward gap maps two wall times to one instant
    if wall_lo <= dt0 <= wall_hi and lo <= plan.start <= hi:
        seen.add(plan.start)
        yield plan.start
    shifted = _period_start(plan, wall_lo if skip else dt0)
    try:
        while True:
            for step in steps:
                wall = shifted + step
                if wall > stop:
                    return
                if wall >= wall_lo and wall > dt0:
                    instant = localize(wall, zone)
                    if instant <= until and lo <= instant <= hi and instant not in seen:
                        seen.add(instant)
                        yield instant
            shifted += period
    except OverflowError:  # past year 9999
        return


def _walls_of(instant: datetime, zone: ZoneInfo) -> set[datetime]:
    """The wall times that `localize` maps onto instant: its own, and in a gap the earlier
    wall time written with the offset before the gap (offsets within a day either side)."""
    walls = set()
    for shift in (-1, 0, 1):
        offset = clamp(instant + shift * DAY).astimezone(zone).utcoffset()
        assert offset is not None
        wall = clamp(instant + offset).replace(tzinfo=None)
        if localize(wall, zone) == instant:
            walls.add(wall)
    return walls


def _is_original(series: Series, instant: datetime) -> bool:
    """Checked at the instant itself: the rule is reached there, not scanned up to it."""
    start = utc(series.start)
    if instant == start or _rdates_within(series, instant, instant):
        return True
    if series.rule is None:
        return False
    plan = _plan(series.rule, start, series.timezone)
    return any(instant in _instants(plan, wall, wall) for wall in _walls_of(instant, plan.zone))


def _exceptions(
    series: Series, duration: timedelta, lo: datetime = LOWEST, hi: datetime = HIGHEST
) -> tuple[set[datetime], dict[datetime, Occurrence]]:
    """Exdate instants, and the overrides whose occurrence overlaps [lo, hi), by
    recurrence_id: not yet checked to be of real occurrences (see _expand)."""
    excluded, moved = {utc(x) for x in series.exdates}, {}
    for override in series.overrides:
        rid = utc(override.recurrence_id)
        start = rid if override.start is None else utc(override.start)
        end = start + duration if override.end is None else utc(override.end)
        if rid not in excluded and overlaps(start, end, lo, hi):
            moved[rid] = Occurrence(rid, start, end, override)
    return excluded, moved


def overlaps(start: datetime, end: datetime, lo: datetime, hi: datetime) -> bool:
    """Whether an occurrence reaches [lo, hi): half-open intervals; a zero-length
    occurrence is a point that [lo, hi) may contain."""
    return start < hi and (end > lo or start >= lo)


def _expand(
    series: Series, window_start: datetime, window_end: datetime, limit: int, skip: bool
) -> list[Occurrence]:
    lo, hi = utc(window_start), utc(window_end)
    duration = _duration(series)
    if hi <= lo:
        return []
    excluded, moved = _exceptions(series, duration, lo, hi)
    skipped = excluded | {utc(o.recurrence_id) for o in series.overrides}
    found: list[Occurrence] = []
    in_order, previous = True, LOWEST  # originals come nearly in order (gaps aside)
    earliest = clamp(lo) - min(duration, clamp(lo) - LOWEST)  # earlier starts end before lo
    for instant in _originals(series, earliest, clamp(hi), skip):
        if instant in moved:  # overridden, and so shown as changed
            found.append(moved.pop(instant))
            in_order = False
        elif instant in skipped:
            continue
        elif instant < hi and ((end := instant + duration) > lo or instant >= lo):
            # (overlaps, inlined: this loop runs for every occurrence of every expansion)
            in_order = in_order and instant >= previous
            previous = instant
            found.append(Occurrence(instant, instant, end, None))
        if len(found) > limit:
            before = _up_to(series, found, moved, (lo, instant), earliest)
            raise ExpansionLimitExceeded(
                f"more than {limit} occurrences in the window", instant, before
            )
    # An override of an occurrence that does not exist is ignored: those whose original lay
    # in the range just scanned were met there; one moved in from further away is checked
    # at its own instant (at most one check per override).
    met = len(found)
    found += (
        occurrence
        for rid, occurrence in moved.items()
        if not earliest <= rid <= clamp(hi) and _is_original(series, rid)
    )
    if len(found) > limit:
        raise ExpansionLimitExceeded(f"more than {limit} occurrences in the window")
    if in_order and len(found) == met:
        return found  # originals only, met in order: (start, recurrence_id) order already
    return sorted(found, key=lambda o: (o.start, o.recurrence_id))


def _up_to(
    series: Series,
    found: list[Occurrence],
    moved: dict[datetime, Occurrence],
    window: tuple[datetime, datetime],
    earliest: datetime,
) -> list[Occurrence]:
    """What `_expand` returns for `window` = [lo, reached), from an expansion of a longer
    window stopped at the original start `reached`: everything it met up to there, and the
    overrides moved in from outside what it scanned (checked as `_expand` checks them)."""
    lo, reached = window
    kept = [o for o in found if overlaps(o.start, o.end, lo, reached)]
    kept += (
        occurrence
        for rid, occurrence in moved.items()
        if not earliest <= rid <= reached
        and overlaps(occurrence.start, occurrence.end, lo, reached)
        and _is_original(series, rid)
    )
    return sorted(kept, key=lambda o: (o.start, o.recurrence_id))


def expand(
    series: Series, window_start: datetime, window_end: datetime, *, limit: int = 10_000
) -> list[Occurrence]:
    """Occurrences overlapping [window_start, window_end), ordered by (start, recurrence_id).

    An all-day series is expanded by date and its occurrences placed at the midnights of
    `all_day_zone` (see events/days.py)."""
    if series.all_day_zone is None:
        return _expand(series, window_start, window_end, limit, skip=True)
    zone = zone_named(series.all_day_zone)
    lo, hi = utc(window_start), utc(window_end)
    if hi <= lo:
        return []
    # The dates whose midnights in the zone can reach the window, a day's slack either side
    # (a wall clock is not monotonic across a fold); at most one occurrence a date each.
    floating_lo = wall_time(lo, zone).replace(tzinfo=UTC) - DAY
    floating_hi = wall_time(hi, zone).replace(tzinfo=UTC) + DAY
    try:
        found = _expand(series, floating_lo, floating_hi, limit + 8, skip=True)
    except ExpansionLimitExceeded as exc:
        reached = None if exc.reached is None else days.place(exc.reached, zone)
        raise ExpansionLimitExceeded(str(exc), reached) from None
    placed = []
    for o in found:
        start, end = days.place(o.start, zone), days.place(o.end, zone)
        if overlaps(start, end, lo, hi):
            placed.append(Occurrence(days.place(o.recurrence_id, zone), start, end, o.override))
    if len(placed) > limit:
        raise ExpansionLimitExceeded(f"more than {limit} occurrences in the window")
    return placed


def _last_original(plan: _Plan, excluded: set[datetime]) -> datetime:
    """The latest original start not in `excluded`, or plan.start if all are excluded."""
    assert plan.bound is not None
    # Start near the end and double: a dense rule finds its last occurrence in the first
    # step, a sparse one after at most ~20 doublings (to 400 years), each costing the
    # occurrences it covers.
    span = 2 * DAY
    while True:
        lo = max(plan.bound - span, datetime(1, 1, 2))
        kept = [i for i in _instants(plan, lo, plan.bound) if i not in excluded]
        if kept or lo <= plan.dt0:
            return max(kept, default=plan.start)
        span *= 2  # the tail is all exdates or overrides: look further back


def series_end(series: Series) -> datetime | None:
    """UTC end of the series' last occurrence, or None when the rule never ends."""
    start, duration = utc(series.start), _duration(series)
    if series.rule is not None and _plan(series.rule, start, series.timezone).bound is None:
        return None
    excluded, moved = _exceptions(series, duration)
    last = start
    if series.rule is not None:
        last = _last_original(_plan(series.rule, start, series.timezone), excluded | set(moved))
    kept = [r for r in series.rdates if r not in excluded and r not in moved]
    if kept and kept[-1] > last:
        last = kept[-1]
    ends = [o.end for o in moved.values()]
    last_end = clamp(last + min(duration, HIGHEST - clamp(last)))  # never past year 9999
    if last not in excluded and last not in moved:
        ends.append(last_end)
    return max(ends, default=last_end)


def occurrence_at(series: Series, recurrence_id: datetime) -> bool:
    """True if recurrence_id is an original occurrence start of the series (exdates ignored)."""
    return _is_original(series, utc(recurrence_id))


def _check_at(series: Series, at: datetime) -> tuple[_Plan, datetime]:
    instant = utc(at)
    if series.rule is None:
        raise RecurrenceError("a single event has no rule to split")
    if not _is_original(series, instant):
        raise RecurrenceError(f"{instant.isoformat()} is not an occurrence of the series")
    return _plan(series.rule, utc(series.start), series.timezone), instant


def split_rule(series: Series, at: datetime) -> str | None:
    """The original rule cut to end before occurrence `at`, or None if nothing precedes it."""
    plan, instant = _check_at(series, at)
    if instant <= plan.start:
        return None
    until = (instant - timedelta(seconds=1)).replace(microsecond=0)
    return plan.rule.text(COUNT=None, UNTIL=format_utc(until))


def following_rule(series: Series, at: datetime) -> str:
    """The rule for the new series that starts at occurrence `at` (COUNT reduced)."""
    plan, instant = _check_at(series, at)
    wall, parts, changes = wall_time(instant, plan.zone), dict(plan.rule.parts), {}
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        # An occurrence in a spring-forward gap shows a later wall time than the rule gave
        # it; the new series would adopt that time of day unless the rule's is spelled out.
        field_name = name[2:].lower()
        if name not in parts and getattr(wall, field_name) != getattr(plan.dt0, field_name):
            changes[name] = str(getattr(plan.dt0, field_name))
    if plan.rule.count is not None:
        stop = wall_time(instant, plan.zone) + DAY
        before = {i for i in _instants(plan, plan.dt0, stop) if i < instant}
        changes["COUNT"] = str(plan.rule.count - len(before))
    return plan.rule.text(**changes)
