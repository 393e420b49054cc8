"""Bounded cost of find-time and free/busy: fifty people whose dense series leave no gap (an
outside attack: 0.17-0.19 s of CPU, the event loop held 0.4-0.5 s, expanding everyone's
occurrences on the loop). The generous bounds prove the absence of long holds; the figures
are in BENCHMARKS.md."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_find_time import _meet
from tests.helpers import Account, create_event, loop_pauses, register

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
    assert pauses.worst_held < 0.05, pauses
