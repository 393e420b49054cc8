"""dateutil's wall times of a rule, its search ended with a given year: `walls_of_rule`.

Every path that hands a rule to dateutil (`plans`, `lattice`, `rule_checks`) goes through
it; nothing else needs it.
"""

from __future__ import annotations

import datetime as datetime_module
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import MAXYEAR, datetime
from types import ModuleType
from typing import Any

from dateutil import rrule as du

# dateutil looks for a rule's next wall time until year `datetime.MAXYEAR`, whatever the
# caller wants: a rule that matches nothing for centuries after a window (29 February on a
# Monday, every 997 minutes) scanned to year 9999 for every window. Its rrule module is
# given a view of the datetime module whose MAXYEAR is the last year the current scan may
# reach (`walls_of_rule`), by default MAXYEAR itself. tests/unit/test_rule_scans.py holds a
# rule that never matches again to a window's cost, and fails if dateutil stops reading it.
_LAST_YEAR: ContextVar[int] = ContextVar("rrule_last_year", default=MAXYEAR)


class _ScanBoundedDatetime(ModuleType):
    @property
    def MAXYEAR(self) -> int:
        return _LAST_YEAR.get()


def _bound_dateutil_scans() -> None:
    view = _ScanBoundedDatetime("datetime")
    view.__dict__.update({k: v for k, v in vars(datetime_module).items() if k != "MAXYEAR"})
    setattr(du, "datetime", view)  # noqa: B010 (dateutil.rrule's own global: no one else sees it)


_bound_dateutil_scans()


def walls_of_rule(
    dtstart: datetime, kwargs: Mapping[str, Any], last_year: int = MAXYEAR
) -> Iterator[datetime]:
    """dateutil's wall times of the rule from dtstart, looked for no later than the end of
    `last_year` (the year of a window's end: none of the walls past it is wanted)."""
    return walked(dtstart, _by_larger_steps(kwargs), last_year)


def walked(dtstart: datetime, kwargs: Mapping[str, Any], last_year: int) -> Iterator[datetime]:
    """`walls_of_rule` of the rule exactly as given (its frequency kept)."""
    walls = iter(du.rrule(dtstart=dtstart, **kwargs))
    if last_year >= MAXYEAR:
        yield from walls
        return
    while True:
        token = _LAST_YEAR.set(last_year)
        try:
            wall = next(walls, None)
        finally:
            _LAST_YEAR.reset(token)
        if wall is None:
            return
        yield wall


def _by_larger_steps(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """A rule of every day that keeps few of them by month or day of the month
    (`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29`, `FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR`) as the YEARLY
    or MONTHLY rule of the same days, which dateutil walks a year or a month at a time
    instead of a day at a time: 14 years of the first, 5.4 ms -> 0.44 ms (200 such series
    read cold made one listing cost 0.36 s, an outside attack).

    dateutil keeps a day of a period when it passes every BY filter it was given, whatever
    the frequency, and a DAILY rule's BY parts are all filters (RFC 5545's table: BYMONTH,
    BYMONTHDAY and BYDAY limit a DAILY rule), so with INTERVAL 1 and no BYSETPOS (which
    counts within a period) the days are the same and in the same order, COUNT and UNTIL
    too. BYDAY's ordinals, which DAILY ignores, are dropped; a BYMONTHDAY or BYDAY must be
    given (with neither, dateutil would take the day from DTSTART for a YEARLY or MONTHLY
    rule). Weekday rules stay DAILY: a day at a time is cheap where most days are kept."""
    if (
        kwargs.get("freq") != du.DAILY
        or kwargs.get("interval", 1) != 1
        or kwargs.get("bysetpos")
        or not kwargs.get("bymonthday")
        and not (kwargs.get("bymonth") and kwargs.get("byweekday"))
    ):
        return kwargs
    larger = dict(kwargs, freq=du.YEARLY if kwargs.get("bymonth") else du.MONTHLY)
    days = kwargs.get("byweekday")
    if days:  # one weekday, or several (dateutil takes both)
        many = days if isinstance(days, tuple | list | set | frozenset) else (days,)
        larger["byweekday"] = tuple(day if isinstance(day, int) else day.weekday for day in many)
    return larger
