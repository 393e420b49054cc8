"""Event contents to RFC 5545: a VCALENDAR (METHOD:PUBLISH) with each event in its own zone.

DTSTART/DTEND carry the event's TZID, with a VTIMEZONE per zone that holds for the events'
whole span (vtimezones.py); then RRULE, EXDATE, and every override as a VEVENT with
RECURRENCE-ID. Pure: neither the web framework nor the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache, partial
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, Event
from icalendar.prop import vDuration, vRecur

from neo_events.events import days, recurrence
from neo_events.events.content import series_of, span_of
from neo_events.events.rrule import parse_rule
from neo_events.events.sizes import MAX_RENDERED_BYTES, rendered_bytes, vevent_bytes
from neo_events.ical.alarms import add_alarms
from neo_events.ical.folding import to_ical
from neo_events.ical.people import Attendance, add_people, with_answers
from neo_events.ical.readers import readers_rule
from neo_events.ical.stencils import Stencils
from neo_events.ical.texts import Text
from neo_events.ical.times import skipped_or_repeated
from neo_events.ical.vtimezone_text import vtimezone_text

PRODID = "-//Neo Events//Neo Events//EN"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One event to export: its canonical content and the bookkeeping a VEVENT carries."""

    uid: str
    sequence: int
    created: datetime
    last_modified: datetime
    content: Mapping[str, Any]
    people: Sequence[Attendance] = ()  # the organizer and attendees (SPEC §13)
    reminders: Sequence[int] = ()  # the reader's own, minutes before: VALARMs (SPEC §14)
    # per-occurrence answers: {recurrence id (an all-day one's floating instant): {email: response}}
    answers: Mapping[datetime, Mapping[str, str]] = field(default_factory=dict)

    def people_at(self, recurrence_id: datetime) -> list[Attendance]:
        """The people of one occurrence, with their answers for it (SPEC §13)."""
        return with_answers(self.people, self.answers.get(recurrence_id, {}))


@dataclass(frozen=True, slots=True)
class Piece:
    """One event's VEVENTs as text (the master, its overrides, their VALARMs), with what the
    calendar around them needs: the TZIDs they name and, for a timed event, its zone's span.
    A calendar is its header, the VTIMEZONEs of its pieces, then the pieces (`assemble`), so a
    piece depends on its event alone and can be kept while the event does not change."""

    text: bytes
    tzids: frozenset[str]
    span: tuple[str, datetime, datetime | None] | None  # (zone, first start, last end)


def export_calendar(
    events: Sequence[Outgoing],
    *,
    name: str | None = None,
    refresh: timedelta | None = None,
    method: str | None = "PUBLISH",
) -> bytes:
    """A VCALENDAR (METHOD:PUBLISH, or no METHOD for a CalDAV resource, RFC 4791 §4.1)
    holding the events, with a VTIMEZONE for each zone used."""
    return assemble([piece(event) for event in events], name=name, refresh=refresh, method=method)


@dataclass(frozen=True, slots=True)
class _Override:
    """An override's VEVENT before it is written: its people and its own properties (by
    `Component.add`'s names; None: not written), the rest as the event's (`_override`)."""

    people: tuple[Attendance, ...]
    fields: dict[str, Any]


def piece(event: Outgoing) -> Piece:
    """The event's VEVENTs as they appear in any calendar that holds it: the master through
    icalendar, the overrides through stencils of it (`stencils.py`: ten times cheaper)."""
    all_day = bool(event.content.get("all_day"))  # dates: floating, no VTIMEZONE
    stencils = Stencils(partial(_override, event))
    texts, components = [], []
    for part in _all_day_vevents(event) if all_day else _vevents(event):
        if isinstance(part, _Override):
            texts.append(stencils.text(part.people, part.fields))
            continue
        components.append(add_alarms(part, event.reminders))
        texts.append(to_ical(components[-1]))
    if all_day:
        return Piece(b"".join(texts), frozenset(), None)
    holder = Calendar()
    holder.subcomponents = [*components, *stencils.sources]
    # UTC values are written as `…Z` and need no VTIMEZONE (RFC 5545 §3.3.5).
    tzids = frozenset(holder.get_used_tzids())
    first, last = span_of(series_of(event.content))
    return Piece(b"".join(texts), tzids, (event.content["timezone"], first, last))


