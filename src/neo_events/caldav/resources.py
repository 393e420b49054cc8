"""Events as CalDAV resources and back, through the iCalendar codec (ical/): one resource is
one event, a series with its overrides (RECURRENCE-ID components) and exdates.

Reading a resource refuses what the event model cannot hold (RFC 4791's
CALDAV:valid-calendar-data, never a silent drop). Properties the model has no field for
(X-APPLE-*, CATEGORIES, …) are kept as the client wrote them: the resource's last text is
stored, and writing an event back copies each such property (and subcomponent) into the
component with the same RECURRENCE-ID. VALARMs are not: they are each reader's own reminders
(SPEC §14), read from a write as the writer's and rendered from the reader's, never stored in
the text served to others. Pure: no web framework, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from icalendar import Calendar
from icalendar import Event as VEvent

from neo_events.caldav import extras
from neo_events.events import days, recurrence, sizes
from neo_events.events.content import TEXT_FIELDS, occurrence_key, series_of
from neo_events.events.rrule import zone_named
from neo_events.events.schemas import MAX_LIST
from neo_events.events.series_types import zoned
from neo_events.fields import CONTROLS
from neo_events.ical import bounds, codec, decoding, parsing
from neo_events.ical.alarms import add_alarms
from neo_events.ical.blocks import MalformedStream, content_lines, delimiter_of, split_stream
from neo_events.ical.export import PRODID
from neo_events.ical.folding import to_ical
from neo_events.ical.losses import refusal
from neo_events.ical.people import MAX_PEOPLE, Attendance, add_people
from neo_events.ical.service import UID_DOMAIN
from neo_events.ical.texts import Text
from neo_events.models.caldav import MAX_NAME

# What the expanded answers of one REPORT (calendar-query, calendar-multiget) may hold in all,
# in content lines, whatever the number of resources: icalendar writes an occurrence's VEVENT
# at ~16 us a line (a plain one has 11 lines, ~150-180 us), so this is under 1 s of CPU, in
# a worker thread (4,748 daily occurrences: 0.69 s, 860 KB): about 5,000 plain occurrences, a
# year of a busy calendar (20 a working day), fewer with attendees and alarms. Counted before
# anything is rendered (an occurrence costs ~1 us to find), so a refusal costs the finding of
# what fits, not the rendering of what does not.
MAX_EXPANDED_LINES = 55_000
VEVENT_LINES = 11  # BEGIN, UID, DTSTAMP, SEQUENCE, SUMMARY, DESCRIPTION, LOCATION, DTSTART,
# DTEND, RECURRENCE-ID, END
ALARM_LINES = 5  # BEGIN, ACTION, DESCRIPTION, TRIGGER, END
CALENDAR_LINES = 4  # around them: BEGIN, PRODID, VERSION, END
# ...and in bytes (`bytes_an_occurrence`), within the answer's MAX_ANSWER_BYTES:
ALARM_BYTES = 100  # a VALARM's lines besides the title it repeats


class InvalidResource(ValueError):
    """A resource the event model cannot hold; `condition` names the CalDAV precondition."""

    def __init__(self, condition: str, message: str) -> None:
        super().__init__(message)
        self.condition = condition
        self.message = message


@dataclass(frozen=True, slots=True)
class Stored:
    """What is kept of an event's resource: its name, UID, the client's last text and the
    event version that text describes."""

    name: str
    uid: str
    body: str | None
    body_version: int | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    uid: str
    content: dict[str, Any]
    text: str  # without its VALARMs
    reminders: tuple[int, ...] = ()  # the master VEVENT's VALARMs, as the writer's reminders
    people: tuple[Attendance, ...] = ()  # the master VEVENT's ORGANIZER and ATTENDEEs
    # each RECURRENCE-ID VEVENT's, by occurrence (an instant, or an all-day series' date)
    occurrence_people: Mapping[date | datetime, tuple[Attendance, ...]] = field(
        default_factory=dict
    )


def default_name(event_id: int) -> str:
    return f"event-{event_id}.ics"


def default_uid(event_id: int) -> str:
    """The UID the API's own export gives the event (ical/service.py)."""
    return f"event-{event_id}@{UID_DOMAIN}"


