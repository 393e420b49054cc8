"""The series a calendar read (`calendars.calendar`) expands: as an earlier read built it, or
from the content this one read, then kept (`expansions.Weeks.keep_series`: in the event's own
zone); an all-day one placed at the midnights of the read's zone, if it has one (a CalDAV
reader's free/busy: `series_types.zoned`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neo_events.events import recurrence
from neo_events.events.content import series_of
from neo_events.events.expansions import Weeks
from neo_events.events.series_rows import decoded
from neo_events.events.series_types import zoned


class NotLoaded(Exception):
    """An event's content is needed that the calendar read did not load (its weeks were all
    cached): only past a limit, where the direct expansion tells where it was reached."""


def series(
    weeks: Weeks,
    known: Mapping[int, recurrence.Series | None],
    contents: Mapping[int, tuple[int, Mapping[Any, Any]]],
    key: tuple[int, int],
) -> recurrence.Series:
    """The event's series: built before (`known`), or from its content, then kept; placed in
    the zone of `weeks`."""
    found = known.get(key[0])
    if found is None:
        loaded = contents.get(key[0])
        if loaded is None:
            raise NotLoaded(key[0])
        found = series_of(decoded(loaded[1]))
        weeks.keep_series(key, found)
    return zoned(found, weeks.zone)


def loaded_series(
    weeks: Weeks,
    known: Mapping[int, recurrence.Series | None],
    contents: Mapping[int, tuple[int, Mapping[Any, Any]]],
    key: tuple[int, int],
) -> recurrence.Series | None:
    """`series`, or None where the read did not load the event's content."""
    try:
        return series(weeks, known, contents, key)
    except NotLoaded:
        return None
