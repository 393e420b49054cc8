"""The pure calendar rules of issue #18: all-day expansion by date (DST days, 29 February),
sub-daily rules on the wall clock across gaps and folds, mixed BYDAY, BYSETPOS and rdates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neo_events.events import days, recurrence
from neo_events.events.recurrence import Series, expand, normalize_rule, series_end


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # type: ignore[misc]


def timed(rule: str | None, start: datetime, zone: str, **extra: object) -> Series:
    start = start.astimezone(UTC)
    text = None if rule is None else normalize_rule(rule, start=start, timezone=zone)
    return Series(start, start + timedelta(minutes=5), zone, text, **extra)  # type: ignore[arg-type]


def all_day(
    rule: str | None, first: date, length: int = 1, zone: str = "UTC", **extra: object
) -> Series:
    start = days.floating(first)
    text = None if rule is None else normalize_rule(rule, start=start, timezone="UTC")
    return Series(
        start,
        days.floating(first + timedelta(days=length)),
        "UTC",
        text,
        all_day_zone=zone,
        **extra,  # type: ignore[arg-type]
    )


def starts(series: Series, lo: datetime, hi: datetime) -> list[datetime]:
    return [o.start for o in expand(series, lo, hi)]


# --- all-day ------------------------------------------------------------------------------


def test_an_all_day_occurrence_is_its_days_in_the_zone_it_is_placed_in() -> None:
    holiday = all_day(None, date(2026, 12, 24), length=3)
    for zone in ("Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati", "Etc/GMT+12"):
        [o] = expand(
            replace(holiday, all_day_zone=zone),
            utc(2026, 12, 1),
            utc(2027, 1, 1),
        )
        z = ZoneInfo(zone)
        assert o.start == days.midnight(date(2026, 12, 24), z)
        assert o.end == days.midnight(date(2026, 12, 27), z)
        assert (o.start.astimezone(z).date(), o.end.astimezone(z).date()) == (
            date(2026, 12, 24),
            date(2026, 12, 27),
        )


def test_an_all_day_day_lasts_as_long_as_the_day_across_dst() -> None:
    # 29 March 2026 is 23 hours long in Berlin, 25 October 25 hours
    daily = all_day("FREQ=DAILY", date(2026, 3, 28), zone="Europe/Berlin")
    found = expand(daily, utc(2026, 3, 28), utc(2026, 3, 31))
    lengths = [
        (o.start.astimezone(ZoneInfo("Europe/Berlin")).date(), o.end - o.start) for o in found
    ]
    assert (date(2026, 3, 29), timedelta(hours=23)) in lengths
    assert all(
        o.start.astimezone(ZoneInfo("Europe/Berlin")).time() == datetime.min.time() for o in found
    )
    autumn = expand(daily, utc(2026, 10, 24), utc(2026, 10, 27))
    assert timedelta(hours=25) in [o.end - o.start for o in autumn]


def test_a_midnight_a_clock_change_skips_starts_the_day_at_the_gaps_end() -> None:
    # Santiago springs forward at 24:00 on 5 September 2026: 6 September has no 00:00
    [o] = expand(
        all_day(None, date(2026, 9, 6), zone="America/Santiago"), utc(2026, 9, 1), utc(2026, 9, 10)
    )
    assert o.start.astimezone(ZoneInfo("America/Santiago")).replace(tzinfo=None) == datetime(
        2026, 9, 6, 1
    )
    assert o.end - o.start == timedelta(hours=23)


def test_midnights_somewhere_are_a_listings_times_in_one_zone() -> None:
    """What a listing with `timezone=` shows an all-day event at, in any zone: its dates'
    midnights there (a skipped midnight, a historical offset); never in two zones at once,
    never another time."""
    christmas, boxing = date(2026, 12, 24), date(2026, 12, 26)
    for name in ("Asia/Tokyo", "America/Santiago", "Pacific/Kiritimati", "Etc/GMT+12"):
        z = ZoneInfo(name)
        assert days.midnights_somewhere([(christmas, days.midnight(christmas, z))]), name
    skipped = date(2026, 9, 6)  # Santiago's has no 00:00: the day starts at 01:00
    at = days.midnight(skipped, ZoneInfo("America/Santiago"))
    assert days.midnights_somewhere([(skipped, at)])
    lmt = date(1901, 1, 1)  # Amsterdam's local mean time, +00:19:32
    assert days.midnights_somewhere([(lmt, days.midnight(lmt, ZoneInfo("Europe/Amsterdam")))])
    tokyo, la = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles")
    both = [(christmas, days.midnight(christmas, tokyo)), (boxing, days.midnight(boxing, tokyo))]
    assert days.midnights_somewhere(both)
    mixed = [(christmas, days.midnight(christmas, tokyo)), (boxing, days.midnight(boxing, la))]
    assert not days.midnights_somewhere(mixed)
    for instant in (utc(2026, 12, 24, 9, 17), utc(2026, 12, 22), utc(2026, 12, 25, 13)):
        assert not days.midnights_somewhere([(christmas, instant)]), instant


def test_a_29_february_birthday_falls_on_the_last_day_of_february() -> None:
    birthday = all_day("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", date(2028, 2, 29), zone="Asia/Tokyo")
    found = expand(birthday, utc(2028, 1, 1), utc(2033, 1, 1))
    tokyo = ZoneInfo("Asia/Tokyo")
    assert [o.start.astimezone(tokyo).date() for o in found] == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]
    # without BYMONTHDAY=-1 the rule has only the leap years (RFC 5545 skips invalid dates)
    strict = all_day("FREQ=YEARLY", date(2028, 2, 29))
    assert [o.start.year for o in expand(strict, utc(2028, 1, 1), utc(2037, 1, 1))] == [
        2028,
        2032,
        2036,
    ]


def test_a_date_until_includes_that_day_whatever_the_zone() -> None:
    weekly = all_day("FREQ=WEEKLY;UNTIL=20261225", date(2026, 12, 4), zone="Pacific/Auckland")
    auckland = ZoneInfo("Pacific/Auckland")
    found = expand(weekly, utc(2026, 11, 1), utc(2027, 2, 1))
    assert [o.start.astimezone(auckland).date().day for o in found] == [4, 11, 18, 25]
    end = series_end(weekly)
    assert end == days.floating(date(2026, 12, 26))


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Chatham", "America/St_Johns"]),
    offset=st.integers(-400, 400),
    length=st.integers(1, 60),
)
def test_all_day_windows_find_exactly_the_days_they_touch(
    zone: str, offset: int, length: int
) -> None:
    daily = all_day("FREQ=DAILY", date(2026, 1, 1), zone=zone)
    z = ZoneInfo(zone)
    lo = utc(2026, 6, 1) + timedelta(hours=offset)
    hi = lo + timedelta(hours=length)
    found = expand(daily, lo, hi)
    expected, day = [], lo.astimezone(z).date() - timedelta(days=1)
    while days.midnight(day, z) < hi:
        if days.midnight(day + timedelta(days=1), z) > lo:
            expected.append(days.midnight(day, z))
        day += timedelta(days=1)
    assert [o.start for o in found] == expected


# --- sub-daily rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "expected_utc"),
    [
        # Berlin springs forward 02:00 → 03:00: wall 02:00 takes the offset before the gap,
        # the instant of 03:00, so the two are one occurrence
        ("Europe/Berlin", (2026, 3, 29, 0), [(3, 28, 23), (3, 29, 0), (3, 29, 1), (3, 29, 2)]),
        # Berlin falls back 03:00 → 02:00: the repeated 02:00 is its first instant only
        (
            "Europe/Berlin",
            (2026, 10, 25, 0),
            [(10, 24, 22), (10, 24, 23), (10, 25, 0), (10, 25, 2)],
        ),
        ("America/New_York", (2026, 3, 8, 0), [(3, 8, 5), (3, 8, 6), (3, 8, 7), (3, 8, 8)]),
        ("America/New_York", (2026, 11, 1, 0), [(11, 1, 4), (11, 1, 5), (11, 1, 7), (11, 1, 8)]),
    ],
)
def test_hourly_follows_the_wall_clock_across_gaps_and_folds(
    zone: str, start: tuple[int, ...], expected_utc: list[tuple[int, int, int]]
) -> None:
    series = timed("FREQ=HOURLY;COUNT=4", local(zone, *start), zone)
    found = starts(series, utc(2026, 1, 1), utc(2027, 1, 1))
    assert found == [utc(2026, *moment) for moment in expected_utc]


def walls(zone: str, first: datetime, step: timedelta, count: int) -> list[datetime]:
    """The specification, spelled out: wall times stepped on the naive clock, each to its
    instant by RFC 5545 §3.3.5 (first instant of a fold, offset before a gap), once each."""
    z, seen, result = ZoneInfo(zone), set(), []
    for index in range(count):
        instant = (first + step * index).replace(tzinfo=z, fold=0).astimezone(UTC)
        if instant not in seen:
            seen.add(instant)
            result.append(instant)
    return result


@pytest.mark.parametrize(
    ("zone", "around"),
    [
        ("Europe/Berlin", datetime(2026, 3, 29, 2)),
        ("Europe/Berlin", datetime(2026, 10, 25, 2)),
        ("America/New_York", datetime(2026, 3, 8, 2)),
        ("America/New_York", datetime(2026, 11, 1, 1)),
        ("Australia/Lord_Howe", datetime(2026, 4, 5, 1, 30)),  # 30-minute fall back
        ("Australia/Lord_Howe", datetime(2026, 10, 4, 2)),  # 30-minute gap
        ("Pacific/Chatham", datetime(2026, 4, 5, 2, 45)),  # +13:45 → +12:45
        ("Pacific/Chatham", datetime(2026, 9, 27, 2, 45)),
    ],
)
@pytest.mark.parametrize("minutes", [1, 15, 30, 45, 90])
def test_minutely_rules_step_the_wall_clock_through_every_transition(
    zone: str, around: datetime, minutes: int
) -> None:
    first = around - timedelta(hours=3)
    step = timedelta(minutes=minutes)
    rule = f"FREQ=MINUTELY;INTERVAL={minutes}"
    series = timed(rule, first.replace(tzinfo=ZoneInfo(zone)), zone)
    count = int(timedelta(hours=6) / step)
    expected = walls(zone, first, step, count)
    found = starts(series, expected[0] - timedelta(hours=1), expected[-1] + timedelta(seconds=1))
    assert found == sorted(expected)
    # reached from far away (a window years later), the wall clock still rules
    periods = -(-(first.replace(year=2030) - first) // step)
    far = sorted(walls(zone, first + step * periods, step, count))
    found = starts(series, far[0], far[-1] + timedelta(seconds=1))
    assert [f for f in found if f >= far[0]] == far  # (earlier ones overlap the window)


@settings(max_examples=80, deadline=None)
@given(
    rule=st.sampled_from(
        [
            "FREQ=HOURLY;INTERVAL=7",
            "FREQ=HOURLY;BYMINUTE=0,20,40",
            "FREQ=HOURLY;INTERVAL=5;BYDAY=MO,FR",
            "FREQ=HOURLY;BYHOUR=9,17;BYSETPOS=-1",
            "FREQ=MINUTELY;INTERVAL=37",
            "FREQ=MINUTELY;INTERVAL=10;BYHOUR=8,9;BYDAY=TU",
            "FREQ=MINUTELY;INTERVAL=90;BYMONTHDAY=1,15",
            "FREQ=MINUTELY;BYMINUTE=0,30;BYMONTH=3,10",
        ]
    ),
    zone=st.sampled_from(["Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham"]),
    shift=st.integers(0, 3_000_000),
    length=st.integers(1, 4000),
)
def test_sub_daily_rules_reach_a_window_as_if_iterated_from_the_start(
    rule: str, zone: str, shift: int, length: int
) -> None:
    series = timed(rule, local(zone, 2026, 3, 2, 7, 13), zone)
    lo = utc(2026, 3, 1) + timedelta(minutes=shift)
    hi = lo + timedelta(minutes=length)
    fast = recurrence._expand(series, lo, hi, 100_000, skip=True)
    slow = recurrence._expand(series, lo, hi, 100_000, skip=False)
    assert fast == slow


# --- mixed BYDAY, BYSETPOS, rdates ----------------------------------------------------------


def test_mixed_byday_is_the_union_of_its_kinds() -> None:
    series = timed("FREQ=MONTHLY;BYDAY=FR,1MO", utc(2026, 6, 1, 9), "UTC")
    found = starts(series, utc(2026, 6, 1), utc(2026, 7, 1))
    assert [d.day for d in found] == [1, 5, 12, 19, 26]  # Monday the 1st, then Fridays
    yearly = timed("FREQ=YEARLY;BYDAY=-1SU,1MO;BYMONTH=3", utc(2026, 3, 2, 9), "UTC")
    assert [d.date() for d in starts(yearly, utc(2026, 1, 1), utc(2028, 1, 1))] == [
        date(2026, 3, 2),
        date(2026, 3, 29),
        date(2027, 3, 1),
        date(2027, 3, 28),
    ]


def test_bysetpos_applies_to_the_union() -> None:
    # the last of (every Friday and the first Monday) in each month
    series = timed("FREQ=MONTHLY;BYDAY=FR,1MO;BYSETPOS=-1,1;COUNT=6", utc(2026, 6, 1, 9), "UTC")
    found = starts(series, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [d.date() for d in found] == [
        date(2026, 6, 1),
        date(2026, 6, 26),
        date(2026, 7, 3),
        date(2026, 7, 31),
        date(2026, 8, 3),
        date(2026, 8, 28),
    ]
    assert series_end(series) == utc(2026, 8, 28, 9, 5)


def test_rdates_are_occurrences_with_the_events_duration() -> None:
    extra = (utc(2026, 6, 3, 14), utc(2026, 6, 20, 8))
    series = timed("FREQ=WEEKLY;COUNT=2", utc(2026, 6, 1, 9), "UTC", rdates=extra)
    found = expand(series, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [(o.start, o.end - o.start) for o in found] == [
        (utc(2026, 6, 1, 9), timedelta(minutes=5)),
        (utc(2026, 6, 3, 14), timedelta(minutes=5)),
        (utc(2026, 6, 8, 9), timedelta(minutes=5)),
        (utc(2026, 6, 20, 8), timedelta(minutes=5)),
    ]
    assert recurrence.occurrence_at(series, utc(2026, 6, 20, 8))
    assert series_end(series) == utc(2026, 6, 20, 8, 5)
    only = timed(None, utc(2026, 6, 1, 9), "UTC", rdates=extra, exdates=(extra[1],))
    assert starts(only, utc(2026, 1, 1), utc(2027, 1, 1)) == [utc(2026, 6, 1, 9), extra[0]]
    assert series_end(only) == extra[0] + timedelta(minutes=5)


def test_an_endless_minutely_rule_expands_only_its_window() -> None:
    series = timed("FREQ=MINUTELY", utc(2026, 1, 1), "Europe/Berlin")
    assert series_end(series) is None
    found = starts(series, utc(2150, 6, 1, 12), utc(2150, 6, 1, 13))
    assert found == [utc(2150, 6, 1, 11, 56) + timedelta(minutes=m) for m in range(64)]
    with pytest.raises(recurrence.ExpansionLimitExceeded):
        expand(series, utc(2030, 1, 1), utc(2030, 1, 8), limit=10_000)
