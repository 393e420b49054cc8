"""A worker whose caches are cold (a restart, a new worker, an eviction) reads COUNT rules
without scanning them: each event stores where its rule ends (`events.count_end`).

An outside attack created series whose COUNT is reached only after a long scan (about 50 ms
each, `plans._count_bound`): `FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=5` from 1900
ends in 1988. With the plans cold, one listing of 200 of them cost 10-12 s of CPU and held
the event loop 5-6 s; a create's conflict check 10.7 s, all of it on the loop."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from neo_events.events import count_ends, plans
from tests.helpers import cpu_bound, created_many, loop_pauses, register
from tests.timing import budget

pytestmark = pytest.mark.anyio

SPARSE = "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=5"
SERIES = 40  # each ~50 ms to scan cold: 2 s for a read of them all before


def _cold(app: FastAPI) -> None:
    """As a worker that has never built these plans nor expanded these weeks."""
    plans.plan_of.cache_clear()
    count_ends.forget_all()
    app.state.expansions._entries.clear()


async def test_a_cold_worker_reads_stored_count_rules_without_scanning_them(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    bodies = [
        {
            "title": f"leap {i}",
            "start_time": f"1900-01-01T{i // 60:02d}:{i % 60:02d}:00Z",
            "end_time": f"1900-01-01T{i // 60:02d}:{i % 60 + 1:02d}:00Z"
            if i % 60 < 59
            else f"1900-01-01T{i // 60 + 1:02d}:00:00Z",
            "timezone": "UTC",
            "is_recurring": True,
            "recurrence_pattern": SPARSE,
        }
        for i in range(SERIES)
    ]
    await created_many(client, alice, bodies)
    window = {"start_time": "1987-06-01T00:00:00Z", "end_time": "1988-05-31T00:00:00Z"}
    requests = [
        ("listing", lambda: client.get("/api/v1/events", params=window, headers=alice.headers)),
        ("freebusy", lambda: client.get("/api/v1/freebusy", params=window, headers=alice.headers)),
        (
            "create",
            lambda: client.post(
                "/api/v1/events",
                json={
                    "title": "x",
                    "start_time": "1988-02-29T00:00:00Z",
                    "end_time": "1988-02-29T01:00:00Z",
                },  # fmt: skip
                headers=alice.headers,
            ),
        ),
    ]
    for name, send in requests:
        _cold(app)
        async with loop_pauses() as pauses:
            with cpu_bound(0.5, name):  # ~2 s before (40 series × ~50 ms), ~0.05 s now
                response = await send()
        assert response.status_code in (200, 201), (name, response.text)
        assert pauses.worst_held < budget(0.25), (name, pauses)
    listed = await client.get("/api/v1/events", params=window, headers=alice.headers)
    assert len(listed.json()["items"]) == SERIES + 1  # each series' 1988-02-29, and the new one
    created = response.json()
    assert len(created["conflicts"]) == SERIES  # the create clashes with every one
