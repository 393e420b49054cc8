"""Fifty simultaneous writers on one event, over real HTTP against a running server."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
