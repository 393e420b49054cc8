"""Reading a calendar file costs bounded work, whatever it holds: its own VTIMEZONEs
(ical/zones.py), components of very many properties (ical/codec.py).

An outside attack found a 700-byte calendar whose VTIMEZONE changed offset every minute that
never got an answer: icalendar's tzinfo (dateutil's `tzical`) walked the rule from its
DTSTART at every lookup, burning minutes of CPU and a gigabyte of memory in one request.
"""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest

from neo_events.ical.blocks import unfold
from neo_events.ical.codec import MAX_LINES, ParsedCalendar, parse_calendar
from neo_events.ical.zones import MAX_CUSTOM, MAX_ONSETS, STREAM_OBSERVANCES
from tests.timing import budget


def _observance(kind: str, start: str, offsets: tuple[str, str], rule: str) -> list[str]:
    return [
        f"BEGIN:{kind}",
        f"DTSTART:{start}",
        f"TZOFFSETFROM:{offsets[0]}",
        f"TZOFFSETTO:{offsets[1]}",
        *([f"RRULE:{rule}"] if rule else []),
        f"END:{kind}",
    ]


def _zone(tzid: str, start: str, standard: str, daylight: str) -> list[str]:
    return [
        "BEGIN:VTIMEZONE",
        f"TZID:{tzid}",
        *_observance("STANDARD", start, ("+0200", "+0100"), standard),
        *_observance("DAYLIGHT", start, ("+0100", "+0200"), daylight),
        "END:VTIMEZONE",
    ]


def _event(uid: str, tzid: str, year: int) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART;TZID={tzid}:{year}0701T090000",
        f"DTEND;TZID={tzid}:{year}0701T100000",
        "END:VEVENT",
    ]


