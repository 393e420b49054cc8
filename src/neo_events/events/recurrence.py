"""RFC 5545 recurrence in the event's wall clock: DTSTART is always the first occurrence.

Series, their exceptions (exdates, rdates, overrides) and windows; how a rule generates its
wall times and instants is `plans.py`."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Set
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from neo_events.events import days
from neo_events.events.plans import (
    Plan,
    instants,
    is_stepped,
    plan_of,
    scan_years,
    stepped_originals,
)
from neo_events.events.rrule import (
    DAY,
    HIGHEST,
    LOWEST,
    RecurrenceError,
    UnsupportedRecurrence,
    clamp,
    localize,
    utc,
    wall_bounds,
    wall_time,
    zone_named,
)
from neo_events.events.rule_checks import normalize_rule
from neo_events.events.series_types import Occurrence, Override, Series

__all__ = [
    "ExpansionLimitExceeded",
    "Occurrence",
    "Override",
    "RecurrenceError",
    "Series",
    "UnsupportedRecurrence",
    "expand",
    "normalize_rule",
    "occurrence_at",
    "overlaps",
    "series_end",
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


def _duration(series: Series) -> timedelta:
    duration = utc(series.end) - utc(series.start)
    if duration < timedelta(0):
        raise ValueError("a series cannot end before it starts")
    return duration


def rdates_within(series: Series, lo: datetime, hi: datetime) -> list[datetime]:
    """The rdates in [lo, hi] (two binary searches: a series may hold a thousand)."""
    rdates = series.rdates
    return list(rdates[bisect_left(rdates, lo) : bisect_right(rdates, hi)])


def originals(series: Series, lo: datetime, hi: datetime, skip: bool = True) -> Iterator[datetime]:
    """Distinct original occurrence starts in [lo, hi], exdates ignored: the rule's and the
    rdates, merged in order. A stepped rule without rdates is its own generator, not
    wrapped in another (one resumption less per occurrence, on the hottest path)."""
    start = utc(series.start)
    if series.rule is not None and not rdates_within(series, lo, hi):
        plan = plan_of(series.rule, start, series.timezone)
        if is_stepped(plan):
            return stepped_originals(plan, lo, hi, skip)
    return _merged_originals(series, lo, hi, skip)


def ruled_originals(
    series: Series, lo: datetime, hi: datetime, skip: bool = True
) -> Iterator[datetime]:
    """`originals` but for the rdates (`rdates_within`), in order: the rule's original starts
    in [lo, hi] (a stepped rule's by its steps), or the start alone without a rule. For a
    question of which instants are originals (`occurrence_keys`), the rdates a set apart."""
    start = utc(series.start)
    if series.rule is None:
        return iter([start] if lo <= start <= hi else [])
    plan = plan_of(series.rule, start, series.timezone)
    if is_stepped(plan):
        return stepped_originals(plan, lo, hi, skip)
    return (i for i in instants(plan, *wall_bounds(lo, hi, plan.zone), skip) if lo <= i <= hi)


def _merged_originals(series: Series, lo: datetime, hi: datetime, skip: bool) -> Iterator[datetime]:
    ruled = ruled_originals(series, lo, hi, skip)  # a stepped rule's by its steps here too
    extra = rdates_within(series, lo, hi)
    seen: set[datetime] = set()
    for instant in heapq.merge(ruled, extra) if extra else ruled:
        if lo <= instant <= hi and instant not in seen:
            seen.add(instant)
            yield instant


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


def is_original(series: Series, instant: datetime) -> bool:
    """Checked at the instant itself: the rule is reached there, not scanned up to it."""
    start = utc(series.start)
    if instant == start or rdates_within(series, instant, instant):
        return True
    if series.rule is None:
        return False
    plan = plan_of(series.rule, start, series.timezone)
    return any(instant in instants(plan, wall, wall) for wall in _walls_of(instant, plan.zone))


def _exceptions(
    series: Series, duration: timedelta, lo: datetime = LOWEST, hi: datetime = HIGHEST
) -> tuple[frozenset[datetime], dict[datetime, Occurrence]]:
    """Exdate instants, and the overrides whose occurrence overlaps [lo, hi), by
    recurrence_id: not yet checked to be of real occurrences (see _expand)."""
    excluded, moved = series.excluded, {}
    for rid, start, end, override in series.moves:
        start = rid if start is None else start
        end = start + duration if end is None else end
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
    skipped = series.skipped
    found: list[Occurrence] = []
    in_order, previous = True, LOWEST  # originals come nearly in order (gaps aside)
    earliest = clamp(lo) - min(duration, clamp(lo) - LOWEST)  # earlier starts end before lo
    for instant in originals(series, earliest, clamp(hi), skip):
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
        if not earliest <= rid <= clamp(hi) and is_original(series, rid)
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
        and is_original(series, rid)
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


def spans(
    series: Series, window_start: datetime, window_end: datetime, *, limit: int = 10_000
) -> list[tuple[datetime, datetime]]:
    """`expand`'s (start, end) pairs, in its order and with its limit, without making an
    Occurrence of each: a conflict check needs only the times, and a 500-series batch
    expands 183,000 of them. A series with overrides or all-day dates goes through
    `expand` (an override's time is not its recurrence id's)."""
    if series.overrides or series.all_day_zone is not None:
        found = expand(series, window_start, window_end, limit=limit)
        return [(o.start, o.end) for o in found]
    lo, hi = utc(window_start), utc(window_end)
    if hi <= lo:
        return []
    duration = _duration(series)
    excluded = series.excluded
    pairs: list[tuple[datetime, datetime]] = []
    in_order, previous = True, LOWEST
    earliest = clamp(lo) - min(duration, clamp(lo) - LOWEST)  # as in _expand
    for instant in originals(series, earliest, clamp(hi)):
        if instant in excluded:
            continue
        if instant < hi and ((end := instant + duration) > lo or instant >= lo):
            in_order = in_order and instant >= previous
            previous = instant
            pairs.append((instant, end))
            if len(pairs) > limit:
                before = sorted(p for p in pairs if overlaps(*p, lo, instant))  # as _up_to
                raise ExpansionLimitExceeded(
                    f"more than {limit} occurrences in the window",
                    instant,
                    [Occurrence(start, start, end, None) for start, end in before],
                )
    return pairs if in_order else sorted(pairs)


def _last_original(plan: Plan, excluded: Set[datetime]) -> datetime:
    """The latest original start not in `excluded`, or plan.start if all are excluded; or,
    if none is found within an eighth of the years a scan may cover (`plans.scan_years`)
    before the rule's end, that end: no later start can exist (a span that may be too long,
    never one too short)."""
    assert plan.bound is not None
    # Start near the end and double: a dense rule finds its last occurrence in the first
    # step, a sparse one after a few doublings, each costing the occurrences and periods it
    # covers. They cover twice the span they end with, and a write pays this on top of its
    # checks: back an eighth of the scan years at most.
    years = scan_years(plan)
    floor = plan.dt0
    if years is not None and plan.bound.year - years // 8 > plan.dt0.year:
        floor = plan.bound.replace(year=plan.bound.year - years // 8, month=1, day=1)
    span = 2 * DAY
    while True:
        lo = plan.bound - span if plan.bound - floor > span else floor
        kept = [i for i in instants(plan, lo, plan.bound) if i not in excluded]
        if kept:
            return max(kept)
        if lo <= plan.dt0:
            return plan.start
        if lo <= floor:  # searched as far as a scan may: the rule's end bounds it
            return plan.rule.until or localize(plan.bound, plan.zone)
        span *= 2  # the tail is all exdates or overrides: look further back


def series_end(series: Series) -> datetime | None:
    """UTC end of the series' last occurrence, or None when the rule never ends."""
    start, duration = utc(series.start), _duration(series)
    if series.rule is not None and plan_of(series.rule, start, series.timezone).bound is None:
        return None
    excluded, moved = _exceptions(series, duration)
    last = start
    if series.rule is not None:
        last = _last_original(plan_of(series.rule, start, series.timezone), excluded | set(moved))
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
    return is_original(series, utc(recurrence_id))
