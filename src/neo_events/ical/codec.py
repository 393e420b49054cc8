"""RFC 5545 in and out, with icalendar: event contents to a VCALENDAR (export.py), a calendar
file to event contents plus what was skipped and why. Pure: neither the web framework nor the
database.

Import reads each component on its own (see blocks.py), so a broken component is reported and
the rest is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component, Timezone
from icalendar.error import GloballyUniqueTZIDGuessed

from neo_events.events import days, recurrence
from neo_events.ical import bounds, losses, parsing, properties, vevents
from neo_events.ical.alarms import Span, read_alarms
from neo_events.ical.blocks import Block, CalendarBlock, MalformedStream, split_stream
from neo_events.ical.decoding import decode
from neo_events.ical.export import Outgoing, Piece, assemble, export_calendar, piece
from neo_events.ical.people import Attendance, read_people
from neo_events.ical.times import Clock, Unreadable, left_out
from neo_events.ical.zones import StreamWork, ZoneResolver

__all__ = [
    "Incoming",
    "InvalidCalendar",
    "Note",
    "Outgoing",
    "ParsedCalendar",
    "Piece",
    "Skipped",
    "assemble",
    "export_calendar",
    "parse_calendar",
    "piece",
    "read_calendars",
]
MAX_LINES = bounds.MAX_LINES  # a component's content lines (ical/bounds.py)

Alarms = list[list[str]]  # each VALARM of a component as its own content lines (`Block.apart`)


class InvalidCalendar(ValueError):
    """Nothing could be read: the structure is broken, or no component could be parsed."""

    def __init__(self, message: str, *, line: int | None, problems: Sequence[Skipped] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A component that was not imported."""

    uid: str | None
    component: str
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Note:
    """Something changed or guessed on the way in (a zone mapped, an RDATE split off, …)."""

    uid: str | None
    line: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One event to create: canonical content (events/content.py) and the UID it came from."""

    uid: str
    line: int
    content: dict[str, Any]
    people: tuple[Attendance, ...] = ()  # its ORGANIZER and ATTENDEEs
    reminders: tuple[int, ...] = ()  # its VALARMs, as the importer's reminders
    # the ORGANIZER and ATTENDEEs of each RECURRENCE-ID VEVENT of the series, by occurrence
    # (its instant, or an all-day series' date): their PARTSTATs are answers for that one
    occurrence_people: Mapping[date | datetime, tuple[Attendance, ...]] = field(
        default_factory=dict
    )


@dataclass(slots=True)
class ParsedCalendar:
    events: list[Incoming] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


# Import


def parse_calendar(data: bytes, *, default_timezone: str = "UTC") -> ParsedCalendar:
    """The events of a calendar file (several VCALENDARs may follow one another).

    Floating times and all-day dates are read in the calendar's X-WR-TIMEZONE, else in
    `default_timezone`. Raises InvalidCalendar when the structure is broken, or when no
    component could be read and at least one failed to parse.
    """
    text, encoding_note = decode(data)
    try:
        calendars = split_stream(text)
    except MalformedStream as exc:
        raise InvalidCalendar(exc.message, line=exc.line) from None
    return read_calendars(calendars, default_timezone=default_timezone, note=encoding_note)


def read_calendars(
    calendars: Sequence[CalendarBlock], *, default_timezone: str = "UTC", note: str | None = None
) -> ParsedCalendar:
    """`parse_calendar` of a stream already cut into its calendars (`blocks.split_stream`),
    for a reader that looked at its blocks first (a CalDAV resource); `note` heads the notes."""
    with parsing.alone() as caught:  # its warnings and its VTIMEZONEs its own
        reader = _Reader(default_timezone)
        parsed = reader.read(calendars)
    messages = [note] if note else []
    # A guessed vendor TZID is noted per event already (zones.guessed_name).
    messages += dict.fromkeys(
        str(w.message) for w in caught if not issubclass(w.category, GloballyUniqueTZIDGuessed)
    )
    parsed.notes[:0] = [Note(None, None, m) for m in messages]
    if not parsed.events and reader.unreadable:
        first = reader.unreadable[0]
        raise InvalidCalendar(first.reason, line=first.line, problems=reader.unreadable)
    return parsed


class _Reader:
    def __init__(self, default_timezone: str) -> None:
        self.default_timezone = default_timezone
        self.result = ParsedCalendar()
        self.unreadable: list[Skipped] = []
        self.drafts: dict[str, tuple[vevents.Draft, int]] = {}
        self.people: dict[str, tuple[Attendance, ...]] = {}
        self.reminders: dict[str, tuple[int, ...]] = {}
        self.skipped_uids: set[str] = set()
        self.cancelled_by_method: set[int] = set()  # VEVENTs (their lines) of METHOD:CANCEL
        self.singles: list[Incoming] = []
        self.zone_budget = bounds.ZoneBudget()  # of the VTIMEZONEs parsed, in every VCALENDAR
        self.zones_work = StreamWork()  # what resolving its TZIDs cost, in every VCALENDAR

    def note(self, uid: str | None, line: int | None, messages: Iterable[str]) -> None:
        self.result.notes.extend(Note(uid, line, m) for m in dict.fromkeys(messages))

    def skip(self, uid: str | None, block: Block, reason: str) -> None:
        self.result.skipped.append(Skipped(uid, block.name, block.line, reason))

    def read(self, calendars: Sequence[CalendarBlock]) -> ParsedCalendar:
        pending: list[tuple[Component, Alarms, str, Block, Clock]] = []
        for calendar in calendars:
            header, notes = properties.calendar_header(calendar)
            clock = self._clock(calendar, header, notes)
            cancels = properties.cancels_all(header)
            for block in calendar.components:
                if block.name == "VTIMEZONE":
                    continue
                read = self._component(block)
                if read is None:
                    continue
                component, alarms = read
                uid = self._uid(component, block)
                if block.name != "VEVENT":
                    self.skip(
                        uid, block, f"{block.name} is not an event: only VEVENTs are imported"
                    )
                    continue
                if cancels and not properties.cancelled(component):
                    properties.cancel(component)  # then read as a STATUS:CANCELLED one is
                    self.cancelled_by_method.add(block.line)
                if "RECURRENCE-ID" in component:
                    pending.append((component, alarms, uid, block, clock))
                else:
                    self._master(component, alarms, uid, block, clock)
        for component, alarms, uid, block, clock in pending:
            self._occurrence(component, alarms, uid, block, clock)
        found = [
            (
                line,
                Incoming(
                    uid,
                    line,
                    content,
                    self.people.get(uid, ()),
                    self.reminders.get(uid, ()),
                    self._occurrence_people(uid, draft, line) if content["is_recurring"] else {},
                ),
            )
            for uid, (draft, line) in self.drafts.items()
            for content in draft.contents()
        ] + [(item.line, item) for item in self.singles]
        self.result.events = [item for _, item in sorted(found, key=lambda pair: pair[0])]
        return self.result

    def _clock(self, calendar: CalendarBlock, header: Component, notes: list[str]) -> Clock:
        zone = properties.calendar_zone(header, notes)
        # only the VTIMEZONEs an event names are parsed, within budgets of observances and dates
        custom, named = {}, bounds.named_zones(calendar.components)
        for block in calendar.components:
            if block.name != "VTIMEZONE" or bounds.zone_id(block) not in named:
                continue
            reason = self.zone_budget.refusal(block)
            if reason is not None:
                notes.append(f"VTIMEZONE of line {block.line} ignored: {reason}")
                continue
            try:
                vtimezone = Timezone.from_ical(block.text)
                if isinstance(vtimezone, Timezone):
                    tzid = str(vtimezone.get("TZID", "")).strip()
                    custom[tzid] = vtimezone  # its offsets are worked out when needed
            except (ValueError, TypeError, KeyError) as exc:
                notes.append(f"VTIMEZONE of line {block.line} ignored: {exc}")
        self.note(None, calendar.line, notes)
        return Clock(
            floating=zone or self.default_timezone,
            calendar_zone=zone,
            zones=ZoneResolver(custom, prefer=zone, work=self.zones_work),
            notes=[],
        )

    def _component(self, block: Block) -> tuple[Component, Alarms] | None:
        """The block parsed, but for its VALARMs: their lines, for `read_alarms`."""
        reason = bounds.oversized(block)
        if reason is not None:
            self.skip(_raw_uid(block), block, reason)
            return None
        text, alarms = block.apart("VALARM")
        try:
            component = Component.from_ical(text)
        # AttributeError: icalendar on a parameter of several values (`SUMMARY;VALUE=TEXT,X`);
        # RecursionError: none known since `KnownZones`, but a 500 if another input finds one
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            where = _where(block, str(exc))
            problem = Skipped(
                _raw_uid(block), block.name, block.line, f"cannot be read: {where}: {exc}"
            )
            self.result.skipped.append(problem)
            self.unreadable.append(problem)
            return None
        if not isinstance(component, Component):
            return None
        # icalendar leaves out a line it cannot parse (`SUMMARY;FOO:x`, a parameter that is
        # not NAME=value): the event would silently lose its title, an exdate or its rule
        self.note(
            _raw_uid(block),
            block.line,
            [losses.unreadable_line(_unparsed(block, error)) for error in left_out(component)],
        )
        return component, alarms

    def _uid(self, component: Component, block: Block) -> str:
        uid = str(properties.first(component, "UID") or "").strip()
        if uid:
            return uid
        made = "no-uid-" + hashlib.sha256(block.text.encode()).hexdigest()[:16]
        if block.name == "VEVENT":
            self.note(made, block.line, [f"the VEVENT has no UID: called it {made}"])
        return made

    def _master(
        self, component: Component, alarms: Alarms, uid: str, block: Block, clock: Clock
    ) -> None:
        kept = self.drafts.get(uid)
        if properties.cancelled(component):
            by_method = block.line in self.cancelled_by_method
            self.skip(uid, block, losses.CANCELLED_BY_METHOD if by_method else losses.CANCELLED)
            if kept is not None and kept[0].sequence < properties.sequence(component):
                del self.drafts[uid]  # a later revision cancels the event
                self.result.skipped.append(
                    Skipped(uid, "VEVENT", kept[1], f"cancelled by the VEVENT of line {block.line}")
                )
            if uid not in self.drafts:
                self.skipped_uids.add(uid)
            return
        notes = clock.begin(block)
        try:
            draft = vevents.master(component, uid, clock, notes)
        except (vevents.Skip, Unreadable, *UNLISTABLE) as exc:
            self.skip(uid, block, _reason(exc))
            if kept is None:
                self.skipped_uids.add(uid)
            return
        if kept is not None:
            if draft.sequence <= kept[0].sequence:
                self.skip(
                    uid, block, f"the same UID as the VEVENT of line {kept[1]}, which is kept"
                )
                return
            reason = f"replaced by the VEVENT of line {block.line} (higher SEQUENCE)"
            self.result.skipped.append(Skipped(uid, "VEVENT", kept[1], reason))
        self.drafts[uid] = (draft, block.line)
        self.people[uid] = tuple(read_people(component, notes))
        series = draft.series
        span = Span(series.start, series.end, draft.content["is_recurring"] or bool(series.rdates))
        self.reminders[uid] = read_alarms(alarms, notes, span)
        self.note(uid, block.line, notes)

    def _occurrence_people(
        self, uid: str, draft: vevents.Draft, line: int
    ) -> dict[date | datetime, tuple[Attendance, ...]]:
        """The people of each RECURRENCE-ID VEVENT of a series, by the occurrence it names."""
        zone, notes = ZoneInfo(draft.series.timezone), list[str]()
        people = {
            (days.date_in(when, zone) if draft.all_day else when): tuple(read_people(c, notes))
            for when, c in draft.occurrences.items()
            if when not in draft.exdates
        }
        self.note(uid, line, notes)
        return people

    def _occurrence(
        self, component: Component, alarms: Alarms, uid: str, block: Block, clock: Clock
    ) -> None:
        """A RECURRENCE-ID VEVENT: part of its series, else a single event of its own."""
        notes = clock.begin(block)
        entry = self.drafts.get(uid)
        rid = (block.written("RECURRENCE-ID") or "").strip()
        try:
            if entry is None or not vevents.attach(entry[0], component, clock, notes):
                if uid in self.skipped_uids:
                    raise vevents.Skip("an occurrence of a series that was not imported")
                if properties.cancelled(component):
                    raise vevents.Skip(losses.unmatched(entry is not None, rid, cancels=True))
                content = vevents.single(component, clock, notes)
                notes.append(losses.unmatched(entry is not None, rid, cancels=False))
                people = tuple(read_people(component, notes))
                reminders = read_alarms(alarms, notes)
                self.singles.append(Incoming(uid, block.line, content, people, reminders))
        except (vevents.Skip, Unreadable, *UNLISTABLE) as exc:
            self.skip(uid, block, _reason(exc))
            return
        self.note(uid, block.line, notes)


# Placing an override or a series older than 1900 expands it; occurrences centuries long, or
# dates near the year 1 or 9999, make that expansion fail: the component is skipped, saying so.
UNLISTABLE = (recurrence.ExpansionLimitExceeded, OverflowError)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UNLISTABLE):
        return "its occurrences cannot be listed (they overlap too much or reach past year 9999)"
    said = exc.args[0] if exc.args else None
    return said if isinstance(said, losses.Loss) else str(exc)  # a Loss keeps its CalDAV wording


def _raw_uid(block: Block) -> str | None:
    for _, line in block.lines:
        name, _, value = line.partition(":")
        if name.split(";")[0].strip().upper() == "UID" and value.strip():
            return value.strip()
    return None


def _unparsed(block: Block, message: str) -> str:
    """`line N (PROPERTY)` of the content line icalendar could not parse (its message quotes
    the line: `Content line could not be parsed into parts: 'SUMMARY;FOO:x': …`)."""
    quoted = message.split("parts: ", 1)[-1][1:].split("': ", 1)[0]
    for number, line in block.lines:
        if quoted and line.startswith(quoted[:40]):
            return f"line {number} ({line.split(':')[0].split(';')[0].upper()})"
    return _where(block, message)


def _where(block: Block, message: str) -> str:
    """`line N (PROPERTY)` of the content line holding the value an error message quotes."""
    token = message.rsplit(": ", 1)[-1].strip().strip("'\"")
    if len(token) >= 3:
        for number, line in block.lines:
            if token in line:
                return f"line {number} ({line.split(':')[0].split(';')[0].upper()})"
    return f"line {block.line} ({block.name})"
