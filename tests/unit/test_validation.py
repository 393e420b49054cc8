"""`build_content` checks a series' rule when what decides its occurrences changes, and not
on an edit that leaves them alone: the rule was checked and made canonical when written."""

from __future__ import annotations

import pytest

from neo_events.errors import ValidationFailed
from neo_events.events.validation import build_content

SERIES = {
    "title": "Weekly",
    "start_time": "2027-03-02T09:00:00Z",
    "end_time": "2027-03-02T10:00:00Z",
    "timezone": "Europe/Berlin",
    "is_recurring": True,
    "recurrence_pattern": "freq=weekly;byday=tu",
}


def test_a_new_series_gets_its_rule_checked_and_canonical() -> None:
    assert build_content(None, SERIES)["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=TU"


def test_a_text_edit_leaves_the_stored_rule_unchecked() -> None:
    # a row as an older release may have stored it: not in today's canonical form
    stored = build_content(None, SERIES) | {"recurrence_pattern": "freq=weekly;byday=tu"}
    edited = build_content(stored, {"title": "Renamed", "location": "room 4"})
    assert edited["recurrence_pattern"] == "freq=weekly;byday=tu"


def test_moving_the_series_checks_its_rule_again() -> None:
    stored = build_content(None, SERIES) | {"recurrence_pattern": "freq=weekly;byday=tu"}
    for change in (
        {"start_time": "2027-03-02T10:00:00Z", "end_time": "2027-03-02T11:00:00Z"},
        {"timezone": "Europe/Paris"},
        {"recurrence_pattern": "byday=tu;freq=weekly"},
    ):
        assert build_content(stored, change)["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=TU"


def test_moving_an_all_day_series_to_a_skipped_date_checks_its_rule() -> None:
    """Samoa skipped 30 December 2011: that date and the next share a midnight, so the event's
    start_time stays the same while its date (what an all-day series recurs from) moves."""
    stored = build_content(
        None,
        {
            "title": "Days",
            "all_day": True,
            "start_date": "2011-12-30",
            "end_date": "2012-01-01",
            "timezone": "Pacific/Apia",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=DAILY;UNTIL=20111230",
        },
    )
    with pytest.raises(ValidationFailed):  # UNTIL would now lie before the start
        build_content(stored, {"start_date": "2011-12-31"})
