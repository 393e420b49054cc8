"""reminders/timing.py: the next due time of a reminder, bounded lookahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neo_events.events.recurrence import Occurrence, Override, Series, expand
from neo_events.reminders import timing
from neo_events.reminders.timing import (
    LOOKAHEAD,
    _search,
    _walk,
    next_answered,
    next_due,
    next_two,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def series(rule: str | None, **extra: object) -> Series:
    return Series(start=T0, end=T0 + timedelta(minutes=30), timezone="UTC", rule=rule, **extra)  # type: ignore[arg-type]


def test_a_single_event_is_due_once() -> None:
    due = next_due(series(None), minutes_before=10, after=T0 - timedelta(days=1), until=T0)
    assert due is not None and due.due_at == T0 - timedelta(minutes=10)
    assert due.occurrence is not None and due.occurrence.start == T0
    assert next_due(series(None), minutes_before=10, after=due.due_at, until=T0) is None


def test_a_daily_series_rolls_forward_one_occurrence_at_a_time() -> None:
    s = series("FREQ=DAILY")
    due = next_due(s, minutes_before=0, after=T0, until=None)
    assert due is not None and due.due_at == T0 + timedelta(days=1)
    again = next_due(s, minutes_before=0, after=due.due_at, until=None)
    assert again is not None and again.due_at == T0 + timedelta(days=2)


def test_the_wall_clock_of_the_zone_is_kept_across_dst() -> None:
    berlin = Series(
        start=datetime(2026, 3, 27, 8, 0, tzinfo=UTC),  # 09:00 CET
        end=datetime(2026, 3, 27, 9, 0, tzinfo=UTC),
        timezone="Europe/Berlin",
        rule="FREQ=DAILY",
    )
    due = next_due(
        berlin, minutes_before=15, after=datetime(2026, 3, 30, 0, 0, tzinfo=UTC), until=None
    )
    assert due is not None and due.due_at == datetime(2026, 3, 30, 6, 45, tzinfo=UTC)  # 09:00 CEST


def test_exdates_and_moved_occurrences_are_followed() -> None:
    s = series(
        "FREQ=DAILY",
        exdates=(T0 + timedelta(days=1),),
        overrides=(
            Override(recurrence_id=T0 + timedelta(days=2), start=T0 + timedelta(days=2, hours=3)),
        ),
    )
    due = next_due(s, minutes_before=0, after=T0, until=None)
    assert due is not None and due.due_at == T0 + timedelta(days=2, hours=3)


def test_a_yearly_event_is_found_within_the_lookahead() -> None:
    due = next_due(series("FREQ=YEARLY"), minutes_before=60, after=T0, until=None)
    assert due is not None and due.occurrence is not None
    assert due.occurrence.start == T0.replace(year=2027)


def test_past_the_lookahead_it_schedules_a_recheck_instead() -> None:
    s = series("FREQ=YEARLY;INTERVAL=2")
    due = next_due(s, minutes_before=0, after=T0, until=None)
    assert due is not None and due.occurrence is None
    assert due.due_at == T0 + LOOKAHEAD
    found = next_due(s, minutes_before=0, after=due.due_at, until=None)
    assert found is not None and found.occurrence is not None
    assert found.occurrence.start == T0.replace(year=2028)


def test_a_finished_series_has_nothing_left() -> None:
    s = series("FREQ=DAILY;COUNT=3")
    until = T0 + timedelta(days=2, minutes=30)
    assert next_due(s, minutes_before=0, after=T0 + timedelta(days=2), until=until) is None


def test_declined_occurrences_are_passed_over() -> None:
    s = series("FREQ=DAILY")
    declined = {T0, T0 + timedelta(days=1)}
    due = next_due(
        s,
        minutes_before=5,
        after=T0 - timedelta(days=1),
        until=None,
        skip=lambda o: o.recurrence_id in declined,
    )
    assert due is not None and due.occurrence is not None
    assert due.occurrence.start == T0 + timedelta(days=2)


def test_a_declined_series_reminds_only_of_occurrences_answered_one_by_one() -> None:
    day = timedelta(days=1)
    s = series(
        "FREQ=DAILY;COUNT=10",
        exdates=(T0 + 3 * day,),
        overrides=(Override(recurrence_id=T0 + 5 * day, start=T0 + 4 * day + timedelta(hours=2)),),
    )
    answered = [
        T0 + 3 * day,  # cancelled
        T0 + 5 * day,  # moved a day earlier
        T0 + 7 * day,
        T0 + day + timedelta(minutes=1),  # no occurrence there
        T0 + 20 * day,  # after the COUNT
    ]
    after = T0
    found = []
    while (
        due := next_answered(s, minutes_before=10, after=after, recurrence_ids=answered)
    ) is not None:
        assert due.occurrence is not None
        found.append((due.occurrence.recurrence_id, due.occurrence.start, due.due_at))
        after = due.due_at
    assert found == [
        (
            T0 + 5 * day,
            T0 + 4 * day + timedelta(hours=2),
            T0 + 4 * day + timedelta(hours=1, minutes=50),
        ),
        (T0 + 7 * day, T0 + 7 * day, T0 + 7 * day - timedelta(minutes=10)),
    ]
    assert next_answered(s, minutes_before=0, after=T0, recurrence_ids=[]) is None


def _overrides() -> tuple[Override, ...]:
    moved = T0 + timedelta(days=2)
    return (
        Override(moved, moved + timedelta(hours=3), moved + timedelta(hours=4), {"title": "M"}),
        # the fourth occurrence moved before the third: the next is not in rule order
        Override(T0 + timedelta(days=4), T0 + timedelta(days=3, hours=-1), None, {}),
    )


@pytest.mark.parametrize(
    ("shape", "until"),
    [
        (series(None), T0 + timedelta(minutes=30)),
        (series(None, rdates=(T0 + timedelta(days=1), T0 + timedelta(days=400))), None),
        (series("FREQ=DAILY"), None),
        (series("FREQ=DAILY;COUNT=3"), T0 + timedelta(days=2, minutes=30)),
        (series("FREQ=DAILY", exdates=(T0 + timedelta(days=1),), overrides=_overrides()), None),
        (series("FREQ=MINUTELY;INTERVAL=7"), None),
        (series("FREQ=HOURLY;INTERVAL=5"), None),
        (series("FREQ=WEEKLY;BYDAY=MO,FR"), None),
        (series("FREQ=MONTHLY;BYMONTHDAY=31"), None),
        (series("FREQ=YEARLY;INTERVAL=2"), None),  # the next lies past the first's window
    ],
)
@pytest.mark.parametrize("minutes_before", [0, 10, 60 * 24 * 28])
def test_next_two_is_next_due_twice(
    shape: Series, until: datetime | None, minutes_before: int
) -> None:
    """What firing uses (one walk of the recurrence) is what two searches give."""
    after = T0 - timedelta(days=30)
    for _ in range(12):
        first, second = next_two(shape, minutes_before=minutes_before, after=after, until=until)
        assert first == next_due(shape, minutes_before=minutes_before, after=after, until=until)
        if first is None:
            assert second is None
            break
        expected = None
        if first.occurrence is not None:
            expected = next_due(
                shape, minutes_before=minutes_before, after=first.due_at, until=until
            )
        assert second == expected
        after = first.due_at


@pytest.mark.parametrize(
    ("shape", "until"),
    [
        (series(None), T0 + timedelta(minutes=30)),
        (series(None), None),
        (series(None), T0),  # an end no later than the start: nothing left, as the walk says
        (series(None), T0 - timedelta(hours=2)),
        (Series(start=T0, end=T0, timezone="UTC", rule=None), T0),  # zero length
        (Series(start=T0, end=T0, timezone="UTC", rule=None), T0 + timedelta(seconds=1)),
        (series(None, exdates=(T0,)), T0 + timedelta(minutes=30)),
        (
            Series(start=T0, end=T0 + timedelta(hours=1), timezone="Europe/Paris", rule=None),
            T0 + timedelta(hours=1),
        ),
    ],
)
@pytest.mark.parametrize("minutes_before", [0, 10, 60 * 24 * 28])
@pytest.mark.parametrize("declined", [False, True])
def test_a_single_event_is_found_without_walking_the_windows_as_the_walk_finds_it(
    shape: Series, until: datetime | None, minutes_before: int, declined: bool
) -> None:
    """The single-event shortcut gives what expanding window after window gives, from
    every point before, at and after the occurrence, and out past the lookahead."""
    offset = timedelta(minutes=minutes_before)
    skip = (lambda _o: True) if declined else None
    befores = [
        T0 - offset - LOOKAHEAD - timedelta(days=1),
        T0 - offset - LOOKAHEAD,
        T0 - offset - LOOKAHEAD + timedelta(microseconds=1),
        T0 - offset - timedelta(days=3),
        T0 - offset - timedelta(microseconds=1),
        T0 - offset,
        T0 - offset + timedelta(microseconds=1),
        T0 + timedelta(days=1),
    ]
    for after in befores:
        threshold = after + offset
        expected = _walk(shape, offset, threshold, threshold + LOOKAHEAD, until, skip)
        assert _search(shape, minutes_before, after, until, skip) == expected, after


def _oracle(shape: Series, minutes_before: int, after: datetime) -> tuple[datetime, datetime]:
    """(due time, occurrence start) of the first occurrence starting after `after` plus
    the reminder, from one expansion of the whole lookahead."""
    offset = timedelta(minutes=minutes_before)
    found = [o for o in expand(shape, after + offset, after + offset + LOOKAHEAD, limit=10**6)
             if o.start > after + offset]  # fmt: skip
    first = min(found, key=lambda o: (o.start, o.recurrence_id))
    return first.start - offset, first.start


AHEAD = T0 + timedelta(days=200)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    "shape",
    [
        Series(start=AHEAD, end=AHEAD + timedelta(hours=1), timezone="UTC", rule="FREQ=DAILY"),
        Series(start=AHEAD, end=AHEAD, timezone="Europe/Berlin", rule="FREQ=WEEKLY"),  # 0 long
        Series(start=AHEAD, end=AHEAD + DAY, timezone="UTC", rule="FREQ=DAILY",
               rdates=(T0 + 3 * DAY,)),  # an rdate before the start
        Series(start=AHEAD, end=AHEAD + DAY, timezone="UTC", rule="FREQ=DAILY",
               overrides=(Override(AHEAD + DAY, T0 + 9 * DAY, None, {}),)),  # moved earlier
        # floating all-day series: their days begin in their zone, up to 14 hours earlier
        # (or 11 hours later) than their dates' midnights in UTC
        Series(start=AHEAD.replace(hour=0), end=AHEAD.replace(hour=0) + DAY, timezone="UTC",
               rule="FREQ=YEARLY", all_day_zone="Pacific/Kiritimati"),
        Series(start=AHEAD.replace(hour=0), end=AHEAD.replace(hour=0) + DAY, timezone="UTC",
               rule="FREQ=DAILY", all_day_zone="Pacific/Pago_Pago"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("minutes_before", [0, 10, 60 * 24 * 28])
def test_a_series_ahead_is_found_from_its_first_start_in_one_or_two_windows(
    shape: Series, minutes_before: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reminder of a series that starts months ahead (an import's) is found where the
    series begins, not by walking window after doubling window from now to there."""
    expansions = []

    def counted(*args: Any, **kwargs: Any) -> list[Occurrence]:
        expansions.append(1)
        return expand(*args, **kwargs)

    monkeypatch.setattr(timing, "expand", counted)
    for after in (T0 - 30 * DAY, T0, T0 + 150 * DAY, AHEAD - DAY):
        expansions.clear()
        due = next_due(shape, minutes_before=minutes_before, after=after, until=None)
        assert due is not None and due.occurrence is not None
        assert (due.due_at, due.occurrence.start) == _oracle(shape, minutes_before, after)
        if after + timedelta(minutes=minutes_before) < shape.start - DAY:  # ahead of it
            assert len(expansions) <= 2, (after, len(expansions))
