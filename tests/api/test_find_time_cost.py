"""Bounded cost of find-time and free/busy: fifty people whose dense series leave no gap (an
outside attack: 0.17-0.19 s of CPU, the event loop held 0.4-0.5 s, expanding everyone's
occurrences on the loop). The generous bounds prove the absence of long holds; the figures
are in BENCHMARKS.md."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_find_time import _meet
from tests.helpers import Account, assert_problem, cpu_bound, create_event, loop_pauses, register
from tests.timing import budget

pytestmark = pytest.mark.anyio

PEOPLE = 49


async def test_find_time_of_fifty_busy_people_does_not_hold_the_event_loop(
    client: httpx.AsyncClient, alice: Account
) -> None:
    others = [await register(client, f"person{n}") for n in range(PEOPLE)]
    await _meet(client, alice, *others)
    # every five hours a meeting of four and a half, each person half an hour later than
    # the one before: together, never a free hour
    for n, person in enumerate([alice, *others]):
        minute = (n * 6) % 300
        await create_event(
            client,
            person,
            title="Busy",
            start_time=f"2026-03-02T{minute // 60:02d}:{minute % 60:02d}:00Z",
            end_time=f"2026-03-02T{minute // 60 + 4:02d}:{minute % 60:02d}:00Z",
            is_recurring=True,
            recurrence_pattern="FREQ=HOURLY;INTERVAL=5",
        )
    body = {
        "user_ids": [p.id for p in others],
        "duration_minutes": 1440,
        "start_time": "2026-03-02T00:00:00Z",
        "end_time": "2026-04-10T00:00:00Z",
        "timezone": "UTC",
        "working_hours": {"start": "00:00", "end": "23:59", "days": [1, 2, 3, 4, 5, 6, 7]},
        "granularity_minutes": 5,
    }
    async with loop_pauses() as pauses:
        found = await client.post("/api/v1/scheduling/find-time", json=body, headers=alice.headers)
    assert found.status_code == 200, found.text
    assert found.json()["slots"] == []
    assert pauses.worst_held < budget(0.05), pauses


async def test_free_busy_of_fifty_people_sharing_one_dense_series_is_bounded(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """One series every 15 minutes shared with 49 people (an outside attack): their free/busy
    had each occurrence copied and sorted once per person on the event loop (30 days: 0.77 s
    held; 100 days: 2.5 s and a 29 MB answer). Now the series is merged once for all who
    hold it, and an answer past MAX_PERIODS intervals in all is a 422, told before it is built."""
    others = [await register(client, f"holder{n}") for n in range(PEOPLE)]
    wall = await create_event(
        client,
        alice,
        title="wall",
        start_time="2027-01-01T00:00:00Z",
        end_time="2027-01-01T00:14:00Z",
        is_recurring=True,
        recurrence_pattern="FREQ=MINUTELY;INTERVAL=15;UNTIL=20290101T000000Z",
    )
    shared = await client.post(
        f"/api/v1/events/{wall['id']}/share?conflicts=ignore",
        json={"users": [{"user_id": p.id, "role": "viewer"} for p in others]},
        headers=alice.headers,
    )
    assert shared.status_code == 200, shared.text
    ids = ",".join(str(p.id) for p in [alice, *others])

    async def freebusy(days: int) -> httpx.Response:
        window = {
            "start_time": "2027-01-01T00:00:00Z",
            "end_time": f"2027-01-{1 + days:02d}T00:00:00Z",
        }
        async with loop_pauses() as pauses:
            with cpu_bound(0.3, f"free/busy of {days} days"):  # before: 0.77 s for 30 days
                response = await client.get(
                    "/api/v1/freebusy", params=window | {"user_ids": ids}, headers=alice.headers
                )
        assert pauses.worst_held < budget(0.3), pauses
        return response

    assert_problem(await freebusy(30), 422, "window_too_large")
    assert_problem(await freebusy(4), 422, "window_too_large")  # 50 × 384 > 10,000
    answer = await freebusy(2)  # 50 × 192 = 9,600 intervals
    assert answer.status_code == 200, answer.text
    calendars = answer.json()["calendars"]
    assert sorted(calendars) == sorted(ids.split(","))
    first = calendars[str(alice.id)]["busy"]
    assert len(first) == 192 and first[1] == {
        "start": "2027-01-01T00:15:00Z",
        "end": "2027-01-01T00:29:00Z",
    }
    assert all(c["busy"] == first for c in calendars.values())
    body = {
        "user_ids": [p.id for p in others],
        "duration_minutes": 5,
        "granularity_minutes": 5,
        "start_time": "2027-01-01T00:00:00Z",
        "end_time": "2027-03-04T00:00:00Z",
        "timezone": "UTC",
        "working_hours": {"start": "00:00", "end": "23:59", "days": [1, 2, 3, 4, 5, 6, 7]},
    }
    async with loop_pauses() as pauses:
        with cpu_bound(0.3, "find-time"):  # before: 0.44 s on the loop
            found = await client.post(
                "/api/v1/scheduling/find-time", json=body, headers=alice.headers
            )
    assert found.status_code == 200, found.text
    assert found.json()["slots"] == []  # a minute free every quarter hour: no 5-minute slot
    assert pauses.worst_held < budget(0.3), pauses
