"""Times of day: every occurrence of a series lies within the arcs a conflict check reads it
by, across DST gaps and folds, half-hour zones and skipped days; a series passed over is one
that cannot meet the times checked."""

from __future__ import annotations

import importlib
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from neo_events.events import recurrence, times_of_day
from neo_events.events.recurrence import Override, Series
from neo_events.events.times_of_day import DAY, WEEK, Near, arcs_of, meet, series_arcs
from neo_events.timezones import iana_zone_names

# zoneinfo's pure-Python implementation, which keeps a zone's transitions where one can read them
_PURE_ZONEINFO = importlib.import_module("zoneinfo._zoneinfo")
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Pacific/Apia",  # skipped 30 December 2011
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 with DST
    "Europe/Dublin",  # "negative" DST in the tz database
    "Africa/Casablanca",  # DST suspended each Ramadan
    "Pacific/Kiritimati",  # +14: a local Tuesday morning is a Monday in UTC
    "Pacific/Pago_Pago",  # -11: a local Monday evening is a Tuesday in UTC
]
RULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=1,2;BYMINUTE=30;BYSETPOS=-1",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=DAILY;BYHOUR=0,2,13;BYMINUTE=0,30",  # 02:00-02:59 is a gap somewhere
    "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30",  # a wall time in spring-forward gaps
    "FREQ=YEARLY;BYWEEKNO=13;BYDAY=SU;BYHOUR=1",
    "FREQ=WEEKLY;BYDAY=TU;BYHOUR=23;BYMINUTE=30",  # across midnight in UTC either way
    "FREQ=MONTHLY;BYDAY=1MO",
    "FREQ=DAILY;BYDAY=SA,SU;BYHOUR=0,12",
    "FREQ=WEEKLY;INTERVAL=3",  # DTSTART's weekday
]


def _contained(
    start: datetime, end: datetime, arcs: list[tuple[int, int]], period: int = DAY
) -> bool:
    """Whether the occurrence's stretch of the UTC day (or week) lies within one of the arcs."""
    [(mine, length)] = arcs_of([(start, end)], period) or [(0, DAY)]
    return any((mine - arc) % period + length <= arc_length for arc, arc_length in arcs)


@pytest.mark.parametrize("period", [DAY, WEEK], ids=["day", "week"])
@pytest.mark.parametrize("seed", range(60))
def test_every_occurrence_lies_within_its_series_arcs(seed: int, period: int) -> None:
    rng = random.Random(seed)
    zone = rng.choice(ZONES)
    # Starts near the transitions too: a wall time of 00:00-03:59 on a random day.
    wall = datetime(2010, 1, 1) + timedelta(days=rng.randrange(6000), minutes=rng.randrange(1440))
    if rng.random() < 0.4:
        wall = wall.replace(hour=rng.randrange(4), minute=rng.choice([0, 15, 30, 45]))
    if rng.random() < 0.3:  # the API keeps a start's fraction of a second (the first's only)
        wall = wall.replace(second=rng.randrange(60), microsecond=rng.randrange(1_000_000))
    start = wall.replace(tzinfo=ZoneInfo(zone), fold=rng.randrange(2)).astimezone(UTC)
    length = timedelta(minutes=rng.choice([0, 1, 30, 90, 600, 1439]))
    series = Series(start, start + length, zone, rng.choice(RULES))
    lo = start + timedelta(days=rng.randrange(-30, 400))
    hi = lo + timedelta(days=rng.choice([1, 7, 366]))
    arcs = series_arcs(series, lo, hi, period=period)
    if arcs is None:  # anywhere: a day long with the zone's spread of offsets (Apia's is 25 h)
        # (or, in the week, a rule that names no weekday)
        named = "BYDAY" in series.rule or "WEEKLY" in series.rule
        assert (
            length + timedelta(hours=1) >= timedelta(days=1)
            or zone == "Pacific/Apia"
            or (period == WEEK and not named)
        ), series
        return
    for o in recurrence.expand(series, lo, hi):
        assert _contained(o.start, o.end, arcs, period), (o, arcs)


