"""All-day dates: floating days, and where they fall in a zone. Pure: the standard library.

An all-day event is given by dates (`start_date`, `end_date` exclusive), the same calendar
days for every viewer, as RFC 5545 `VALUE=DATE` and Google Calendar's all-day events are.
Its recurrence is computed on "floating" instants — each date's midnight in UTC, a clock
without daylight saving, so a rule recurs by date exactly — and each occurrence is then
placed at the midnights of a zone: the event's own, or the viewer's (`timezone=`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from neo_events.events.rrule import localize
from neo_events.timezones import iana_zone_names

# The furthest any zone's midnight lies from UTC's, with room for historical local mean
# times: an all-day event's span (which prunes window queries) is widened by this much.
REACH = timedelta(days=1)


def floating(day: date) -> datetime:
    """The floating instant of a date: its midnight in UTC."""
    return datetime.combine(day, time(), UTC)


def day_of(instant: datetime) -> date:
    """The date of a floating instant."""
    return instant.astimezone(UTC).date()


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a date in a zone, in UTC. A midnight that a clock change skips
    takes the offset before the gap (as every wall time does, RFC 5545 §3.3.5): the day
    then starts at the gap's end."""
    return localize(datetime.combine(day, time()), zone)


def midnights_somewhere(pairs: Iterable[tuple[date, datetime]]) -> bool:
    """Whether each instant is its date's midnight in one and the same zone, any zone the API
    takes: the times a listing with that `timezone=` shows an all-day event at. Exact, as
    `midnight` places them (historical offsets and midnights a clock change skips included);
    the first call loads every zone once (~35 ms), a call then costs ~0.5 ms."""
    pairs = list(pairs)
    if any(abs(floating(day) - instant) > REACH for day, instant in pairs):
        return False  # no zone is that far from UTC
    return any(all(midnight(day, zone) == instant for day, instant in pairs) for zone in _zones())


@lru_cache(maxsize=1)
def _zones() -> tuple[ZoneInfo, ...]:
    return tuple(ZoneInfo(name) for name in sorted(iana_zone_names()))


def place(instant: datetime, zone: ZoneInfo) -> datetime:
    """A floating instant placed on the zone's wall clock (the same wall time there)."""
    utc = instant.astimezone(UTC)
    day = utc.date()  # (`day_of`)
    return midnight(day, zone) + (utc - floating(day))


def date_in(instant: datetime, zone: ZoneInfo) -> date:
    """The date an instant falls on in a zone."""
    return instant.astimezone(zone).date()


def key_of(placed: datetime, zone: ZoneInfo) -> datetime:
    """The floating instant of the date an all-day occurrence placed in a zone falls on:
    what names it where answers to it are kept (`floating`)."""
    return floating(date_in(placed, zone))


def parse_day(text: str) -> date | None:
    """A `YYYY-MM-DD` date, or None if the text is not one (an instant, say)."""
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
