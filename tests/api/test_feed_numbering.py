"""The change feed is numbered as each writer commits (#16; migration 0011, live/feed.py).

On PostgreSQL a writer hands its changes over as one `feed_pending` row, and a deferred
trigger numbers them inside COMMIT. A writer that has handed its changes over and not
committed yet (a request whose worker is busy with other requests) must therefore not hold
up anyone else's write, and the numbers still follow the order of the commits, with no gap
for a transaction that rolled back. SQLite numbers in the application under its single
write lock, which test_sync and test_live cover.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.helpers import register

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
PENDING = text("INSERT INTO feed_pending (payload) VALUES (CAST(:payload AS jsonb))")


def _pending(event_id: int, user_id: int) -> dict[str, Any]:
    """One `updated` change for the event, for the user: what live/feed.py hands over."""
    change = {
        "at": "2026-12-01T03:00:00+00:00",
        "type": "event.updated",
        "event_id": event_id,
        "version": 1,
        "actor_id": user_id,
        "changes": ["title"],
    }
    return {"payload": orjson.dumps({"c": [change], "r": [{"o": 1, "u": user_id}]}).decode()}


async def _feed(app: FastAPI) -> list[tuple[int, int, str]]:
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(text("SELECT seq, event_id, type FROM changes ORDER BY seq"))
        return [(int(seq), int(event_id), kind) for seq, event_id, kind in rows]


async def test_a_writer_about_to_commit_holds_up_nobody_and_numbers_follow_commits(
    app: FastAPI, client: httpx.AsyncClient, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("SQLite numbers the feed in the application, under its one write lock")
    alice = await register(client, "alice")
    body = {"start_time": "2026-03-02T09:00:00Z", "end_time": "2026-03-02T10:00:00Z"}
    first = await client.post(EVENTS, json=body | {"title": "First"}, headers=alice.headers)
    assert first.status_code == 201, first.text
    first_id = first.json()["id"]
    (before,) = [seq for seq, event_id, _ in await _feed(app) if event_id == first_id]

    async with app.state.engine.connect() as slow, app.state.engine.connect() as gone:
        # Two writers that handed their changes over and have not committed: one will
        # commit late, the other will roll back.
        for conn in (slow, gone):
            await conn.begin()
            # Were the feed's lock taken before COMMIT, the second would wait for the first.
            await conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            await conn.execute(PENDING, _pending(first_id, alice.id))

        second = await asyncio.wait_for(
            client.post(EVENTS, json=body | {"title": "Second"}, headers=alice.headers), 10
        )
        assert second.status_code == 201, second.text
        await gone.rollback()
        await slow.commit()

    feed = [row for row in await _feed(app) if row[0] > before]
    assert feed == [
        (before + 1, second.json()["id"], "event.created"),  # committed first, numbered first
        (before + 2, first_id, "event.updated"),  # the late commit; no number for the rollback
    ]
    async with app.state.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM feed_pending")) == 0
