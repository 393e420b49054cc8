"""iCalendar time values as instants: every DATE, DATE-TIME and DURATION a VEVENT holds.

A value with a TZID is its wall clock in that zone (resolved to an IANA name); a `…Z` value is
UTC; a floating value (no TZID, no Z) and an all-day DATE are wall clock in the calendar's
floating zone (X-WR-TIMEZONE, else the importer's default). An all-day DATE starts at 00:00.
A DURATION's days and weeks count on the wall clock, its hours, minutes and seconds exactly
(RFC 5545 §3.3.6).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component
from icalendar.prop import vBroken, vDDDTypes, vDuration

from neo_events.events.rrule import localize
from neo_events.ical import custom_zones
from neo_events.ical.blocks import Block
from neo_events.ical.losses import Loss
from neo_events.ical.zones import ZoneResolver

# The nominal part of a DURATION as written: icalendar's timedelta makes PT24H and P1D equal.
_NOMINAL = re.compile(r"([+-]?)P(\d+)([WD])", re.IGNORECASE)


class Unreadable(ValueError):
    """A value that cannot be read; str(exc) says which and why."""


@dataclass(frozen=True, slots=True)
class When:
    """One time value: its instant, the wall clock as written (as its zone shows it, for a
    custom zone's) and the zone it was read in (None for a UTC value)."""

    instant: datetime
    wall: datetime
    zone: str | None
    all_day: bool
    custom: str | None = None  # the TZID of a VTIMEZONE no IANA zone matches (custom_zones)
    until: datetime | None = None  # a PERIOD's end instant (an RDATE;VALUE=PERIOD)


@dataclass(frozen=True, slots=True)
class Length:
    """A DURATION: `days` (weeks as seven) on the wall clock, then `exact` of real time."""

    days: int
    exact: timedelta = timedelta(0)


@dataclass(slots=True)
class Clock:
    """How one calendar's times are read."""

    floating: str  # zone of floating times and all-day dates
    calendar_zone: str | None  # X-WR-TIMEZONE, when it names a zone
    zones: ZoneResolver
    notes: list[str]
    written_duration: str | None = field(default=None)  # the current component's, as written

    def begin(self, block: Block) -> list[str]:
        """Start reading one component: its own notes, its DURATION as written."""
        self.notes = []
        self.written_duration = block.written("DURATION")
        return self.notes

    def localize(self, wall: datetime, zone: str) -> datetime:
        # A repeated wall time takes its first instant, one in a gap the offset in force
        # before it (RFC 5545 §3.3.5): the one rule, events/rrule.py's `localize`.
        try:
            return localize(wall, ZoneInfo(zone))
        except OverflowError:
            raise Unreadable(f"{wall.isoformat()} is out of range") from None

    def when(
        self,
        name: str,
        prop: Any,
        floating: str | None = None,
        tzid: str | None = None,
        kind: str | None = None,
    ) -> When:
        """The value of one DATE or DATE-TIME property (`name` is for messages); floating
        values in `floating` (an event's own zone: a floating DTEND after a zoned DTSTART).
        `tzid` and `kind` (its VALUE) are a list's, for an item that lost them."""
        floating = floating or self.floating
        value = _parsed(name, prop)
        params = getattr(prop, "params", {})
        tzid = params.get("TZID", tzid)
        if _a_date(value, params.get("VALUE", kind)):
            value, tzid = value.date(), None
        period_end = None
        if isinstance(value, tuple):  # a PERIOD: its start, its end as `until`
            value, period_end = value
        if isinstance(value, datetime):
            found = self._datetime(value, tzid, floating)
            if isinstance(period_end, timedelta):
                return replace(found, until=found.instant + period_end)
            if isinstance(period_end, datetime):
                ends = self._datetime(period_end, tzid, floating)
                return replace(found, until=self.end_of(found, end=ends, length=None))
            return found
        if isinstance(value, date):
            wall = datetime.combine(value, time())
            return When(self.localize(wall, floating), wall, floating, all_day=True)
        raise Unreadable(f"{name} is not a date or a date-time")

    def _datetime(self, value: datetime, tzid: str | None, floating: str) -> When:
        wall = value.replace(tzinfo=None, microsecond=0)
        if tzid is not None:
            zone, note = self.zones.resolve(str(tzid), wall.year)
            if note:
                self.notes.append(note)
            if zone is not None:
                return When(self.localize(wall, zone), wall, zone, all_day=False)
            custom = self._custom(str(tzid), wall)
            if custom is not None:
                return custom
            self.notes.append(self._unknown(str(tzid)))
        elif value.tzinfo is not None and value.utcoffset() is not None:
            instant = value.astimezone(UTC).replace(microsecond=0)
            return When(instant, instant.replace(tzinfo=None), None, all_day=False)
        return When(self.localize(wall, floating), wall, floating, all_day=False)

    def _unknown(self, tzid: str) -> Loss:
        """A TZID that names no zone, and no VTIMEZONE that fixes its instants: an import reads
        its times as floating (the calendar's zone, or the importer's); a CalDAV write has no
        such zone to fall back on (floating in UTC was a silent guess)."""
        if self.zones.vtimezone(tzid) is None:
            refusal = f"unknown time zone {tzid!r} and no VTIMEZONE for it"
        else:  # past the bounds a file's VTIMEZONEs are worked out within (zones.py)
            refusal = f"time zone {tzid!r}: no UTC offset could be worked out from its VTIMEZONE"
        return Loss(f"unknown time zone {tzid!r}: its times read as floating times", refusal)

    def _custom(self, tzid: str, wall: datetime) -> When | None:
        """A wall time on a VTIMEZONE of the file that no IANA zone matches: the instant it
        gives, kept in the zone `custom_zones` picks (`custom` names the TZID)."""
        instant = custom_zones.instant_of(self.zones, tzid, wall)
        if instant is None:
            return None
        zone = custom_zones.kept_zone(self.zones, tzid, instant)
        kept = "UTC (no IANA zone has its offset then)" if zone == "UTC" else repr(zone)
        self.notes.append(
            f"time zone {tzid!r} matches no IANA zone: its times are read from its "
            f"VTIMEZONE, the event kept in {kept}"
        )
        return replace(self.at(instant, zone), custom=tzid)

    def duration(self, prop: Any) -> Length:
        """The component's DURATION, its days (and weeks) told apart from its hours."""
        value = _parsed("DURATION", prop)
        if not isinstance(value, timedelta):
            raise Unreadable("DURATION is not a duration")
        nominal = _NOMINAL.match((self.written_duration or "").strip())
        if nominal is None:
            return Length(0, value)
        days = int(nominal[2]) * (7 if nominal[3].upper() == "W" else 1)
        days = -days if nominal[1] == "-" else days
        return Length(days, value - timedelta(days=days))

    def values(self, name: str, props: Any, floating: str) -> list[When]:
        """Every value of a list property (EXDATE, RDATE), however many lines hold them."""
        found = []
        for prop in props if isinstance(props, list) else [props]:
            tzid = getattr(prop, "params", {}).get("TZID")
            kind = getattr(prop, "params", {}).get("VALUE")
            if isinstance(prop, vBroken):  # each value read again, as `_parsed` reads one
                items = [_read_again(name, item) for item in str(prop).split(",")]
            else:
                items = getattr(prop, "dts", [])
            for item in items:
                found.append(self.when(name, item, floating, tzid, kind))
        return found

    def end_of(self, start: When, *, end: When | None, length: Length | None) -> datetime:
        """The end instant from DTEND, or DTSTART plus DURATION (days on DTSTART's wall clock,
        then hours exactly: PT2H across a change of offset is two hours, P1D 23, 24 or 25), or
        RFC 5545's default: one day for an all-day event, none for a timed one.

        A DTSTART or DTEND on a wall time a DST change skips or repeats (in one zone) names
        an instant RFC 5545 §3.3.5 picks for the writer, and the two picks disagree with the
        clock: 02:30-03:30 on a spring-forward night is one instant twice (no duration),
        01:30-02:30 on a fall-back night two hours. The event lasts what the two wall clocks
        say, from DTSTART's instant, as a DURATION would: what the person wrote."""
        if end is not None:
            if _on_the_wall_clock(start, end):
                return start.instant + (end.wall - start.wall)
            return end.instant
        if length is None:
            length = Length(1 if start.all_day else 0)
        if start.zone is None or not length.days:
            return start.instant + timedelta(days=length.days) + length.exact
        return self.localize(start.wall + timedelta(days=length.days), start.zone) + length.exact

    def at(self, instant: datetime, zone: str) -> When:
        """An instant as a value written on the zone's wall clock."""
        wall = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        return When(instant, wall, zone, all_day=False)


def _on_the_wall_clock(start: When, end: When) -> bool:
    """Whether an event's length is its wall clocks' difference: both timed, written on one
    zone's clock (not a custom zone's, whose wall is read back from its instant), one of them
    in a gap or a fold (where fold=0 and fold=1 give the zone two offsets)."""
    if start.all_day or end.all_day or start.custom or end.custom:
        return False
    if start.zone is None or start.zone != end.zone:
        return False
    zone = ZoneInfo(start.zone)
    return skipped_or_repeated(start.wall, zone) or skipped_or_repeated(end.wall, zone)


def skipped_or_repeated(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether a DST change skips or repeats the naive wall time in the zone: fold=0 and
    fold=1 then give it two offsets (PEP 495)."""
    return zone.utcoffset(wall.replace(fold=0)) != zone.utcoffset(wall.replace(fold=1))


def _a_date(value: Any, kind: Any) -> bool:
    """Whether a value written `VALUE=DATE` was made a date-time: icalendar reads a TZID beside
    it (which RFC 5545 §3.2.19 puts on no DATE; some writers do) as that zone's midnight, and a
    day off was a timed event of no length (an outside attack). It is the date it says."""
    return (
        isinstance(value, datetime)
        and str(kind or "").strip().upper() == "DATE"
        and value.time() == time()
    )


def _parsed(name: str, prop: Any) -> Any:
    """The Python value of a property; one icalendar could not read is read again
    (`_read_again`)."""
    if isinstance(prop, list):
        prop = prop[0]
    if isinstance(prop, vBroken):
        return _read_again(name, str(prop))
    return getattr(prop, "dt", prop)


# A DATE-TIME's seconds of 60, a leap second (RFC 5545 §3.3.12), which datetime cannot hold.
_LEAP_SECOND = re.compile(r"(\d{8}T\d{4})60(?=Z|/|$)")


def _read_again(name: str, raw: str) -> Any:
    """A value icalendar refused, read as RFC 5545 writes it: without surrounding blanks
    (`PT10M `, `20030819T222017Z ` are common), its letters in either case (`20270110t090000z`:
    the grammar's literals are case-insensitive, RFC 5234 §2.3), and a leap second as the
    start of the next minute (23:59:60 is 00:00:00, as POSIX time and PostgreSQL count it)."""
    text = raw.strip().upper()
    if "/" in text and name != "DURATION":  # a PERIOD: its start, then its end or duration
        start, _, end = text.partition("/")
        return _read_again(name, start), _read_again("DURATION" if "P" in end else name, end)
    leap = _LEAP_SECOND.sub(r"\g<1>59", text)
    try:  # icalendar's parsers are untyped
        if name == "DURATION":
            return vDuration.from_ical(text)  # type: ignore[no-untyped-call]
        value = vDDDTypes.from_ical(leap)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError):
        raise Unreadable(f"{name} {raw.strip()!r} is not a valid value") from None
    return value if leap == text else value + timedelta(seconds=1)


# The properties whose values `Clock` reads, again where icalendar could not (`_read_again`).
READ_AGAIN = frozenset({"DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "EXDATE", "RDATE"})


def left_out(component: Component) -> list[str]:
    """The errors of the lines icalendar could not read and left out of the component. A time
    value it kept unread (a `vBroken`) is no such line: `Clock` reads it again, and skips the
    event (refuses a CalDAV write) where that fails too."""
    kept = {name for name in READ_AGAIN if _broken(component.get(name))}
    return [str(error) for name, error in component.errors if name not in kept]


def _broken(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, vBroken) for v in values)
