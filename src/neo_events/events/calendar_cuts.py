"""Where a calendar read that reaches its limit ends (`calendars.calendar`, a conflict
check's own expansion): the window is cut where the limit was reached, or halved, and a pile
of long occurrences at the window's start is cut once, not halved fifty times.

Pure: no FastAPI, no SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from neo_events.events import recurrence
from neo_events.events.conflicts import Busy


def shortened(
    exc: recurrence.ExpansionLimitExceeded, lo: datetime, hi: datetime
) -> tuple[list[recurrence.Occurrence] | None, datetime]:
    """Where a check cut short by a limit now ends, and the occurrences up to there if the
    expansion that stopped already knows them (None: expand the shorter window again)."""
    reached = exc.reached
    if reached is not None and lo < reached < hi:
        return exc.before, reached
    return None, lo + (hi - lo) / 2


def piled_window(
    series: recurrence.Series, busy: Sequence[Busy], lo: datetime, hi: datetime, limit: int
) -> tuple[list[recurrence.Occurrence], datetime] | None:
    """For a series whose occurrences pile up at `lo` past what is left of the limit (each
    outlasts its period: 300-year occurrences of a daily rule are 109,000 deep): the
    longest window [lo, x) in which the occurrences read before it (`busy`) and its own
    still fit `limit`, and its own there. Every window from `lo` holds the pile, so halving
    only drops the later occurrences, one expansion of the pile at a time (50 of them, 1.5 s
    of CPU for one create, an outside attack found); here the pile is expanded once (twice
    for an all-day series, whose expansion does not hand over what it met) and x is the
    start where the count would pass the limit. None where the expansion cannot say where
    it stopped: the caller halves."""
    base = sum(1 for b in busy if b.start <= lo)
    budget, end = max(0, limit - base), hi
    try:
        mine = recurrence.expand(series, lo, hi, limit=budget)
    except recurrence.ExpansionLimitExceeded as exc:
        if exc.reached is None:
            return None
        if exc.reached <= lo:
            return [], lo  # the pile alone is past the limit: nothing from lo fits
        end = exc.reached
        try:
            mine = exc.before if exc.before is not None else recurrence.expand(series, lo, end)
        except recurrence.ExpansionLimitExceeded:
            return None
    room = limit - base - sum(1 for o in mine if o.start <= lo)
    if room < 0:
        return [], lo
    later = sorted(
        [b.start for b in busy if lo < b.start < end] + [o.start for o in mine if o.start > lo]
    )
    if len(later) > room:
        end = later[room]  # the window holds the `room` earliest starts after lo
    return [o for o in mine if o.start < end], end
