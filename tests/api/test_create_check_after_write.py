"""A create under `warn` on PostgreSQL is written by the statement that also reads its check's
keys, and the check finishes after the write (`creation.create_event`). If the database is lost
in between (an outside review: a backend ended just before the titles are read), the event
stands: the answer is its 201 without `conflicts`, not a 503 asking for a retry that would
write it twice. A create with an `Idempotency-Key` runs in a transaction: there the same loss
writes nothing and is a 503, which a retry may follow."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events import driver
from neo_events.events import schedule
from tests.helpers import assert_problem, count_rows, register

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
BUSY = {"title": "busy", "start_time": "2026-03-02T09:00:00Z", "end_time": "2026-03-02T10:00:00Z"}


@pytest.mark.postgres  # SQLite checks before it writes, in one transaction
@pytest.mark.parametrize("key", [None, "after-write-1"])
async def test_a_connection_lost_after_the_write_never_asks_for_a_retry(
    app: FastAPI,
    client: httpx.AsyncClient,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    key: str | None,
) -> None:
    alice = await register(client, "alice")
    made = await client.post(
        EVENTS, params={"conflicts": "ignore"}, json=BUSY, headers=alice.headers
    )
    assert made.status_code == 201, made.text
    original = schedule._titles
    killer = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    lost: list[int] = []

    async def titles_after_a_lost_connection(session: Any, found: Any, visible: Any) -> Any:
        connection = await driver.connection_of(session)
        pid = await connection.scalar(text("SELECT pg_backend_pid()"), {})
        async with killer.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        lost.append(pid)
        return await original(session, found, visible)

    monkeypatch.setattr(schedule, "_titles", titles_after_a_lost_connection)
    headers = alice.headers | ({"Idempotency-Key": key} if key else {})
    try:
        answer = await client.post(EVENTS, json=BUSY | {"title": "new"}, headers=headers)
    finally:
        await killer.dispose()
    monkeypatch.setattr(schedule, "_titles", original)
    assert lost, "the check reached the titles: something clashed"
    written = await count_rows(app, "events", title="new")
    if key is None:  # written in autocommit: it stands, and the answer says so
        assert answer.status_code == 201, answer.text
        assert "conflicts" not in answer.json(), answer.json()
        assert written == 1
        asked = await client.get(f"{EVENTS}/{answer.json()['id']}/conflicts", headers=alice.headers)
        assert [c["title"] for c in asked.json()["items"]] == ["busy"], asked.text
    else:  # in a transaction: nothing written, and a retry may follow
        assert_problem(answer, 503, "database_unavailable")
        assert written == 0
    again = await client.post(EVENTS, json=BUSY | {"title": "later"}, headers=alice.headers)
    assert [c["title"] for c in again.json()["conflicts"]] == ["busy", "new"][: 1 + (key is None)]