def render(outgoing: codec.Outgoing, stored: Stored | None, version: int) -> bytes:
    """The event as its resource: the client's own text while the event is still at the
    version it describes and nobody is on it; else the codec's VCALENDAR (no METHOD), plus the
    properties of the client's last text that the model does not hold. Either way its VALARMs
    are the reader's reminders (`outgoing.reminders`), never the ones of a stored text, and
    its ORGANIZER and ATTENDEEs the event's (`outgoing.people`, answers as they are now)."""
    if (
        stored is not None
        and stored.body is not None
        and stored.body_version == version
        and not outgoing.people
        and not _PEOPLE.search(_FOLD.sub("", stored.body))
    ):
        text = _without_alarms(stored.body)
        return _with_alarms(text, outgoing.content["title"], outgoing.reminders).encode()
    body = codec.export_calendar([outgoing], method=None)
    if stored is None or stored.body is None:
        return body
    return extras.splice(body, stored.body)


# An ORGANIZER or ATTENDEE content line of an unfolded text, its line ended by CR LF, LF or
# CR (`^` of re.MULTILINE follows LF only: a CR-ended text's were served to every holder),
# blanks around the name as `blocks.property_of` strips them (erring towards rendering).
_PEOPLE = re.compile(r"(?:\A|[\r\n])[^\S\r\n]*(?:ATTENDEE|ORGANIZER)[^\S\r\n]*[;:]", re.IGNORECASE)
_FOLD = re.compile(r"(?:\r\n|\n|\r)[ \t]")  # a line break that continues the line (RFC 5545)


def _without_alarms(text: str) -> str:
    """The text with no VALARM component, however its lines are spelled or folded (read off
    the unfolded lines: `Block.apart`); a text without one is returned as written. A VALARM
    is its writer's own reminder (SPEC §14), never kept for other readers. Every GET of a
    stored text passes here: one without the word, folds undone, is returned unsplit."""
    if "VALARM" not in _FOLD.sub("", text).upper():
        return text
    try:
        calendars = split_stream(text)
    except MalformedStream:
        return text
    cut = [[block.apart("VALARM") for block in calendar.components] for calendar in calendars]
    if not any(alarms for parts in cut for _, alarms in parts):
        return text
    lines: list[str] = []
    for calendar, parts in zip(calendars, cut, strict=True):
        lines += ["BEGIN:VCALENDAR", *calendar.properties]
        for kept, _ in parts:
            lines += kept.split("\r\n")[:-1]  # its lines, each ending in CRLF
        lines.append("END:VCALENDAR")
    return b"".join(extras.fold(line) for line in lines).decode()


def _with_alarms(text: str, title: str, minutes_before: Iterable[int]) -> str:
    """The text with one VALARM per reminder in each VEVENT (as the codec writes them)."""
    minutes = list(minutes_before)
    if not minutes:
        return text
    named = VEvent()
    named.add("summary", title)
    alarms = add_alarms(named, minutes).subcomponents
    block = "".join(to_ical(alarm).decode() for alarm in alarms)
    kept = []
    # each line as `blocks.split_stream` reads it: cut at CR LF, LF and CR only, folds undone
    for line in content_lines(text):
        if delimiter_of(_FOLD.sub("", line)) == ("END", "VEVENT"):
            kept.append(block)
        kept.append(line)
    return "".join(kept)


# Components of one resource: an event, its instances (RECURRENCE-ID VEVENTs: up to MAX_LIST
# overrides, MAX_LIST cancelled ones, which Google writes for exdates, and those our own
# export writes for answers alone) and the zones they name. 5,000 VEVENTs of one
# RECURRENCE-ID were parsed (1 s) before they were refused; two of one are refused unread.
MAX_COMPONENTS = 3 * MAX_LIST + 101


def storable(value: str) -> bool:
    """Whether a resource may have this name, or this UID: at most MAX_NAME characters, and
    no NUL (which PostgreSQL's text cannot hold, and the API refuses in every field)."""
    return len(value) <= MAX_NAME and "\x00" not in value