def _override(
    event: Outgoing, people: tuple[Attendance, ...], fields: Mapping[str, Any]
) -> Component:
    """An override's VEVENT through icalendar, its alarms added."""
    component = _stamped(event, people)
    for name, value in fields.items():
        if value is not None:
            component.add(name, value)
    return add_alarms(component, event.reminders)


def _override_texts(values: Mapping[str, Any]) -> dict[str, Any]:
    """The description and location a VEVENT writes: those that are not empty (None)."""
    return {
        name: Text(values[name]) if values.get(name) else None
        for name in ("description", "location")
    }


def assemble(
    pieces: Iterable[Piece],
    *,
    name: str | None = None,
    refresh: timedelta | None = None,
    method: str | None = "PUBLISH",
) -> bytes:
    """The VCALENDAR of these pieces, in this order, after one VTIMEZONE per zone they name
    (covering the span of every timed event in that zone)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", Text(name))
    if refresh:
        calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        ttl = vDuration(refresh).to_ical()  # type: ignore[no-untyped-call]
        calendar.add("x-published-ttl", ttl.decode())
    spans: dict[str, tuple[datetime, datetime | None]] = {}
    used: set[str] = set()
    texts = []
    for each in pieces:
        texts.append(each.text)
        used |= each.tzids
        if each.span is None:
            continue
        zone, first, last = each.span
        if zone in spans:
            known_first, known_last = spans[zone]
            first = min(first, known_first)
            last = None if last is None or known_last is None else max(last, known_last)
        spans[zone] = (first, last)
    # UTC values are written as `…Z` and need no VTIMEZONE (RFC 5545 §3.3.5). Each zone's
    # is written once per worker and span (serializing it was half the cost of a zoned
    # event's text), before the pieces, where the calendar would write it.
    zones = [
        _vtimezone_text(zone, spans[zone][0].year, _year(spans[zone][1])) for zone in sorted(used)
    ]
    head = to_ical(calendar)
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    return b"".join([head[: -len(end)], *zones, *texts, end])


def zone_calendar(zone: str, year: int) -> str:
    """A VCALENDAR holding only the zone's VTIMEZONE from `year` on: the value of a CalDAV
    collection's CALDAV:calendar-timezone (RFC 4791 §5.2.2)."""
    head = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\nCALSCALE:GREGORIAN\r\n"
    zone_text = _vtimezone_text(zone, year, None).decode()
    return f"{head}{zone_text}END:VCALENDAR\r\n"


def _year(value: datetime | None) -> int | None:
    return None if value is None else value.year


@lru_cache(maxsize=1024)
def _vtimezone_text(zone: str, first_year: int, last_year: int | None) -> bytes:
    """The zone's VTIMEZONE from `first_year` to `last_year` (None: for ever after) as text;
    vtimezone_text() reads only the years of its bounds."""
    first = datetime(first_year, 1, 1, tzinfo=UTC)
    last = None if last_year is None else datetime(last_year, 1, 1, tzinfo=UTC)
    return vtimezone_text(zone, first, last)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _local(value: str | datetime, zone: ZoneInfo, *, exact: bool = False) -> datetime:
    """An instant as the zone's wall clock (TZID form); UTC when `exact` and the wall clock
    would name another instant (the second 02:30 of an autumn night)."""
    instant = (_parse(value) if isinstance(value, str) else value).astimezone(UTC)
    wall = instant.astimezone(zone)
    if exact and wall.replace(fold=0).astimezone(UTC) != instant:
        return instant
    return wall


