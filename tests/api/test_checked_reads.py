"""A conflict check's calendar read answers only the occurrences that meet the times it
checks (`conflicts.Checked`, `calendars._Read.collect`): differentially, on generated
calendars made through HTTP, it is exactly the read without them filtered by those times,
with the same window; and a read that passes its limit is cut where the read without them
is cut, answering what that read answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from neo_events.events import calendars, check_windows, expansions, times_of_day
from neo_events.events.conflicts import Busy, Checked, sweep_conflicts
from neo_events.events.content import series_of
from tests.helpers import Account, created_many

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
RULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=TU",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
    "FREQ=MONTHLY;BYDAY=1MO",
    "FREQ=HOURLY;INTERVAL=5",
    "FREQ=DAILY;COUNT=30",
]
ZONES = ["UTC", "Europe/Berlin", "America/New_York"]


def _when(rng: random.Random, days: int) -> datetime:
    return T0 + timedelta(days=rng.randrange(days), minutes=15 * rng.randrange(7 * 4, 19 * 4))


def _body(rng: random.Random, n: int) -> dict[str, Any]:
    start = _when(rng, 200)
    body: dict[str, Any] = {
        "title": f"e{n}",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=rng.choice([5, 15, 45, 90]))).isoformat(),
        "timezone": rng.choice(ZONES),
    }
    if rng.random() < 0.4:
        body |= {"is_recurring": True, "recurrence_pattern": rng.choice(RULES)}
    return body


def _candidate(rng: random.Random) -> list[tuple[datetime, datetime]]:
    """The occurrences a write adds: a weekly series' year, or a few single times."""
    start = _when(rng, 120)
    length = timedelta(minutes=rng.choice([0, 30, 45, 60]))
    if rng.random() < 0.5:
        content = {
            "start_time": start,
            "end_time": start + length,
            "timezone": rng.choice(ZONES),
            "all_day": False,
            "is_recurring": True,
            "recurrence_pattern": rng.choice(["FREQ=WEEKLY;BYDAY=TU", "FREQ=DAILY;COUNT=20"]),
            "exdates": [],
            "overrides": [],
            "rdates": [],
        }
        return check_windows.added_occurrences(check_windows.Candidate(None, series_of(content)))
    return sorted((s, s + length) for s in (_when(rng, 120) for _ in range(rng.randrange(1, 4))))


async def _read(
    app: FastAPI,
    user: int,
    occurrences: list[tuple[datetime, datetime]],
    *,
    checked: Checked | None,
    cold: bool,
) -> tuple[list[Busy], dict[int, int], calendars.Reach]:
    """`calendars.calendar` as a check calls it, with the worker's cache (or none: `cold`)."""
    window = (min(s for s, _ in occurrences), max(e for _, e in occurrences))
    near = times_of_day.Near(occurrences)
    cache = None if cold else app.state.expansions
    async with app.state.sessionmaker() as session:
        if cache is not None:
            expansions.attach(session, cache)
        return await calendars.calendar(
            session, [user], window, viewer_id=user, near=near, checked=checked
        )


@pytest.mark.parametrize("seed", range(3))
async def test_a_checked_read_is_the_read_filtered_by_the_times_checked(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, seed: int
) -> None:
    rng = random.Random(seed)
    await created_many(client, alice, [_body(rng, n) for n in range(150)])
    compared = met = 0
    for _ in range(12):
        occurrences = _candidate(rng)
        checked = Checked(occurrences)
        for cold in (True, False):
            whole, visible, until = await _read(app, alice.id, occurrences, checked=None, cold=cold)
            mine = await _read(app, alice.id, occurrences, checked=checked, cold=cold)
            expected = [b for b in whole if checked.meets(b.start, b.end)]
            assert mine == (expected, visible, until)
            # and the sweep finds the same clashes in either (all of them: past its limit
            # of 100 a candidate's list may name others)
            assert sweep_conflicts(
                [occurrences], mine[0], excluded=[None], limit=10**6
            ) == sweep_conflicts([occurrences], whole, excluded=[None], limit=10**6)
            compared += len(whole)
            met += len(mine[0])
    assert met < compared / 4  # the filter did filter: most of a year's occurrences miss


