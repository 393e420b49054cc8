"""Components of one shape written from one rendering (issue #16): an event's overrides.

icalendar builds a component property by property (typed values, parameter objects, TZID
lookups, canonical ordering): ~300 µs for an override's dozen lines, 0.3 s for an event of
1,000 overrides, and a calendar feed of 135 such events cost 40 s of CPU at its first poll
(an outside attack, 2026-12-04). The overrides of one event differ only in their times and
texts, so the first override of each shape (its people, which texts it has) is rendered by
icalendar as before, and becomes a stencil: its lines, the varying ones (`VARYING`, and a
VALARM's DESCRIPTION, the title again) written afresh for each override with icalendar's
own value formats, the others copied. A stencil writes the component it was made from
before it is used; where that differs by a byte from icalendar's text, the shape is always
rendered by icalendar (tests/unit/test_stencils.py holds the two to each other).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from icalendar import Component, Event

from neo_events.ical.folding import fold, to_ical
from neo_events.ical.texts import Text

# The properties an override sets itself (by icalendar's names), each on one line.
VARYING = frozenset({"SUMMARY", "DESCRIPTION", "LOCATION", "DTSTART", "DTEND", "RECURRENCE-ID"})
_ALARM_TITLE = "VALARM:DESCRIPTION"  # `alarms.add_alarms` names each alarm after the title

Fields = Mapping[str, Any]  # property (lower-case, as `Component.add` takes it) → value


class Stencils:
    """The stencils of one event's components by shape. `build(people, fields)` is the
    icalendar component (alarms added) those would make."""

    def __init__(self, build: Callable[[tuple[Any, ...], Fields], Component]) -> None:
        self._build = build
        self._known: dict[Hashable, _Stencil | None] = {}
        self.sources: list[Component] = []  # the first component of each shape (its TZIDs)

    def text(self, people: tuple[Any, ...], fields: Fields) -> bytes:
        """The component's text, as `to_ical(build(people, fields))` writes it."""
        shape = (people, frozenset(k for k, v in fields.items() if v is not None))
        if shape in self._known:
            known = self._known[shape]
            return known.fill(fields) if known is not None else to_ical(self._build(people, fields))
        component = self._build(people, fields)
        self.sources.append(component)
        text = to_ical(component)
        stencil = _Stencil.of(component)
        try:
            usable = stencil.fill(fields) == text
        except ValueError:  # a value icalendar writes otherwise than `_line` would
            usable = False
        self._known[shape] = stencil if usable else None
        return text


class _Stencil:
    """A component's folded lines, where `slots` name the lines written afresh."""

    def __init__(self, parts: list[bytes | str]) -> None:
        self.parts = parts  # fixed text, or the name of a varying line

    @classmethod
    def of(cls, component: Component) -> _Stencil:
        parts: list[bytes | str] = []
        fixed: list[bytes] = []
        inside: list[str] = []
        for line in component.content_lines():
            if not line:
                continue
            name = line.split(":", 1)[0].split(";", 1)[0].upper()
            if name == "BEGIN":  # the components the line is in, outermost first
                inside.append(line[len(name) + 1 :])
            elif name == "END":
                inside.pop()
            slot = None
            if len(inside) == 1 and name in VARYING:
                slot = name
            elif inside[-1:] == ["VALARM"] and name == "DESCRIPTION":
                slot = _ALARM_TITLE
            if slot is None:
                fixed.append(fold(line) + b"\r\n")
                continue
            if fixed:
                parts.append(b"".join(fixed))
                fixed = []
            parts.append(slot)
        if fixed:
            parts.append(b"".join(fixed))
        return cls(parts)

    def fill(self, fields: Fields) -> bytes:
        out = []
        for part in self.parts:
            if isinstance(part, bytes):
                out.append(part)
            elif part == _ALARM_TITLE:
                out.append(fold(_text_line("DESCRIPTION", fields["summary"] or "Event")))
                out.append(b"\r\n")
            else:
                out.append(fold(_line(part, fields[part.lower()])))
                out.append(b"\r\n")
        return b"".join(out)


def _text_line(name: str, value: str) -> str:
    return f"{name}:{Text(value).to_ical().decode()}"


def _line(name: str, value: Any) -> str:
    """The content line icalendar writes for `Component.add(name, value)`: text escaped by
    `texts.Text`; a date or time after the name and parameters icalendar wrote for
    the first of its kind (`_prefix`), in icalendar's value format."""
    if isinstance(value, str):
        return _text_line(name, value)
    prefix, suffix = _prefix(
        name, type(value), value.tzinfo if isinstance(value, datetime) else None, value
    )
    return f"{prefix}{_value(value)}{suffix}"


_PREFIXES: dict[tuple[str, type, tzinfo | None], tuple[str, str]] = {}


def _prefix(name: str, kind: type, zone: tzinfo | None, sample: date) -> tuple[str, str]:
    """What precedes and follows a value of this kind and zone on a `name` line, learned once
    from icalendar (the TZID it names, `VALUE=DATE`, a UTC time's `Z`)."""
    key = (name, kind, zone)
    known = _PREFIXES.get(key)
    if known is None:
        holder = Event()
        holder.add(name.lower(), sample)
        [line] = [x for x in holder.content_lines() if x.upper().startswith(name)]
        head, _, value = line.rpartition(":")
        plain = _value(sample)
        if not value.startswith(plain):
            raise ValueError(f"icalendar writes {line!r}, not a value of {plain!r}")
        known = _PREFIXES[key] = (f"{head}:", value[len(plain) :])
    return known


def _value(value: date) -> str:
    """icalendar's DATE and DATE-TIME formats (vDate, vDatetime) without a UTC `Z`."""
    text = f"{value.year:04}{value.month:02}{value.day:02}"
    if isinstance(value, datetime):
        text += f"T{value.hour:02}{value.minute:02}{value.second:02}"
    return text