def _vevents(event: Outgoing) -> Iterable[Event | _Override]:
    content = event.content
    zone = ZoneInfo(content["timezone"])
    master = _stamped(event)
    master.add("summary", Text(content["title"]))
    _texts(master, content)
    if not content["is_recurring"] and not content.get("rdates"):
        begins = _local(content["start_time"], zone, exact=True)
        master.add("dtstart", begins)
        master.add("dtend", _end(begins, content["end_time"], zone))
        yield master
        return
    start, end = _parse(content["start_time"]), _parse(content["end_time"])
    # The rule repeats DTSTART's wall clock, so a series' DTSTART is written with its TZID even
    # where readers take that for another instant (the first 02:30 of an autumn night when the
    # start is the second): its DTEND keeps the duration from there, and an override below
    # moves that occurrence to its instant. fold=0 is what a wall time means to readers; and
    # as fold=1 datetimes never equal another zone's (PEP 495), instants are compared in UTC.
    shown = start.astimezone(zone).replace(fold=0)
    read_at = shown.astimezone(UTC)
    master.add("dtstart", shown)
    master.add("dtend", _master_end(shown, read_at + (end - start), zone))
    if content["recurrence_pattern"] is not None:
        rule, name_start = readers_rule(
            content["recurrence_pattern"], start, end, content["timezone"], read_at
        )
        master.add("rrule", vRecur.from_ical(rule))
        if name_start:
            master.add("rdate", shown)
    if content.get("rdates"):
        master.add("rdate", [_local(x, zone, exact=True) for x in content["rdates"]])
    cancelled = {_parse(x) for x in content["exdates"]}
    if cancelled:
        master.add("exdate", [_local(x, zone) for x in content["exdates"]])
    yield master
    overrides = list(content["overrides"])
    if read_at != start and start not in {_parse(o["recurrence_id"]) for o in overrides}:
        overrides.append({"recurrence_id": content["start_time"]})
    shown_ids = {_parse(o["recurrence_id"]) for o in overrides}
    overrides += [{"recurrence_id": rid.isoformat()} for rid in _answered(event, shown_ids)]
    for override in overrides:
        rid = _parse(override["recurrence_id"])
        if rid in cancelled:
            continue  # a cancelled occurrence stays cancelled
        begins = override.get("start_time", override["recurrence_id"])
        ends = override.get("end_time") or _parse(begins) + (end - start)
        written = _local(begins, zone, exact=True)
        yield _Override(
            tuple(event.people_at(rid)),
            {
                "recurrence-id": _local(override["recurrence_id"], zone),
                "summary": Text(override.get("title", content["title"])),
                **_override_texts({**content, **override}),
                "dtstart": written,
                "dtend": _end(written, ends, zone),
            },
        )


def _end(start: datetime, end: str | datetime, zone: ZoneInfo) -> datetime:
    """The DTEND of a single event or an occurrence whose DTSTART is written as `start`: on
    the wall clock, except in UTC where an import would read another end. It reads a DTSTART
    or DTEND a DST change skips or repeats as the wall clocks' difference (times.py's
    `end_of`), so 01:30 EDT to 02:30 EST, two hours, is `DTEND:…T073000Z`."""
    wall = _local(end, zone, exact=True)
    if start.tzinfo is UTC or wall.tzinfo is UTC:
        return wall
    naive = start.replace(tzinfo=None, fold=0), wall.replace(tzinfo=None, fold=0)
    if not any(skipped_or_repeated(x, zone) for x in naive):
        return wall
    length = wall.astimezone(UTC) - start.astimezone(UTC)
    return wall if naive[1] - naive[0] == length else wall.astimezone(UTC)


def _master_end(shown: datetime, end: datetime, zone: ZoneInfo) -> datetime:
    """A series' DTEND: readers take DTEND − DTSTART as every occurrence's length, and some
    (recurring-ical-events) subtract the wall clocks when both have the TZID. Where that is not
    the length (a DST change in the first occurrence), DTEND is written in UTC."""
    wall = _local(end, zone, exact=True)
    if wall.replace(tzinfo=None) - shown.replace(tzinfo=None) != end - shown.astimezone(UTC):
        return end
    return wall


