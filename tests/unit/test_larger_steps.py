"""A DAILY rule that keeps few days by month or day of the month is walked as the YEARLY or
MONTHLY rule of the same days (`rule_walls._by_larger_steps`): generated rules give the same
wall times in the same order as dateutil walking them a day at a time, COUNT and UNTIL
included, and the sparse ones cost a fraction of it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st

from neo_events.events import rule_walls
from neo_events.events.rule_walls import walls_of_rule

MONTH_DAYS = [1, 2, 13, 28, 29, 30, 31, -1, -2, -31]


@st.composite
def daily_rules(draw: st.DrawFn) -> dict:
    kwargs: dict = {"freq": du.DAILY, "interval": draw(st.sampled_from([1, 1, 1, 2]))}
    if draw(st.booleans()):
        kwargs["bymonth"] = tuple(draw(st.sets(st.integers(1, 12), min_size=1, max_size=3)))
    if draw(st.booleans()):
        kwargs["bymonthday"] = tuple(
            draw(st.sets(st.sampled_from(MONTH_DAYS), min_size=1, max_size=3))
        )
    if draw(st.booleans()):
        days = draw(st.sets(st.integers(0, 6), min_size=1, max_size=3))
        # an ordinal, which a DAILY rule ignores, on some of them
        kwargs["byweekday"] = tuple(
            du.weekday(d, draw(st.sampled_from([None, 1, -1]))) for d in days
        )
    if draw(st.booleans()):
        kwargs["byhour"] = tuple(draw(st.sets(st.integers(0, 23), min_size=1, max_size=2)))
    if draw(st.integers(0, 4)) == 0:
        kwargs["bysetpos"] = (draw(st.sampled_from([1, -1])),)
    end = draw(st.sampled_from(["count", "until", "none"]))
    if end == "count":
        kwargs["count"] = draw(st.integers(1, 30))
    elif end == "until":
        kwargs["until"] = datetime(2026, 1, 1) + timedelta(days=draw(st.integers(0, 3000)))
    return kwargs


@settings(max_examples=400, deadline=None)
@given(
    kwargs=daily_rules(),
    start=st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
)
def test_a_daily_rule_walked_by_larger_steps_gives_the_same_walls(
    kwargs: dict, start: datetime
) -> None:
    last_year = start.year + 12
    ours = list(walls_of_rule(start, kwargs, last_year))
    theirs = list(rule_walls.walked(start, kwargs, last_year))  # a day at a time
    assert ours == theirs


def test_a_sparse_daily_rule_costs_a_fraction_of_a_day_at_a_time() -> None:
    kwargs = {"freq": du.DAILY, "bymonth": (2,), "bymonthday": (29,)}
    assert rule_walls._by_larger_steps(kwargs)["freq"] == du.YEARLY
    start = datetime(2026, 1, 5, 9)

    def timed(walk) -> float:
        began = time.process_time()
        for _ in range(5):
            found = list(walk())
        assert [w.year for w in found] == [2028, 2032, 2036]
        return time.process_time() - began

    ours = timed(lambda: walls_of_rule(start, kwargs, 2039))
    theirs = timed(lambda: rule_walls.walked(start, kwargs, 2039))
    assert ours < theirs / 3  # measured ~1/10
