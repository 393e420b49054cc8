"""How a rule generates its occurrences: a rule's plan (its RRULE, zone and first wall time,
with the shortcuts that reach a window without iterating from the start), the naive wall times
it generates and their instants (validating a rule's text: `rule_checks.normalize_rule`).
`recurrence.py` builds series, exceptions and windows on top of this; nothing else needs it.
dateutil's own search is `rule_walls.walls_of_rule`; sub-daily rules' BY parts `lattice`."""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import MAXYEAR, date, datetime, time, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from neo_events.events import count_ends
from neo_events.events.lattice import Lattice, lattice_of, lattice_walls
from neo_events.events.rrule import (
    DAY,
    HIGHEST,
    Rule,
    labelled_utc,
    localize,
    parse_rule,
    values,
    wall_bounds,
    wall_time,
    without_idle_setpos,
    zone_named,
)
from neo_events.events.rule_walls import walls_of_rule


@dataclass(frozen=True, slots=True)
class Plan:
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
    union: tuple[Plan, ...] | None = None
    lattice: Lattice | None = None  # a sub-daily rule with BY parts (lattice.py)
    # COUNT not reached within the years a scan may cover (scan_years): `bound` is where that
    # scan stopped (normalize_rule refuses such a rule; one stored earlier is cut there).
    count_cut: bool = False


def explicit_parts(rule: Rule, dt0: datetime) -> dict[str, Any]:
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


def _period_start(plan: Plan, lo: datetime) -> datetime:
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