def read(data: bytes, zone: str) -> Incoming:
    """One resource's event content, or InvalidResource saying what cannot be held. Its
    floating times and all-day dates fall in `zone` (the writer's own: its calendar-timezone).

    The text is cut into its components once (`blocks.split_stream`): what a resource must
    be (one VCALENDAR of VEVENTs with one UID, at most MAX_PEOPLE attendees and
    `codec.MAX_LINES` lines a component) is read off them, before the codec parses each
    component, where each is parsed for the only time."""
    try:
        text = decoding.utf8(data)
        calendars = split_stream(text)
    except (UnicodeDecodeError, MalformedStream) as exc:
        raise InvalidResource("valid-calendar-data", f"not an iCalendar object: {exc}") from None
    if "\x00" in text:  # kept as sent (calendar_resources.body): the API refuses it too
        raise InvalidResource("valid-calendar-data", "the text holds a NUL character")
    if CONTROLS.search(text):  # which iCalendar and XML cannot carry, and the API refuses
        raise InvalidResource(
            "valid-calendar-data", "the text holds a control character (other than a tab)"
        )
    if len(calendars) != 1:
        raise InvalidResource("valid-calendar-data", "a resource holds one VCALENDAR")
    too_many = bounds.calendar_oversized(calendars[0])
    if too_many is not None:
        raise InvalidResource("valid-calendar-data", too_many)
    try:  # the calendar's own lines (the codec parses each component's), as it parses: alone
        with parsing.alone():
            Calendar.from_ical(calendars[0].header())
    except ValueError as exc:
        raise InvalidResource("valid-calendar-data", f"not an iCalendar object: {exc}") from None
    blocks = calendars[0].components
    if len(blocks) > MAX_COMPONENTS:
        message = f"a resource holds at most {MAX_COMPONENTS} components (an event, its instances)"
        raise InvalidResource("valid-calendar-data", message)
    if any(len(block.lines) > codec.MAX_LINES for block in blocks):
        message = f"a component has more than {codec.MAX_LINES} lines (properties)"
        raise InvalidResource("valid-calendar-data", message)
    for block in blocks:
        reason = bounds.oversized(block)
        if reason is not None:
            raise InvalidResource("valid-calendar-data", f"a {block.name} {reason}")
    # the zones its events name, within the budgets an import parses a file's by (raw lines)
    named, zones = bounds.named_zones(blocks), bounds.ZoneBudget()
    for block in blocks:
        if block.name == "VTIMEZONE" and bounds.zone_id(block) in named:
            reason = zones.refusal(block)
            if reason is not None:
                raise InvalidResource("valid-calendar-data", f"a VTIMEZONE is not read: {reason}")
    components = [block for block in blocks if block.name != "VTIMEZONE"]
    if not components:
        raise InvalidResource("valid-calendar-object-resource", "the resource holds no VEVENT")
    if any(block.name != "VEVENT" for block in components):
        names = sorted({block.name for block in components} - {"VEVENT"})
        raise InvalidResource(
            "supported-calendar-component", f"only VEVENTs are stored, not {', '.join(names)}"
        )
    crowded = max(len(block.values("ATTENDEE")) for block in components)
    if crowded > MAX_PEOPLE:
        raise InvalidResource(
            "valid-calendar-data", f"{crowded} ATTENDEEs; an event has at most {MAX_PEOPLE}"
        )
    instances = [rid.strip() for b in components if (rid := b.written("RECURRENCE-ID"))]
    if len(set(instances)) < len(instances):
        raise InvalidResource(
            "valid-calendar-object-resource", "two VEVENTs of a resource have one RECURRENCE-ID"
        )
    written = [block.values("UID") for block in components]
    uids = {(found[0] if found else "").strip() for found in written}
    if any(len(found) > 1 for found in written):  # RFC 5545: UID at most once a component
        raise InvalidResource("valid-calendar-object-resource", "a VEVENT has one UID")
    if "" in uids:
        raise InvalidResource(
            "valid-calendar-object-resource", "a VEVENT has no UID (RFC 5545 requires one)"
        )
    if len(uids) != 1:
        raise InvalidResource(
            "valid-calendar-object-resource",
            "the VEVENTs of a resource have different UIDs (a resource holds one event)",
        )
    if len(components) - len(instances) > 1:
        raise InvalidResource(
            "valid-calendar-object-resource",
            "two VEVENTs of a resource have no RECURRENCE-ID (a resource holds one event)",
        )
    if not storable(next(iter(uids))):
        raise InvalidResource("valid-calendar-data", f"a UID has at most {MAX_NAME} characters")
    try:
        parsed = codec.read_calendars(calendars, default_timezone=zone)
    except codec.InvalidCalendar as exc:
        raise InvalidResource("valid-calendar-data", exc.message) from None
    if parsed.skipped:  # a VEVENT the import would leave out, in the words of a refusal
        skipped = parsed.skipped[0]
        reason = refusal(skipped.reason) or f"a {skipped.component}: {skipped.reason}"
        raise InvalidResource("valid-calendar-data", reason)
    # what the import would keep otherwise than written, and warn of (ical/losses.py)
    lost = next((said for n in parsed.notes if (said := refusal(n.message))), None)
    if lost is not None:
        raise InvalidResource("valid-calendar-data", lost)
    if len(parsed.events) != 1:
        raise InvalidResource("valid-calendar-data", "the resource does not make one event")
    [event] = parsed.events
    return Incoming(
        uid=event.uid,
        content=event.content,
        text=_without_alarms(text),
        reminders=event.reminders,
        people=event.people,
        occurrence_people=event.occurrence_people,
    )


