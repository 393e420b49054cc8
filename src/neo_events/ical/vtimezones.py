"""VTIMEZONEs from the IANA data that recurrence uses (zoneinfo), true for a series' whole span.

A zone's changes of offset are found where its TZif file puts its transitions, and after the
last one where the rule of its footer puts them (`_every_change`); each is read from
zoneinfo at that instant. A zone whose file or rule this cannot use is sampled
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from neo_events.ical import tzif

FIRST_YEAR = 1900  # the first year an event may start in (events/schemas.py: 1900-2199)
HORIZON = 2200  # past the last year an event may start in
CYCLE = 28  # years in which every weekday and leap-year case occurs: the tail that is checked
SAMPLE_STEP = timedelta(days=2)
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: 29 in a leap year


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
        local = self.at + self.before  # `local`'s fields, without its costly replace()
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
    """Every change of offset from FIRST_YEAR to HORIZON, 0.1-3 ms once a zone.

    Where a change can be is read from the zone's TZif file: its explicit transitions
    (`tzif.transitions`), then the rule it keeps for ever after (`tzif.footer`): none for
    a zone without daylight time, else each year's two days (`_footed`). What each change
    is comes from zoneinfo at that instant, so the changes are zoneinfo's. A footer this
    module does not read, or that zoneinfo disagrees with, is replaced by zoneinfo sampled
    over the last CYCLE years and extended back year by year (`_ruled`, 3-7 ms); a zone
    whose file cannot be read, or whose later years keep no rule this module can write, is
    sampled from FIRST_YEAR or from its last transition (`_sampled`, 40 ms a zone over the
    300 years)."""
    zone = ZoneInfo(name)
    start, end = _timestamp(FIRST_YEAR), _timestamp(HORIZON)
    known = tzif.transitions(name)
    if known is None:
        return _sampled(zone, start, end)
    found = [_change_at(zone, at) for at in known if start <= at < end]
    found = [change for change in found if change.before != change.after]
    after = max([start, *(at for at in known if at < end)])
    rule = tzif.footer(name) if all(at < end for at in known) else None
    footed = None if rule is None else _footed(zone, rule, after, end)
    every = (*found, *(_ruled(zone, after, end) if footed is None else footed))
    # Each change must begin where the one before ended: else zoneinfo read other data than
    # the file (tzdata upgraded under the process), and sampling finds what it holds.
    offsets = [_offset(zone, start), *(o for c in every for o in (c.before, c.after))]
    if offsets[:-1:2] != offsets[1::2]:
        return _sampled(zone, start, end)
    return every


def _footed(zone: ZoneInfo, rule: tzif.Footer, after: int, end: int) -> tuple[Change, ...] | None:
    """The changes in (after, end) where the rule of the zone's footer puts them, each read
    from zoneinfo at that instant: none for a rule without daylight time. None (then
    `_ruled` finds them) where zoneinfo has other offsets there than the rule says."""
    if rule.daylight is None:
        held = {_offset(zone, after), _offset(zone, end - 1)}
        return () if held == {rule.standard} else None
    found = []
    # a rule's time may be up to 167 hours past its day: a year's change can be the next's
    for year in range(datetime.fromtimestamp(after, UTC).year - 1, HORIZON + 1):
        for at, to_daylight in rule.changes(year):
            if not after < at < end:
                continue
            change = _change_at(zone, at)
            offsets = (rule.standard, rule.daylight)
            if (change.before, change.after) != (offsets if to_daylight else offsets[::-1]):
                return None
            found.append(change)
    found.sort(key=lambda change: change.at)
    return tuple(found)


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
    after = local.utcoffset()
    assert after is not None
    return Change(
        datetime.fromtimestamp(at, UTC),
        _offset(zone, at - 1),
        after,
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
    last = _MONTH_DAYS[month] + (month == 2 and calendar.isleap(year))
    if "BYMONTHDAY" in rule:
        window = rule["BYMONTHDAY"]
        assert isinstance(window, list)
        first = window[0]
    elif byday.startswith("-1"):
        first = last - 6
    else:
        first = 7 * int(byday[:-2]) - 6
    # the first day from `first` on that falls on the weekday, if the month has it
    day = first + (_DAYS.index(byday[-2:]) - date(year, month, 1).weekday() - first + 1) % 7
    return day if day <= last else None


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


Model = list[tuple[tuple[object, ...], Rule]]  # each rule's change's key(), and the rule


def _models(rules: list[tuple[Change, Rule]]) -> Model:
    return [(model.key(), rule) for model, rule in rules]


def _agrees(year: int, found: Sequence[Change], models: Model) -> bool:
    """The year's changes are the rules' (as many, the same kind and each on its rule's day)."""
    return len(found) == len(models) and all(
        change.key() == key and _occurs(rule, year) == (change.at + change.before).day
        for change, (key, rule) in zip(found, models, strict=False)
    )


@dataclass(frozen=True, slots=True)
class ZonePlan:
    """A zone's changes by the year they happen in on its clock (`by_year`, years without
    any left out) as scanned from a first year, and, when it has one, the yearly rule it
    keeps from `regular_from` on (no rules: the offset no longer changes)."""

    by_year: dict[int, tuple[Change, ...]]
    regular_from: int | None
    rules: list[tuple[Change, Rule]]


# One entry per zone (about 600, so a feed of every zone does not evict its own zones): a
# zone's changes grouped by year (references to those `_every_change` holds), its tail rule
# and the last year before the tail that breaks it; 7 MB for all 599 zones (tracemalloc),
# next to `_every_change`'s 13.6 MB. `plan` itself is derived in microseconds, not cached.
@lru_cache(maxsize=1024)
def _scanned(
    name: str,
) -> tuple[dict[int, tuple[Change, ...]], list[tuple[Change, Rule]] | None, int]:
    """The zone's changes grouped by year on its clock, the yearly rules of its last CYCLE
    years before HORIZON, and the last year before those that does not keep them (or
    FIRST_YEAR - 1): `plan` from FIRST_YEAR, made once per zone."""
    grouped: dict[int, list[Change]] = {}
    for change in _every_change(name):
        grouped.setdefault((change.at + change.before).year, []).append(change)
    by_year = {year: tuple(found) for year, found in grouped.items()}
    tail = range(HORIZON - CYCLE, HORIZON)
    rules = _tail_rules(by_year, tail)
    broken = FIRST_YEAR - 1
    if rules is not None:
        models = _models(rules)
        years = reversed(range(FIRST_YEAR, tail.start))
        broken = next((y for y in years if not _agrees(y, by_year.get(y, ()), models)), broken)
    return by_year, rules, broken


def plan(name: str, first_year: int) -> ZonePlan:
    """The zone's changes (`_every_change`, once a process) from first_year (or
    HORIZON - CYCLE) to HORIZON, grouped by year; the rule kept from the year after the last
    year that breaks it back to that year. Derived from `_scanned`: the scan's first year
    differs from it only in the changes of that year on the clock that were in the year
    before in UTC (a change just after midnight on 1 January east of Greenwich), which a
    scan from that year does not see."""
    by_year, rules, broken = _scanned(name)
    scan_from = max(FIRST_YEAR, min(first_year, HORIZON - CYCLE))
    tail = range(HORIZON - CYCLE, HORIZON)
    first = by_year.get(scan_from, ())
    seen = tuple(change for change in first if change.at.year >= scan_from)
    if seen != first:
        by_year = {**by_year, scan_from: seen}
        if scan_from == tail.start:
            rules = _tail_rules(by_year, tail)
    if rules is None:
        return ZonePlan(by_year, None, [])
    if scan_from >= tail.start:
        regular_from = tail.start
    elif broken > scan_from:
        regular_from = broken + 1
    else:
        regular_from = scan_from + (not _agrees(scan_from, seen, _models(rules)))
    return ZonePlan(by_year, regular_from, rules)


def _tail_rules(
    by_year: Mapping[int, Sequence[Change]], tail: range
) -> list[tuple[Change, Rule]] | None:
    """The yearly rule of each change of the year in `tail`, or None if one has none."""
    counts = {len(by_year.get(year, ())) for year in tail}
    if len(counts) != 1:
        return None
    rules = []
    for index in range(counts.pop()):
        rule = _yearly([by_year[year][index] for year in tail])
        if rule is None:
            return None
        rules.append((by_year[tail.start][index], rule))
    return rules
