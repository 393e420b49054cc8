"""Reminders in iCalendar (RFC 5545 §3.6.6): VALARMs out, the importer's reminders in.
Pure: neither the web framework nor the database.

Out: each of the reader's own reminders is one `VALARM` (ACTION:DISPLAY, the event's title as
DESCRIPTION, TRIGGER a duration before the start: `-PT10M`, `PT0S`). In: a VALARM whose
TRIGGER is a duration relative to the start (RELATED=START, the default), zero or before it,
in whole minutes up to MAX_MINUTES_BEFORE, becomes a reminder; at most MAX_REMINDERS distinct
ones, in the file's order. Anything else is noted, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from icalendar import Alarm, Component

from neo_events.reminders.schemas import MAX_MINUTES_BEFORE, MAX_REMINDERS


def add_alarms(component: Component, minutes_before: Iterable[int]) -> Component:
    """The component (a VEVENT) with one display alarm per reminder, named after its title."""
    title = str(component.get("SUMMARY", "")) or "Event"
    for minutes in minutes_before:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", title)
        alarm.add("trigger", timedelta(minutes=-minutes))
        component.add_component(alarm)
    return component


def read_alarms(component: Component, notes: list[str]) -> tuple[int, ...]:
    """The reminders (minutes before the start) of a VEVENT's VALARMs; what cannot be one
    is noted. Bounded: a VEVENT's VALARMs are parsed already; each is looked at once."""
    found: list[int] = []
    for alarm in component.subcomponents:
        if alarm.name != "VALARM":
            continue
        minutes, reason = _minutes_before(alarm)
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


def _minutes_before(alarm: Component) -> tuple[int | None, str]:
    action = str(alarm.get("ACTION", "")).upper()
    if action == "NONE":  # RFC 9074 §7: an alarm that never goes off
        return None, "ACTION:NONE"
    trigger = alarm.get("TRIGGER")
    if trigger is None:
        return None, "it has no TRIGGER"
    value = getattr(trigger, "dt", None)
    if not isinstance(value, timedelta):
        return None, "its TRIGGER is a date-time, not relative to the start"
    related = str(trigger.params.get("RELATED", "START")).upper()
    if related != "START":
        return None, f"its TRIGGER is relative to the {related.lower()}, not the start"
    before = -value
    if before < timedelta(0):
        return None, f"its TRIGGER {_text(trigger)} is after the start"
    if before % timedelta(minutes=1):
        return None, f"its TRIGGER {_text(trigger)} is not a whole number of minutes"
    minutes = before // timedelta(minutes=1)
    if minutes > MAX_MINUTES_BEFORE:
        return None, f"its TRIGGER {_text(trigger)} is more than {MAX_MINUTES_BEFORE} minutes"
    return minutes, ""


def _text(trigger: object) -> str:
    to_ical = getattr(trigger, "to_ical", None)
    raw = to_ical() if callable(to_ical) else trigger
    return raw.decode() if isinstance(raw, bytes) else str(raw)
