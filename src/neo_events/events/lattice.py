"""A sub-daily rule with BY parts as days × times of day (`Lattice`): which of its times fall
on its INTERVAL's grid on a day follows from the day's place in a cycle, so reaching and
walking a window costs a look-up a day, where dateutil takes up to thousands of steps.
Held to dateutil by tests/unit/test_rule_scans.py; `plans` uses it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from math import gcd
from typing import Any

from dateutil import rrule as du

from neo_events.events.rrule import Rule, values
from neo_events.events.rule_walls import walls_of_rule


@dataclass(frozen=True, slots=True)
class Lattice:
    """A sub-daily rule with BY parts, as days × times: its periods start every `step`
    minutes of the wall clock from `anchor` (dt0's period start, in minutes from 0001-01-01),
    so which of the rule's times of day fall on the lattice on a day depends only on the
    day's place modulo `step`. `times` holds them by the minute of the day their period
    starts at, modulo `step`; `days` is the day filters as a daily rule (None: every day)."""

    step: int
    anchor: int
    times: Mapping[int, tuple[time, ...]]
    days: Mapping[str, Any] | None


def lattice_of(rule: Rule, dt0: datetime, explicit: Mapping[str, Any]) -> Lattice | None:
    """The lattice (see Lattice) of a sub-daily rule with BY parts and no BYSETPOS, else
    None. dateutil finds such a rule's next wall time period by period, and a BYHOUR and
    BYMINUTE that its INTERVAL reaches once a week cost it thousands of steps a day (a
    quarter of a second for a year's window); here a day costs a look-up."""
    if rule.freq not in (du.HOURLY, du.MINUTELY) or "bysetpos" in rule.kwargs:
        return None
    if not rule.kwargs.keys() - {"freq", "interval", "wkst"}:
        return None  # stepped (plans._steps)
    minutely = rule.freq == du.MINUTELY
    hours = values(explicit.get("byhour", tuple(range(24))))
    minutes = values(explicit.get("byminute", tuple(range(60))))
    step = rule.interval * (1 if minutely else 60)
    base = dt0.replace(second=0) if minutely else dt0.replace(minute=0, second=0)
    by_start: dict[int, list[time]] = {}
    for h in hours:
        for m in minutes:
            for s in values(explicit["bysecond"]):
                start = h * 60 + (m if minutely else 0)  # its period's start in the day
                by_start.setdefault(start % step, []).append(time(h, m, s))
    filters = {k: v for k, v in rule.kwargs.items() if k in _DAY_FILTERS}
    days = None
    if filters:
        days = {"freq": du.DAILY, "wkst": rule.wkst, "byhour": 0, "byminute": 0, "bysecond": 0}
        days |= filters
    return Lattice(
        step=step,
        anchor=base.toordinal() * _MINUTES_A_DAY + base.hour * 60 + base.minute,
        times={key: tuple(sorted(found)) for key, found in by_start.items()},
        days=days,
    )


_MINUTES_A_DAY = 1440
_DAY_FILTERS = ("bymonth", "bymonthday", "byyearday", "byweekno", "byweekday")


def _lattice_days(lattice: Lattice, first: date, last_year: int) -> Iterator[tuple[date, int]]:
    """The days from `first` to the end of `last_year` that pass the day filters and hold a
    period start of a time of the rule: (day, its key in `lattice.times`). Without day
    filters they are computed, not searched: a day's key is its place in a cycle of
    step / gcd(step, 1,440) days."""
    last = date(last_year, 12, 31).toordinal()
    step, anchor, times = lattice.step, lattice.anchor, lattice.times
    if lattice.days is not None:
        start = datetime.combine(first, time())
        for wall in walls_of_rule(start, lattice.days, last_year):
            key = (anchor - wall.toordinal() * _MINUTES_A_DAY) % step
            if key in times:
                yield wall.date(), key
        return
    cycle = step // gcd(step, _MINUTES_A_DAY)  # days after which a day's key repeats
    origin = first.toordinal()
    found = sorted(
        (offset, key)
        for offset in range(min(cycle, last - origin + 1))
        if (key := (anchor - (origin + offset) * _MINUTES_A_DAY) % step) in times
    )
    for base in range(origin, last + 1, cycle):
        for offset, key in found:
            if base + offset > last:
                return
            yield date.fromordinal(base + offset), key


def lattice_walls(lattice: Lattice, lo: datetime, last_year: int) -> Iterator[datetime]:
    """What dateutil generates for the lattice's rule from lo on (lo at dt0 or later: dateutil
    generates nothing before it) to the end of `last_year`."""
    first, times = lo.date(), lattice.times
    for day, key in _lattice_days(lattice, first, last_year):
        found = times[key]
        for moment in found[bisect_left(found, lo.time()) if day == first else 0 :]:
            yield datetime.combine(day, moment)
