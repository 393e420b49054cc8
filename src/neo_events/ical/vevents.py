"""VEVENTs as event contents: a master with its RRULE, EXDATEs and RECURRENCE-ID overrides
becomes one series; what the event model cannot hold is said, never silently lost.

- An override, a cancelled override (an exdate) and an EXDATE are matched to the occurrence
  they name: the same instant, else the same wall clock in the series' zone, else (all-day
  values) the occurrence on that day. One that matches nothing becomes a single event (an
  override) or is dropped (an EXDATE), with a note.
- RDATE occurrences the rule does not produce are the series' rdates (an event with RDATEs
  and no RRULE is an RDATE-only series); one before DTSTART, which the event model cannot
  hold, becomes a single event of its own.
- A VEVENT whose DTSTART is a DATE is an all-day event: it is read as days from midnight in
  its zone like any other, then written as dates (`all_day.as_all_day`). TRANSP gives its
  transparency (absent: the event model's default for its kind).
- STATUS:CANCELLED events are not imported. Of two VEVENTs with one UID (and RECURRENCE-ID),
  the higher SEQUENCE wins, then the first.
- A timed event without duration lasts a minute (the event model needs end after start).
  One whose DTSTART or DTEND a DST change skips or repeats lasts what its wall clocks say
  (times.py's `end_of`).
- A series whose DTSTART falls in a DST gap starts at the instant after it (RFC 5545 §3.3.5)
  and keeps the written time of day later on: its rule spells that time out.
- A RECURRENCE-ID VEVENT whose DTSTART or DTEND is a date-time in an all-day series, or a
  date in a timed one, is skipped (`_of_its_kind`): no override of the event model is so.
- An override that moves a series' first occurrence to the other instant of the same wall
  time (how export.py writes a start at the second 02:30 of an autumn night) moves the
  series' start instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component

from neo_events.events import days, recurrence
from neo_events.events.rrule import fixed_time_parts, parse_rule
from neo_events.fields import EARLIEST  # the earliest instant the API takes
from neo_events.ical import custom_zones, losses
from neo_events.ical.all_day import as_all_day
from neo_events.ical.properties import cancelled, rule_text, sequence, text, transparency
from neo_events.ical.times import Clock, Unreadable, When

NO_TITLE = "(no title)"
MIN_LENGTH = timedelta(minutes=1)
# What the event schema accepts (events/schemas.py); longer text is cut, with a note.


class Skip(Exception):
    """This VEVENT is not imported; str(exc) is the reason."""


@dataclass(slots=True)
class Draft:
    """A master VEVENT on its way to becoming event content."""

    uid: str
    sequence: int
    content: dict[str, Any]
    series: recurrence.Series
    all_day: bool
    singles: dict[datetime, dict[str, Any]] = field(default_factory=dict)  # RDATEs too early
    exdates: set[datetime] = field(default_factory=set)
    overrides: dict[datetime, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # every RECURRENCE-ID VEVENT of an occurrence, overriding or not: its people's answers
    occurrences: dict[datetime, Component] = field(default_factory=dict)

    def contents(self) -> list[dict[str, Any]]:
        """The series, then its RDATE occurrences the series cannot hold as single events."""
        zone = self.series.timezone
        return [
            as_all_day(content, zone) if self.all_day else content for content in self._contents()
        ]

    def _contents(self) -> list[dict[str, Any]]:
        overrides = [o for rid, (_, o) in sorted(self.overrides.items()) if rid not in self.exdates]
        singles = [self.singles[k] for k in sorted(self.singles)]
        if self.series.rdates:
            self.content |= {"is_recurring": True, "rdates": [iso(x) for x in self.series.rdates]}
        if self.content["is_recurring"]:
            main = self.content | {
                "exdates": [iso(x) for x in sorted(self.exdates)],
                "overrides": overrides,
            }
            return [main, *singles]
        # A single event with RDATEs: its own occurrence may be excluded or changed too.
        if self.series.start in self.exdates:
            return singles
        main = dict(self.content)
        duration = self.series.end - self.series.start
        for override in overrides:
            start = datetime.fromisoformat(override.get("start_time", main["start_time"]))
            end = override.get("end_time") or iso(start + duration)
            main |= {k: v for k, v in override.items() if k != "recurrence_id"} | {"end_time": end}
        return [main, *singles]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def times(
    component: Component, clock: Clock, notes: list[str], zone: str | None = None
) -> tuple[When, str, datetime]:
    """DTSTART, the zone the event follows (`zone`, else DTSTART's, else the calendar's), and
    the end instant; floating values after a zoned DTSTART are read in its zone. A DTEND of
    another value type than DTSTART's (RFC 5545 §3.8.2.2 forbids it) is read as it falls:
    after a date, a date-time ends with its day (as a part of a day counts, `all_day.as_all_day`),
    after a date-time a date ends at its midnight; a loss either way."""
    if component.get("DTSTART") is None:
        raise Skip("it has no DTSTART")
    start = clock.when("DTSTART", component["DTSTART"], zone)
    if zone is None:
        zone = start.zone or clock.calendar_zone or "UTC"
    end_prop, length_prop = component.get("DTEND"), component.get("DURATION")
    end = clock.when("DTEND", end_prop, zone) if end_prop is not None else None
    if end is not None and end.all_day != start.all_day:
        notes.append(losses.mixed_types(start.all_day))
    length = clock.duration(length_prop) if end is None and length_prop is not None else None
    finish = clock.end_of(start, end=end, length=length)
    if finish < start.instant:
        raise Skip("it ends before it starts")
    return start, zone, finish


def _content(
    component: Component, notes: list[str], begins: When, end: datetime, zone: str
) -> dict[str, Any]:
    start = begins.instant
    if end == start:  # a minute, which an all-day event's dates make its day
        notes.append(losses.no_duration(component, all_day=begins.all_day))
        end = start + MIN_LENGTH
    content: dict[str, Any] = {
        "title": text(component, "SUMMARY", notes) or NO_TITLE,
        "description": text(component, "DESCRIPTION", notes),
        "location": text(component, "LOCATION", notes),
        "start_time": iso(start),
        "end_time": iso(end),
        "timezone": zone,
        "is_recurring": False,
        "recurrence_pattern": None,
        "exdates": [],
        "overrides": [],
    }
    if (transp := transparency(component)) is not None:  # else the kind's default
        content["transparency"] = transp
    return content


def single(component: Component, clock: Clock, notes: list[str]) -> dict[str, Any]:
    """A VEVENT as one single event, whatever RRULE or RECURRENCE-ID it carries."""
    start, zone, end = times(component, clock, notes)
    content = _content(component, notes, start, end, zone)
    return as_all_day(content, zone) if start.all_day else content


def master(component: Component, uid: str, clock: Clock, notes: list[str]) -> Draft:
    """A VEVENT without RECURRENCE-ID: a single event or a series with its exceptions."""
    start, zone, end = times(component, clock, notes)
    content = _content(component, notes, start, end, zone)
    end = datetime.fromisoformat(content["end_time"])
    rule = rule_text(component, notes)
    if rule is not None:
        try:
            rule = recurrence.normalize_rule(rule, start=start.instant, timezone=zone)
            rule = _written_time_of_day(rule, start, zone)
        except recurrence.RecurrenceError as exc:
            raise Skip(f"RRULE: {exc}") from None
        content |= {"is_recurring": True, "recurrence_pattern": rule}
    series = recurrence.Series(start=start.instant, end=end, timezone=zone, rule=rule)
    if start.instant < EARLIEST:
        series = _from_earliest(series, content, notes)
    draft = Draft(uid, sequence(component), content, series, start.all_day)
    if "RDATE" in component:
        _add_rdates(draft, component, clock, notes)
    if "EXDATE" in component:
        for value in clock.values("EXDATE", component["EXDATE"], zone):
            found = originals(draft, value, clock)
            if found:
                draft.exdates.update(found)
            elif draft.singles.pop(value.instant, None) is None:
                notes.append(losses.unmatched_exdate(iso(value.instant)))
    if start.custom is not None and (content["is_recurring"] or draft.series.rdates):
        lost = custom_zones.series_note(clock.zones, start.custom, draft.series)
        notes.extend([lost] if lost else [])
    return draft


def _written_time_of_day(rule: str, start: When, zone: str) -> str:
    """The rule with DTSTART's written time of day spelled out (BYHOUR, BYMINUTE, BYSECOND,
    those its frequency keeps fixed: `fixed_time_parts`) where the start instant shows
    another: a start in a gap (02:30 on a spring-forward night) is 03:30, and the expansion,
    which follows the start instant's wall clock, would keep 03:30 every day after. Other
    rules are returned as they are."""
    if start.zone != zone:  # a UTC start has no gap
        return rule
    shown = start.instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    given = {part.partition("=")[0] for part in rule.split(";")}
    spelled = [
        f"{name}={getattr(start.wall, unit)}"
        for name, unit in fixed_time_parts(parse_rule(rule, zone).freq)
        if name not in given and getattr(shown, unit) != getattr(start.wall, unit)
    ]
    if not spelled:
        return rule
    return recurrence.normalize_rule(";".join([rule, *spelled]), start=start.instant, timezone=zone)


def _from_earliest(
    series: recurrence.Series, content: dict[str, Any], notes: list[str]
) -> recurrence.Series:
    """A series that began before EARLIEST, from its first occurrence since then: the same
    occurrences from then on (a COUNT would count the dropped ones, so it cannot move)."""
    if series.rule is None or "COUNT=" in series.rule:
        raise Skip(f"it starts before {EARLIEST.year}")
    window = (EARLIEST, EARLIEST + timedelta(days=3660))
    found = [o for o in recurrence.expand(series, *window, limit=5_000) if o.start >= EARLIEST]
    if not found:
        raise Skip(f"it starts before {EARLIEST.year} and has no occurrence soon after")
    moved = replace(series, start=found[0].start, end=found[0].end)
    notes.append(losses.began_early(series.start.year, iso(moved.start)))
    content |= {"start_time": iso(moved.start), "end_time": iso(moved.end)}
    return moved


def _add_rdates(draft: Draft, component: Component, clock: Clock, notes: list[str]) -> None:
    series, duration = draft.series, draft.series.end - draft.series.start
    added: set[datetime] = set()
    for value in clock.values("RDATE", component["RDATE"], series.timezone):
        if value.until is not None and value.until - value.instant != duration:
            notes.append(losses.other_length(iso(value.instant), iso(value.until)))
        if recurrence.occurrence_at(series, value.instant):
            continue  # the rule (or DTSTART) has it already
        if value.instant > series.start:
            added.add(value.instant)
            continue
        draft.singles[value.instant] = draft.content | {
            "start_time": iso(value.instant),
            "end_time": iso(value.instant + duration),
            "is_recurring": False,
            "recurrence_pattern": None,
        }
    draft.series = replace(series, rdates=tuple(sorted(added)))
    if draft.singles:
        notes.append(losses.early_rdates(len(draft.singles), iso(min(draft.singles))))


def originals(draft: Draft, value: When, clock: Clock) -> list[datetime]:
    """The original starts of the series' occurrences that a RECURRENCE-ID or EXDATE names."""
    series = draft.series
    if recurrence.occurrence_at(series, value.instant):
        return [value.instant]
    if value.zone != series.timezone:
        same_wall = clock.localize(value.wall, series.timezone)
        if recurrence.occurrence_at(series, same_wall):
            return [same_wall]
    if not (value.all_day or draft.all_day):
        return []
    day = value.wall.replace(hour=0, minute=0, second=0)
    lo = clock.localize(day, series.timezone)
    hi = clock.localize(day + timedelta(days=1), series.timezone)
    return [
        o.recurrence_id for o in recurrence.expand(series, lo, hi) if lo <= o.recurrence_id < hi
    ]


