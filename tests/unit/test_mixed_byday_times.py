"""Rules whose BYDAY mixes plain and numbered weekdays (`MO,1TU`: a union of plans,
events/plans.py `_merged`) with times of day, expanded into windows anywhere in their
period, against dateutil. A window in December made each such series build every time of
day of every matching day since January (75,000 for every minute of Mondays): a create
into a calendar holding sixty of them cost 1.3 s of CPU. Now the days before the window
are passed over, their times never made; what is found must not change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from neo_events.events import plans
from neo_events.events.recurrence import Series, expand, normalize_rule

RULES = [
    "FREQ=YEARLY;BYDAY=MO,1TU;BYHOUR=0,9,17,23;BYMINUTE=0,30",
    "FREQ=MONTHLY;BYDAY=FR,-1MO;BYHOUR=8,20;BYMINUTE=15",
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=2WE,SU;BYHOUR=6,12,18",
    "FREQ=YEARLY;BYDAY=MO,1TU;BYHOUR=9,17;BYSETPOS=1,-1",  # BYSETPOS: whole periods counted
]
ZONES = ["UTC", "Asia/Tokyo"]
WINDOWS = [  # (days after the start, hours long), a window's start mid-day included
    (0, 30),
    (41.3, 6),
    (150.75, 50),
    (333.5, 200),
    (700.1, 24),
]


def _series(rule: str, zone: str) -> Series:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo(zone))
    canonical = normalize_rule(rule, start=start, timezone=zone)
    return Series(
        start.astimezone(UTC), start.astimezone(UTC) + timedelta(minutes=1), zone, canonical
    )


def _from_the_start(series: Series, lo: datetime, hi: datetime) -> list[datetime]:
    """The occurrences overlapping [lo, hi) of an expansion from the series' start, which
    passes over nothing (dateutil is no oracle here: it finds no occurrence at all of
    `FREQ=MONTHLY;BYDAY=FR,-1MO;…`)."""
    every = expand(series, series.start, hi, limit=1_000_000)
    return [o.start for o in every if o.end > lo]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("rule", RULES)
def test_a_windows_occurrences_are_those_found_from_the_start(rule: str, zone: str) -> None:
    series = _series(rule, zone)
    found = 0
    for days, hours in WINDOWS:
        lo = series.start + timedelta(days=days)
        hi = lo + timedelta(hours=hours)
        got = [o.start for o in expand(series, lo, hi)]
        assert got == _from_the_start(series, lo, hi), (days, hours)
        found += len(got)
    assert found  # (the windows hold some)


def test_a_december_window_makes_no_time_of_the_days_before_it() -> None:
    """What the window costs: the times of its own days, not the year's."""
    every_minute = (
        "BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=" + ",".join(map(str, range(60)))
    )
    series = _series(f"FREQ=YEARLY;BYDAY=MO,1TU;{every_minute}", "UTC")
    made = 0
    real = plans._by_day

    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        nonlocal made
        for wall in real(*args, **kwargs):  # type: ignore[arg-type]
            made += 1
            yield wall

    lo = datetime(2026, 12, 7, 10, tzinfo=UTC)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plans, "_by_day", counting)
        found = expand(series, lo, lo + timedelta(hours=1))
    assert len(found) == 60
    assert made < 2 * 24 * 60  # this Monday's and the next matching day's at most
