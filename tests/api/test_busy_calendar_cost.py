"""A conflict check reads at most CHECK_EVENTS events of the calendars it looks at, the first
by start (`calendar_keys.Budget`), and is complete before where the others start; a strict
read (free/busy, find-time, an event's conflicts in a window) refuses a window past
MAX_WINDOW_EVENTS events with a 422 before expanding any. A busy calendar's year (20,000
events) cost a series create 0.1-0.2 s of CPU, and a `suggest` over 100 busy people's
fortnight 5-6 s, every time (an outside attack)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from neo_events.events import calendar_keys, calendars
from tests.api.test_bounded_cost import grant
from tests.helpers import (
    Account,
    assert_problem,
    cache_lookups,
    cpu_bound,
    created,
    created_many,
    people,
    register,
)

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"


def at(day: int, hour: int, minute: int = 0) -> str:
    """`day` days from tomorrow, at that UTC time (a check of a series that runs on reads
    from yesterday: everything here is ahead)."""
    first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=day + 1, hours=hour, minutes=minute)).isoformat()


def single(day: int, hour: int, minutes: int = 60, title: str = "Busy") -> dict[str, Any]:
    return {
        "title": title,
        "start_time": at(day, hour),
        "end_time": at(day, hour, minutes),
        "timezone": "UTC",
    }


async def test_a_check_past_its_budget_is_complete_before_the_events_it_did_not_read(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendar_keys, "CHECK_EVENTS", 20)
    await created_many(client, alice, [single(day, 10) for day in range(60)])
    daily = single(0, 10) | {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY;COUNT=60"}
    response = await client.post(
        EVENTS, params={"conflicts": "warn"}, json=daily, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    # the first 20 by start, and the 21st's start is where the read stops being complete
    clashes = sorted(c["start_time"] for c in response.json()["conflicts"])
    assert [c[:10] for c in clashes] == [at(day, 10)[:10] for day in range(20)]
    gone = await client.delete(f"{EVENTS}/{response.json()['id']}", headers=alice.headers)
    assert gone.status_code == 204
    # a clash only past where it is complete lets a `reject` through: the 51st by start
    await created(client, alice, single(50, 15), conflicts="ignore")
    late = single(0, 15) | {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY;COUNT=60"}
    response = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=late, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    # one before it is refused
    await created(client, alice, single(5, 16), conflicts="ignore")
    early = single(0, 16) | {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY;COUNT=60"}
    response = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=early, headers=alice.headers
    )
    [clash] = assert_problem(response, 409, "schedule_conflict")["conflicts"]
    assert clash["start_time"][:16] == at(5, 16)[:16]


async def test_a_strict_read_past_its_events_is_refused(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendars, "MAX_WINDOW_EVENTS", 30)
    await created_many(client, alice, [single(day, 10) for day in range(31)])
    window = {"start_time": at(0, 0), "end_time": at(40, 0)}
    refused = await client.get("/api/v1/freebusy", params=window, headers=alice.headers)
    problem = assert_problem(refused, 422, "window_too_large")
    assert "events reach this window" in problem["detail"]
    shorter = {"start_time": at(0, 0), "end_time": at(29, 0)}
    answer = await client.get("/api/v1/freebusy", params=shorter, headers=alice.headers)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["busy"]) == 29


async def test_a_suggest_over_busy_peoples_fortnight_is_bounded(
    client: httpx.AsyncClient, app: Any, alice: Account
) -> None:
    """100 people holding 390 events each in the fortnight `suggest` searches (39,000): the
    search read every one of them, expanded and cached it (0.8-0.9 s of CPU here; 5-6 s for
    100,000 in the attack); now the first CHECK_EVENTS by start (0.13 s, the `suggest`)."""
    holders = await people(app, 100)
    other = await register(client, "organiser")
    busy = [
        single(day, 8, 50) | {"start_time": at(day, 8, m), "end_time": at(day, 9, m)}
        for day in range(13)
        for m in range(0, 600, 20)
    ]
    ids = await created_many(client, other, busy * len(holders))
    await grant(app, [(e, holders[n // len(busy)]) for n, e in enumerate(ids)], other.id)
    moved = await created(client, alice, single(20, 7), conflicts="ignore")
    await grant(app, [(moved["id"], u) for u in holders], alice.id)
    for policy in ("suggest", "reject", "warn"):
        before = sum(await cache_lookups(client))
        with cpu_bound(2.0, policy):  # not seconds; how much it reads is counted below
            response = await client.patch(
                f"{EVENTS}/{moved['id']}",
                params={"conflicts": policy},
                json={"start_time": at(0, 9), "end_time": at(0, 10)},
                headers=alice.headers,
            )
        # expanded: the check's CHECK_EVENTS and the search's, not all 39,000 (193,545 look-ups
        # without the budget, 10,497 with it)
        assert sum(await cache_lookups(client)) - before <= 2 * calendar_keys.CHECK_EVENTS + 1_000
        if policy != "warn":
            assert_problem(response, 409, "schedule_conflict")
        else:
            assert response.status_code == 200, response.text