def attach(draft: Draft, component: Component, clock: Clock, notes: list[str]) -> bool:
    """Apply a RECURRENCE-ID VEVENT to its series; False if it names no occurrence of it."""
    rid = clock.when("RECURRENCE-ID", component["RECURRENCE-ID"], draft.series.timezone)
    if "RANGE" in getattr(component["RECURRENCE-ID"], "params", {}):
        notes.append(losses.THIS_AND_FUTURE)
    found = originals(draft, rid, clock)
    if not found:
        if rid.instant not in draft.singles:
            return False
        if cancelled(component):
            del draft.singles[rid.instant]
        else:  # an RDATE occurrence changed on its own
            zone = draft.series.timezone
            start, _, end = times(component, clock, notes, zone)
            _of_its_kind(draft, "DTSTART", start, rid.instant)
            draft.singles[rid.instant] = _content(component, notes, start, end, zone)
        return True
    original = found[0]
    if cancelled(component):
        draft.exdates.add(original)
        return True
    seq = sequence(component)
    if original in draft.overrides and draft.overrides[original][0] >= seq:
        notes.append(losses.second_override(iso(original)))
        return True
    override = _override(draft, component, clock, notes, original)
    if original == draft.series.start and _same_wall(draft, override.get("start_time")):
        # Our own export of a series that starts at the second of two equal wall times (an
        # override moves the first to it): the series starts there.
        begins = datetime.fromisoformat(override.pop("start_time"))
        ends = begins + (draft.series.end - draft.series.start)
        draft.series = replace(draft.series, start=begins, end=ends)
        draft.content |= {"start_time": iso(begins), "end_time": iso(ends)}
        original = begins
        override["recurrence_id"] = iso(begins)
    if len(override) > 1:
        draft.overrides[original] = (seq, override)
    draft.occurrences[original] = component
    return True


