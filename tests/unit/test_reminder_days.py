"""An all-day series' reminders are found by its dates (`timing.days_after`): one walk of
its floating dates for every zone its holders live in, placed at each zone's midnights.
What that finds is what a walk of the series placed in the zone finds (`_placed_oracle`,
one expansion of the whole lookahead), and the reminders of many holders in many zones
share a few walks (`due.next_two_for`'s memo)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neo_events.events.days import date_in, floating
from neo_events.events.recurrence import Occurrence, Override, Series, expand
from neo_events.events.rrule import zone_named
from neo_events.reminders import timing
from neo_events.reminders.due import Answers, next_two_for
from neo_events.reminders.timing import LOOKAHEAD, NextDue, next_due, next_two

DAY = timedelta(days=1)
FIRST = date(2027, 3, 1)
# the furthest ahead and behind UTC, half and quarter hours, midnights a clock change skips
# or repeats (Havana, Santiago, Asuncion, Beirut), Lord Howe's half-hour daylight saving
ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/St_Johns",
         "Asia/Kathmandu", "Australia/Lord_Howe", "America/Havana", "America/Santiago",
         "America/Asuncion", "Asia/Beirut", "Europe/Berlin", "America/Los_Angeles"]  # fmt: skip
RULES = ["FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY;BYDAY=MO,TH",
         "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=YEARLY", "FREQ=DAILY;COUNT=20", None]  # fmt: skip


@st.composite
def all_day_series(draw: st.DrawFn) -> Series:
    """A floating all-day series (its dates' midnights in UTC) and its exceptions, as
    `content.series_of` makes one: dates only."""
    start = floating(FIRST + timedelta(days=draw(st.integers(0, 400))))
    length = DAY * draw(st.sampled_from([1, 1, 2, 5]))
    rule = draw(st.sampled_from(RULES))
    plain = Series(start, start + length, "UTC", rule)
    originals = expand(plain, start, start + 200 * DAY, limit=1000) if rule else []
    picked = (
        draw(st.lists(st.sampled_from(originals), max_size=4, unique=True)) if originals else []
    )
    exdates = tuple(o.recurrence_id for o in picked[:2])
    overrides = tuple(  # moved by whole days, some onto another occurrence's date
        Override(o.recurrence_id, o.start + DAY * draw(st.integers(-9, 9))) for o in picked[2:]
    )
    rdates = tuple(
        sorted({start + DAY * d for d in draw(st.lists(st.integers(-3, 300), max_size=3))})
    )
    return replace(plain, exdates=exdates, overrides=overrides, rdates=rdates,
                   all_day_zone=draw(st.sampled_from(ZONES)))  # fmt: skip


def _placed_oracle(
    shape: Series, minutes_before: int, after: datetime, declined: frozenset[date]
) -> NextDue | None:
    """The first occurrence of the series placed in its zone starting after `after` plus the
    reminder, its date not declined, from one expansion of two years; None past 360 days
    (where the walk may schedule a re-check instead)."""
    offset = timedelta(minutes=minutes_before)
    zone = zone_named(shape.all_day_zone or "UTC")
    found = [
        o
        for o in expand(
            shape, after + offset - 2 * DAY, after + offset + 2 * LOOKAHEAD, limit=10**6
        )
        if o.start > after + offset and date_in(o.start, zone) not in declined
    ]
    if not found:
        return None
    first = min(found, key=lambda o: (o.start, o.recurrence_id))
    return (
        NextDue(first.start - offset, first) if first.start < after + offset + 360 * DAY else None
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    all_day_series(),
    st.sampled_from([0, 5, 60, 24 * 60 - 1, 24 * 60, 24 * 60 * 28]),
    st.integers(-5 * 24 * 60, 420 * 24 * 60),
    st.lists(st.integers(0, 420), max_size=4),
)
def test_a_walk_by_dates_finds_what_the_zones_walk_finds(
    shape: Series, minutes_before: int, minutes: int, declined_days: list[int]
) -> None:
    after = floating(FIRST) + timedelta(minutes=minutes)
    declined = frozenset(FIRST + timedelta(days=d) for d in declined_days)
    zone = zone_named(shape.all_day_zone or "UTC")

    def skip(o: Occurrence) -> bool:
        return date_in(o.start, zone) in declined

    until = None
    if shape.rule is not None and "COUNT" in shape.rule or shape.rule is None:
        until = max([shape.end, *(r + (shape.end - shape.start) for r in shape.rdates)]) + 30 * DAY
    expected = _placed_oracle(shape, minutes_before, after, declined)
    found = next_due(shape, minutes_before=minutes_before, after=after, until=until, skip=skip)
    if expected is not None:
        assert found == expected
    else:
        assert (
            found is None or found.occurrence is None or found.occurrence.start > after + 300 * DAY
        )
    first, second = next_two(
        shape, minutes_before=minutes_before, after=after, until=until, skip=skip
    )
    assert first == found
    if found is not None and found.occurrence is not None:
        assert second == next_due(
            shape, minutes_before=minutes_before, after=found.due_at, until=until, skip=skip
        )


def test_the_reminders_of_holders_in_many_zones_share_a_few_walks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An outside attack: an owner's move of an all-day daily series held by 500 people in
    ~400 zones, 5 reminders each, worked out 2,000 walks of the series (one a zone and
    offset: ~60-100 ms of the move's CPU). By its dates, a walk serves every zone and offset
    whose time to remind falls on one date there: a few walks, and each answer is the one
    its own zone's walk gives."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc"))[:400]
    start = floating(FIRST)
    shape = Series(start, start + DAY, "UTC", "FREQ=DAILY", all_day_zone="UTC")
    event = SimpleNamespace(id=1, span_end=None)
    walks = []
    real = timing._walk

    def counted(*args: Any, **kwargs: Any) -> Any:
        walks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(timing, "_walk", counted)
    after = start + timedelta(days=30, hours=7)
    memo: dict[Any, Any] = {}
    answers: dict[tuple[int, int], Answers] = {}
    results = {}
    for user, zone in enumerate(zones):
        rules = replace(shape, all_day_zone=zone)
        for minutes in (0, 5, 15, 60, 1440):
            reminder = SimpleNamespace(user_id=user, minutes_before=minutes, reminded_day=None)
            results[zone, minutes] = next_two_for(event, rules, reminder, after, answers, memo)
    assert len(walks) <= 6, len(walks)  # dates today, tomorrow and the day after, a next each
    monkeypatch.setattr(timing, "_walk", real)
    checked = set(zones[::10])  # the oracle expands two years: a zone in ten
    for (zone, minutes), (first, second) in results.items():
        rules = replace(shape, all_day_zone=zone)
        alone = next_two(rules, minutes_before=minutes, after=after, until=None)
        assert (first, second) == alone
        if zone in checked:
            assert first == _placed_oracle(rules, minutes, after, frozenset()), zone


def test_an_occurrence_a_year_and_a_day_ahead_is_found_not_rechecked() -> None:
    """A review: the walk by dates looked 366 days past the threshold's date, not past the
    threshold, so from the afternoon of 1 March 2027 a yearly series' next day (1 March 2028,
    past 29 February) was a re-check at the horizon where the zone's own walk found it."""
    start = floating(date(2027, 3, 1))
    shape = Series(start, start + DAY, "UTC", "FREQ=YEARLY", all_day_zone="Europe/Berlin")
    after = start + timedelta(hours=12)
    found = next_due(shape, minutes_before=0, after=after, until=None)
    assert found is not None and found.occurrence is not None
    assert date_in(found.occurrence.start, zone_named("Europe/Berlin")) == date(2028, 3, 1)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    all_day_series(),
    st.integers(-5 * 24 * 60, 420 * 24 * 60),
    st.lists(st.integers(0, 420), max_size=5),
    st.one_of(st.none(), st.integers(-3, 420)),
)
def test_one_memo_for_every_zone_and_offset_gives_each_its_own_walk(
    shape: Series, minutes: int, declined_days: list[int], reminded: int | None
) -> None:
    """`due.next_two_for`'s walks by dates, shared by every zone and offset of one event (as
    an owner's move works out its holders' reminders), each give what that zone's own
    expansion gives: the first day after the reminder's time there, not declined (answers
    are kept by date) and after the day it last reminded of."""
    after = floating(FIRST) + timedelta(minutes=minutes)
    declined = frozenset(FIRST + timedelta(days=d) for d in declined_days)
    answers = {(1, 1): Answers("accepted", {floating(d): "declined" for d in declined})}
    day = None if reminded is None else FIRST + timedelta(days=reminded)
    passed = declined | (
        frozenset(FIRST + timedelta(days=d) for d in range(-400, reminded + 1))
        if reminded is not None
        else frozenset()
    )
    event = SimpleNamespace(id=1, span_end=None)
    if shape.rule is None or "COUNT" in shape.rule:
        return  # their ends are the other test's
    memo: dict[Any, Any] = {}
    for zone in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Havana",
                 "Asia/Beirut", "Australia/Lord_Howe"):  # fmt: skip
        rules = replace(shape, all_day_zone=zone)
        for minutes_before in (0, 60, 24 * 60):
            reminder = SimpleNamespace(user_id=1, minutes_before=minutes_before, reminded_day=day)
            first, _ = next_two_for(event, rules, reminder, after, answers, memo)
            expected = _placed_oracle(rules, minutes_before, after, passed)
            if expected is not None:
                assert first == expected, (zone, minutes_before)
