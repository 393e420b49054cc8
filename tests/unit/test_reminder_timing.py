"""reminders/timing.py: the next due time of a reminder, bounded lookahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from neo_events.events.recurrence import Override, Series
from neo_events.reminders.timing import LOOKAHEAD, next_due

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
