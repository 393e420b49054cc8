"""Exported VTIMEZONEs read back by an independent reader (dateutil's tzical, which icalendar
and recurring-ical-events use for a zone they do not know by name) give zoneinfo's offsets to
the wall-clock times events are written in, over a series' whole span: after 2038 and through
Casablanca's Ramadan changes too."""

from __future__ import annotations

import calendar
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import pytest
from dateutil import tz
from icalendar import Calendar

from neo_events.ical import tzif, vtimezones
from neo_events.ical.codec import export_calendar
from neo_events.ical.folding import to_ical
from neo_events.ical.vtimezone_text import vtimezone, vtimezone_text
from tests.timing import budget
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


# Every zone there is, whatever its rule: what the TZif footer's rule finds after the last
# transition is what the sampled rule of the last CYCLE years finds (`_ruled`, the way every
# zone's tail was found before), and the footer is read for every zone (a rule it misreads
# would be sampled instead, unseen: so the footer's path must be the one taken).
EVERY_ZONE = sorted(available_timezones())


def tail_of(zone: str) -> tuple[ZoneInfo, tzif.Footer | None, int, int]:
    known = tzif.transitions(zone)
    assert known is not None
    start, end = vtimezones._timestamp(vtimezones.FIRST_YEAR), vtimezones._timestamp(2200)
    assert all(at < end for at in known)
    return ZoneInfo(zone), tzif.footer(zone), max([start, *known]), end


def test_every_zones_changes_after_its_last_transition_are_its_footers() -> None:
    wrong = []
    for zone in EVERY_ZONE:
        info, footer, after, end = tail_of(zone)
        assert footer is not None, zone
        footed = vtimezones._footed(info, footer, after, end)
        if footed is None or footed != vtimezones._ruled(info, after, end):
            wrong.append(zone)
    assert wrong == []


def scanned_plan(name: str, first_year: int) -> vtimezones.ZonePlan:
    """`plan` as it was: scanned from its first year (or HORIZON - CYCLE) for each first year."""
    horizon, cycle = vtimezones.HORIZON, vtimezones.CYCLE
    scan_from = max(vtimezones.FIRST_YEAR, min(first_year, horizon - cycle))
    by_year: dict[int, list[vtimezones.Change]] = {year: [] for year in range(scan_from, horizon)}
    for change in vtimezones.changes(name, scan_from, horizon):
        by_year.setdefault(change.local.year, []).append(change)
    tail = range(horizon - cycle, horizon)
    rules = vtimezones._tail_rules(by_year, tail)
    if rules is None:
        return vtimezones.ZonePlan({y: tuple(c) for y, c in by_year.items() if c}, None, [])
    models, regular_from = vtimezones._models(rules), tail.start
    while regular_from > scan_from and vtimezones._agrees(
        regular_from - 1, by_year[regular_from - 1], models
    ):
        regular_from -= 1
    return vtimezones.ZonePlan({y: tuple(c) for y, c in by_year.items() if c}, regular_from, rules)


def first_years(zone: str) -> set[int]:
    """Years whose scan differs from a scan from 1900: those with a change on 1 January on the
    clock that was 31 December in UTC, and the first of the tail."""
    odd = {c.local.year for c in vtimezones._every_change(zone) if c.local.year != c.at.year}
    return {1900, 2026, 2171, 2172, 2199, *odd, *(year + 1 for year in odd)}


def test_a_zones_plan_for_any_first_year_is_the_one_scanned_from_that_year() -> None:
    wrong = []
    for zone in EVERY_ZONE:
        for year in sorted(first_years(zone)):
            ours = vtimezones.plan(zone, year)
            theirs = scanned_plan(zone, year)
            scanned = {y: c for y, c in ours.by_year.items() if y >= max(year, 1900) and c}
            if (scanned, ours.regular_from, ours.rules) != (
                {y: c for y, c in theirs.by_year.items() if y >= max(year, 1900)},
                theirs.regular_from,
                theirs.rules,
            ):
                wrong.append((zone, year))
    assert wrong == []


@pytest.mark.parametrize("years", [(2026, None), (1900, 2199), (2199, 2199), (1969, 1971)])
def test_a_vtimezones_text_is_icalendars(years: tuple[int, int | None]) -> None:
    first = datetime(years[0], 1, 1, tzinfo=UTC)
    last = None if years[1] is None else datetime(years[1], 1, 1, tzinfo=UTC)
    zones = EVERY_ZONE if years != (1900, 2199) else SCANNED  # icalendar: ~1 ms an observance
    wrong = [
        zone
        for zone in zones
        if vtimezone_text(zone, first, last) != to_ical(vtimezone(zone, first, last))
    ]
    assert wrong == []


_COLD = """
import random, time, zoneinfo
from neo_events.ical.export import _vtimezone_text
rng = random.Random(1)
started = time.process_time()
for zone in sorted(zoneinfo.available_timezones()):
    first = rng.randint(1900, 2199)
    _vtimezone_text(zone, first, None if rng.random() < 0.5 else rng.randint(first, 2199))
print(time.process_time() - started)
"""


def test_every_zone_there_is_costs_milliseconds_to_write() -> None:
    # A feed naming every zone (599), each from a year picked at random, written first in a
    # process: 0.8-0.9 s here (4.0 s when each zone's tail was sampled and a zone's plan was
    # remade for each first year; BENCHMARKS.md).
    ran = subprocess.run(
        [sys.executable, "-c", _COLD], capture_output=True, text=True, check=True, timeout=120
    )
    assert float(ran.stdout) < budget(2.5)


def listed_day(rule: vtimezones.Rule, year: int) -> int | None:
    """`_occurs` as it was: the days of the rule's week listed, the first on its weekday."""
    month, byday = rule["BYMONTH"], str(rule["BYDAY"])
    assert isinstance(month, int)
    last = calendar.monthrange(year, month)[1]
    window = rule.get("BYMONTHDAY")
    first = window[0] if isinstance(window, list) else None
    if first is None:
        first = last - 6 if byday.startswith("-1") else 7 * int(byday[:-2]) - 6
    weekday = vtimezones._DAYS.index(byday[-2:])
    days = [d for d in range(first, first + 7) if d <= last]
    return next((d for d in days if calendar.weekday(year, month, d) == weekday), None)


def test_a_rules_day_is_the_first_of_its_week_on_its_weekday() -> None:
    rules: list[vtimezones.Rule] = [
        {"BYMONTH": month, "BYDAY": f"{week}{day}", **window}
        for month in range(1, 13)
        for day in vtimezones._DAYS
        for week, window in [
            *((n, {}) for n in (1, 2, 3, 4, 5, -1)),
            *(("", {"BYMONTHDAY": list(range(d, d + 7))}) for d in (2, 8, 15, 22, 25)),
        ]
    ]
    wrong = [
        (rule, year)
        for rule in rules
        for year in range(1900, 2200)
        if vtimezones._occurs(rule, year) != listed_day(rule, year)
    ]
    assert wrong == []