async def test_a_checked_read_past_its_limit_is_cut_where_the_whole_read_is(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past CALENDAR_LIMIT, the window ends where every occurrence, not only those near the
    times checked, reaches the limit: the checked read starts again as the whole read, and
    answers what meets the times of that."""
    daily = [
        {
            "title": f"d{n}",
            "start_time": (T0 + timedelta(hours=n % 2, minutes=n)).isoformat(),
            "end_time": (T0 + timedelta(hours=n % 2, minutes=n + 5)).isoformat(),
            "timezone": "UTC",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=DAILY;COUNT=40",
        }
        for n in range(6)
    ]
    ids = await created_many(client, alice, daily)
    # the three at midnight count (the others never meet the times of day checked): 40
    # and 40, then the third reaches the limit on its 20th day
    monkeypatch.setattr(calendars, "CALENDAR_LIMIT", 100)
    # weekly, an hour long: meets the three at midnight on Mondays
    weekly = [(T0 + timedelta(weeks=w), T0 + timedelta(weeks=w, hours=1)) for w in range(52)]
    busy, visible, until = await _read(app, alice.id, weekly, checked=None, cold=True)
    checked = Checked(weekly)
    expand = expansions.Weeks.expand
    expanded: list[int] = []

    def counted(weeks: expansions.Weeks, key: tuple[int, int], *args: Any, **kw: Any) -> Any:
        expanded.append(key[0])
        return expand(weeks, key, *args, **kw)

    monkeypatch.setattr(expansions.Weeks, "expand", counted)
    mine = await _read(app, alice.id, weekly, checked=checked, cold=True)
    assert mine == ([b for b in busy if checked.meets(b.start, b.end)], visible, until)
    assert until.own == until.whole == T0 + timedelta(days=20, minutes=4)  # own events only
    assert len(mine[0]) == 3 * 3  # the three at midnight, on the Mondays before the cut
    # The whole read that starts again takes what the first met of the two before the cut
    # rather than expanding them again, and the third's going past the limit, met again
    # with the same window and limit, rather than walking it to the limit again.
    assert expanded.count(ids[0]) == expanded.count(ids[2]) == expanded.count(ids[4]) == 1


def test_checked_times_are_closed() -> None:
    """Touching one of the times counts, and so does lasting no time on one."""
    at = T0 + timedelta(hours=1)
    checked = Checked([(T0, at), (at, at + timedelta(hours=1)), (T0 + timedelta(days=1),) * 2])
    assert checked.meets(at + timedelta(hours=1), at + timedelta(hours=2))  # touches the end
    assert checked.meets(T0 - timedelta(hours=1), T0)  # touches the start
    assert checked.meets(T0 + timedelta(days=1), T0 + timedelta(days=1))  # zero-length, on one
    assert not checked.meets(T0 + timedelta(hours=3), T0 + timedelta(hours=4))
    assert not checked.meets(T0 + timedelta(days=2), T0 + timedelta(days=3))


async def test_a_checked_read_past_its_limit_over_cached_weeks_is_the_whole_read_filtered(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over weeks all cached, a read past its limit first reads the series it lacks and
    starts again (`_NotLoaded`), then, being checked, again as the whole read: still the
    whole read's answer, filtered by the times checked."""
    daily = [
        {
            "title": f"d{n}",
            "start_time": (T0 + timedelta(minutes=n)).isoformat(),
            "end_time": (T0 + timedelta(minutes=n + 5)).isoformat(),
            "timezone": "UTC",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=DAILY;COUNT=40",
        }
        for n in range(4)
    ]
    await created_many(client, alice, daily)
    days = [(T0 + timedelta(days=d), T0 + timedelta(days=d, minutes=3)) for d in range(0, 21, 2)]
    await _read(app, alice.id, days, checked=None, cold=False)  # every week now cached
    monkeypatch.setattr(calendars, "CALENDAR_LIMIT", 50)  # 4 a day: reached on day 13
    contents = calendars._contents
    reads: list[int] = []

    async def counted(session: Any, event_ids: Any) -> Any:
        reads.append(len(event_ids))
        return await contents(session, event_ids)

    monkeypatch.setattr(calendars, "_contents", counted)
    busy, visible, until = await _read(app, alice.id, days, checked=None, cold=False)
    assert until.own < days[-1][1] and reads == [0, 4]  # cut short, having read the four
    checked = Checked(days)
    reads.clear()
    mine = await _read(app, alice.id, days, checked=checked, cold=False)
    assert reads == [0, 4]
    assert mine == ([b for b in busy if checked.meets(b.start, b.end)], visible, until)
    assert 0 < len(mine[0]) < len(busy)


async def test_a_checked_read_cut_twice_counts_what_it_passed_over(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a first cut, a later series gets only what is left of the limit counting every
    occurrence met, not only those near the times checked: here it is cut a second time."""
    rules = [("FREQ=DAILY;COUNT=40", 0), ("FREQ=DAILY", 1), ("FREQ=DAILY;BYHOUR=0,1,2,3", 2)]
    bodies = [
        {
            "title": rule,
            "start_time": (T0 + timedelta(minutes=minute)).isoformat(),
            "end_time": (T0 + timedelta(minutes=minute + 5)).isoformat(),
            "timezone": "UTC",
            "is_recurring": True,
            "recurrence_pattern": rule,
        }
        for rule, minute in rules
    ]
    await created_many(client, alice, bodies)
    # 40 of the first; the second cut on its 11th day (21 then met); the third, four a day,
    # has 29 left: cut again on its 8th day (counting only what meets the times: 4 met)
    monkeypatch.setattr(calendars, "CALENDAR_LIMIT", 50)
    weekly = [(T0 + timedelta(weeks=w), T0 + timedelta(weeks=w, hours=1)) for w in range(52)]
    busy, visible, until = await _read(app, alice.id, weekly, checked=None, cold=True)
    assert until.own < T0 + timedelta(days=8)
    checked = Checked(weekly)
    mine = await _read(app, alice.id, weekly, checked=checked, cold=True)
    assert mine == ([b for b in busy if checked.meets(b.start, b.end)], visible, until)
