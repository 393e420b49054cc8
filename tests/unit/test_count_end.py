"""A COUNT rule's end as stored with its event (`events.count_end`) gives the plan the scan
would: the same bound, the same cut, and so the same occurrences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from neo_events.events import count_ends, plans, recurrence
from neo_events.events.content import count_end_of, series_of

RULES = [
    "FREQ=DAILY;COUNT=10",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=7",
    "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=13",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=5",  # 88 years of scan from 1900
    "FREQ=HOURLY;INTERVAL=5;BYDAY=SA,SU;COUNT=40",
    "FREQ=MINUTELY;INTERVAL=7;COUNT=500",
    "FREQ=MONTHLY;BYDAY=MO,1TU;COUNT=9",  # a union of two plans
    "FREQ=WEEKLY;COUNT=1",
]
STARTS = [
    ("1900-01-01T00:00:00Z", "UTC"),
    ("2026-03-29T00:30:00Z", "Europe/Berlin"),  # the spring-forward night
    ("2026-10-25T00:30:00Z", "Europe/Berlin"),  # the fall-back night
    ("2026-01-05T09:00:00Z", "America/New_York"),
]


def _content(rule: str, start: str, zone: str) -> dict[str, object]:
    end = datetime.fromisoformat(start.replace("Z", "+00:00")).replace(minute=59)
    return {
        "start_time": start,
        "end_time": end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "timezone": zone,
        "is_recurring": True,
        "recurrence_pattern": rule,
        "exdates": [],
        "overrides": [],
        "rdates": [],
    }


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(("start", "zone"), STARTS)
def test_a_stored_count_end_builds_the_scanned_plan(
    rule: str, start: str, zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = _content(rule, start, zone)
    plans.plan_of.cache_clear()
    count_ends.forget_all()
    scanned_series = series_of(content)
    stored = count_end_of(scanned_series)
    assert stored is not None
    scanned = plans.plan_of(scanned_series.rule, scanned_series.start, zone)
    window = (scanned_series.start, datetime(2200, 1, 1, tzinfo=UTC))
    expected = recurrence.expand(scanned_series, *window, limit=10_000)
    plans.plan_of.cache_clear()
    count_ends.forget_all()
    told = series_of({**content, "count_end": stored})  # as a row read back tells it

    def scan(*_: object) -> None:
        raise AssertionError("scanned for a COUNT the row told")

    monkeypatch.setattr(plans, "_count_bound", scan)
    plan = plans.plan_of(told.rule, told.start, zone)
    assert (plan.bound, plan.count_cut) == (scanned.bound, scanned.count_cut)
    assert recurrence.expand(told, *window, limit=10_000) == expected


def test_a_rule_without_count_stores_nothing() -> None:
    assert count_end_of(series_of(_content("FREQ=DAILY", "2026-01-05T09:00:00Z", "UTC"))) is None
    until = "FREQ=DAILY;UNTIL=20270101T000000Z"
    assert count_end_of(series_of(_content(until, "2026-01-05T09:00:00Z", "UTC"))) is None


def test_a_cut_scan_is_stored_and_read_back_as_cut() -> None:
    """A rule stored before COUNT had to be reached within a scan keeps its cut bound."""
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    plan = plans.plan_of("FREQ=DAILY;COUNT=3", start, "UTC")
    text = plans.count_end_text(replace(plan, count_cut=True))
    assert text == "2026-01-07T09:00:00 cut"
    plans.plan_of.cache_clear()
    count_ends.forget_all()
    count_ends.remember("FREQ=DAILY;COUNT=3", start, "UTC", text)
    try:
        told = plans.plan_of("FREQ=DAILY;COUNT=3", start, "UTC")  # no scan: 3 days, not cut
        assert (told.bound, told.count_cut) == (datetime(2026, 1, 7, 9), True)
    finally:  # a later test in this process would find the cut plan (a 422 for COUNT=3)
        plans.plan_of.cache_clear()
        count_ends.forget_all()
