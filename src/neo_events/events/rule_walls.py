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
