"""A worker's connection pool is bounded and never grows past DB_POOL_SIZE (no overflow
connections opened for a burst and closed after it): a request that finds every connection
busy for DB_POOL_TIMEOUT_S gets a clean 503 problem, never a 500, and the pool serves again
as soon as a connection is back.

PostgreSQL only: the busy connection is a write held up by a row lock taken from outside the
server, which SQLite's single writer has no equivalent of.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import truncate_all
from tests.faults.outside import rows
from tests.helpers import event_body, register
from tests.live import live_server
from tests.timing import budget

# PostgreSQL only: the pool is held busy by a row lock from outside
pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]


async def _connections(database_url: str, application_name: str) -> int:
    [(count,)] = await rows(
        database_url,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = :name",
        name=application_name,
    )
    return int(count)


async def test_a_request_finding_the_pool_busy_is_a_503_and_the_pool_never_grows(
    database_url: str, tmp_path: Path
) -> None:
    app_name = f"neo-pool-{uuid.uuid4().hex[:8]}"
    env = {"DB_APPLICATION_NAME": app_name, "DB_POOL_SIZE": "2", "DB_POOL_TIMEOUT_S": "0.5"}
    await truncate_all(database_url)
    outside = create_async_engine(database_url)
    try:
        with live_server(database_url=database_url, data_dir=tmp_path, extra_env=env) as server:
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
                headers = (await register(client, "alice")).headers
                created = await client.post("/api/v1/events", json=event_body(), headers=headers)
                url = f"/api/v1/events/{created.json()['id']}"
                async with outside.connect() as lock:
                    await lock.execute(
                        text("SELECT id FROM events WHERE id = :id FOR UPDATE"),
                        {"id": created.json()["id"]},
                    )
                    # Two writes wait for the row, each holding one of the pool's two
                    # connections; a third request finds none free.
                    writes = [
                        asyncio.ensure_future(
                            client.patch(url, json={"title": f"w{i}"}, headers=headers)
                        )
                        for i in range(2)
                    ]
                    await asyncio.sleep(1.0)
                    assert not any(w.done() for w in writes)
                    began = time.monotonic()
                    refused = await client.get(url, headers=headers)
                    waited = time.monotonic() - began
                    assert refused.status_code == 503, refused.text
                    assert refused.headers["content-type"].startswith("application/problem+json")
                    assert refused.json()["code"] == "database_unavailable"
                    assert refused.headers["retry-after"] == "1"
                    assert 0.4 < waited < budget(5), waited
                    # the pool did not open a third connection for the burst
                    assert await _connections(database_url, app_name) <= 2
                    await lock.rollback()
                done = await asyncio.gather(*writes)
                assert [r.status_code for r in done] == [200, 200], [r.text for r in done]
                after = await client.get(url, headers=headers)
                assert after.status_code == 200 and after.json()["version"] == 3, after.text
    finally:
        await outside.dispose()
        await truncate_all(database_url)
