"""A cold calendar read (weeks the expansions cache lacks) of series read before: it builds
their occurrences from the series kept under (event, version), reads no event content, and
answers exactly as a first read does — and a new version is read again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event as sa_event

from tests.api.test_find_time import _at, _meet
from tests.helpers import Account, create_event, register

pytestmark = pytest.mark.anyio


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, Account]:
    return {n: await register(client, n) for n in ("alice", "bob")}


def _fortnight(start: str, end: str, bob: Account) -> dict[str, Any]:
    return {
        "user_ids": [bob.id],
        "duration_minutes": 60,
        "start_time": start,
        "end_time": end,
        "timezone": "UTC",
        "working_hours": {"start": "10:00", "end": "11:00", "days": [1, 2, 3, 4, 5]},
        "granularity_minutes": 15,
        "limit": 3,
    }


# Exceptions far from the windows asked: a series of many is kept too, weighed by them
# (it was read, decoded and parsed again for each window not cached).
LATER = datetime(2027, 1, 4, 10, tzinfo=UTC)
MANY = {
    "exdates": [f"{LATER + timedelta(days=d):%Y-%m-%dT%H:%M:%SZ}" for d in range(100)],
    "overrides": [
        {"recurrence_id": f"{LATER + timedelta(days=d):%Y-%m-%dT%H:%M:%SZ}", "title": "x" * d}
        for d in range(100, 140)
    ],
}


@pytest.mark.parametrize("exceptions", ["few", "many"])
async def test_new_weeks_of_a_series_read_before_read_no_content(
    app: FastAPI, client: httpx.AsyncClient, people: dict[str, Account], exceptions: str
) -> None:
    alice, bob = people["alice"], people["bob"]
    await _meet(client, alice, bob)
    more: dict[str, list[Any]] = MANY if exceptions == "many" else {"exdates": []}
    daily = await create_event(
        client,
        bob,
        **_at(
            "2026-03-02T10:00:00Z",
            "2026-03-02T11:00:00Z",
            is_recurring=True,
            recurrence_pattern="FREQ=DAILY",
            exdates=["2026-03-05T10:00:00Z", "2026-04-08T10:00:00Z", *more["exdates"]],
            overrides=more.get("overrides", []),
        ),
    )
    app.state.expansions._entries.clear()  # as a worker that did not make it (`keep_written`)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async def free(start: str, end: str) -> tuple[list[str], int]:
        """The free slots' starts, and how many statements read event content."""
        statements.clear()
        response = await client.post(
            "/api/v1/scheduling/find-time", json=_fortnight(start, end, bob), headers=alice.headers
        )
        assert response.status_code == 200, response.text
        starts = [slot["start_time"] for slot in response.json()["slots"]]
        return starts, len([s for s in statements if "recurrence_pattern" in s])

    engine = app.state.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        # the first read of the series reads its content
        assert await free("2026-03-04T00:00:00Z", "2026-03-18T00:00:00Z") == (
            ["2026-03-05T10:00:00Z"],
            1,
        )
        # weeks never asked before: the series is known, no content is read, the answer holds
        assert await free("2026-04-06T00:00:00Z", "2026-04-20T00:00:00Z") == (
            ["2026-04-08T10:00:00Z"],
            0,
        )
        # a new version is a new key: its content is read, and its weeks are new
        moved = await client.patch(
            f"/api/v1/events/{daily['id']}",
            json={"exdates": ["2026-04-09T10:00:00Z", *more["exdates"]]},
            headers=bob.headers,
        )
        assert moved.status_code == 200, moved.text
        assert await free("2026-04-06T00:00:00Z", "2026-04-20T00:00:00Z") == (
            ["2026-04-09T10:00:00Z"],
            1,
        )
        assert await free("2026-05-04T00:00:00Z", "2026-05-18T00:00:00Z") == ([], 0)
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