def _same_wall(draft: Draft, moved: str | None) -> bool:
    """Whether an occurrence moved to `moved` shows the same wall clock as the series start."""
    if moved is None:
        return False
    zone = ZoneInfo(draft.series.timezone)
    wall = datetime.fromisoformat(moved).astimezone(zone).replace(tzinfo=None, fold=0)
    return wall == draft.series.start.astimezone(zone).replace(tzinfo=None, fold=0)


def _of_its_kind(draft: Draft, name: str, value: When, original: datetime) -> When:
    """`value`, the DTSTART or DTEND of the occurrence of `original`, if it is of its series'
    kind: the event model holds an all-day series' occurrences by dates and a timed one's by
    instants, so the other type is refused (the import skips the VEVENT, saying why; a CalDAV
    PUT is a 403), never read as the series' type."""
    if value.all_day == draft.all_day:
        return value
    named = days.date_in(original, ZoneInfo(draft.series.timezone)) if draft.all_day else None
    occurrence = iso(original) if named is None else named.isoformat()
    raise Skip(losses.occurrence_of_other_kind(name, occurrence, all_day=draft.all_day))


def _override(
    draft: Draft, component: Component, clock: Clock, notes: list[str], original: datetime
) -> dict[str, Any]:
    series = draft.series
    duration = series.end - series.start
    zone, begins = series.timezone, clock.at(original, series.timezone)
    if component.get("DTSTART") is not None:
        begins = clock.when("DTSTART", component["DTSTART"], zone)
        _of_its_kind(draft, "DTSTART", begins, original)
    start, end_prop, length_prop = begins.instant, component.get("DTEND"), component.get("DURATION")
    end = start + duration
    if end_prop is not None:
        ends = _of_its_kind(draft, "DTEND", clock.when("DTEND", end_prop, zone), original)
        end = clock.end_of(begins, end=ends, length=None)
    elif length_prop is not None:
        end = clock.end_of(begins, end=None, length=clock.duration(length_prop))
    if end <= start:
        notes.append(
            losses.occurrence_without_length(
                iso(original), end == start, all_day=draft.all_day or begins.all_day
            )
        )
        end = start + (MIN_LENGTH if end == start else duration)
    override: dict[str, Any] = {"recurrence_id": iso(original)}
    if start != original:
        override["start_time"] = iso(start)
    if end != start + duration:
        override["end_time"] = iso(end)
    for name, key in (
        ("SUMMARY", "title"),
        ("DESCRIPTION", "description"),
        ("LOCATION", "location"),
    ):
        value = text(component, name, notes)
        if value is not None and value != draft.content[key]:
            override[key] = value
    return override


__all__ = ["Draft", "Skip", "Unreadable", "attach", "cancelled", "master", "sequence", "single"]
