"""A DTSTART or DTEND on a wall time that a DST change skips or repeats: the event lasts
what its two wall clocks say (an outside attack: such events imported as zero length, one
minute, or an hour too long, and CalDAV clients could not save them)."""

from __future__ import annotations

import pytest

from neo_events.ical.codec import ParsedCalendar, export_calendar, parse_calendar
from tests.unit.test_ical_codec import content, contents, outgoing, vevent, wrap

NY = "America/New_York"


def parse(*lines: str) -> ParsedCalendar:
    return parse_calendar(wrap(*lines))


@pytest.mark.parametrize(
    ("start", "end", "times"),
    [
        # spring forward on 2027-03-14: 02:00-03:00 does not exist
        ("20270314T023000", "20270314T033000", ("07:30", "08:30")),  # start in the gap: 1 h
        ("20270314T021500", "20270314T024500", ("07:15", "07:45")),  # both in it: 30 min
        ("20270314T023000", "20270314T031000", ("07:30", "08:10")),  # 40 min on the clock
        ("20270314T013000", "20270314T023000", ("06:30", "07:30")),  # end in the gap: 1 h
        # fall back on 2027-11-07: 01:00-02:00 happens twice
        ("20271107T013000", "20271107T023000", ("05:30", "06:30")),  # start repeated: 1 h
        ("20271107T003000", "20271107T013000", ("04:30", "05:30")),  # end repeated: 1 h
        # neither end on a skipped or repeated time: the real instants (RFC 5545)
        ("20271107T003000", "20271107T023000", ("04:30", "07:30")),  # 3 hours of real time
        ("20270314T013000", "20270314T033000", ("06:30", "07:30")),  # 1 hour of real time
    ],
)
def test_an_end_on_a_skipped_or_repeated_wall_time_keeps_the_written_length(
    start: str, end: str, times: tuple[str, str]
) -> None:
    parsed = parse(*vevent(f"DTSTART;TZID={NY}:{start}", f"DTEND;TZID={NY}:{end}"))
    assert parsed.notes == [] and parsed.skipped == []
    [data] = contents(parsed)
    assert (data["start_time"][11:16], data["end_time"][11:16]) == times


def test_a_series_written_in_a_gap_lasts_its_written_hour_every_day() -> None:
    """Google's export of a daily 02:30-03:30 series that starts on the spring-forward night:
    every occurrence lasted one minute."""
    daily = ("DTSTART;TZID=America/New_York:20270314T023000", "RRULE:FREQ=DAILY;COUNT=3")
    parsed = parse(*vevent(*daily, "DTEND;TZID=America/New_York:20270314T033000"))
    by_duration = parse(*vevent(*daily, "DURATION:PT1H"))
    assert parsed.notes == [] and contents(parsed) == contents(by_duration)
    [data] = contents(parsed)
    assert (data["start_time"], data["end_time"]) == (
        "2027-03-14T07:30:00Z",
        "2027-03-14T08:30:00Z",
    )


def test_a_series_starting_on_a_repeated_wall_time_lasts_its_written_hour() -> None:
    """A daily 01:30-02:30 starting on the fall-back night lasted two hours every day."""
    parsed = parse(
        *vevent(
            "DTSTART;TZID=America/New_York:20271107T013000",
            "DTEND;TZID=America/New_York:20271107T023000",
            "RRULE:FREQ=DAILY;COUNT=3",
        )
    )
    [data] = contents(parsed)
    assert (data["start_time"], data["end_time"]) == (
        "2027-11-07T05:30:00Z",
        "2027-11-07T06:30:00Z",
    )


def test_an_occurrence_in_a_gap_changing_only_its_title_keeps_the_series_length() -> None:
    """What Thunderbird writes when one occurrence on the spring-forward night is renamed: it
    was refused ("has no duration") by CalDAV and lasted a minute in an import."""
    master = vevent(
        "DTSTART;TZID=America/New_York:20270310T023000",
        "DTEND;TZID=America/New_York:20270310T033000",
        "RRULE:FREQ=DAILY;COUNT=10",
        "SUMMARY:night shift",
    )
    renamed = vevent(
        "RECURRENCE-ID;TZID=America/New_York:20270314T023000",
        "DTSTART;TZID=America/New_York:20270314T023000",
        "DTEND;TZID=America/New_York:20270314T033000",
        "SUMMARY:night shift (DST!)",
    )
    parsed = parse(*master, *renamed)
    assert parsed.notes == []
    [data] = contents(parsed)
    assert data["overrides"] == [
        {"recurrence_id": "2027-03-14T07:30:00Z", "title": "night shift (DST!)"}
    ]


def test_an_rdate_period_on_the_spring_forward_night_has_the_series_length() -> None:
    """Its end read as an instant made it zero length: "kept with the event's duration, not
    its own", and a CalDAV PUT of it was refused."""
    parsed = parse(
        *vevent(
            "DTSTART;TZID=America/New_York:20270310T023000",
            "DTEND;TZID=America/New_York:20270310T033000",
            "RDATE;TZID=America/New_York;VALUE=PERIOD:20270314T023000/20270314T033000",
        )
    )
    assert parsed.notes == []
    [data] = contents(parsed)
    assert data["rdates"] == ["2027-03-14T07:30:00Z"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2027-11-07T05:30:00Z", "2027-11-07T07:30:00Z"),  # 01:30 EDT to 02:30 EST: 2 hours
        ("2027-11-07T05:30:00Z", "2027-11-07T07:00:00Z"),  # 01:30 EDT to 02:00 EST
        ("2027-11-07T04:30:00Z", "2027-11-07T06:45:00Z"),  # to the second 01:45 (in UTC)
    ],
)
def test_an_exported_event_across_a_repeated_hour_reads_back_as_it_was(
    start: str, end: str
) -> None:
    """Its DTEND was written on the wall clock (02:30), which the reading above takes for
    an hour after 01:30: a CalDAV client saving it back would have shortened it."""
    single = content(start_time=start, end_time=end, timezone=NY)
    moved = content(
        start_time="2027-11-01T16:00:00Z",
        end_time="2027-11-01T17:00:00Z",
        timezone=NY,
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=30",
        overrides=[{"recurrence_id": "2027-11-07T17:00:00Z", "start_time": start, "end_time": end}],
    )
    for data in (single, moved):
        parsed = parse_calendar(export_calendar([outgoing(data)]))
        assert parsed.notes == [] and contents(parsed) == [data]