def _parse_stream(calendars: list[list[str]]) -> tuple[ParsedCalendar, float]:
    """VCALENDARs of these lines one after another, parsed as one stream (an import)."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"]
    stream = "".join("\r\n".join([*head, *lines, "END:VCALENDAR", ""]) for lines in calendars)
    began = time.process_time()
    parsed = parse_calendar(stream.encode(), default_timezone="UTC")
    return parsed, time.process_time() - began


def _parse(lines: list[str]) -> tuple[ParsedCalendar, float]:
    return _parse_stream([lines])


EUROPEAN = ("FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3")
HOSTILE = {
    "every minute": ("20250101T000000", "FREQ=MINUTELY", "FREQ=MINUTELY"),
    "every minute from the year 1": ("00010101T000000", "FREQ=MINUTELY", "FREQ=MINUTELY"),
    "every hour": ("20250101T000000", "FREQ=HOURLY", "FREQ=HOURLY"),
    "daily from 1900": ("19000101T000000", "FREQ=DAILY", "FREQ=DAILY"),
    "never (30 February) from the year 1": (
        "00010101T030000",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
    ),
    "every hour of every day, yearly": (
        "00010101T000000",
        "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11",
        "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=12,13,14,15,16,17,18,19,20,21,22,23",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_vtimezone_costs_milliseconds_and_names_no_zone(name: str) -> None:
    start, standard, daylight = HOSTILE[name]
    parsed, spent = _parse(
        [*_zone("Weird", start, standard, daylight), *_event("e", "Weird", 2026)]
    )
    assert spent < budget(2.0)  # it was minutes (every minute) or 23 s (daily from 1900)
    [event] = parsed.events
    messages = [note.message for note in parsed.notes]
    if name.startswith("never"):  # changes only at its DTSTARTs: a fixed +02:00 zone matches
        assert any("read as 'Africa/Johannesburg'" in m for m in messages), messages
    else:
        assert event.content["timezone"] == "UTC"  # read as floating, in the default zone
        assert any(f"over {MAX_ONSETS} changes of offset" in m for m in messages), messages


def test_outlooks_rules_from_1601_still_name_their_zone_in_any_year() -> None:
    zone = _zone("Romance Custom", "16010101T030000", *EUROPEAN)
    years = (1996, 2026, 2150)  # the EU's rule since 1996, and on
    events = [line for year in years for line in _event(f"e{year}", "Romance Custom", year)]
    parsed, spent = _parse([*zone, *_event("old", "Romance Custom", 1950), *events])
    assert spent < budget(2.0)
    assert [e.content["timezone"] for e in parsed.events][1:] == ["Europe/Berlin"] * 3
    assert [e.content["start_time"] for e in parsed.events] == [
        f"{year}-07-01T07:00:00Z" for year in (1950, *years)
    ]
    # No zone had these rules in 1950 (Berlin then kept +01:00 all summer): the VTIMEZONE's
    # own offset gives the instant (`ical/custom_zones.py`), kept in a zone with that offset
    assert parsed.events[0].content["timezone"] == "Africa/Cairo"
    assert any("'Romance Custom' matches no IANA zone" in note.message for note in parsed.notes)


def test_a_stream_of_many_custom_zones_and_years_is_bounded() -> None:
    """Hundreds of VTIMEZONEs, each used in many years: the stream's budgets (observances,
    (TZID, year) pairs, zone database searches) bound the whole parse."""
    lines: list[str] = []
    for n in range(STREAM_OBSERVANCES):  # twice the observances the stream works out
        lines += _zone(f"Z{n}", "16010101T030000", *EUROPEAN)
    for n in range(MAX_CUSTOM * 2):
        lines += _event(f"e{n}", f"Z{n % STREAM_OBSERVANCES}", 1901 + n % 290)
    parsed, spent = _parse(lines)
    assert len(parsed.events) == MAX_CUSTOM * 2
    assert spent < budget(5.0)  # generous for a loaded machine: the bound, not the figure
    messages = " ".join(note.message for note in parsed.notes)
    assert f"over {MAX_CUSTOM} custom zones and years" in messages


def test_a_component_of_too_many_lines_is_skipped_unread() -> None:
    """An outside attack sent one VEVENT with 20,000 X- properties (470 KB): 1.2 s of parsing
    by import, 3 s by CalDAV PUT, under the lock that serialises every parse of a worker."""
    many = [f"X-P{i};A=1;B=2;C=3:v" for i in range(20_000)]
    parsed, spent = _parse([*_event("big", "UTC", 2026)[:-1], *many, "END:VEVENT"])
    assert spent < budget(0.5)  # 1.2 s before
    assert parsed.events == []
    [skipped] = parsed.skipped
    assert (skipped.uid, skipped.component) == ("big", "VEVENT")
    assert f"more than {MAX_LINES} lines" in skipped.reason
    # an event at the bound is read
    most = [f"X-P{i}:v" for i in range(MAX_LINES - 7)]
    parsed, _ = _parse([*_event("most", "UTC", 2026)[:-1], *most, "END:VEVENT"])
    assert [e.uid for e in parsed.events] == ["most"] and parsed.skipped == []


def test_a_rule_until_a_utc_instant_keeps_its_last_onset_east_of_utc() -> None:
    """Apple's Berlin: CET from the last Sunday of September until 1995 (UNTIL in UTC), of
    October from 1996. The 1995 onset is at 03:00 local, 01:00 UTC, exactly UNTIL; read on the
    wall clock it fell two hours after UNTIL and was lost (+02:00 all winter, no zone
    matched, the events read as floating). Found by a review."""
    observances = [
        *_observance(
            "DAYLIGHT", "19810329T020000", ("+0100", "+0200"), "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"
        ),
        *_observance(
            "STANDARD",
            "19810927T030000",
            ("+0200", "+0100"),
            "FREQ=YEARLY;UNTIL=19950924T010000Z;BYMONTH=9;BYDAY=-1SU",
        ),
        *_observance(
            "STANDARD", "19961027T030000", ("+0200", "+0100"), "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
        ),
    ]
    zone = ["BEGIN:VTIMEZONE", "TZID:Apple Berlin", *observances, "END:VTIMEZONE"]
    parsed, _ = _parse([*zone, *_event("e", "Apple Berlin", 1995)])
    [event] = parsed.events
    assert event.content["timezone"] == "Europe/Berlin"


def test_a_vtimezone_of_too_many_lines_is_ignored_unread() -> None:
    """The VEVENT bound held for VTIMEZONEs too: 20,000 X- lines in one cost 2.5 s to read."""
    zone = _zone("Big", "16010101T030000", *EUROPEAN)
    big = [*zone[:-1], *(f"X-A{i}:v" for i in range(20_000)), "END:VTIMEZONE"]
    parsed, spent = _parse([*big, *_event("e", "Big", 2026)])
    assert spent < budget(0.5)
    assert [e.content["timezone"] for e in parsed.events] == ["UTC"]  # floating: no zone
    assert any(f"over {MAX_LINES} lines" in note.message for note in parsed.notes)


def test_a_line_folded_many_times_is_unfolded_in_linear_time() -> None:
    """An outside attack folded one line 349,000 times in a 1 MiB body: unfolding it by
    concatenation, a copy of the line so far per fold, cost 2.7 s of an import or a PUT."""
    folds = 349_000
    head = _event("folded", "UTC", 2026)[:-1]
    start = time.process_time()
    lines = unfold("\r\n".join([*head, "X-JUNK:" + "\r\n x" * folds, "END:VEVENT", ""]))
    spent = time.process_time() - start
    assert spent < budget(0.5)  # 1.2-2.7 s before
    assert lines[len(head)] == (len(head) + 1, "X-JUNK:" + "x" * folds)


def test_an_import_skips_a_list_of_rdates_past_the_models_unread() -> None:
    """An outside attack: one RDATE line of 60,000 values (1 MB) cost 2.5-3 s of parsing an
    import (or a CalDAV PUT, which shares the codec) before the model refused it."""
    values = ",".join(
        f"2026{1 + i // 28 % 12:02d}{1 + i % 28:02d}T{i % 24:02d}0000Z" for i in range(60_000)
    )
    event = _event("many", "UTC", 2026)
    parsed, spent = _parse([*event[:-1], f"RDATE:{values}", "END:VEVENT"])
    assert spent < budget(0.5)  # 2.5-3 s before
    [skipped] = parsed.skipped
    assert skipped.reason == "has 60000 RDATE values; an event holds at most 1000"


def _yearly_zone(tzid: str, years: int) -> list[str]:
    """A VTIMEZONE of one STANDARD and one DAYLIGHT observance a year from 1900: 2 x `years`."""
    observances = [
        row
        for k in range(years)
        for row in [
            *_observance("STANDARD", f"{1900 + k}1027T030000", ("+0200", "+0100"), ""),
            *_observance("DAYLIGHT", f"{1900 + k}0327T020000", ("+0100", "+0200"), ""),
        ]
    ]
    return ["BEGIN:VTIMEZONE", f"TZID:{tzid}", *observances, "END:VTIMEZONE"]


def test_an_import_parses_only_the_zones_its_events_name_within_a_budget() -> None:
    """150 VTIMEZONEs of 40 observances each (565 KB) cost 1.6-3 s to parse, each used or not:
    those no event names are not parsed, the others within STREAM_OBSERVANCES_PARSED."""
    zones = [line for i in range(150) for line in _yearly_zone(f"Z{i}", 20)]
    parsed, spent = _parse([*zones, *_event("one", "Z3", 2026)])
    assert spent < budget(0.5)
    assert [e.uid for e in parsed.events] == ["one"]
    named = [line for i in range(150) for line in _event(f"e{i}", f"Z{i}", 2026)]
    parsed, spent = _parse([*zones, *named])
    assert spent < budget(1.5)
    assert len(parsed.events) == 150
    assert any("observances in the file" in note.message for note in parsed.notes)


def test_the_zones_budget_is_the_streams_not_each_calendars() -> None:
    """A review: 27 VCALENDARs one after another, each with two named zones of 200
    observances, parsed 10,800 observances (4 s) where one calendar of them parses 400."""

    def calendar(n: int) -> list[str]:
        zones = [line for z in range(2) for line in _yearly_zone(f"Z{n}-{z}", 100)]
        events = [line for z in range(2) for line in _event(f"e{n}-{z}", f"Z{n}-{z}", 2026)]
        return [*zones, *events]

    parsed, spent = _parse_stream([calendar(n) for n in range(12)])
    assert len(parsed.events) == 24
    assert sum("observances in the file" in note.message for note in parsed.notes) >= 20
    assert spent < budget(1.0)


def test_icalendars_own_zone_lookups_read_the_zone_list_not_the_disk() -> None:
    """icalendar looks a TZID up through the codec's provider (`zones.KnownZones`): a name
    the zone database has not got is None without zoneinfo's walk of a package per slash,
    which for 300 of them was a RecursionError (a 500 for the PUT or import naming it)."""
    from icalendar.error import GloballyUniqueTZIDGuessed
    from icalendar.timezone import tzp

    assert tzp.timezone("a/" * 300 + "a") is None
    with pytest.warns(GloballyUniqueTZIDGuessed):  # the codec notes it
        assert tzp.timezone("/neo-events-test/Olson_2001/Europe/Berlin") == ZoneInfo(
            "Europe/Berlin"
        )


def test_the_zone_searches_are_the_streams_not_each_calendars() -> None:
    """A seventh outside attack: 25 VCALENDARs in one import, each of 16 custom zones at
    +00:00 that one event's EXDATEs name in 16 years each, searched the zone database 16
    times a VCALENDAR (14.6 s of CPU for 178 KB): MAX_SEARCHES is the stream's now."""

    def calendar(n: int) -> list[str]:
        zones = [
            row
            for z in range(16)
            for row in ["BEGIN:VTIMEZONE", f"TZID:Custom {n}-{z}",
                        *_observance("STANDARD", "18000101T000000", ("+0000", "+0000"), ""),
                        "END:VTIMEZONE"]
        ]  # fmt: skip
        exdates = [
            f"EXDATE;TZID=Custom {n}-{z}:"
            + ",".join(f"{1902 + y * 18}0101T120000" for y in range(16))
            for z in range(16)
        ]
        event = ["BEGIN:VEVENT", f"UID:e{n}", "DTSTAMP:20260101T000000Z",
                 f"DTSTART;TZID=Custom {n}-0:19010101T120000",
                 f"DTEND;TZID=Custom {n}-0:19010101T130000", "RRULE:FREQ=YEARLY", *exdates,
                 "END:VEVENT"]  # fmt: skip
        return [*zones, *event]

    parsed, spent = _parse_stream([calendar(n) for n in range(25)])
    assert len(parsed.events) == 25
    assert spent < budget(3.0)  # generous for a loaded machine: was 14.6 s


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("RRULE:FREQ=YEARLY;BYMINUTE=" + ",".join(["0"] * 200_000), "RRULE longer than 1000"),
        ("EXRULE:FREQ=DAILY;BYSETPOS=" + ",".join(["1"] * 150_000), "EXRULE longer than 1000"),
        ("CATEGORIES:" + ",".join(["a"] * 450_000), "450000 CATEGORIES values; at most 1000"),
        ("FREEBUSY:" + ",".join(["20270101T000000Z/PT1H"] * 45_000), "45000 FREEBUSY values"),
    ],
)
def test_a_list_past_what_any_calendar_holds_is_skipped_unread(line: str, reason: str) -> None:
    """A seventh outside attack: icalendar read these into an object an item before anything
    refused them (a 520,000-item RRULE: 3.4 s for a 403), or they were stored and read
    again at every text-match (CATEGORIES of 450,000: 1.66 s, then 4.6 s a query)."""
    parsed, spent = _parse([*_event("e", "Europe/Berlin", 2027)[:-1], line, "END:VEVENT"])
    assert spent < budget(0.5)  # refused on its raw lines
    assert parsed.events == [] and reason in parsed.skipped[0].reason


def test_a_vtimezones_exdates_count_as_its_dates() -> None:
    """No observance has EXDATEs (RFC 5545 §3.6.5), but icalendar reads them: a VTIMEZONE
    is held to MAX_ZONE_DATES of them as of RDATEs (the attack stored 50,000)."""
    dates = ",".join(f"{1900 + k % 300}0101T000000" for k in range(3_000))
    zone = ["BEGIN:VTIMEZONE", "TZID:Z", "BEGIN:STANDARD", "DTSTART:19000101T000000",
            "TZOFFSETFROM:+0100", "TZOFFSETTO:+0100", f"EXDATE:{dates}", "END:STANDARD",
            "END:VTIMEZONE"]  # fmt: skip
    parsed, spent = _parse([*zone, *_event("e", "Z", 2027)])
    assert spent < budget(0.5)
    assert any("3000 EXDATE values; a zone has at most 2000" in n.message for n in parsed.notes)
