"""Reminders in iCalendar (RFC 5545 §3.6.6): VALARMs out, the importer's reminders in.
Pure: neither the web framework nor the database.

Out: each of the reader's own reminders is one `VALARM` (ACTION:DISPLAY, the event's title as
DESCRIPTION, TRIGGER a duration before the start: `-PT10M`, `PT0S`). In: a VALARM whose
TRIGGER is a duration relative to the start (RELATED=START, the default), zero or before it,
in whole minutes up to MAX_MINUTES_BEFORE, becomes a reminder, and so does one related to the
end, or at a date-time before a single event, that falls so; at most MAX_REMINDERS distinct
ones, in the file's order. Anything else is noted, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Alarm, Component
from icalendar.parser import Contentline, Parameters
from icalendar.prop import vDDDTypes

from neo_events.ical.texts import Text
from neo_events.reminders.schemas import MAX_MINUTES_BEFORE, MAX_REMINDERS


def add_alarms(component: Component, minutes_before: Iterable[int]) -> Component:
    """The component (a VEVENT) with one display alarm per reminder, named after its title."""
    title = str(component.get("SUMMARY", "")) or "Event"
    for minutes in minutes_before:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", Text(title))
        alarm.add("trigger", timedelta(minutes=-minutes))
        component.add_component(alarm)
    return component


def read_alarms(
    alarms: Iterable[Iterable[str]], notes: list[str], span: Span | None = None
) -> tuple[int, ...]:
    """The reminders (minutes before the start) of a VEVENT's VALARMs, each given as its own
    content lines (`Block.apart`); what cannot be one is noted. Only ACTION and TRIGGER are
    parsed (by icalendar's content-line and value parsers): each alarm is looked at once.
    With the event's `span`, a TRIGGER related to its end, or at a date-time (a single event
    only: a series' alarm at one instant goes off once), counts as the minutes it is before
    the start, when that is a reminder."""
    found: list[int] = []
    for lines in alarms:
        minutes, reason = _minutes_before(_wanted(lines), span)
        if minutes is None:
            notes.append(f"a VALARM was not kept as a reminder: {reason}")
        elif minutes in found:
            continue
        elif len(found) >= MAX_REMINDERS:
            notes.append(
                f"a VALARM {minutes} minutes before was not kept: "
                f"at most {MAX_REMINDERS} reminders per event"
            )
        else:
            found.append(minutes)
    return tuple(found)


def _wanted(lines: Iterable[str]) -> dict[str, tuple[Parameters, str] | None]:
    """The first ACTION and TRIGGER of an alarm's lines, (parameters, value) each; None for
    one that cannot be read."""
    found: dict[str, tuple[Parameters, str] | None] = {}
    for line in lines:
        head, colon, rest = line.partition(":")
        name = head.partition(";")[0].strip().upper()
        if name not in ("ACTION", "TRIGGER") or name in found:
            continue
        if colon and ";" not in head:  # no parameters: the value is all after the colon
            found[name] = (Parameters(), rest)
            continue
        try:
            _, parameters, value = Contentline(line).parts()  # type: ignore[no-untyped-call]
        except ValueError:
            found[name] = None
        else:
            found[name] = (parameters, value)
    return found


@dataclass(frozen=True, slots=True)
class Span:
    """The event an alarm belongs to: its start and end instants, and whether it recurs."""

    start: datetime
    end: datetime
    recurring: bool


def _minutes_before(
    wanted: dict[str, tuple[Parameters, str] | None], span: Span | None
) -> tuple[int | None, str]:
    action = wanted.get("ACTION")
    if action is not None and action[1].strip().upper() == "NONE":  # RFC 9074 §7: never goes off
        return None, "ACTION:NONE"
    if "TRIGGER" not in wanted:
        return None, "it has no TRIGGER"
    trigger = wanted["TRIGGER"]
    if trigger is None:
        return None, "its TRIGGER cannot be read"
    parameters, written = trigger[0], trigger[1].strip()  # phpicalendar: `-PT5M `
    try:
        value = vDDDTypes.from_ical(written)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError):
        return None, f"its TRIGGER {written} cannot be read"
    kind, related = parameters.get("VALUE", ""), parameters.get("RELATED", "START")
    if not isinstance(kind, str) or not isinstance(related, str):  # `VALUE=DURATION,X`
        return None, "its TRIGGER has a parameter of several values"
    related = related.upper()
    if not isinstance(value, timedelta) or kind.upper() == "DATE-TIME":
        at = value if isinstance(value, datetime) and value.tzinfo is not None else None
        if span is None or span.recurring or at is None:
            return None, "its TRIGGER is a date-time, not relative to the start"
        before = span.start - at
    elif related == "END" and span is not None:
        before = span.start - (span.end + value)
    elif related != "START":
        return None, f"its TRIGGER is relative to the {related.lower()}, not the start"
    else:
        before = -value
    if before < timedelta(0):
        return None, f"its TRIGGER {written} is after the start"
    if before % timedelta(minutes=1):
        return None, f"its TRIGGER {written} is not a whole number of minutes"
    minutes = before // timedelta(minutes=1)
    if minutes > MAX_MINUTES_BEFORE:
        return None, f"its TRIGGER {written} is more than {MAX_MINUTES_BEFORE} minutes"
    return minutes, ""
