"""A VEVENT's plain properties as the importer reads them: the first of a repeated one, text
cut to the API's limits (with a note), SEQUENCE, STATUS:CANCELLED, TRANSP and the RRULE as
written; and a calendar's own properties (`every` value of a repeated one)."""

from __future__ import annotations

from typing import Any

from icalendar import Calendar, Component

from neo_events.events.schemas import stripped
from neo_events.fields import CONTROLS
from neo_events.graphemes import cut
from neo_events.ical import bounds
from neo_events.ical.blocks import CalendarBlock
from neo_events.ical.losses import Loss
from neo_events.ical.zones import iana_name

TEXT_LIMITS = {"title": 200, "description": 10_000, "location": 500}


def transparency(component: Component) -> str | None:
    """TRANSP as the event model's transparency; None if absent or unknown."""
    value = str(first(component, "TRANSP") or "").strip().upper()
    return {"OPAQUE": "opaque", "TRANSPARENT": "transparent"}.get(value)


def first(component: Component, name: str) -> Any:
    value = component.get(name)
    return value[0] if isinstance(value, list) and value else value


def every(component: Component, name: str) -> list[Any]:
    """Each value of a property, in order (icalendar gives a repeated one as a list)."""
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def text(component: Component, name: str, notes: list[str]) -> str | None:
    """A TEXT property as the API takes it: SUMMARY and LOCATION trimmed (as the API trims a
    title and a location), DESCRIPTION as written (the API keeps a description's blanks, and
    our export writes them: importing it gives the same text back)."""
    value = first(component, name)
    if value is None:
        return None
    cleaned = without_controls(name, str(value), notes)
    if name != "DESCRIPTION":  # as the API trims them: `SUMMARY:<U+FEFF>` has no title either
        cleaned = stripped(cleaned)
    limit = TEXT_LIMITS[name.lower() if name != "SUMMARY" else "title"]
    if len(cleaned) > limit:
        notes.append(
            Loss(f"{name} cut to {limit} characters", f"{name} is longer than {limit} characters")
        )
        cleaned = cut(cleaned, limit)  # between two visible characters
    return cleaned or None


def without_controls(name: str, value: str, notes: list[str]) -> str:
    """A value read from property `name` without the characters the API refuses in text and
    iCalendar's TEXT cannot carry (`fields.CONTROLS`: NUL and the other controls but tab and
    line breaks, U+FFFE, U+FFFF), noting that they were left out. The one rule for every
    text an import keeps: SUMMARY, DESCRIPTION, LOCATION, and the addresses and names of
    ORGANIZER and ATTENDEE (`people.read_people`), which become description text."""
    if not CONTROLS.search(value):
        return value
    notes.append(Loss(f"{name}: control characters left out", f"{name} holds a control character"))
    return CONTROLS.sub("", value)


def sequence(component: Component) -> int:
    try:
        return int(str(first(component, "SEQUENCE") or 0).strip())
    except ValueError:
        return 0


def cancelled(component: Component) -> bool:
    return str(first(component, "STATUS") or "").strip().upper() == "CANCELLED"


def cancel(component: Component) -> None:
    """Make the component read as `cancelled` (one of a METHOD:CANCEL calendar, RFC 5546)."""
    component.pop("STATUS", None)
    component.add("STATUS", "CANCELLED")


def rule_text(component: Component, notes: list[str]) -> str | None:
    """The RRULE as written (our parser tolerates Exchange's `BYDAY=MO, TU` and trailing
    blanks, which icalendar refuses)."""
    rules = component.get("RRULE")
    if rules is None:
        return None
    if isinstance(rules, list):
        notes.append(
            Loss(
                "only the first of several RRULEs is kept",
                "it has several RRULEs (an event recurs by one rule)",
            )
        )
        rules = rules[0]
    if "EXRULE" in component:
        notes.append(
            Loss(
                "EXRULE (deprecated by RFC 5545) ignored",
                "it has an EXRULE (deprecated by RFC 5545): an event excludes occurrences by "
                "EXDATE",
            )
        )
    # A broken RRULE (a str) is kept as written; a parsed one is written back.
    return str(rules) if isinstance(rules, str) else str(rules.to_ical().decode())


def calendar_header(calendar: CalendarBlock) -> tuple[Component, list[str]]:
    """The calendar's own properties (none if unreadable), and notes saying why."""
    crowded = bounds.calendar_oversized(calendar)
    try:
        if crowded is not None:
            raise ValueError(crowded)
        header = Calendar.from_ical(calendar.header())
    except ValueError as exc:
        return Calendar(), [f"calendar properties unreadable: {exc}"]
    return (header if isinstance(header, Calendar) else Calendar()), []


def calendar_zone(header: Component, notes: list[str]) -> str | None:
    """The first X-WR-TIMEZONE that names a zone (feeds repeat their header lines)."""
    zone = None
    for value in dict.fromkeys(str(v).strip() for v in every(header, "X-WR-TIMEZONE")):
        name = iana_name(value)
        if name is None:
            notes.append(f"X-WR-TIMEZONE {value!r} is not a known zone: ignored")
        elif zone is None:
            zone = name
        elif name != zone:
            notes.append(f"X-WR-TIMEZONE {value!r} ignored: the first one, {zone!r}, is used")
    return zone


def cancels_all(header: Component) -> bool:
    """Whether a calendar is a METHOD:CANCEL one (a saved "cancelled" email, RFC 5546): every
    event of it is cancelled."""
    return str(first(header, "METHOD") or "").strip().upper() == "CANCEL"
