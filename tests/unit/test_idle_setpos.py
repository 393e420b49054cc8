"""A BYSETPOS that selects nothing away (each period holds one instance at most, and the
positions name 1 or -1) is dropped from a rule's plan (`rrule.without_idle_setpos`), so that
the rule is walked by days × times rather than minute by minute in dateutil. What it
generates must not change: held to dateutil itself, in UTC and across Berlin's DST nights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from neo_events.events import recurrence
from neo_events.events.plans import plan_of
from neo_events.events.rrule import localize, parse_rule, without_idle_setpos

IDLE = [
    "FREQ=MINUTELY;BYSETPOS=1;BYHOUR=5",
    "FREQ=MINUTELY;INTERVAL=7;BYSETPOS=-1;BYHOUR=1,2,5;BYDAY=MO,SU",
    "FREQ=MINUTELY;INTERVAL=13;BYSETPOS=2,1;BYSECOND=30;BYMONTH=3,10",
    "FREQ=HOURLY;BYSETPOS=1;BYMINUTE=30;BYDAY=SU",
    "FREQ=HOURLY;INTERVAL=5;BYSETPOS=-1,1;BYHOUR=0,1,2,3",
    "FREQ=DAILY;BYSETPOS=1;BYMONTHDAY=29,30,31",
    "FREQ=DAILY;INTERVAL=3;BYSETPOS=-1;BYDAY=MO,FR;BYHOUR=2;BYMINUTE=30",
]
KEPT = [
    "FREQ=MINUTELY;BYSETPOS=2;BYHOUR=5",  # no period has a second instance: selects nothing
    "FREQ=HOURLY;BYSETPOS=1;BYMINUTE=0,30",  # two instances an hour: selects one
    "FREQ=DAILY;BYSETPOS=-1;BYHOUR=9,17",
    "FREQ=WEEKLY;BYSETPOS=1;BYDAY=MO,TU",
    "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
]


@pytest.mark.parametrize("rule", IDLE)
def test_an_idle_setpos_is_dropped(rule: str) -> None:
    assert "bysetpos" not in without_idle_setpos(parse_rule(rule, "UTC")).kwargs
    assert "bysetpos" not in plan_of(rule, datetime(2026, 1, 5, tzinfo=UTC), "UTC").rule.kwargs


@pytest.mark.parametrize("rule", KEPT)
def test_a_setpos_that_selects_is_kept(rule: str) -> None:
    parsed = parse_rule(rule, "UTC")
    assert without_idle_setpos(parsed) == parsed


# (not KEPT[0]: a rule that generates nothing is refused when written, and dateutil would
# search for its next occurrence minute by minute to year 9999)
@pytest.mark.parametrize("rule", IDLE + KEPT[1:])
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_the_occurrences_are_dateutils(rule: str, zone: str) -> None:
    tz = ZoneInfo(zone)
    wall = datetime(2026, 3, 1, 0, 0, 30)  # before the spring-forward night
    start = wall.replace(tzinfo=tz).astimezone(UTC)
    series = recurrence.Series(start, start + timedelta(minutes=1), zone, rule)
    for lo, days in (
        (datetime(2026, 3, 28), 3),
        (datetime(2026, 10, 24), 3),
        (datetime(2027, 1, 1), 2),
    ):
        window = (
            lo.replace(tzinfo=tz).astimezone(UTC),
            (lo + timedelta(days=days)).replace(tzinfo=tz).astimezone(UTC),
        )
        ours = [o.start for o in recurrence.expand(series, *window, limit=20_000)]
        walls = rrulestr(rule, dtstart=wall).between(
            lo - timedelta(days=1), lo + timedelta(days=days + 1), inc=True
        )
        # a wall time in the gap takes the offset before it; one that occurs twice, its first
        expected = sorted(
            {
                instant
                for w in walls
                if window[0] <= (instant := recurrence_instant(w, tz)) < window[1]
            }
        )
        assert ours == expected, (rule, zone, lo)


def recurrence_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    return localize(wall, tz)
