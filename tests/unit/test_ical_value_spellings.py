"""DATE-TIME values as RFC 5545 allows them to be written (an outside attack's findings: both
were refused, the VEVENT skipped): letters in either case (its ABNF literals are
case-insensitive, RFC 5234 §2.3) and a leap second (`…235960Z`, §3.3.12)."""

from __future__ import annotations

from neo_events.ical.codec import parse_calendar
from tests.unit.test_ical_codec import contents, vevent, wrap


def test_lowercase_t_and_z_are_read() -> None:
    parsed = parse_calendar(
        wrap(
            *vevent(
                "DTSTART:20270110t090000z",
                "DURATION:pt1h",
                "RRULE:FREQ=DAILY;COUNT=3",
                "EXDATE;TZID=Europe/Berlin:20270111t100000,20270112T100000",
                "RDATE:20270120t090000z",
            ),
            *vevent("DTSTART;TZID=Europe/Berlin:20270110t100000", uid="u2"),
        )
    )
    assert parsed.skipped == []
    series, single = contents(parsed)
    assert (series["start_time"], series["end_time"]) == (
        "2027-01-10T09:00:00Z",
        "2027-01-10T10:00:00Z",
    )
    assert series["exdates"] == ["2027-01-11T09:00:00Z", "2027-01-12T09:00:00Z"]
    assert series["rdates"] == ["2027-01-20T09:00:00Z"]
    assert single["start_time"] == "2027-01-10T09:00:00Z"


def test_a_leap_second_is_the_start_of_the_next_minute() -> None:
    """23:59:60 is read as POSIX time counts it (and PostgreSQL reads it): 00:00:00."""
    parsed = parse_calendar(
        wrap(*vevent("DTSTART:20161231T235960Z", "DTEND:20170101T010000Z", "SUMMARY:leap"))
    )
    assert parsed.skipped == [] and parsed.notes == []
    [data] = contents(parsed)
    assert (data["start_time"], data["end_time"]) == (
        "2017-01-01T00:00:00Z",
        "2017-01-01T01:00:00Z",
    )


def test_a_value_read_again_is_no_line_left_out_and_a_wrong_one_still_skips() -> None:
    """A value icalendar refused and the reader read again (`20270110T090000Z `, with a
    blank) was also said to be "a line that could not be read was left out", which a CalDAV
    PUT refuses."""
    parsed = parse_calendar(
        wrap(
            *vevent("DTSTART:20270110T090000Z ", "DTEND:20270110t100000z"),
            *vevent("DTSTART:2027", "DTEND:20270110T100000Z", uid="u2"),
        )
    )
    assert parsed.notes == []
    assert [(s.uid, s.reason) for s in parsed.skipped] == [
        ("u2", "DTSTART '2027' is not a valid value")
    ]
    assert [d["end_time"] for d in contents(parsed)] == ["2027-01-10T10:00:00Z"]
