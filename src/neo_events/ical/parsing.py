"""icalendar's parses of users' text one at a time, each with icalendar's process-wide state
to itself (`alone`).

icalendar reports oddities as Python warnings, whose filters are process-wide; and it keeps the
zone of every VTIMEZONE it parses in a process-wide cache by TZID (`icalendar.timezone.tzp`:
the first of a TZID is kept, never evicted), beside the zone it found for each TZID it looked
up. A worker's cache grew with every TZID any user sent (a resource a fresh TZID: without
end), and one user's VTIMEZONE changed how icalendar read another user's file naming that
TZID without one: a date there (`DTSTART;TZID=X:20270110`), a date where icalendar has no zone
X, became a date-time at midnight, so an import's all-day event a timed one in no known zone,
and a CalDAV write of it refused.

A parse runs under one lock, its warnings recorded for it alone, and the cache emptied before
and after it by icalendar's own way of emptying it, a change of its provider (`tzp.use`; always
to `zones.KnownZones`). So a file's VTIMEZONEs are icalendar's while that file is parsed (a date
naming one is still a date-time at midnight in it, as before), and no other parse sees them.
The bound: between parses the cache is empty; during one it holds at most one zone for each
TZID the file names (of at most `bounds.MAX_TZID_CHARS`), a zone of the database or one
icalendar made of a VTIMEZONE the codec had it parse (those an event names, within
`bounds.ZoneBudget`: 400 observances and 4,000 dates a file). A reader of a VTIMEZONE's
offsets alone has icalendar make no zone of it (`alone(make_zones=False)`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from icalendar.timezone import tzp

from neo_events.ical.zones import KnownZones

_PARSING = threading.Lock()


def forget_zones() -> None:
    """Empty icalendar's zone cache: changing its provider empties it (`TZP.use`). The
    provider is `KnownZones`, for icalendar's every TZID lookup, in a parse or not."""
    tzp.use(KnownZones())


forget_zones()


class _NoneMade(KnownZones):
    """`KnownZones`, by which icalendar makes no zone of a VTIMEZONE it parses: it makes one
    only of a TZID its provider does not know (`tzp.cache_timezone_component`, its one use of
    `knows_timezone_id`)."""

    def knows_timezone_id(self, tzid: str) -> bool:
        return True


@contextmanager
def alone(*, make_zones: bool = True) -> Iterator[list[warnings.WarningMessage]]:
    """Parse with icalendar in this block and no other thread: every warning it gives is
    recorded in the list yielded (none escapes), and no other parse's zones are seen.
    `make_zones=False` for a reader of a VTIMEZONE's offsets alone (`zones.Observed`, not
    icalendar's zone): icalendar's own, dateutil's `tzical` of the component written back
    as text, is two thirds of a VTIMEZONE's parse (75 of 115 ms for 2,000 RDATEs)."""
    with _PARSING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forget_zones()
        if not make_zones:
            tzp.use(_NoneMade())
        try:
            yield caught
        finally:
            forget_zones()