def times_of_day(rule: Rule, explicit: Mapping[str, Any]) -> tuple[time, ...] | None:
    """The times of day of a rule that generates days × times (see Plan.times), else None."""
    if rule.freq > du.DAILY or "bysetpos" in explicit:
        return None
    times = sorted(
        time(h, m, s)
        for h in values(explicit["byhour"])
        for m in values(explicit["byminute"])
        for s in values(explicit["bysecond"])
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


def _step_period(plan: Plan) -> timedelta:
    """How far a stepped plan's period moves on: INTERVAL minutes, hours, days or weeks."""
    unit = _SUB_DAILY.get(plan.rule.freq, DAY * (7 if plan.rule.freq == du.WEEKLY else 1))
    return unit * plan.rule.interval


def _stepped(plan: Plan, shifted: datetime) -> Iterator[datetime]:
    """What dateutil generates for such a rule from a period start, by arithmetic."""
    assert plan.steps is not None
    period = _step_period(plan)
    try:
        while True:
            for step in plan.steps:
                yield shifted + step
            shifted += period
    except OverflowError:  # past year 9999
        return


def _by_day(plan: Plan, shifted: datetime, lo: datetime, last_year: int) -> Iterator[datetime]:
    assert plan.times is not None and plan.day_kwargs is not None
    first, times = lo.date(), plan.times
    for day in walls_of_rule(shifted, plan.day_kwargs, last_year):
        if day.date() < first:
            continue  # earlier days hold only times before lo
        # on lo's own day, start at lo's time of day
        skip = bisect_left(times, lo.time()) if day.date() == first else 0
        for moment in times[skip:]:
            yield datetime.combine(day.date(), moment)


def _whole_periods(
    plan: Plan, shifted: datetime, last_year: int, lo: datetime | None = None
) -> Iterator[datetime]:
    """The plan's wall times from the period at `shifted` on, before dt0 too (BYSETPOS counts
    them); with `lo`, times of day from lo's day on (not 71,222 made since January)."""
    if plan.times is not None:
        return _by_day(plan, shifted, shifted if lo is None else max(lo, shifted), last_year)
    return walls_of_rule(shifted, plan.explicit, last_year)


def _period_of(freq: int, wall: datetime) -> tuple[int, int]:
    return (wall.year, wall.month if freq == du.MONTHLY else 0)


def _merged(plan: Plan, lo: datetime, skip: bool, last_year: int) -> Iterator[datetime]:
    """The union of a mixed BYDAY's plans, in order, each wall time once; with BYSETPOS
    applied to each period's united set (mixed BYDAY is MONTHLY or YEARLY only, whose
    periods end with a year)."""
    assert plan.union is not None
    shifted = _period_start(plan, lo if skip else plan.dt0)
    setpos = plan.rule.kwargs.get("bysetpos")
    start = lo if skip and not setpos else None  # (callers drop what is before lo)
    walls = heapq.merge(*(_whole_periods(p, shifted, last_year, start) for p in plan.union))
    unique = (wall for wall, _ in groupby(walls))
    if not setpos:
        yield from unique
        return
    for _, group in groupby(unique, key=lambda wall: _period_of(plan.rule.freq, wall)):
        found = list(group)
        chosen = {found[p - 1 if p > 0 else p] for p in setpos if abs(p) <= len(found)}
        yield from sorted(chosen)


def _pattern(plan: Plan, lo: datetime, skip: bool, last_year: int) -> Iterator[datetime]:
    """Naive wall times the rule generates (callers drop those up to dt0), complete from lo on
    to the end of `last_year`, where the search for more ends."""
    if plan.union is not None:
        return _merged(plan, lo, skip, last_year)
    if plan.lattice is not None:  # the same lattice from dt0 or from lo, never before dt0
        return lattice_walls(plan.lattice, max(lo, plan.dt0) if skip else plan.dt0, last_year)
    shifted = _period_start(plan, lo if skip else plan.dt0)
    # dateutil applies BYSETPOS to DTSTART's week counted from DTSTART only; RFC 5545 means
    # the whole week, which is also what a series split off at a later occurrence sees.
    partial_week = plan.rule.freq == du.WEEKLY and "bysetpos" in plan.rule.kwargs
    if plan.times is not None:
        return _by_day(plan, shifted, lo if skip else plan.dt0, last_year)
    if plan.steps is not None:
        return _stepped(plan, shifted)
    if shifted > plan.dt0 or partial_week:
        # Whole periods are skipped, so with the BY* values that dateutil would derive from
        # dt0 given explicitly the generated set is unchanged.
        return walls_of_rule(shifted, plan.explicit, last_year)
    return walls_of_rule(plan.dt0, plan.rule.kwargs, last_year)


def _first_wall(plan: Plan) -> datetime:
    """DTSTART's wall time with its fraction of a second: `dt0` drops it (dateutil's later
    occurrences start on whole seconds), the first occurrence keeps it (`plan.start`), and a
    window starting within its last fraction of a second must still meet it. (Offsets are
    whole seconds: the wall's microseconds are the instant's.)"""
    return plan.dt0.replace(microsecond=plan.start.microsecond)


def instants(plan: Plan, lo: datetime, hi: datetime, skip: bool = True) -> Iterator[datetime]:
    """UTC starts of original occurrences generated at wall times in [lo, hi] (may repeat)."""
    if lo <= _first_wall(plan) <= hi:
        yield plan.start
    stop = hi if plan.bound is None else min(hi, plan.bound)
    until, zone, dt0 = plan.rule.until or HIGHEST, plan.zone, plan.dt0
    for wall in _pattern(plan, lo, skip, stop.year):
        if wall > stop:
            return
        if wall >= lo and wall > dt0:
            instant = localize(wall, zone)
            if instant <= until:
                yield instant


# How far a search for a rule's walls may reach from where it starts (the COUNT-th
# occurrence; the last one before UNTIL that is not an exception): SCAN_COST, in what a year
# of days costs dateutil's daily search (measured: a year of a never-matching rule cost
# 1,025 µs daily, 287 weekly, 101 monthly, 63 yearly; a sub-daily rule's search visits days,
# a long INTERVAL divides the steps but adds the 12 months dateutil normalises each through).
# That is a century for a daily rule with BY parts (as FIRST_WITHIN_YEARS allows for its
# first occurrence), 365 years of weeks, 1,000 of months, 1,650 of years, about 100 ms; a
# COUNT out of reach is refused (rule_checks). The stepped rules, whose search is
# arithmetic, have no such bound.
SCAN_COST = 36_500
_COST_A_YEAR = {du.YEARLY: 22, du.MONTHLY: 36, du.WEEKLY: 100, du.DAILY: 365}


def _cost_a_year(rule: Rule) -> float:
    if rule.freq in _SUB_DAILY:
        return 365
    cost = _COST_A_YEAR[rule.freq] / rule.interval
    return cost + 12 if rule.freq in (du.DAILY, du.WEEKLY) and rule.interval > 1 else cost


def scan_years(plan: Plan) -> int | None:
    """How many years a search of the plan's walls may cover (SCAN_COST), None where it
    costs what it finds, not what it passes over: a stepped plan (arithmetic), a lattice
    without day filters (its days are computed)."""
    if is_stepped(plan) or (plan.lattice is not None and plan.lattice.days is None):
        return None
    return int(SCAN_COST / _cost_a_year(plan.rule))


def walls_from_start(plan: Plan, years: int | None) -> Iterator[datetime]:
    """The plan's wall times from dt0 on (dt0 itself if the rule matches it), in order,
    looked for `years` on (None: no bound, for a plan whose search costs what it finds)."""
    last_year = MAXYEAR if years is None else min(MAXYEAR, plan.dt0.year + years)
    walls = _pattern(plan, plan.dt0, skip=False, last_year=last_year)
    return (wall for wall in walls if wall >= plan.dt0)


def _count_bound(plan: Plan, count: int) -> tuple[datetime, bool]:
    """The wall time of the COUNT-th occurrence, and whether the search stopped short of it
    (at the end of the years `scan_years` allows; the bound is then where it stopped)."""
    # COUNT counts distinct instants in generation order, DTSTART first; two wall times in
    # a spring-forward gap can map to one instant and count once.
    seen, last = {plan.start}, plan.dt0
    if count == 1:
        return last, False
    years = scan_years(plan)
    last_year = MAXYEAR if years is None else min(MAXYEAR, plan.dt0.year + years)
    for wall in _pattern(plan, plan.dt0, skip=False, last_year=last_year):
        if wall > plan.dt0 and (instant := localize(wall, plan.zone)) not in seen:
            seen.add(instant)
            last = wall
            if len(seen) == count:
                return last, False
    if last_year < MAXYEAR:
        return datetime(last_year, 12, 31, 23, 59, 59), True
    return last, False


def count_end_text(plan: Plan) -> str | None:
    """What `events.count_end` stores of a plan (`count_ends.text_of`), None without COUNT."""
    if plan.rule.count is None or plan.bound is None:
        return None
    return count_ends.text_of(plan.bound, plan.count_cut)


# A plan is about 800 bytes: 8,192 of them, 6.5 MB a worker, hold every series a busy
# calendar read touches (a 1M-event dataset's 500 most active users hold 4,000 series); a
# miss costs 10-120 µs, and a COUNT rule's walk to its last occurrence up to SCAN_COST
# unless the event's row said where it ends (`count_ends.remember`).
@lru_cache(maxsize=8192)
def plan_of(rule: str, start: datetime, timezone: str) -> Plan:
    parsed, zone = without_idle_setpos(parse_rule(rule, timezone)), zone_named(timezone)
    # The wall clock is the start instant's own: a start entered as a non-existent 02:30 has
    # already become 03:30 by the time it is an instant, and the series then keeps 03:30.
    dt0 = start.astimezone(zone).replace(tzinfo=None, microsecond=0)
    bound = None
    if parsed.until is not None:
        bound = wall_time(parsed.until, zone) + DAY  # dateutil's order is by wall time
    explicit = explicit_parts(parsed, dt0)
    times = times_of_day(parsed, explicit)
    day_kwargs = None if times is None else {**explicit, "byhour": 0, "byminute": 0, "bysecond": 0}
    steps = _steps(parsed, dt0)
    lattice = lattice_of(parsed, dt0, explicit)
    plan = Plan(parsed, zone, start, dt0, explicit, bound, times, day_kwargs, steps, None, lattice)
    if (kinds := byday_kinds(parsed)) is not None:
        parts = tuple(plan_of(part_text(parsed, kind), start, timezone) for kind in kinds)
        plan = replace(plan, union=parts)
    if parsed.count is not None:
        stored = count_ends.stored(rule, start, timezone)
        last, cut = stored if stored is not None else _count_bound(plan, parsed.count)
        plan = replace(plan, bound=last, count_cut=cut)
    return plan


def byday_kinds(rule: Rule) -> tuple[str, str] | None:
    """A mixed BYDAY's plain and numbered weekdays (`MO,WE` and `1TU,-1FR`), else None."""
    items = dict(rule.parts).get("BYDAY", "").split(",")
    plain = [item for item in items if item.isalpha()]
    numbered = [item for item in items if item and not item.isalpha()]
    if not plain or not numbered:
        return None
    return ",".join(plain), ",".join(numbered)


def part_text(rule: Rule, weekdays: str) -> str:
    """One kind of a mixed BYDAY as a rule of its own: no COUNT, UNTIL or BYSETPOS, which
    apply to the union."""
    return rule.text(BYDAY=weekdays, COUNT=None, UNTIL=None, BYSETPOS=None)


def is_stepped(plan: Plan) -> bool:
    """Whether `_pattern` generates the plan by arithmetic (see _steps)."""
    return plan.steps is not None and plan.union is None and plan.times is None


def stepped_originals(plan: Plan, lo: datetime, hi: datetime, skip: bool) -> Iterator[datetime]:
    """`_originals` of a stepped plan with no rdates: what _stepped, instants and
    _originals do for it, in one loop. It is the hot path of the commonest rules (daily,
    weekly, hourly, minutely), where three stacked generators cost more than the work;
    tests/unit/test_recurrence_oracle.py holds it to dateutil like every other path."""
    assert plan.steps is not None
    zone, dt0, steps = plan.zone, plan.dt0, plan.steps
    wall_lo, wall_hi = wall_bounds(lo, hi, zone)
    stop = wall_hi if plan.bound is None else min(wall_hi, plan.bound)
    until = plan.rule.until or HIGHEST
    period = _step_period(plan)
    seen: set[datetime] = set()  # a spring-forward gap maps two wall times to one instant
    if wall_lo <= _first_wall(plan) <= wall_hi and lo <= plan.start <= hi:
        seen.add(plan.start)
        yield plan.start
    # Wall times as their digits labelled UTC (see labelled_utc): one subtraction localizes.
    shifted = labelled_utc(_period_start(plan, wall_lo if skip else dt0))
    stop, low, first = labelled_utc(stop), labelled_utc(wall_lo), labelled_utc(dt0)
    offset = zone.utcoffset
    try:
        while True:
            for step in steps:
                wall = shifted + step
                if wall > stop:
                    return
                if wall >= low and wall > first:
                    instant = wall - offset(wall)  # type: ignore[operator]
                    if instant <= until and lo <= instant <= hi and instant not in seen:
                        seen.add(instant)
                        yield instant
            shifted += period
    except OverflowError:  # past year 9999
        return
