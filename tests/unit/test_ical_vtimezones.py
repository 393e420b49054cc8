"""Exported VTIMEZONEs read back by an independent reader (dateutil's tzical, which icalendar
and recurring-ical-events use for a zone they do not know by name) give zoneinfo's offsets to
the wall-clock times events are written in, over a series' whole span: after 2038 and through
Casablanca's Ramadan changes too."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import pytest
from dateutil import tz
from icalendar import Calendar

from neo_events.ical import tzif, vtimezones
from neo_events.ical.codec import export_calendar
from tests.helpers import cpu_bound
from tests.unit.test_ical_codec import content, ours, outgoing, theirs

ZONES = [
    "Africa/Casablanca",  # Ramadan: +00 for about a month, predicted to 2087
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # southern hemisphere, first Sunday after 1 April / 1 September
    "Australia/Sydney",
    "Europe/Berlin",
    "Asia/Gaza",  # Ramadan-dependent until 2086, then a Saturday rule
    "America/Nuuk",  # changes on the Saturday before the last Sunday of March
]


def never_ending(zone: str, start: str = "2026-01-05T09:00:00Z") -> dict[str, Any]:
    end = (datetime.fromisoformat(start) + timedelta(hours=1)).isoformat()
    return content(
        start_time=start,
        end_time=end,
        timezone=zone,
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY",
    )


def read_back(body: bytes, zone: str) -> tz.tzical:
    [component] = [c for c in Calendar.from_ical(body).walk("VTIMEZONE") if str(c["TZID"]) == zone]
    return tz.tzical(io.StringIO(component.to_ical().decode())).get(zone)


def walls(zone: str, first: int, last: int) -> list[datetime]:
    """Wall-clock times of every third day, and two hours either side of each change of
    offset (a reader maps walls to instants: DTSTART;TZID=…), from first to last."""
    at, end = datetime(first, 1, 1, 12, tzinfo=UTC), datetime(last, 1, 1, tzinfo=UTC)
    found = []
    while at < end:
        found.append(at)
        at += timedelta(days=3)
    for change in vtimezones.changes(zone, first, last):
        found += [change.at - timedelta(hours=2), change.at + timedelta(hours=2)]
    return [at.astimezone(ZoneInfo(zone)).replace(tzinfo=None) for at in found]


def misread(reader: tz.tzical, zone: str, first: int, last: int) -> list[datetime]:
    truth = ZoneInfo(zone)
    return [
        wall
        for wall in walls(zone, first, last)
        if wall.replace(tzinfo=reader).utcoffset() != wall.replace(tzinfo=truth).utcoffset()
    ]


@pytest.mark.parametrize("zone", ZONES)
def test_a_never_ending_series_gets_a_vtimezone_that_holds_for_ever(zone: str) -> None:
    body = export_calendar([outgoing(never_ending(zone))])
    reader = read_back(body, zone)
    for year in (2026, 2099, 2190, 2290):
        wrong = misread(reader, zone, year, year + 11)
        assert wrong == [], f"{zone}: {len(wrong)} wall times misread from {wrong[0]}"


@pytest.mark.parametrize(
    ("zone", "most"),
    [("Europe/Berlin", 3), ("Australia/Lord_Howe", 3), ("Africa/Casablanca", 130)],
)
def test_a_regular_zone_is_a_yearly_rule_and_an_irregular_one_is_bounded(
    zone: str, most: int
) -> None:
    body = export_calendar([outgoing(never_ending(zone))])
    [component] = Calendar.from_ical(body).walk("VTIMEZONE")
    assert len(component.subcomponents) <= most
    # a series that ends needs its zone only until then
    ending = never_ending(zone) | {"recurrence_pattern": "FREQ=WEEKLY;UNTIL=20271231T000000Z"}
    [short] = Calendar.from_ical(export_calendar([outgoing(ending)])).walk("VTIMEZONE")
    assert all(sub["DTSTART"].dt.year <= 2027 for sub in short.subcomponents if "RRULE" not in sub)
    assert misread(read_back(export_calendar([outgoing(ending)]), zone), zone, 2026, 2028) == []


@pytest.mark.parametrize("years", [(2027, 2028), (2045, 2046)])
def test_a_calendar_read_through_its_vtimezone_has_our_occurrences(
    years: tuple[int, int],
) -> None:
    # Renamed, the zone is unknown to icalendar, which then reads our VTIMEZONE.
    series = never_ending("Africa/Casablanca", start="2026-01-05T13:00:00Z")
    body = export_calendar([outgoing(series)]).replace(b"Africa/Casablanca", b"Casa custom")
    window = (datetime(years[0], 1, 1, tzinfo=UTC), datetime(years[1], 1, 1, tzinfo=UTC))
    expected = ours([series], *window)
    assert (
        len({start.astimezone(ZoneInfo("Africa/Casablanca")).hour for start, *_ in expected}) == 1
    )
    assert [o[:2] for o in theirs(body, *window)] == [o[:2] for o in expected]


# The zones above, zones whose rules are odd (negative DST, a +2 summer, 45-minute offsets, a
# rule this module cannot write: Cairo's, which is sampled), and every 40th zone there is.
SCANNED = sorted(
    {
        *ZONES,
        "Europe/Dublin",
        "Antarctica/Troll",
        "Pacific/Chatham",
        "Africa/Cairo",
        "Asia/Tehran",
        "America/New_York",
        "UTC",
        "Etc/GMT+5",
        *sorted(available_timezones())[::40],
    }
)


def sampled(zone: str) -> tuple[vtimezones.Change, ...]:
    start, end = vtimezones._timestamp(vtimezones.FIRST_YEAR), vtimezones._timestamp(2200)
    return vtimezones._sampled(ZoneInfo(zone), start, end)


@pytest.mark.parametrize("zone", SCANNED)
def test_a_zones_changes_found_through_its_file_are_those_sampling_finds(zone: str) -> None:
    assert vtimezones._every_change.__wrapped__(zone) == sampled(zone)


def test_a_zone_file_that_cannot_be_read_is_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tzif, "_read", lambda name: b"TZif2 but not really")
    assert tzif.transitions("Europe/Berlin") is None
    assert vtimezones._every_change.__wrapped__("Europe/Berlin") == sampled("Europe/Berlin")


def test_a_file_that_disagrees_with_zoneinfo_is_not_believed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if tzdata were upgraded under the process: the file lacks a change zoneinfo has.
    every = tzif.transitions("Europe/Berlin")
    assert every is not None
    fewer = tuple(at for at in every if at != every[len(every) // 2])
    monkeypatch.setattr(tzif, "transitions", lambda name: fewer)
    assert vtimezones._every_change.__wrapped__("Europe/Berlin") == sampled("Europe/Berlin")


@pytest.mark.parametrize("name", ["No/Such_Zone", "../../etc/passwd", "/etc/localtime", ""])
def test_a_name_that_is_no_zone_has_no_file(name: str) -> None:
    assert tzif.transitions(name) is None


def test_every_zone_there_is_costs_milliseconds_to_scan() -> None:
    # A feed naming every zone scans each once a process: about 2.6 s in all here, where
    # sampling every zone from 1900 took 19.5 s (40 ms a zone).
    zones = sorted(available_timezones())
    with cpu_bound(12.0):
        for zone in zones:
            vtimezones._every_change.__wrapped__(zone)
