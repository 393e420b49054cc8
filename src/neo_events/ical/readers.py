"""The RRULE to write so that calendar apps read a series' occurrences as ours
(`readers_rule`): most read rules with dateutil, or as dateutil does.

What they read is worked out from our own plan of the rule (`plans.walls_from_start`), whose
wall times are dateutil's, each step bounded: a sub-daily rule's by its lattice, whatever its
filters, where dateutil walks minute by minute (a minutely rule that falls on a Sunday 31
December took dateutil 4.6 s to reach its fourteenth time). Where our plan knowingly
differs from dateutil (a BYDAY mixing plain and numbered weekdays, which dateutil
intersects; a weekly BYSETPOS, which dateutil applies to DTSTART's week from DTSTART on),
dateutil's own walk is read instead. Either search ends where a search of the plan may
(`plans.scan_years`): past it the rule is written with UNTIL, as for any rule readers
would read otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import MAXYEAR, datetime, timedelta
from functools import lru_cache
from itertools import islice

from dateutil import rrule as du

from neo_events.events import recurrence
from neo_events.events.plans import Plan, plan_of, scan_years, walls_from_start
from neo_events.events.rrule import MAX_COUNT, format_utc, localize, parse_rule
from neo_events.events.rule_walls import walked


def _instants_as_read(plan: Plan) -> Iterator[datetime]:
    """The instants (UTC) dateutil reads the plan's rule as generating from DTSTART on,
    COUNT and UNTIL aside (an UNTIL is never before DTSTART, so it changes neither whether
    the first is DTSTART nor anything of a COUNT rule, which has none)."""
    years = scan_years(plan)
    rule = plan.rule
    if plan.union is not None or (rule.freq == du.WEEKLY and "bysetpos" in rule.kwargs):
        last_year = MAXYEAR if years is None else min(MAXYEAR, plan.dt0.year + years)
        walls = walked(plan.dt0, rule.kwargs, last_year)
    else:
        walls = walls_from_start(plan, years)
    return (localize(wall, plan.zone) for wall in walls)


@lru_cache(maxsize=4096)  # a feed is written again whenever one of its events changes
def readers_rule(
    rule: str, start: datetime, end: datetime, name: str, shown: datetime
) -> tuple[str, bool]:
    """The RRULE to write for a series whose DTSTART readers take as `shown` (UTC), and
    whether an RDATE must name that start too.

    Our COUNT counts the start even where the rule does not produce it, and counts once two
    wall times that a spring-forward gap makes one instant (SPEC §4); dateutil-based readers
    count the rule's wall times and add DTSTART on top. Where the two would list different
    occurrences, the rule is written with the UNTIL of its last occurrence instead. Where the
    rule does not produce the start, an RDATE names it for readers that do not add DTSTART.
    Bounded: a COUNT is at most rrule.MAX_COUNT, and every search is the plan's (above).
    """
    read = _instants_as_read(plan_of(rule, start, name))
    first = next(read, None)
    name_start = first != shown
    parsed = parse_rule(rule, name)
    if parsed.count is None:
        return rule, name_start
    bare = recurrence.Series(start, end, name, rule)
    last = recurrence.series_end(bare)
    assert last is not None  # a COUNT ends
    ours = {
        o.recurrence_id
        for o in recurrence.expand(bare, bare.start, last + timedelta(seconds=1), limit=MAX_COUNT)
    }
    as_read = {shown} if first is None else {shown, first, *islice(read, parsed.count - 1)}
    if as_read == {shown if t == bare.start else t for t in ours}:
        return rule, name_start
    return parsed.text(COUNT=None, UNTIL=format_utc(max(ours))), name_start