def test_what_arcs_cannot_describe_is_anywhere() -> None:
    start = datetime(2027, 1, 4, 9, tzinfo=UTC)
    hour = start + timedelta(hours=1)
    lo, hi = start, start + timedelta(days=366)
    describable = Series(start, hour, "Europe/Berlin", "FREQ=DAILY")
    assert series_arcs(describable, lo, hi) is not None
    moved = Override(recurrence_id=start + timedelta(days=1), start=start, end=hour)
    assert series_arcs(Series(start, hour, "UTC", None), lo, hi) == [
        (9 * 3_600_000_000, 3_600_000_000)
    ]
    for series in (
        Series(start, hour, "UTC", "FREQ=HOURLY"),
        Series(start, hour, "UTC", "FREQ=MINUTELY;INTERVAL=15"),
        Series(start, start + timedelta(days=1), "UTC", "FREQ=WEEKLY"),  # a day long
        Series(start, hour, "UTC", "FREQ=DAILY", rdates=(start + timedelta(hours=30),)),
        Series(start, hour, "UTC", "FREQ=DAILY", overrides=(moved,)),
        Series(start, hour, "UTC", "FREQ=DAILY", all_day_zone="Europe/Berlin"),
        Series(start, hour, "UTC", "FREQ=DAILY;BYHOUR=1,2,3,4,5,6;BYMINUTE=0,30,45"),  # 18
    ):
        assert series_arcs(series, lo, hi) is None, series
        assert meet([(0, 1)], series_arcs(series, lo, hi))
    assert arcs_of([(start, start + timedelta(days=1))]) is None
    many = [(start + timedelta(minutes=m), start + timedelta(minutes=m + 5)) for m in range(17)]
    assert arcs_of(many) is None and arcs_of(many[:16]) is not None


def test_the_first_occurrence_keeps_its_fraction_of_a_second() -> None:
    """Later occurrences start on whole seconds; the first starts when the series does: a
    check at 10:00:00.5 meets a daily 09:00:00.9-10:00:00.9 (found by a review)."""
    start = datetime(2027, 1, 4, 9, 0, 0, 900_000, tzinfo=UTC)
    daily = Series(start, start + timedelta(hours=1), "UTC", "FREQ=DAILY")
    checked = datetime(2027, 1, 4, 10, 0, 0, 500_000, tzinfo=UTC)
    near = arcs_of([(checked, checked + timedelta(minutes=30))])
    assert meet(near, series_arcs(daily, start, checked + timedelta(hours=1)))
    later = checked + timedelta(days=1)
    assert [o.start for o in recurrence.expand(daily, later - timedelta(hours=2), later)] == [
        start.replace(microsecond=0) + timedelta(days=1)
    ]


def test_a_read_works_out_few_zones_afresh_and_no_long_window() -> None:
    """A zone's offsets in a year cost about 0.6 ms the first time: a read works out at most
    FRESH_ZONE_YEARS, and the series of further zones are anywhere (expanded as before); a
    window over two years long (a batch's) is not described at all."""
    times_of_day._zone_years.clear()
    times_of_day._series_years.clear()
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    lo, hi = start, start + timedelta(days=300)  # one year each
    budget = times_of_day.Budget(2)
    zones = ["Europe/Paris", "Asia/Tokyo", "America/Chicago", "Europe/Paris"]
    described = [
        series_arcs(Series(start, start + timedelta(hours=1), z, "FREQ=DAILY"), lo, hi, budget)
        is not None
        for z in zones
    ]
    assert described == [True, True, False, True]  # Paris again: kept, no cost
    long = Series(start, start + timedelta(hours=1), "UTC", "FREQ=DAILY")
    assert series_arcs(long, lo, lo + times_of_day.LONGEST_WINDOW) is not None
    assert series_arcs(long, lo, lo + times_of_day.LONGEST_WINDOW + timedelta(days=1)) is None
    backwards = Series(start, start - timedelta(hours=1), "UTC", "FREQ=DAILY")
    assert series_arcs(backwards, lo, hi) is None


def test_a_series_arcs_are_kept_but_never_an_answer_the_budget_forced() -> None:
    """A series met again (a create's check meets its owner's series every time) is not
    worked out again: its arcs over those years are kept, and answer even a read whose
    budget is spent. An "anywhere" the budget forced is not kept: a later read with budget
    left describes the series."""
    times_of_day._zone_years.clear()
    times_of_day._series_years.clear()
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    lo, hi = start, start + timedelta(days=30)
    weekly = Series(start, start + timedelta(hours=1), "Asia/Tokyo", "FREQ=WEEKLY;BYDAY=MO")
    assert series_arcs(weekly, lo, hi, times_of_day.Budget(0)) is None  # forced
    described = series_arcs(weekly, lo, hi, times_of_day.Budget(1))
    assert described == [(9 * 3_600_000_000, 3_600_000_000)]  # 18:00 in Tokyo
    times_of_day._zone_years.clear()  # its zone's offsets forgotten: the arcs still kept
    assert series_arcs(weekly, lo, hi, times_of_day.Budget(0)) == described
    assert series_arcs(weekly, lo, hi, times_of_day.Budget(0), WEEK) is not None
    later = datetime(2029, 3, 1, 9, tzinfo=UTC)  # other years: worked out, so the budget counts
    assert series_arcs(weekly, later, later + timedelta(days=30), times_of_day.Budget(0)) is None


