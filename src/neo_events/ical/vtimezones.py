"""VTIMEZONEs from the IANA data that recurrence uses (zoneinfo), true for a series' whole span.

A zone's changes of offset are found where its TZif file puts its transitions, and after the
last one where the yearly rule it keeps from then on puts them (`_every_change`); each is
read from zoneinfo at that instant. A zone whose file or rule this cannot use is sampled
every SAMPLE_STEP (no offset since 1900 has held for less than four days, none since 1970
for less than a week; Casablanca's Ramadan +00 lasts about five weeks), each change
bisected to the second. Every change from the first year a calendar needs is written as its
own observance, until the zone keeps one yearly rule (Europe/Berlin's last Sundays, Lord
Howe's half-hour shift): from then on an open-ended RRULE per change of the year holds for
good. That rule is read off the years before HORIZON, where zoneinfo applies the zone's
standing POSIX rule, and kept as far back as every year agrees with it. A zone with no such
rule is written change by change up to the end of the calendar's last series, or to HORIZON
for a never-ending one: the bound.

icalendar's Timezone.from_tzid is not used: it steps 64 days at a time, so it loses offsets
held for less (Casablanca's Ramadan in 2027, 2030, …), it writes a spring-forward onset in
the wall time after the change (an hour late, read as RFC 5545 says), and it stops at the
date it is given.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard
from icalendar.prop import vRecur

from neo_events.ical import tzif

FIRST_YEAR = 1900  # the first year an event may start in (events/schemas.py: 1900-2199)
HORIZON = 2200  # past the last year an event may start in
CYCLE = 28  # years in which every weekday and leap-year case occurs: the tail that is checked
SAMPLE_STEP = timedelta(days=2)
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True, slots=True)
class Change:
    """One change of UTC offset: the instant, the offsets around it and what follows."""

    at: datetime  # UTC
    before: timedelta
    after: timedelta
    name: str
    daylight: bool

    @property
    def local(self) -> datetime:
        """When it happens on the clock it ends (RFC 5545 DTSTART of an observance)."""
        return (self.at + self.before).replace(tzinfo=None)

    def key(self) -> tuple[int, int, tuple[int, int, int], timedelta, timedelta, str, bool]:
        local = self.local
        clock = (local.hour, local.minute, local.second)
        return (
            local.month,
            local.weekday(),
            clock,
            self.before,
            self.after,
            self.name,
            self.daylight,
        )


Rule = dict[str, object]


def _offset(zone: ZoneInfo, at: int) -> timedelta:
    offset = datetime.fromtimestamp(at, zone).utcoffset()
    assert offset is not None
    return offset


def _change(zone: ZoneInfo, lo: int, hi: int) -> Change:
    """The change of offset in (lo, hi] (POSIX seconds), found to the second."""
    before = _offset(zone, lo)
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if _offset(zone, middle) == before:
            lo = middle
        else:
            hi = middle
    return _change_at(zone, hi)


def changes(name: str, first_year: int, last_year: int) -> tuple[Change, ...]:
    """Every change of offset from the start of first_year to the start of last_year (UTC)."""
    return tuple(c for c in _every_change(name) if first_year <= c.at.year < last_year)


# One entry per zone that exists (the IANA database holds about 600): each zone is read
# once per process, whatever years its events start in, so no input makes an export redo it.
@cache
def _every_change(name: str) -> tuple[Change, ...]:
    """Every change of offset from FIRST_YEAR to HORIZON, 3-7 ms once a zone.

    Where a change can be is read from the zone's TZif file (`tzif.transitions`): its
    explicit transitions, then the yearly rule it keeps for ever after (its footer), known
    from zoneinfo sampled over the last CYCLE years and extended back year by year. What
    each change is comes from zoneinfo at that instant, so the changes are zoneinfo's.
    A zone whose file cannot be read, or whose later years keep no rule this module can
    write, is sampled from FIRST_YEAR or from its last transition (`_sampled`, 40 ms a
    zone over the 300 years)."""
    zone = ZoneInfo(name)
    start, end = _timestamp(FIRST_YEAR), _timestamp(HORIZON)
    known = tzif.transitions(name)
    if known is None:
        return _sampled(zone, start, end)
    found = [_change_at(zone, at) for at in known if start <= at < end]
    found = [change for change in found if change.before != change.after]
    after = max([start, *(at for at in known if at < end)])
    every = (*found, *_ruled(zone, after, end))
    # Each change must begin where the one before ended: else zoneinfo read other data than
    # the file (tzdata upgraded under the process), and sampling finds what it holds.
    offsets = [_offset(zone, start), *(o for c in every for o in (c.before, c.after))]
    if offsets[:-1:2] != offsets[1::2]:
        return _sampled(zone, start, end)
    return every


def _ruled(zone: ZoneInfo, after: int, end: int) -> tuple[Change, ...]:
    """The changes in (after, end) of a zone whose offsets there follow one rule a year,
    as they do after its file's last transition: the rule is read off the last CYCLE years
    sampled, and each earlier year's changes are that rule's days, checked against
    zoneinfo. Sampled instead where the rule does not hold."""
    tail_start = max(after, _timestamp(HORIZON - CYCLE))
    tail = _sampled(zone, tail_start, end)
    if tail_start == after:
        return tail
    by_year: dict[int, list[Change]] = {year: [] for year in range(HORIZON - CYCLE, HORIZON)}
    for change in tail:
        by_year.setdefault(change.local.year, []).append(change)
    rules = _tail_rules(by_year, range(HORIZON - CYCLE, HORIZON))
    if rules is None:
        return _sampled(zone, after, end)
    first_year = datetime.fromtimestamp(after, UTC).year - 1
    found = []
    for year in range(first_year, HORIZON - CYCLE + 1):
        for model, rule in rules:
            day = _occurs(rule, year)
            if day is None:
                return _sampled(zone, after, end)
            local = model.local.replace(year=year, day=1).replace(day=day)
            at = int((local - model.before).replace(tzinfo=UTC).timestamp())
            if not after < at < tail_start:
                continue
            change = _change_at(zone, at)
            if (change.before, change.after) != (model.before, model.after):
                return _sampled(zone, after, end)
            found.append(change)
    found.sort(key=lambda change: change.at)
    return (*found, *tail)


def _timestamp(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


def _change_at(zone: ZoneInfo, at: int) -> Change:
    """The change of offset at `at` (POSIX seconds), as zoneinfo has it."""
    local = datetime.fromtimestamp(at, zone)
    return Change(
        datetime.fromtimestamp(at, UTC),
        _offset(zone, at - 1),
        _offset(zone, at),
        local.tzname() or "",
        bool(local.dst()),
    )


def _sampled(zone: ZoneInfo, at: int, end: int) -> tuple[Change, ...]:
    """Every change of offset in (at, end), by sampling zoneinfo every SAMPLE_STEP and
    bisecting each change to the second: ~180 samples a year."""
    step = int(SAMPLE_STEP.total_seconds())
    found, offset = [], _offset(zone, at)
    while at < end:
        ahead = min(at + step, end)
        if _offset(zone, ahead) != offset:
            change = _change(zone, at, ahead)
            found.append(change)
            offset, at = change.after, int(change.at.timestamp())
        else:
            at = ahead
    return tuple(found)


def _occurs(rule: Rule, year: int) -> int | None:
    """The day of the month a yearly BYMONTH/BYDAY(/BYMONTHDAY) rule names in `year`."""
    month, byday = rule["BYMONTH"], str(rule["BYDAY"])
    assert isinstance(month, int)
    last = calendar.monthrange(year, month)[1]
    if "BYMONTHDAY" in rule:
        window = rule["BYMONTHDAY"]
        assert isinstance(window, list)
        first = window[0]
    elif byday.startswith("-1"):
        first = last - 6
    else:
        first = 7 * int(byday[:-2]) - 6
    weekday = _DAYS.index(byday[-2:])
    found = [
        d
        for d in range(first, first + 7)
        if d <= last and calendar.weekday(year, month, d) == weekday
    ]
    return found[0] if found else None


def _yearly(picked: list[Change]) -> Rule | None:
    """The yearly rule that gives each of these changes (one a year), if there is one."""
    if len({c.key() for c in picked}) != 1:
        return None
    month, weekday = picked[0].key()[:2]
    named, days = _DAYS[weekday], [c.local.day for c in picked]
    for selector in (
        {"BYDAY": f"{(min(days) - 1) // 7 + 1}{named}"},  # the second Sunday
        {"BYDAY": f"-1{named}"},  # the last Sunday
        {"BYDAY": named, "BYMONTHDAY": list(range(min(days), min(days) + 7))},  # Sun>=8 etc.
    ):
        rule: Rule = {"FREQ": "YEARLY", "BYMONTH": month, **selector}
        if all(_occurs(rule, c.local.year) == c.local.day for c in picked):
            return rule
    return None


def _agrees(year: int, found: list[Change], rules: list[tuple[Change, Rule]]) -> bool:
    return len(found) == len(rules) and all(
        change.key() == model.key() and _occurs(rule, year) == change.local.day
        for change, (model, rule) in zip(found, rules, strict=False)
    )


@dataclass(frozen=True, slots=True)
class ZonePlan:
    """A zone's changes from a first year to HORIZON and, when it has one, the yearly rule
    it keeps from `regular_from` on (no rules: the offset no longer changes)."""

    by_year: dict[int, list[Change]]
    regular_from: int | None
    rules: list[tuple[Change, Rule]]


@lru_cache(maxsize=64)
def plan(name: str, first_year: int) -> ZonePlan:
    """Bounded: the zone's changes (`_every_change`, once a process) from first_year (or
    HORIZON - CYCLE) to HORIZON, grouped by year."""
    scan_from = max(FIRST_YEAR, min(first_year, HORIZON - CYCLE))
    years = range(scan_from, HORIZON)
    by_year: dict[int, list[Change]] = {year: [] for year in years}
    for change in changes(name, scan_from, HORIZON):
        by_year.setdefault(change.local.year, []).append(change)
    tail = range(HORIZON - CYCLE, HORIZON)
    rules = _tail_rules(by_year, tail)
    if rules is None:
        return ZonePlan(by_year, None, [])
    regular_from = tail.start
    while regular_from > scan_from and _agrees(regular_from - 1, by_year[regular_from - 1], rules):
        regular_from -= 1
    return ZonePlan(by_year, regular_from, rules)


def _tail_rules(by_year: dict[int, list[Change]], tail: range) -> list[tuple[Change, Rule]] | None:
    """The yearly rule of each change of the year in `tail`, or None if one has none."""
    counts = {len(by_year[year]) for year in tail}
    if len(counts) != 1:
        return None
    rules = []
    for index in range(counts.pop()):
        rule = _yearly([by_year[year][index] for year in tail])
        if rule is None:
            return None
        rules.append((by_year[tail.start][index], rule))
    return rules


def vtimezone(name: str, first: datetime, last: datetime | None) -> Timezone:
    """The zone's VTIMEZONE from the year of `first` to `last` (None: for ever after)."""
    zone, zone_plan = ZoneInfo(name), plan(name, first.year)
    start = datetime(first.year, 1, 1, tzinfo=UTC)
    opening, offset = start.astimezone(zone), _offset(zone, int(start.timestamp()))
    component = Timezone()
    component.add("tzid", name)
    component.add_component(
        _observance(Change(start, offset, offset, opening.tzname() or "", bool(opening.dst())))
    )
    regular_from = zone_plan.regular_from
    explicit_to = HORIZON if regular_from is None else regular_from
    if last is not None:
        explicit_to = min(explicit_to, last.year + 1)
    for year in range(first.year, explicit_to):
        for change in zone_plan.by_year[year]:
            component.add_component(_observance(change))
    if regular_from is not None and (last is None or last.year >= regular_from):
        year = max(regular_from, first.year)
        for change, (_, rule) in zip(zone_plan.by_year[year], zone_plan.rules, strict=True):
            component.add_component(_observance(change, rule))
    return component


def _observance(change: Change, rule: Rule | None = None) -> TimezoneStandard | TimezoneDaylight:
    observance = TimezoneDaylight() if change.daylight else TimezoneStandard()
    observance.add("dtstart", change.local)
    if rule is not None:
        observance.add("rrule", vRecur(rule))
    observance.add("tzoffsetfrom", change.before)
    observance.add("tzoffsetto", change.after)
    if change.name:
        observance.add("tzname", change.name)
    return observance
