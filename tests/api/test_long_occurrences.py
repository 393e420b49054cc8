"""Series whose occurrences outlast their period (an outside attack, 2026-12-04): a daily
rule whose occurrences each last 300 years has 109,000 of them under way at every instant.
Shared with someone, it made each of their conflict-checked writes cost 0.3-1.6 s of CPU on
the event loop: a calendar read past its limit halved its window and expanded the series
again, 50 times over, though every window from the same start holds the same pile. Now the
pile is expanded once and the window ends where the count would pass the limit
(`calendar_cuts.piled_window`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from neo_events.events import calendar_cuts, recurrence
from neo_events.events.conflicts import Busy
from tests.helpers import cpu_bound, created, loop_pauses, register, share
from tests.timing import budget

pytestmark = pytest.mark.anyio

RULES = ["FREQ=DAILY", "FREQ=MINUTELY;INTERVAL=7;BYSETPOS=1;BYHOUR=5", "all-day FREQ=DAILY"]


def _pile(rule: str) -> dict[str, object]:
    """A series from 1900 whose occurrences each last until 2199 (all day, and busy)."""
    if rule.startswith("all-day "):
        days = {"start_date": "1900-01-01", "end_date": "2199-12-31", "transparency": "opaque"}
        timed = _pile(rule.removeprefix("all-day "))
        del timed["start_time"], timed["end_time"]
        return timed | {"all_day": True} | days
    return {
        "title": "pile",
        "start_time": "1900-01-01T00:00:00Z",
        "end_time": "2199-12-31T00:00:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": rule,
    }


@pytest.mark.parametrize("rule", RULES)
async def test_a_shared_pile_of_long_occurrences_costs_a_write_one_expansion(
    client: httpx.AsyncClient, rule: str
) -> None:
    mallory, victim = await register(client, "mallory"), await register(client, "victim")
    pile = _pile(rule)
    made = await created(client, mallory, pile, conflicts="ignore")
    await share(client, mallory, made["id"], victim, "viewer")
    single = {
        "title": "y",
        "start_time": "2026-06-01T10:00:00Z",
        "end_time": "2026-06-01T11:00:00Z",
    }
    weekly = single | {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY"}
    for body in (single, weekly):
        async with loop_pauses() as pauses:
            # before: 0.33-0.47 s (daily), 1.5-2.3 s (BYSETPOS) here; now one expansion
            with cpu_bound(0.3, rule):
                response = await client.post("/api/v1/events", json=body, headers=victim.headers)
        assert response.status_code == 201, response.text
        assert pauses.worst_held < budget(0.3), pauses


def _busy(*hours: int) -> list[Busy]:
    day = datetime(2026, 6, 1, tzinfo=UTC)
    return [
        Busy(day + timedelta(hours=h), day + timedelta(hours=h, minutes=30), 1, frozenset({1}))
        for h in hours
    ]


# 60 occurrences under way at every instant: each lasts 60 days, one a day
PILE = recurrence.Series(
    datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC), "UTC", "FREQ=DAILY"
)
LO, HI = datetime(2026, 6, 1, 10, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("limit", [59, 60, 61, 70, 100, 200, 400])
@pytest.mark.parametrize("hours", [(), (5, 10), (5, 11, 12, 30, 30, 31), tuple(range(0, 400, 3))])
async def test_a_pile_gets_the_longest_window_that_fits(limit: int, hours: tuple[int, ...]) -> None:
    busy = _busy(*hours)
    found = calendar_cuts.piled_window(PILE, busy, LO, HI, limit)
    assert found is not None
    mine, end = found
    kept = [b for b in busy if b.start < end]
    assert len(kept) + len(mine) <= limit  # it fits
    assert mine == [o for o in recurrence.expand(PILE, LO, end, limit=10**6)]
    if end == LO:
        assert not mine and 60 + sum(b.start <= LO for b in busy) > limit
    elif end < HI:  # and one more start would not: the window is the longest
        more = [b for b in busy if b.start <= end] + [
            o for o in recurrence.expand(PILE, LO, end + timedelta(microseconds=1), limit=10**6)
        ]
        assert len(more) > limit


@pytest.mark.parametrize("limit", [30, 59, 61, 100])
async def test_an_all_day_pile_gets_the_longest_window_that_fits(limit: int) -> None:
    days = recurrence.Series(
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
        "UTC",
        "FREQ=DAILY",
        all_day_zone="Europe/Berlin",
    )
    found = calendar_cuts.piled_window(days, [], LO, HI, limit)
    assert found is not None
    mine, end = found
    assert len(mine) <= limit
    assert mine == recurrence.expand(days, LO, end, limit=10**6)
    if end > LO:
        assert (
            len(recurrence.expand(days, LO, end + timedelta(microseconds=1), limit=10**6)) > limit
        )
    else:
        assert limit < 60


async def test_a_split_whose_new_series_would_end_past_2200_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """The same attack split a series of 300-year occurrences at 2150: the new series ended
    in 2450, past the bound every time sent is held to, and could not be PUT back (422)."""
    owner = await register(client, "owner")
    pile = _pile("FREQ=YEARLY")
    made = await created(client, owner, pile, conflicts="ignore")
    path = f"/api/v1/events/{made['id']}"
    answer = await client.put(
        f"{path}/instances/2150-01-01T00:00:00Z",
        params={"scope": "following", "conflicts": "ignore"},
        json={"title": "later"},
        headers=owner.headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"][-1] == "end_time", answer.text
    after = await client.get(path, headers=owner.headers)
    assert after.json()["version"] == 1  # nothing changed
    listed = await client.get("/api/v1/events", headers=owner.headers)
    assert [e["id"] for e in listed.json()["items"]] == [made["id"]]


async def test_a_pile_at_the_windows_start_hides_no_clash_that_fits(
    client: httpx.AsyncClient,
) -> None:
    """A review's case: a first version ended the window at the first later start of the
    events read before the pile, dropping a dense series' clash that halving had kept."""
    alice = await register(client, "alice")
    hourly = {  # read first (lower id): 4,945 occurrences in the checked window
        "title": "hourly",
        "start_time": "2026-06-01T00:30:00Z",
        "end_time": "2026-06-01T00:45:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=HOURLY;UNTIL=20270101T000000Z",
    }
    dense = await created(client, alice, hourly, conflicts="ignore")
    pile = {  # 60 occurrences of 60 days under way at every instant
        "title": "pile",
        "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-03-02T00:00:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=DAILY;UNTIL=20270101T000000Z",
    }
    long = await created(client, alice, pile, conflicts="ignore")
    candidate = {  # day 0 and day 206: the window is 206 days long
        "title": "meeting",
        "start_time": "2026-06-01T10:00:00Z",
        "end_time": "2026-06-01T11:00:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=DAILY;INTERVAL=206;COUNT=2",
    }
    response = await client.post(
        "/api/v1/events", params={"conflicts": "warn"}, json=candidate, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    clashing = {c["event_id"] for c in response.json()["conflicts"]}
    assert long["id"] in clashing
    # 2026-06-01 10:30-10:45 of `hourly` overlaps the first occurrence (10:00-11:00)
    assert dense["id"] in clashing, sorted(clashing)
