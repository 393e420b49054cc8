"""Fifty simultaneous writers on one event, over real HTTP against a running server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events.models import EventVersion
from tests.conftest import truncate_all
from tests.helpers import PASSWORD, event_body
from tests.live import running_server

pytestmark = pytest.mark.anyio

WRITERS = 50


async def test_fifty_concurrent_writers_lose_nothing(database_url: str, tmp_path: Path) -> None:
    try:
        with running_server(database_url=database_url, data_dir=tmp_path, workers=2) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                reg = await client.post(
                    "/api/v1/auth/register",
                    json={"username": "alice", "email": "a@example.com", "password": PASSWORD},
                )
                headers = {"Authorization": f"Bearer {reg.json()['access_token']}"}
                event = (
                    await client.post("/api/v1/events", json=event_body(), headers=headers)
                ).json()
                url = f"/api/v1/events/{event['id']}"

                async def write(i: int) -> httpx.Response:
                    return await client.patch(
                        url, json={"description": f"writer {i}"}, headers=headers
                    )

                responses = await asyncio.gather(*(write(i) for i in range(WRITERS)))
                assert [r.status_code for r in responses] == [200] * WRITERS, [
                    r.text for r in responses if r.status_code != 200
                ]
                written = sorted(r.json()["version"] for r in responses)
                assert written == list(range(2, WRITERS + 2))  # each writer got its own version
                final = (await client.get(url, headers=headers)).json()
                assert final["version"] == WRITERS + 1
        engine = create_async_engine(database_url)
        async with engine.connect() as conn:
            numbers = (
                (
                    await conn.execute(
                        select(EventVersion.version)
                        .where(EventVersion.event_id == event["id"])
                        .order_by(EventVersion.version)
                    )
                )
                .scalars()
                .all()
            )
        await engine.dispose()
        assert list(numbers) == list(range(1, WRITERS + 2))  # contiguous and unique
    finally:
        await truncate_all(database_url)


BATCHES = 8
BATCH_SIZE = 500


@pytest.mark.sqlite  # SQLite's single write lock is the point
async def test_parallel_batches_queue_on_sqlite_instead_of_failing(
    database_url: str, tmp_path: Path
) -> None:
    """Issue #17: eight parallel 500-event batches on SQLite made some wait out the 10 s
    busy timeout and fail with 503. Writers of one process now queue for their turn."""
    try:
        # A loaded 2-core CI box takes several seconds per batch: let the last one wait.
        env = {"SQLITE_WRITE_WAIT_S": "600"}
        with running_server(database_url=database_url, data_dir=tmp_path, extra_env=env) as base:
            async with httpx.AsyncClient(base_url=base, timeout=600) as client:
                reg = await client.post(
                    "/api/v1/auth/register",
                    json={"username": "alice", "email": "a@example.com", "password": PASSWORD},
                )
                headers = {"Authorization": f"Bearer {reg.json()['access_token']}"}

                async def batch(n: int) -> httpx.Response:
                    items = [_slot(n * BATCH_SIZE + i) for i in range(BATCH_SIZE)]
                    return await client.post(
                        "/api/v1/events/batch", json={"events": items}, headers=headers
                    )

                began = asyncio.get_running_loop().time()
                responses = await asyncio.gather(*(batch(n) for n in range(BATCHES)))
                took = asyncio.get_running_loop().time() - began
                assert [r.status_code for r in responses] == [201] * BATCHES, (
                    took,
                    [r.text[:200] for r in responses if r.status_code != 201],
                )
                assert sum(len(r.json()["items"]) for r in responses) == BATCHES * BATCH_SIZE
    finally:
        await truncate_all(database_url)


def _slot(n: int) -> dict[str, Any]:
    """The n-th of back-to-back quarter hours: events that do not overlap one another."""
    start = datetime(2027, 1, 4, 8, tzinfo=UTC) + timedelta(minutes=15 * n)
    return event_body(
        title=f"slot {n}",
        start_time=start.isoformat(),
        end_time=(start + timedelta(minutes=15)).isoformat(),
        timezone="UTC",
    )