def test_an_occurrence_given_in_its_zone_lasts_its_real_length() -> None:
    """Two datetimes of one zone subtract as wall times: 00:30 to 03:30 in Berlin on the
    night clocks go forward is two hours, not three (found by a review's fuzzer)."""
    berlin = ZoneInfo("Europe/Berlin")
    start, end = (
        datetime(2027, 3, 28, 0, 30, tzinfo=berlin),
        datetime(2027, 3, 28, 3, 30, tzinfo=berlin),
    )
    assert arcs_of([(start, end)]) == [(23 * 3_600_000_000 + 1_800_000_000, 2 * 3_600_000_000)]


def test_arcs_meet_across_midnight_and_touching_counts() -> None:
    hour = 3_600_000_000
    late = [(23 * hour, 2 * hour)]  # 23:00-01:00
    assert meet(late, [(0, hour // 2)])  # 00:00-00:30
    assert meet(late, [(hour, hour)])  # touches at 01:00
    assert not meet(late, [(hour + 1, hour)])
    assert meet([(hour, hour)], late)
    assert not meet([(2 * hour, hour)], [(4 * hour, hour)])
    assert meet([(2 * hour, 0)], [(2 * hour, 0)])  # zero-length at the same instant


def test_a_series_at_other_hours_is_passed_over_and_the_dst_mismatch_weeks_are_not() -> None:
    """Berlin 15:00 daily is 14:00 UTC in winter and 13:00 in summer; New York 10:00 is 15:00
    UTC, and 14:00 in the weeks the United States keeps summer time and Europe does not yet
    (March) or no longer (late October): there the two meet, so neither may be passed over.
    New York 12:00 never meets Berlin 15:00."""
    berlin = datetime(2027, 1, 4, 15, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    daily = Series(berlin, berlin + timedelta(minutes=30), "Europe/Berlin", "FREQ=DAILY")
    lo, hi = berlin, berlin + timedelta(days=366)
    for hour, clash in ((10, True), (12, False)):
        ny = datetime(2027, 1, 5, hour, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
        weekly = Series(ny, ny + timedelta(minutes=30), "America/New_York", "FREQ=WEEKLY")
        mine = [(o.start, o.end) for o in recurrence.expand(weekly, lo, hi)]
        theirs = recurrence.expand(daily, lo, hi)
        overlapping = [m for m in mine if any(o.start < m[1] and m[0] < o.end for o in theirs)]
        assert bool(overlapping) is clash
        assert meet(arcs_of(mine), series_arcs(daily, lo, hi)) is clash
    # the clashes of 10:00 are the weeks the clocks disagree
    ny = datetime(2027, 1, 5, 10, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    weekly = Series(ny, ny + timedelta(minutes=30), "America/New_York", "FREQ=WEEKLY")
    theirs = recurrence.expand(daily, lo, hi)
    days = {
        o.start.date().isoformat()
        for o in recurrence.expand(weekly, lo, hi)
        if any(b.start < o.end and o.start < b.end for b in theirs)
    }
    assert days == {"2027-03-16", "2027-03-23", "2027-11-02"}


def test_a_series_on_other_weekdays_is_passed_over_and_one_across_midnight_is_not() -> None:
    """A create on a Friday cannot meet a weekly meeting on Tuesdays at the same hour, nor a
    monthly one on first Mondays; a daily one it can. A Tuesday 23:30 in New York is a
    Wednesday in UTC: a Wednesday check meets it, a Tuesday one at 04:00 UTC does not."""
    utc9 = datetime(2027, 1, 8, 9, tzinfo=UTC)  # a Friday
    near = Near([(utc9, utc9 + timedelta(minutes=45))])
    lo, hi = utc9 - timedelta(days=200), utc9 + timedelta(days=200)
    tuesday = datetime(2027, 1, 5, 9, tzinfo=UTC)
    budget = times_of_day.Budget()
    for rule, meets in (
        ("FREQ=WEEKLY;BYDAY=TU", False),
        ("FREQ=WEEKLY", False),  # DTSTART's Tuesday
        ("FREQ=MONTHLY;BYDAY=1MO", False),
        ("FREQ=WEEKLY;BYDAY=TU,FR", True),
        ("FREQ=DAILY", True),
        ("FREQ=MONTHLY;BYMONTHDAY=8", True),  # no weekday named: anywhere in the week
    ):
        series = Series(tuesday, tuesday + timedelta(hours=1), "UTC", rule)
        assert near.meets(series, lo, hi, budget) is meets, rule
    late = datetime(2027, 1, 5, 23, 30, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    weekly = Series(late, late + timedelta(minutes=30), "America/New_York", "FREQ=WEEKLY")
    wednesday = datetime(2027, 1, 6, 4, 40, tzinfo=UTC)
    assert Near([(wednesday, wednesday + timedelta(minutes=5))]).meets(weekly, lo, hi, budget)
    tuesday_utc = datetime(2027, 1, 5, 4, 40, tzinfo=UTC)
    assert not Near([(tuesday_utc, tuesday_utc + timedelta(minutes=5))]).meets(
        weekly, lo, hi, budget
    )
    # DTSTART is the first occurrence even off the rule's weekdays (RFC 5545 §3.8.5.3): a
    # Friday start of a Tuesday rule meets a check on that Friday, in its week's place
    friday = Series(utc9, utc9 + timedelta(hours=1), "UTC", "FREQ=WEEKLY;BYDAY=TU")
    assert near.meets(friday, lo, hi, budget)
    # a check's arcs that cannot be described (a day long) pass nothing over
    anywhere = Near([(utc9, utc9 + timedelta(days=1))])
    assert anywhere.meets(
        Series(tuesday, tuesday + timedelta(hours=1), "UTC", "FREQ=WEEKLY"), lo, hi, budget
    )
    assert meet([(WEEK - 1, 2)], [(0, 0)], WEEK) and not meet([(WEEK - 3, 1)], [(0, 0)], WEEK)


def test_a_series_passed_over_never_overlaps_what_is_checked() -> None:
    """Differentially, against expanding both: whatever `Near.meets` passes over (by the day's
    circle or the week's) has no occurrence overlapping an occurrence checked, for random
    series of every rule and zone above and random checks (single times, weekly and daily
    series); and the week's circle passes over some that the day's alone would expand."""
    rng = random.Random(2026)
    passed_over = by_week = 0
    for _ in range(600):
        zone = rng.choice(ZONES)
        wall = datetime(2027, 1, 1) + timedelta(
            days=rng.randrange(300), minutes=15 * rng.randrange(96)
        )
        start = wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        length = timedelta(minutes=rng.choice([15, 45, 90]))
        series = Series(start, start + length, zone, rng.choice(RULES))
        first = start + timedelta(days=rng.randrange(-10, 60), minutes=15 * rng.randrange(96))
        if rng.random() < 0.2:  # on the first occurrence, DTSTART's, often off the rule's days
            first = start + timedelta(minutes=rng.choice([-30, 0, 10]))
        lo, hi = first - timedelta(days=1), first + timedelta(days=rng.choice([2, 60]))
        their_zone = rng.choice(ZONES)
        if rng.random() < 0.5:
            local = first.astimezone(ZoneInfo(their_zone)).replace(tzinfo=None)
            theirs = Series(
                local.replace(tzinfo=ZoneInfo(their_zone)).astimezone(UTC),
                local.replace(tzinfo=ZoneInfo(their_zone)).astimezone(UTC) + length,
                their_zone,
                rng.choice(["FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=DAILY;COUNT=5"]),
            )
            checked = [(o.start, o.end) for o in recurrence.expand(theirs, lo, hi)]
        else:
            checked = [(first, first + timedelta(minutes=rng.choice([0, 30, 60])))]
        if not checked:
            continue
        near = Near(checked)
        if near.meets(series, lo, hi, times_of_day.Budget()):
            continue
        passed_over += 1
        by_week += meet(near.day, series_arcs(series, lo, hi))
        for o in recurrence.expand(series, lo, hi):
            assert not any(o.start <= end and start <= o.end for start, end in checked), (
                series,
                o,
                checked,
            )
    assert passed_over > 100 and by_week > 30, (passed_over, by_week)


def test_every_zone_changes_offset_less_often_than_it_is_sampled() -> None:
    """`_offsets_in` reads a zone's offset every `_SAMPLE`: an offset kept for less time
    could be missed. The tz database's transitions (pure-Python zoneinfo keeps them) are
    days apart at the least; a future tzdata that changes that fails here."""
    sample = times_of_day._SAMPLE.total_seconds()
    for name in iana_zone_names():
        transitions = _PURE_ZONEINFO.ZoneInfo.no_cache(name)._trans_utc
        gaps = [b - a for a, b in zip(transitions, transitions[1:], strict=False)]
        assert not gaps or min(gaps) > sample, name
