"""Validating a rule's text when an event is written: `normalize_rule` (its canonical
form, UNTIL in UTC), which refuses a rule that produces nothing within FIRST_WITHIN_YEARS of
the start without scanning to year 9999 the way dateutil would."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import MAXYEAR, datetime, timedelta
from functools import lru_cache
from typing import Any

from dateutil import rrule as du

from neo_events.events.plans import (
    Plan,
    byday_kinds,
    explicit_parts,
    part_text,
    plan_of,
    scan_years,
    times_of_day,
    walls_from_start,
)
from neo_events.events.rrule import (
    RecurrenceError,
    format_utc,
    parse_rule,
    utc,
    zone_named,
)
from neo_events.events.rule_walls import walls_of_rule

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
    first = next(walls_of_rule(moved, kwargs), None)
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
    if (kinds := byday_kinds(parsed)) is not None:
        # a union occurs if either kind does (BYSETPOS is checked on the union's periods)
        errors = []
        for kind in kinds:
            try:
                normalize_rule(part_text(parsed, kind), start=start, timezone=timezone)
            except RecurrenceError as exc:
                errors.append(exc)
        if len(errors) == len(kinds):
            raise errors[0]
        text = parsed.text()
        plan_of(text, first, timezone)
        return text
    dt0 = first.astimezone(zone).replace(tzinfo=None)
    kwargs = dict(parsed.kwargs)
    if times_of_day(parsed, explicit_parts(parsed, dt0)) is not None:
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
    text = parsed.text()
    plan: Plan | None = None
    try:
        never = bool(setpos) and all(abs(p) > per_period for p in setpos)
        never = never or not _occurs_within(loose, dt0, FIRST_WITHIN_YEARS)
        if not never:  # the plan only now: a COUNT rule's plan scans for its end
            plan = plan_of(text, first, timezone)
            never = not _plan_occurs_within(plan, kwargs, dt0, FIRST_WITHIN_YEARS)
    except ValueError:  # dateutil: BYHOUR/BYMINUTE the INTERVAL never reaches from the start
        never = True
    if never or plan is None:
        raise RecurrenceError(
            f"the rule produces no occurrence within {FIRST_WITHIN_YEARS} years of the start"
        )
    if plan.count_cut:
        raise RecurrenceError(
            f"COUNT={parsed.count} is not reached within {scan_years(plan)} years of the start "
            "(a rule this sparse is written with UNTIL, or as a yearly rule)"
        )
    return text


def _plan_occurs_within(plan: Plan, kwargs: Mapping[str, Any], dt0: datetime, years: int) -> bool:
    """`_occurs_within` for the rule itself: a sub-daily rule with BY parts is asked of its
    plan's lattice, which needs no search (dateutil's own can take seconds for such a rule)."""
    if plan.lattice is None:
        return _occurs_within(kwargs, dt0, years)
    found = next(walls_from_start(plan, years), None)
    return found is not None and found - plan.dt0 <= timedelta(days=_CYCLE_DAYS * years // 400)
