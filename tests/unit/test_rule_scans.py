"""How far a rule's walls are searched (#16): sub-daily rules with BY parts as days × times
(`lattice.Lattice`), held to dateutil; dateutil's own search ended with the window's year; a
COUNT or an end out of reach found within a bounded scan."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st

from neo_events.events import plans
from neo_events.events.lattice import lattice_walls
from neo_events.events.recurrence import (
    RecurrenceError,
    Series,
    expand,
    normalize_rule,
    series_end,
)
from neo_events.events.rule_walls import walls_of_rule
from tests.timing import budget

HOURS = list(range(24))
MINUTES = list(range(60))
# 29 February on a Monday, and every 997 minutes on top: the next one after 2016 is
# thousands of years away.
SPARSE = "FREQ=MINUTELY;INTERVAL=997;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=3;BYMINUTE=5"
SPARSE_START = datetime(2016, 2, 29, 3, 5, tzinfo=UTC)


@st.composite
def sub_daily_rules(draw: st.DrawFn) -> str:
    """FREQ=HOURLY/MINUTELY with at least one BY part and no BYSETPOS: the lattice's rules,
    INTERVAL dividing a day or not."""
    freq = draw(st.sampled_from(["HOURLY", "MINUTELY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.sampled_from([1, 2, 5, 7, 15, 90, 997]))}"]
    by = draw(
        st.lists(
            st.sampled_from(["BYHOUR", "BYMINUTE", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSECOND"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    if "BYHOUR" in by:
        hours = draw(st.lists(st.sampled_from(HOURS), min_size=1, max_size=4, unique=True))
        parts.append("BYHOUR=" + ",".join(map(str, hours)))
    if "BYMINUTE" in by:
        minutes = draw(st.lists(st.sampled_from(MINUTES), min_size=1, max_size=4, unique=True))
        parts.append("BYMINUTE=" + ",".join(map(str, minutes)))
    if "BYDAY" in by:
        days = draw(st.lists(st.sampled_from(["MO", "TU", "WE", "SA"]), min_size=1, max_size=3))
        parts.append("BYDAY=" + ",".join(dict.fromkeys(days)))
    if "BYMONTHDAY" in by:
        parts.append(f"BYMONTHDAY={draw(st.sampled_from(['1', '15', '29,30', '-1']))}")
    if "BYMONTH" in by:
        parts.append(f"BYMONTH={draw(st.sampled_from(['3', '3,4', '10']))}")
    if "BYSECOND" in by:
        parts.append(f"BYSECOND={draw(st.sampled_from([0, 30]))}")
    return ";".join(parts)


@settings(max_examples=100, deadline=None)
@given(
    rule=sub_daily_rules(),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Australia/Lord_Howe"]),
    start=st.integers(0, 40 * 24 * 60),
    offset=st.integers(0, 60 * 24 * 60),
    length=st.integers(1, 20 * 24 * 60),
)
def test_the_lattice_generates_what_dateutil_does(
    rule: str, zone: str, start: int, offset: int, length: int
) -> None:
    """From any wall time on, across DST changes (20 March to 10 May 2026 in Berlin, early
    April and October on Lord Howe), the same wall times as dateutil iterating from dt0."""
    first = datetime(2026, 3, 1, 7, 13, 20) + timedelta(minutes=start)
    plan = plans.plan_of(rule, first.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), zone)
    assert plan.lattice is not None
    lo = plan.dt0 + timedelta(minutes=offset - 24 * 60)
    hi = lo + timedelta(minutes=length)
    try:
        # dateutil's own walls, its search ended with the window's year (a rule that never
        # matches again would otherwise scan to year 9999)
        expected = [
            w for w in walls_of_rule(plan.dt0, plan.rule.kwargs, last_year=hi.year) if w <= hi
        ]
    except ValueError:  # dateutil: BYHOUR/BYMINUTE the INTERVAL never reaches
        expected = []
    expected = [w for w in expected if w >= max(lo, plan.dt0)]
    found = []
    for wall in lattice_walls(plan.lattice, lo, hi.year):
        if wall > hi:
            break
        if wall >= plan.dt0:
            found.append(wall)
    assert found == expected


def test_a_search_ends_with_the_year_it_is_given() -> None:
    """dateutil's search for 29 February on a Monday after 2016 ends with 2017 when told
    to, in milliseconds; told nothing, it finds 2044 as before (the view of the datetime
    module dateutil is given changes nothing else)."""
    kwargs = {"freq": du.DAILY, "bymonth": 2, "bymonthday": 29, "byweekday": du.MO}
    started = time.process_time()
    assert list(walls_of_rule(datetime(2016, 3, 1), kwargs, last_year=2017)) == []
    assert time.process_time() - started < budget(0.5)
    assert next(walls_of_rule(datetime(2016, 3, 1), kwargs)) == datetime(2044, 2, 29)
    assert next(iter(du.rrule(dtstart=datetime(2016, 3, 1), **kwargs))) == datetime(2044, 2, 29)


def test_a_rule_that_never_matches_again_costs_its_windows() -> None:
    """Windows of a year over a series whose next occurrence is thousands of years away:
    each costs what the year holds (a second each before), in any year up to 9999."""
    text = normalize_rule(SPARSE, start=SPARSE_START, timezone="UTC")
    series = Series(SPARSE_START, SPARSE_START + timedelta(hours=1), "UTC", text)
    started = time.process_time()
    for year in (2017, 2044, 2199, 5000, 9998):
        lo = datetime(year, 1, 1, tzinfo=UTC)
        plan = plans.plan_of(text, SPARSE_START, "UTC")
        assert list(plans.instants(plan, lo.replace(tzinfo=None), datetime(year, 12, 31))) == []
        assert series_end(series) is None
    assert time.process_time() - started < budget(1.0)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=300",
        f"{SPARSE};COUNT=2",
        "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=200",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=1000",
    ],
)
def test_a_count_out_of_reach_is_refused_and_a_stored_one_cut(rule: str) -> None:
    """A COUNT the rule reaches only after the years a scan may cover is refused in
    milliseconds; one stored before (never checked) ends where the scan stopped."""
    started = time.process_time()
    with pytest.raises(RecurrenceError, match=r"COUNT=\d+ is not reached within \d+ years"):
        normalize_rule(rule, start=SPARSE_START, timezone="UTC")
    plan = plans.plan_of(rule, SPARSE_START, "UTC")
    assert plan.count_cut
    years = plans.scan_years(plan)
    assert years is not None and plan.bound == datetime(2016 + years, 12, 31, 23, 59, 59)
    assert time.process_time() - started < budget(1.0)


@pytest.mark.parametrize(
    "rule",
    [
        *(
            f"FREQ={freq};BYDAY=MO,TU,WE,TH,FR;COUNT=10000"
            for freq in ("MINUTELY;BYHOUR=9", "HOURLY;BYHOUR=9", "DAILY", "WEEKLY", "MONTHLY")
        ),
        # a century of weekly meetings written as a daily rule, and other sparse ones
        "FREQ=DAILY;BYDAY=MO;COUNT=5000",
        "FREQ=DAILY;BYDAY=SA,SU;COUNT=5000",
        "FREQ=DAILY;BYMONTHDAY=1;COUNT=1000",
        "FREQ=HOURLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;COUNT=5000",
        "FREQ=MONTHLY;BYMONTHDAY=31;COUNT=5000",
        "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=1000",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=300",
        # stepped rules with BYHOUR spelled out (as a split in a DST gap or an import writes
        # them): as far as without it
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO;BYHOUR=9;COUNT=10000",
        "FREQ=DAILY;INTERVAL=16;BYHOUR=9;COUNT=10000",
    ],
)
def test_counts_within_a_century_of_days_are_accepted(rule: str) -> None:
    """COUNT's own limit is reached within the scan at every frequency for rules on
    weekdays, and a daily rule with BY parts may take a century to reach its COUNT (as it
    may take one to its first occurrence), a monthly one a thousand years, a yearly one
    1,650."""
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    started = time.process_time()
    assert normalize_rule(rule, start=start, timezone="Europe/Berlin")
    assert not plans.plan_of(rule, start, "Europe/Berlin").count_cut
    assert time.process_time() - started < budget(2.0)


def test_a_window_before_the_start_costs_nothing_before_it() -> None:
    """A sub-daily rule's days x times are generated from its start on, whatever the window
    asks: a window reaching back years before the start (an event lasting years widens
    every window by its length) costs what it holds, not every minute before the start."""
    start = datetime(2025, 6, 1, 9, tzinfo=UTC)
    hours = ",".join(map(str, range(24)))
    for rule in (f"FREQ=MINUTELY;BYHOUR={hours}", "FREQ=HOURLY;BYMINUTE=0,15,30,45"):
        text = normalize_rule(rule, start=start, timezone="UTC")
        series = Series(start, start + timedelta(days=5 * 365), "UTC", text)
        started = time.process_time()
        assert expand(series, start - timedelta(days=1), start) == []
        assert [o.start for o in expand(series, start, start + timedelta(minutes=1))] == [start]
        assert time.process_time() - started < budget(0.5)


@pytest.mark.parametrize(
    "rule",
    [
        f"{SPARSE};UNTIL=99991201T000000Z",
        "FREQ=DAILY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;UNTIL=99991201T000000Z",
    ],
)
def test_an_end_out_of_reach_is_the_rules_until(rule: str) -> None:
    """The last occurrence before an UNTIL in year 9999, thousands of years after the
    only one: not found within the scan, the series' span ends at UNTIL (never too short);
    before, the search overflowed past year 1 (a 500)."""
    started = time.process_time()
    text = normalize_rule(rule, start=SPARSE_START, timezone="UTC")
    series = Series(SPARSE_START, SPARSE_START + timedelta(hours=1), "UTC", text)
    assert series_end(series) == datetime(9999, 12, 1, 1, tzinfo=UTC)
    assert time.process_time() - started < budget(1.0)
