"""A zone's VTIMEZONE for a calendar's years (vtimezones.py plans it): the component, and its
text written a line at a time.

The text is what icalendar writes for the component, byte for byte
(tests/unit/test_ical_vtimezones.py holds the two to each other for every zone): each
observance's lines are icalendar's, in its order (BEGIN, the properties by name, END), but
the lines a zone repeats (offsets, names) are written by icalendar once and kept, and an
onset's DTSTART is its value's text. Building and writing a component of 7,000 observances
(every zone there is, each from a year picked at random) cost icalendar 0.5 s, where
writing the same lines costs ~0.05 s."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard
from icalendar.prop import vDDDTypes, vRecur

from neo_events.ical.folding import to_ical
from neo_events.ical.vtimezones import HORIZON, Change, Rule, plan


def vtimezone(name: str, first: datetime, last: datetime | None) -> Timezone:
    """The zone's VTIMEZONE from the year of `first` to `last` (None: for ever after)."""
    component = Timezone()
    component.add("tzid", name)
    for change, rule in _observances(name, first, last):
        component.add_component(_observance(change, rule))
    return component


def vtimezone_text(name: str, first: datetime, last: datetime | None) -> bytes:
    """`to_ical(vtimezone(name, first, last))`, byte for byte."""
    lines = [b"BEGIN:VTIMEZONE\r\n", _line("tzid", name)]
    for change, rule in _observances(name, first, last):
        kind = b"DAYLIGHT" if change.daylight else b"STANDARD"
        lines += [b"BEGIN:", kind, b"\r\nDTSTART:", vDDDTypes(change.local).to_ical(), b"\r\n"]
        if rule is not None:
            lines.append(_text(TimezoneStandard, "rrule", vRecur(rule)))
        if change.name:
            lines.append(_line("tzname", change.name))
        lines += [_line("tzoffsetfrom", change.before), _line("tzoffsetto", change.after)]
        lines += [b"END:", kind, b"\r\n"]
    lines.append(b"END:VTIMEZONE\r\n")
    return b"".join(lines)


def _observances(
    name: str, first: datetime, last: datetime | None
) -> Iterator[tuple[Change, Rule | None]]:
    """The zone's offset at the start of first's year, each change from then until its
    yearly rule holds for good (or to `last`'s year), then that rule's changes."""
    zone, zone_plan = ZoneInfo(name), plan(name, first.year)
    start = datetime(first.year, 1, 1, tzinfo=UTC)
    opening = start.astimezone(zone)
    offset = opening.utcoffset()
    assert offset is not None
    yield Change(start, offset, offset, opening.tzname() or "", bool(opening.dst())), None
    regular_from = zone_plan.regular_from
    explicit_to = HORIZON if regular_from is None else regular_from
    if last is not None:
        explicit_to = min(explicit_to, last.year + 1)
    for year in range(first.year, explicit_to):
        for change in zone_plan.by_year.get(year, ()):
            yield change, None
    if regular_from is not None and (last is None or last.year >= regular_from):
        found = zone_plan.by_year.get(max(regular_from, first.year), ())
        for change, (_, rule) in zip(found, zone_plan.rules, strict=True):
            yield change, rule


def _observance(change: Change, rule: Rule | None = None) -> TimezoneStandard | TimezoneDaylight:
    observance = TimezoneDaylight() if change.daylight else TimezoneStandard()
    observance.add("dtstart", change.local)
    if rule is not None:
        observance.add("rrule", vRecur(rule))
    observance.add("tzoffsetfrom", change.before)
    observance.add("tzoffsetto", change.after)
    if change.name:
        observance.add("tzname", change.name)
    return observance


# Offsets and names: a few hundred distinct values in all the zones, ~100 bytes each; a
# zone's TZID once a zone (about 600).
@lru_cache(maxsize=2048)
def _line(name: str, value: str | timedelta) -> bytes:
    return _text(Timezone if name == "tzid" else TimezoneStandard, name, value)


def _text(kind: type[Timezone] | type[TimezoneStandard], name: str, value: object) -> bytes:
    """The property's line as icalendar writes it in a component of that kind."""
    component = kind()
    component.add(name, value)
    text = to_ical(component)
    begin, end = f"BEGIN:{kind.name}\r\n".encode(), f"END:{kind.name}\r\n".encode()
    assert text.startswith(begin) and text.endswith(end)
    return text[len(begin) : -len(end)]