def lines_an_occurrence(outgoing: codec.Outgoing) -> int:
    """At least the content lines of one VEVENT `expanded` writes for the event: its own, one
    per organizer and attendee, and each of the reader's VALARMs."""
    return VEVENT_LINES + len(outgoing.people) + ALARM_LINES * len(outgoing.reminders)


def bytes_an_occurrence(outgoing: codec.Outgoing) -> int:
    """About the bytes of one VEVENT `expanded` writes for the event, as `sizes` estimates a
    VEVENT (its longest title, description and location of the series and its overrides, as
    written), and each of the reader's VALARMs with the title again. An expansion's
    occurrences are counted against the answer's bytes before any is rendered (each VEVENT
    repeats the texts: 10 KB of them over 13 years were 183 MB)."""
    content = outgoing.content
    longest = {
        name: max(
            (content.get(name) or "", *(o.get(name) or "" for o in content["overrides"])),
            key=sizes.text_bytes,
        )
        for name in TEXT_FIELDS
    }
    alarms = len(outgoing.reminders) * (ALARM_BYTES + sizes.text_bytes(longest["title"]))
    return sizes.vevent_bytes(longest, len(outgoing.people)) + alarms


def occurrences(
    outgoing: codec.Outgoing, start: datetime, end: datetime, limit: int, zone: str | None = None
) -> list[recurrence.Occurrence]:
    """The event's occurrences overlapping [start, end), an all-day one's days from `zone`'s
    midnights (None: its own zone's): ExpansionLimitExceeded past `limit`."""
    return recurrence.expand(zoned(series_of(outgoing.content), zone), start, end, limit=limit)


def expanded(
    outgoing: codec.Outgoing, found: Iterable[recurrence.Occurrence], zone: str | None = None
) -> bytes:
    """The event's occurrences `found` (`occurrences`, in `zone`) as VEVENTs in UTC, each
    with its RECURRENCE-ID and no RRULE (CALDAV:expand, RFC 4791 §9.6.5)."""
    content = outgoing.content
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    overrides: Mapping[str, Mapping[str, Any]] = {
        o["recurrence_id"]: o for o in content["overrides"]
    }
    # An all-day series' occurrences are dates (VALUE=DATE): the days they were placed at
    # the midnights of in `zone` (the days they are, wherever the reader is: SPEC §4)
    placed = zone_named(zone or content["timezone"])
    when: Callable[[datetime], date | datetime] = (
        (lambda instant: days.date_in(instant, placed))
        if content["all_day"]
        else (lambda instant: instant.astimezone(UTC))
    )
    for occurrence in found:
        component = VEvent()
        component.add("uid", outgoing.uid)
        component.add("dtstamp", outgoing.last_modified.astimezone(UTC))
        component.add("sequence", outgoing.sequence)
        # (an all-day occurrence is named by its date, where its answers are kept too)
        key, named = occurrence_key(content, when(occurrence.recurrence_id))
        changed = overrides.get(key, {})
        component.add("summary", Text(changed.get("title", content["title"])))
        for name in ("description", "location"):
            value = changed.get(name, content[name])
            if value:
                component.add(name, Text(value))
        component.add("dtstart", when(occurrence.start))
        component.add("dtend", when(occurrence.end))
        if content["is_recurring"]:
            component.add("recurrence-id", when(occurrence.recurrence_id))
        add_people(component, outgoing.people_at(named))
        calendar.add_component(add_alarms(component, outgoing.reminders))
    return to_ical(calendar)
