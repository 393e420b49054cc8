"""The slot search: working hours on a zone's wall clock, across DST, granularity, bounds."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from neo_events.events.listing import WindowTooLarge
from neo_events.scheduling import service
from neo_events.scheduling.slots import (
    ALL_DAY,
    WorkingHours,
    free_days,
    free_slots,
    has_working_time,
)
from tests.timing import budget

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = WorkingHours(time(9), time(17), frozenset({1, 2, 3, 4, 5}))
HOUR = timedelta(hours=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_earliest_slots_on_the_granularity_skip_busy_time() -> None:
    busy = [(utc("2026-03-02T09:00"), utc("2026-03-02T10:10"))]
    found = free_slots(
        busy,
        (utc("2026-03-02T08:50"), utc("2026-03-03T00:00")),
        duration=HOUR,
        zone=ZoneInfo("UTC"),
        hours=WEEKDAYS,
        granularity=timedelta(minutes=15),
        limit=3,
    )
    assert [s for s, _ in found] == [
        utc("2026-03-02T10:15"),
        utc("2026-03-02T10:30"),
        utc("2026-03-02T10:45"),
    ]
    assert all(e - s == HOUR for s, e in found)


def test_touching_busy_time_is_free_and_slots_end_by_the_end_of_work() -> None:
    busy = [(utc("2026-03-02T09:00"), utc("2026-03-02T16:00"))]
    found = free_slots(
        busy,
        (utc("2026-03-02T00:00"), utc("2026-03-04T00:00")),
        duration=HOUR,
        zone=ZoneInfo("UTC"),
        hours=WEEKDAYS,
        granularity=timedelta(minutes=30),
        limit=2,
    )
    assert found == [
        (utc("2026-03-02T16:00"), utc("2026-03-02T17:00")),
        (utc("2026-03-03T09:00"), utc("2026-03-03T10:00")),
    ]


def test_working_hours_follow_the_wall_clock_across_dst() -> None:
    """09:00 Berlin is 08:00Z before the clocks change on 29 March 2026, 07:00Z after."""
    window = (utc("2026-03-27T00:00"), utc("2026-04-01T00:00"))
    found = free_slots(
        [], window, duration=HOUR, zone=BERLIN, hours=WEEKDAYS, granularity=HOUR, limit=100
    )
    firsts = sorted({s for s, _ in found if s.astimezone(BERLIN).hour == 9})
    assert firsts == [utc("2026-03-27T08:00"), utc("2026-03-30T07:00"), utc("2026-03-31T07:00")]
    assert all(s.astimezone(BERLIN).isoweekday() <= 5 for s, _ in found)
    assert all(time(9) <= s.astimezone(BERLIN).time() < time(17) for s, _ in found)
    assert len(found) == 3 * 8


def test_a_working_day_inside_the_spring_gap_keeps_zoneinfos_instants() -> None:
    hours = WorkingHours(time(2, 30), time(4), frozenset({7}))
    found = free_slots(
        [],
        (utc("2026-03-28T00:00"), utc("2026-03-30T00:00")),
        duration=timedelta(minutes=30),
        zone=BERLIN,
        hours=hours,
        granularity=timedelta(minutes=30),
        limit=10,
    )
    # 02:30 does not exist that night: it takes the offset before the gap (01:30Z)
    assert found[0][0] == utc("2026-03-29T01:30")
    assert found[-1][1] == utc("2026-03-29T02:00")  # 04:00 CEST


def test_without_working_hours_a_slot_may_cross_midnight() -> None:
    busy = [(utc("2026-03-02T00:00"), utc("2026-03-02T23:00"))]
    found = free_slots(
        busy,
        (utc("2026-03-02T00:00"), utc("2026-03-04T00:00")),
        duration=2 * HOUR,
        zone=ZoneInfo("UTC"),
        hours=ALL_DAY,
        limit=1,
    )
    assert found == [(utc("2026-03-02T23:00"), utc("2026-03-03T01:00"))]


def test_end_of_day_working_hours() -> None:
    hours = WorkingHours(time(22), time(0), frozenset(range(1, 8)))
    found = free_slots(
        [],
        (utc("2026-03-02T00:00"), utc("2026-03-03T00:00")),
        duration=HOUR,
        zone=ZoneInfo("UTC"),
        hours=hours,
        granularity=HOUR,
        limit=5,
    )
    assert found == [
        (utc("2026-03-02T22:00"), utc("2026-03-02T23:00")),
        (utc("2026-03-02T23:00"), utc("2026-03-03T00:00")),
    ]


def test_whole_days_run_midnight_to_midnight_on_the_zones_clock() -> None:
    """An all-day event's slots: whole days of its zone, one start a day, as many days long
    as it is (47 hours over the night Berlin's summer time begins), past what is busy."""
    busy = [
        (utc("2027-03-25T23:00"), utc("2027-03-26T23:00")),  # Friday 26 March, Berlin
        (utc("2027-03-29T10:00"), utc("2027-03-29T11:00")),  # an hour on Monday 29th
    ]
    found = free_days(
        busy,
        date(2027, 3, 25),
        date(2027, 4, 8),
        days=2,
        zone=BERLIN,
        limit=3,
        until=utc("2027-05-01T00:00"),
    )
    assert found == [
        (date(2027, 3, 27), date(2027, 3, 29)),
        (date(2027, 3, 30), date(2027, 4, 1)),
        (date(2027, 3, 31), date(2027, 4, 2)),
    ]
    # the search ends with the calendar read (cut short), and with its last start
    assert free_days(
        busy,
        date(2027, 3, 27),
        date(2027, 4, 8),
        days=2,
        zone=BERLIN,
        limit=3,
        until=utc("2027-03-30T22:00"),
    ) == [(date(2027, 3, 27), date(2027, 3, 29))]
    assert free_days(
        [],
        date(2027, 3, 27),
        date(2027, 3, 28),
        days=1,
        zone=BERLIN,
        limit=5,
        until=utc("2027-05-01T00:00"),
    ) == [(date(2027, 3, 27), date(2027, 3, 28)), (date(2027, 3, 28), date(2027, 3, 29))]


def test_no_working_time_in_the_window() -> None:
    weekend = (utc("2026-03-07T00:00"), utc("2026-03-09T00:00"))
    assert not has_working_time(weekend, ZoneInfo("UTC"), WEEKDAYS)
    assert has_working_time(weekend, ZoneInfo("UTC"), ALL_DAY)


def test_worst_input_is_bounded_by_busy_days_and_limit_not_ticks() -> None:
    """62 days of 5-minute granularity with 9,000 busy intervals leaving only 1-minute
    gaps for 56 days: one pass finds the first slot after them (generous bound)."""
    start = utc("2026-03-01T00:00")
    busy = []
    at = start
    for _ in range(9_000):
        busy.append((at, at + timedelta(minutes=8)))
        at += timedelta(minutes=9)
    window = (start, start + timedelta(days=62))
    began = clock.perf_counter()
    found = free_slots(
        busy,
        window,
        duration=timedelta(minutes=5),
        zone=BERLIN,
        hours=ALL_DAY,
        granularity=timedelta(minutes=5),
        limit=50,
    )
    assert clock.perf_counter() - began < budget(0.5)
    assert found and found[0][0] >= busy[-1][1]


def test_a_free_busy_answer_is_counted_after_each_persons_groups_are_merged() -> None:
    """`service._per_user`: 422 past MAX_PERIODS intervals of the answer, counted on each
    person's merged list (a review found a person's own series and a shared one at the same
    times counted twice: 8,000 intervals refused as more than 10,000)."""
    first = utc("2027-01-04T00:00:00")
    slots = [(first + timedelta(minutes=30 * i), first + timedelta(minutes=30 * i + 15))
             for i in range(4000)]  # fmt: skip
    answer = service._per_user({1, 2}, {frozenset({1}): slots, frozenset({1, 2}): slots})
    assert answer == {1: slots, 2: slots}  # 8,000 in all
    day_before = first - timedelta(days=1)
    earlier = [(day_before - timedelta(minutes=30 * i), day_before - timedelta(minutes=30 * i - 10))
               for i in range(1, 2002)]  # fmt: skip
    with pytest.raises(WindowTooLarge):
        service._per_user({1, 2}, {frozenset({1, 2}): sorted(slots + earlier)})  # 2 × 6,001
