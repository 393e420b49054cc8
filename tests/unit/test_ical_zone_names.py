"""The zone an import keeps an event in is named by its current name, and a name CLDR still
lists is read as its zone (an outside attack's findings); an all-day event without length is
said to be what it becomes."""

from __future__ import annotations

import pytest

from neo_events.ical.codec import parse_calendar
from neo_events.ical.zones import canonical, iana_name
from tests.unit.test_ical_codec import contents, vevent, wrap

KATHMANDU_LIKE = (
    "BEGIN:VTIMEZONE",
    "TZID:Custom",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0545",
    "TZOFFSETTO:+0545",
    "END:STANDARD",
    "END:VTIMEZONE",
)


def test_a_removed_alias_cldr_still_lists_is_read_as_its_zone() -> None:
    """`US/Pacific-New` left the tz database in 2020b; CLDR lists it as America/Los_Angeles.
    It was read as floating UTC (8 hours off), with a warning."""
    parsed = parse_calendar(
        wrap(
            *vevent(
                "DTSTART;TZID=US/Pacific-New:20270110T090000",
                "DTEND;TZID=US/Pacific-New:20270110T100000",
            )
        )
    )
    assert parsed.notes == []
    [data] = contents(parsed)
    assert (data["timezone"], data["start_time"]) == ("America/Los_Angeles", "2027-01-10T17:00:00Z")
    assert iana_name("Canada/East-Saskatchewan") == "America/Regina"


def test_a_custom_zone_is_kept_under_the_zones_current_name() -> None:
    """A +05:45 VTIMEZONE was kept as `Asia/Katmandu`, the name tzdata keeps as a link."""
    parsed = parse_calendar(
        wrap(
            *KATHMANDU_LIKE,
            *vevent("DTSTART;TZID=Custom:20270110T090000", "DTEND;TZID=Custom:20270110T100000"),
        )
    )
    [data] = contents(parsed)
    assert data["timezone"] == "Asia/Kathmandu"
    assert "read as 'Asia/Kathmandu' (same offsets)" in parsed.notes[0].message


@pytest.mark.parametrize(
    ("name", "now"),
    [
        ("Asia/Katmandu", "Asia/Kathmandu"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Europe/Oslo", "Europe/Oslo"),  # a link since 2022, but a country's zone (zone.tab)
        ("Atlantic/Reykjavik", "Atlantic/Reykjavik"),
        ("US/Eastern", "America/New_York"),
        ("UTC", "Etc/UTC"),  # as before
    ],
)
def test_a_zone_picked_for_a_file_has_its_current_name(name: str, now: str) -> None:
    assert canonical(name) == now


def test_windows_names_give_the_zones_current_names() -> None:
    """CLDR's table names zones by the names it keeps stable (Asia/Calcutta)."""
    assert iana_name("India Standard Time") == "Asia/Kolkata"
    assert iana_name("Nepal Standard Time") == "Asia/Kathmandu"
    assert iana_name("Asia/Calcutta") == "Asia/Calcutta"  # a name the file gives is its own


@pytest.mark.parametrize("length", ["DTEND;VALUE=DATE:20270110", "DURATION:PT0S"])
def test_an_all_day_event_without_length_is_said_to_last_a_day(length: str) -> None:
    """It was imported as one day, with the warning "imported as one minute long"."""
    parsed = parse_calendar(wrap(*vevent("DTSTART;VALUE=DATE:20270110", length)))
    [data] = contents(parsed)
    assert (data["start_date"], data["end_date"]) == ("2027-01-10", "2027-01-11")
    assert [n.message for n in parsed.notes] == ["it has no duration: imported as one day long"]


def test_an_all_day_occurrence_without_length_is_said_to_last_a_day() -> None:
    parsed = parse_calendar(
        wrap(
            *vevent("DTSTART;VALUE=DATE:20270104", "RRULE:FREQ=DAILY;COUNT=5"),
            *vevent(
                "RECURRENCE-ID;VALUE=DATE:20270105",
                "DTSTART;VALUE=DATE:20270106",
                "DTEND;VALUE=DATE:20270106",
            ),
        )
    )
    [data] = contents(parsed)
    assert data["overrides"] == [
        {"recurrence_id": "2027-01-05", "start_date": "2027-01-06", "end_date": "2027-01-07"}
    ]
    assert [n.message for n in parsed.notes] == [
        "the occurrence of 2027-01-05T00:00:00Z has no duration: imported as one day long"
    ]
