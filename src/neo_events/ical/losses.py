"""What a calendar's text says that the event model cannot hold as written, worded for each
of the codec's two readers from one source: an import keeps what it can and warns what it did
(the note itself, a `str`); a CalDAV PUT keeps nothing and says what is wrong with the resource
(`refusal`, its 403 CALDAV:valid-calendar-data, caldav/resources.py). The rules that find a
loss (vevents.py, codec.py) take its words from here; properties.py, times.py and
custom_zones.py word theirs beside the rule.

A note that is no `Loss` changes nothing the writer meant (a zone named by its offsets, a
vendor TZID read as its IANA zone): a CalDAV write goes through with it. A skip reason may be
a `Loss` too, when the import's words would not fit a refused write. Pure.
"""

from __future__ import annotations

from collections.abc import Container

from neo_events.fields import EARLIEST


class Loss(str):
    """An import's note (the string) with the same problem worded as a CalDAV refusal."""

    refusal: str

    def __new__(cls, note: str, refusal: str) -> Loss:
        made = super().__new__(cls, note)
        made.refusal = refusal
        return made


def refusal(said: str) -> str | None:
    """How a CalDAV write refusing what `said` notes words it; None for a note that loses
    nothing."""
    return said.refusal if isinstance(said, Loss) else None


# A VEVENT's times and recurrence (vevents.py)


def no_duration(component: Container[str], *, all_day: bool) -> Loss:
    """An event whose end is its start: a timed one lasts a minute, an all-day one its day."""
    if "DTEND" in component:
        why = "DTEND equals DTSTART"
    elif "DURATION" in component:
        why = "its DURATION is zero"
    else:
        why = "a DTSTART date-time without DTEND or DURATION"
    kept = "one day" if all_day else "one minute"
    return Loss(f"it has no duration: imported as {kept} long", f"it has no duration ({why})")


def mixed_types(all_day: bool) -> Loss:
    """A DTEND of another value type than DTSTART's (`all_day`: DTSTART is a date)."""
    kinds = ("a date-time", "a date") if all_day else ("a date", "a date-time")
    kept = "lasts through the day DTEND falls on" if all_day else "ends at that date's midnight"
    return Loss(
        f"DTEND is {kinds[0]}, DTSTART {kinds[1]}: the event {kept}",
        f"DTEND is {kinds[0]} and DTSTART {kinds[1]} (RFC 5545: DTEND has DTSTART's value type)",
    )


def other_length(start: str, end: str) -> Loss:
    """An RDATE;VALUE=PERIOD that lasts otherwise than its event: the event model gives every
    rdate the event's duration (one of another length is an override, a RECURRENCE-ID VEVENT)."""
    period = f"RDATE;VALUE=PERIOD {start}/{end}"
    return Loss(
        f"{period} kept with the event's duration, not its own",
        f"{period} lasts otherwise than the event (an occurrence of another length is a "
        "RECURRENCE-ID VEVENT)",
    )


def unmatched_exdate(instant: str) -> Loss:
    return Loss(
        f"EXDATE {instant} is not an occurrence: ignored",
        f"EXDATE {instant} is not an occurrence of the series",
    )


def began_early(year: int, kept_from: str) -> Loss:
    """A series that began before EARLIEST, kept from its first occurrence since then."""
    return Loss(
        f"the series began in {year}: imported from {kept_from}",
        f"the series begins in {year}: an event starts in {EARLIEST.year} or later",
    )


def early_rdates(count: int, first: str) -> Loss:
    return Loss(
        f"{count} RDATE occurrence(s) before DTSTART imported as single events",
        f"RDATE {first} is before DTSTART (a series' occurrences come after its start)",
    )


THIS_AND_FUTURE = Loss(
    "RANGE=THISANDFUTURE applied to that one occurrence only",
    "RANGE=THISANDFUTURE: a RECURRENCE-ID VEVENT changes one occurrence only",
)


def second_override(original: str) -> Loss:
    return Loss(
        f"a second override of {original} ignored",
        f"two VEVENTs change the occurrence of {original}",
    )


def occurrence_without_length(original: str, zero: bool, *, all_day: bool) -> Loss:
    """A RECURRENCE-ID VEVENT whose end is its start (`zero`: a minute, or for an all-day
    event its day) or before it."""
    if zero:
        kept = "one day" if all_day else "one minute"
        return Loss(
            f"the occurrence of {original} has no duration: imported as {kept} long",
            f"the occurrence of {original} has no duration (its end is its start)",
        )
    return Loss(
        f"the occurrence of {original} ends before it starts: imported with the series' length",
        f"the occurrence of {original} ends before it starts",
    )


def occurrence_of_other_kind(name: str, occurrence: str, *, all_day: bool) -> Loss:
    """A RECURRENCE-ID VEVENT whose DTSTART or DTEND (`name`) is a date-time in an all-day
    series (`all_day`), or a date in a timed one: the event model's overrides are of their
    series' kind (dates or instants), so the import leaves the occurrence as the series has it."""
    kinds = (
        ("a date-time", "an all-day", "a date") if all_day else ("a date", "a timed", "a date-time")
    )
    said = f"{name} of the occurrence of {occurrence} is {kinds[0]} in {kinds[1]} series"
    return Loss(
        f"{said}: the occurrence is left as the series has it",
        f"{said} (DTSTART {kinds[2]}): an occurrence is all-day or timed as its series is",
    )


# A component's lines, RECURRENCE-ID and cancelled VEVENTs (codec.py)


def unreadable_line(where: str) -> Loss:
    """A content line icalendar could not parse (`SUMMARY;FOO:x`), which it leaves out."""
    return Loss(
        f"a line that could not be read was left out: {where}", f"{where} could not be read"
    )


def unmatched(series: bool, rid: str, *, cancels: bool) -> Loss:
    """A RECURRENCE-ID VEVENT (of RECURRENCE-ID `rid`, as written) that names no occurrence of
    a series in the file: the series is there without that occurrence (`series`), or is not."""
    if series:
        refusal = f"RECURRENCE-ID {rid} names no occurrence of the series"
        said = f"RECURRENCE-ID {rid} names no occurrence of its series"
    else:
        kind = "cancelled occurrence" if cancels else "VEVENT of one occurrence"
        refusal = f"a {kind} (RECURRENCE-ID {rid}) without the series it belongs to"
        said = "an occurrence whose series is not in the file"
    if cancels:
        return Loss(f"{said}: nothing to cancel", refusal)
    return Loss(f"{said}: imported as a single event", refusal)


CANCELLED = Loss("STATUS:CANCELLED", "the event is cancelled (STATUS:CANCELLED): delete it instead")
CANCELLED_BY_METHOD = Loss("METHOD:CANCEL", "a stored resource has no METHOD (RFC 4791 §4.1)")
