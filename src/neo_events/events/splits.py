"""Splitting a series at one of its occurrences (an edit of "this and the following"): the
rule of the part before it and of the part from it on, in the event's wall clock. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from neo_events.events.plans import Plan, instants, plan_of
from neo_events.events.recurrence import RecurrenceError, Series, occurrence_at
from neo_events.events.rrule import (
    DAY,
    fixed_time_parts,
    format_utc,
    utc,
    wall_time,
    weekdays_moved,
    zone_named,
)


def _check_at(series: Series, at: datetime) -> tuple[Plan, datetime]:
    instant = utc(at)
    if series.rule is None:
        raise RecurrenceError("a single event has no rule to split")
    if not occurrence_at(series, instant):
        raise RecurrenceError(f"{instant.isoformat()} is not an occurrence of the series")
    return plan_of(series.rule, utc(series.start), series.timezone), instant


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
    for name, field_name in fixed_time_parts(plan.rule.freq):
        # An occurrence in a spring-forward gap shows a later wall time than the rule gave
        # it; the new series would adopt that time of day unless the rule's is spelled out.
        if name not in parts and getattr(wall, field_name) != getattr(plan.dt0, field_name):
            changes[name] = str(getattr(plan.dt0, field_name))
    if plan.rule.count is not None:
        stop = wall_time(instant, plan.zone) + DAY
        before = {i for i in instants(plan, plan.dt0, stop) if i < instant}
        changes["COUNT"] = str(plan.rule.count - len(before))
    return plan.rule.text(**changes)


def weekdays_moved_with(
    rule: str,
    current: Mapping[str, Any],
    occurrence: tuple[str, datetime],
    moved: Mapping[str, Any],
) -> str:
    """The rule of a split's new series (`moved`, the content it starts with), its weekdays
    moved as many days as its start moved from the occurrence it splits at (`occurrence`:
    its key and instant in the series `current`), each on its own zone's wall clock (an
    all-day series' by its dates): `rrule.weekdays_moved`."""
    key, at = occurrence
    if current["all_day"]:
        before = date.fromisoformat(key)
    else:
        before = wall_time(at, zone_named(current["timezone"])).date()
    if moved["all_day"]:
        after = date.fromisoformat(moved["start_date"])
    else:
        start = datetime.fromisoformat(moved["start_time"])
        after = wall_time(start, zone_named(moved["timezone"])).date()
    return weekdays_moved(rule, (after - before).days)