def _all_day_vevents(event: Outgoing) -> Iterable[Event | _Override]:
    """An all-day event as DATE values (RFC 5545 `VALUE=DATE`): floating days, the same for
    every reader; its rule's UNTIL a date too."""
    content = event.content
    master = _stamped(event)
    master.add("summary", Text(content["title"]))
    _texts(master, content)
    master.add("dtstart", date.fromisoformat(content["start_date"]))
    master.add("dtend", date.fromisoformat(content["end_date"]))
    if content["recurrence_pattern"] is not None:
        # computed on floating days: midnights in UTC, as events/days.py expands them
        start = datetime.combine(date.fromisoformat(content["start_date"]), time(), UTC)
        end = datetime.combine(date.fromisoformat(content["end_date"]), time(), UTC)
        rule, name_start = readers_rule(content["recurrence_pattern"], start, end, "UTC", start)
        parsed = parse_rule(rule, "UTC")
        until = None if parsed.until is None else f"{parsed.until:%Y%m%d}"
        master.add("rrule", vRecur.from_ical(parsed.text(UNTIL=until)))
        if name_start:
            master.add("rdate", start.date())
    if content.get("rdates"):
        master.add("rdate", [date.fromisoformat(x) for x in content["rdates"]])
    if content["exdates"]:
        master.add("exdate", [date.fromisoformat(x) for x in content["exdates"]])
    yield master
    length = date.fromisoformat(content["end_date"]) - date.fromisoformat(content["start_date"])
    overrides = list(content["overrides"])
    shown_ids = {days.floating(date.fromisoformat(o["recurrence_id"])) for o in overrides}
    overrides += [
        {"recurrence_id": days.day_of(rid).isoformat()} for rid in _answered(event, shown_ids)
    ]
    for override in overrides:
        if override["recurrence_id"] in content["exdates"]:
            continue
        begins = date.fromisoformat(override.get("start_date", override["recurrence_id"]))
        ends = date.fromisoformat(override["end_date"]) if "end_date" in override else None
        rid = days.floating(date.fromisoformat(override["recurrence_id"]))
        yield _Override(
            tuple(event.people_at(rid)),
            {
                "recurrence-id": date.fromisoformat(override["recurrence_id"]),
                "summary": Text(override.get("title", content["title"])),
                **_override_texts({**content, **override}),
                "dtstart": begins,
                "dtend": ends or begins + length,
            },
        )


def _answered(event: Outgoing, overridden: set[datetime]) -> list[datetime]:
    """The occurrences to write as RECURRENCE-ID VEVENTs for their answers alone (as Google
    Calendar and RFC 5545 clients do): not overridden already, still occurrences of the
    series (an answer outlives an EXDATE or a shorter COUNT), and answered by someone
    otherwise than for the series. As many as `event.answers` holds (the caller bounds it)
    and the event's iCalendar has room for (`sizes.MAX_RENDERED_BYTES`: each lists everyone
    again), the earliest first."""
    content = event.content
    if not event.answers or not content["is_recurring"]:
        return []
    people = len(event.people)
    room = MAX_RENDERED_BYTES - rendered_bytes(content, people)
    most = max(0, room // vevent_bytes(content, people))
    series = series_of(content)
    exdates = set(series.exdates)
    series_answers = {p.email.lower(): p.response for p in event.people}
    answered = (
        rid
        for rid, answers in sorted(event.answers.items())
        if rid not in overridden
        and rid not in exdates
        and any(series_answers.get(who) not in (None, said) for who, said in answers.items())
        and recurrence.occurrence_at(series, rid)
    )
    return list(islice(answered, most))


def _stamped(event: Outgoing, people: Sequence[Attendance] | None = None) -> Event:
    component = Event()
    component.add("uid", event.uid)
    component.add("dtstamp", event.last_modified.astimezone(UTC))
    component.add("created", event.created.astimezone(UTC))
    component.add("last-modified", event.last_modified.astimezone(UTC))
    component.add("sequence", event.sequence)
    add_people(component, event.people if people is None else people)
    transparent = event.content.get("transparency") == "transparent"
    component.add("transp", "TRANSPARENT" if transparent else "OPAQUE")
    return component


def _texts(component: Event, values: Mapping[str, Any]) -> None:
    for name, value in _override_texts(values).items():
        if value is not None:
            component.add(name, value)
