"""`apply_content(event, content, before=...)` writes only what changed and keeps the span of a
text-only edit: the row it leaves must be the one a full `apply_content` leaves."""

from __future__ import annotations

from typing import Any

import pytest

from neo_events.events.content import TEXT_FIELDS, apply_content
from neo_events.events.statements import EVENT_COLUMNS
from neo_events.events.validation import build_content
from neo_events.models import Event

BASES: dict[str, dict[str, Any]] = {
    "single": {
        "title": "Standup",
        "start_time": "2027-03-02T09:00:00Z",
        "end_time": "2027-03-02T09:30:00Z",
    },
    "series with exceptions": {
        "title": "Weekly",
        "description": "room 4",
        "start_time": "2027-03-02T09:00:00Z",
        "end_time": "2027-03-02T10:00:00Z",
        "timezone": "Europe/Berlin",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=WEEKLY;BYDAY=TU;COUNT=30",
        "exdates": ["2027-03-09T09:00:00Z"],
        "overrides": [
            {
                "recurrence_id": "2027-03-16T09:00:00Z",
                "start_time": "2027-03-17T09:00:00Z",
                "end_time": "2027-03-17T10:00:00Z",
            }
        ],
    },
    "all-day": {
        "title": "Offsite",
        "all_day": True,
        "start_date": "2027-05-10",
        "end_date": "2027-05-12",
    },
}

CHANGES: dict[str, dict[str, Any]] = {
    "title": {"title": "Renamed"},
    "text": {"description": "elsewhere", "location": "Room 9"},
    "transparency": {"transparency": "transparent"},
    "moved": {"start_time": "2027-03-03T11:00:00Z", "end_time": "2027-03-03T12:00:00Z"},
    "zone": {"timezone": "America/New_York"},
    "rule": {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY;COUNT=3"},
    "no longer a series": {"is_recurring": False},
    "dates": {"all_day": True, "start_date": "2027-06-01", "end_date": "2027-06-02"},
}


def _event(content: dict[str, Any]) -> Event:
    event = Event(id=1, owner_id=1, version=1)
    apply_content(event, content)
    return event


def _row(event: Event) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EVENT_COLUMNS}


@pytest.mark.parametrize(
    ("base", "change"),
    # an all-day event refuses times (its dates say when it is)
    [(b, c) for b in BASES for c in CHANGES if (b, c) != ("all-day", "moved")],
)
def test_an_edit_written_field_by_field_leaves_the_row_a_full_write_leaves(
    base: str, change: str
) -> None:
    before = build_content(None, BASES[base])
    after = build_content(before, CHANGES[change])
    full, by_field = _event(before), _event(before)
    apply_content(full, after)
    apply_content(by_field, after, before=before)
    assert _row(by_field) == _row(full)
    if TEXT_FIELDS.issuperset(k for k in after if after[k] != before[k]):
        assert (by_field.span_start, by_field.span_end) == (
            _event(before).span_start,
            _event(before).span_end,
        )
