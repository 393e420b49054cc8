"""What one calendar stream or CalDAV resource may hold, counted on its raw lines
(`blocks.Block`) before icalendar parses any of it: icalendar reads a content line in ~60 us
and a value of a list property (RDATE, EXDATE) in ~40 us, so whatever cannot be accepted
anyway is refused (or skipped, by an import) unread, and a stream's VTIMEZONEs are parsed
only where an event needs one, within a budget. Pure: no icalendar, no web framework.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from neo_events.events.rrule import MAX_RULE_CHARS
from neo_events.events.schemas import MAX_LIST
from neo_events.ical.blocks import Block, CalendarBlock

# Content lines of one component: the most an event holds (500 attendees, 1,000 exdates and
# 1,000 rdates a line each, its alarms and the rest) with room to spare. icalendar reads a line
# in ~60 us, under the codec's lock: 20,000 X- properties in one VEVENT cost 1.2-3 s of parsing.
MAX_LINES = 4_000
# Values of a component's RDATEs, and of its EXDATEs: an event holds at most MAX_LIST of each
# (events/schemas.py), so a longer list is refused before icalendar reads it (60,000 values
# on one line: 2.5-3 s of parsing, then refused).
LIST_PROPERTIES = ("RDATE", "EXDATE")
# STANDARD and DAYLIGHT blocks of one VTIMEZONE: a zone's whole history since 1970 is a few
# dozen (Thunderbird's full zones: 85 in tests/fixtures/ics; Apple, Google, Outlook, DAVx5:
# 2-8); twice the largest seen.
MAX_OBSERVANCES = 200
# Observances a stream parses in all, in the VTIMEZONEs its events name: at most
# zones.STREAM_OBSERVANCES are ever worked out, so more are never used (~5 lines, 0.3 ms each).
STREAM_OBSERVANCES_PARSED = 2 * MAX_OBSERVANCES

# Properties of a VCALENDAR itself (PRODID, VERSION, CALSCALE, METHOD, X-WR-…): a handful in
# every file seen; an outside attack's 60,000 X- lines there cost 2.2 s of parsing, since
# MAX_LINES counts a component's.
MAX_CALENDAR_PROPERTIES = 100
# Parameters of one content line: a few at most (TZID, VALUE, CN, ROLE, PARTSTAT, RSVP, …); an
# attack's one line of 60,000 cost 0.9 s of parsing, and again at every query that reads it.
MAX_PARAMETERS = 100
# Dates of a VTIMEZONE's RDATEs (and EXDATEs, which no observance has but icalendar reads all
# the same), all its observances together: zones that list each transition hold a few
# hundred; 190 observances of 300 each cost 1.5 s of parsing.
MAX_ZONE_DATES = 2_000
ZONE_DATE_PROPERTIES = ("RDATE", "EXDATE")
# Those dates in all the VTIMEZONEs a stream parses (those its events name), or a CalDAV
# resource's events name: each costs ~65 us (icalendar reads it, makes dateutil's zone of its
# VTIMEZONE, reading it again, and `zones.Observed` works its onset out). Each zone within
# MAX_ZONE_DATES, an outside attack's import of 20 zones of 1,998 (927 KB) cost 2.4-2.6 s, a
# PUT of 24 of them 1.85 s. Real files hold a few dozen (57 at most in every file seen).
STREAM_ZONE_DATES = 2 * MAX_ZONE_DATES
# Properties icalendar reads into lists, an object an item, whatever the component (a seventh
# outside attack: CATEGORIES of 450,000 items cost 1.66 s of parsing and were stored, to be
# parsed again at every text-match; FREEBUSY of 45,000 periods 0.95 s). Real files hold a
# handful.
LIST_ITEMS = {"CATEGORIES": 1_000, "RESOURCES": 1_000, "FREEBUSY": 1_000}
# A rule longer than the model takes (`events.rrule.MAX_RULE_CHARS`) was refused only after
# icalendar had read its BY lists (520,000 BYMINUTE values: 3.4 s of parsing for a 403).
RULE_PROPERTIES = ("RRULE", "EXRULE")

TZID_PARAMETER = re.compile(r';\s*TZID\s*=\s*("[^"]*"|[^;:]*)', re.IGNORECASE)
# A TZID parameter: an IANA name, a Windows name, an Outlook label ("(UTC+10:00) Canberra,
# Melbourne, Sydney") or a "globally unique" `/vendor/Area/City` id: at most 57 characters
# and 4 slashes in every file seen. icalendar looks each suffix of a slashed one up as a zone,
# at every date-time value that names it (an outside attack's TZID of 200 "/a": 0.25 s a
# value, 23 s for one resource; 250: a RecursionError in zoneinfo's package lookup).
MAX_TZID_CHARS = 256
MAX_TZID_SLASHES = 16


def oversized(block: Block) -> str | None:
    """Why the component cannot be held, read off its raw lines; None if it may be parsed."""
    if block.name == "VTIMEZONE":
        return _zone_oversized(block)[0]
    if len(block.lines) > MAX_LINES:
        return f"has more than {MAX_LINES} lines (properties), more than any event holds"
    crowded = crowded_line(line for _, line in block.lines)
    if crowded is not None:
        return crowded
    own = block.values_of(LIST_PROPERTIES)
    for name in LIST_PROPERTIES:
        count = _items(own[name])
        if count > MAX_LIST:
            return f"has {count} {name} values; an event holds at most {MAX_LIST}"
    return _long_lists(block.values_of(_LISTED, nested=True))


_LISTED = (*LIST_ITEMS, *RULE_PROPERTIES)


def _zone_oversized(block: Block) -> tuple[str | None, int]:
    """`oversized` of a VTIMEZONE, and its RDATE and EXDATE values (read in the same pass)."""
    if len(block.lines) > MAX_LINES:
        return f"over {MAX_LINES} lines", 0
    found = observances(block)
    if found > MAX_OBSERVANCES:
        return (
            f"has {found} observances (STANDARD, DAYLIGHT); a zone has at most {MAX_OBSERVANCES}"
        ), 0
    nested = block.values_of((*ZONE_DATE_PROPERTIES, *_LISTED), nested=True)
    counted = [_items(nested[name]) for name in ZONE_DATE_PROPERTIES]
    for name, dates in zip(ZONE_DATE_PROPERTIES, counted, strict=True):
        if dates > MAX_ZONE_DATES:
            return f"has {dates} {name} values; a zone has at most {MAX_ZONE_DATES}", dates
    reason = crowded_line(line for _, line in block.lines) or _long_lists(nested)
    return reason, sum(counted)


@dataclass
class ZoneBudget:
    """What the VTIMEZONEs a stream parses (in all its VCALENDARs), or those a CalDAV
    resource's events name, have taken of their budgets: STREAM_OBSERVANCES_PARSED
    observances, STREAM_ZONE_DATES dates."""

    observances: int = 0
    dates: int = 0

    def refusal(self, block: Block) -> str | None:
        """Why this VTIMEZONE is not to be parsed (`oversized`, or past a budget); None if
        it may be, its cost then taken from the budgets."""
        reason, dates = _zone_oversized(block)
        if reason is not None:
            return reason
        count = observances(block)
        if self.observances + count > STREAM_OBSERVANCES_PARSED:
            return f"over {STREAM_OBSERVANCES_PARSED} observances in the file"
        if self.dates + dates > STREAM_ZONE_DATES:
            return (
                f"over {STREAM_ZONE_DATES} RDATE and EXDATE values in the file's VTIMEZONEs "
                f"(this one has {dates})"
            )
        self.observances += count
        self.dates += dates
        return None


def _items(values: list[str]) -> int:
    return sum(value.count(",") + 1 for value in values)


def _long_lists(values: dict[str, list[str]]) -> str | None:
    """Why a list or a rule among a component's values of `_LISTED` (its nested components'
    too) is past what icalendar is given to read (LIST_ITEMS, MAX_RULE_CHARS), or None."""
    for name, most in LIST_ITEMS.items():
        count = _items(values[name])
        if count > most:
            return f"has {count} {name} values; at most {most} are read"
    for name in RULE_PROPERTIES:
        if any(len(value) > MAX_RULE_CHARS for value in values[name]):
            return f"has an {name} longer than {MAX_RULE_CHARS} characters"
    return None


def crowded_line(lines: Iterable[str]) -> str | None:
    """Why one of these content lines cannot be parsed (more than MAX_PARAMETERS
    parameters, or a TZID past MAX_TZID_CHARS or MAX_TZID_SLASHES), or None."""
    for line in lines:
        if line.count(";") > MAX_PARAMETERS and parameters(line) > MAX_PARAMETERS:
            name = line.split(";", 1)[0][:40]
            return f"has a {name} line of more than {MAX_PARAMETERS} parameters"
        if "TZID" in line.upper():
            for match in TZID_PARAMETER.finditer(line):
                tzid = match.group(1)
                if len(tzid) > MAX_TZID_CHARS or tzid.count("/") > MAX_TZID_SLASHES:
                    return (
                        f"names a TZID of more than {MAX_TZID_CHARS} characters or "
                        f"{MAX_TZID_SLASHES} slashes"
                    )
    return None


def calendar_oversized(calendar: CalendarBlock) -> str | None:
    """Why a VCALENDAR's own properties cannot be parsed, or None."""
    if len(calendar.properties) > MAX_CALENDAR_PROPERTIES:
        return f"the calendar has more than {MAX_CALENDAR_PROPERTIES} properties of its own"
    return crowded_line(calendar.properties)


def parameters(line: str) -> int:
    """The parameters of a content line: its semicolons before the value's colon, outside
    quoted parameter values (`TZID="a;b:c"`)."""
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char == ":":
                break
            if char == ";":
                count += 1
    return count


def observances(block: Block) -> int:
    """The STANDARD and DAYLIGHT blocks directly inside a VTIMEZONE."""
    return sum(name in ("STANDARD", "DAYLIGHT") for name in block.nested())


def zone_id(block: Block) -> str:
    """A VTIMEZONE's TZID as the parameters that name it write it: its value is TEXT, whose
    escapes (`Canberra\\, Melbourne`) a quoted parameter does not have."""
    return _TEXT_ESCAPE.sub(r"\1", block.written("TZID") or "").strip()


_TEXT_ESCAPE = re.compile(r"\\([\\;,])")


def named_zones(blocks: Iterable[Block]) -> set[str]:
    """The TZIDs the components' properties name (`TZID=` parameters, unquoted)."""
    return {
        match.group(1).strip().strip('"').strip()
        for block in blocks
        if block.name != "VTIMEZONE"
        for _, line in block.lines
        if "TZID" in line.upper()
        for match in TZID_PARAMETER.finditer(line)
    }
