"""kill -9 in the middle of a write: after a restart nothing partial exists (issue #10).

The server's whole process group gets SIGKILL while a 500-event batch, or a rollback, is
inside its transaction. Whichever way the race goes (killed before or after the commit),
the database must hold all of the write or none of it, and the events, versions, change feed
and audit rows must agree (tests/faults/invariants.py). Then the same database serves again.

On PostgreSQL the kill is made deterministic: the test holds a SHARE lock on `audit_log`, so
the server's transaction writes its events, versions and feed rows and then waits, mid-way, to
insert the audit rows it flushes last; we kill it while it waits. SQLite has one writer lock
and no table locks, so there the test kills while it sees the server holding the write lock.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.conftest import truncate_all
from tests.faults.invariants import (
    check_invariants,
    wait_for_pg_lock_wait,
    wait_for_sqlite_writer,
    wait_until_backends_gone,
)
from tests.helpers import PASSWORD, event_body, register
from tests.live import LiveServer, live_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

BATCH = 500


def _batch(tag: str) -> dict[str, Any]:
    return {
        "events": [
            event_body(
                title=f"{tag}-{i}",
                start_time=f"2027-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                end_time=f"2027-01-{1 + i % 28:02d}T{i % 24:02d}:30:00Z",
                timezone="UTC",
            )
            for i in range(BATCH)
        ]
    }


async def _sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@asynccontextmanager
async def _audit_lock(database_url: str) -> AsyncIterator[AsyncConnection]:
    """PostgreSQL: hold a SHARE lock on audit_log (inserts wait) until the block ends."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("LOCK TABLE audit_log IN SHARE MODE"))
            try:
                yield conn
            finally:
                await conn.rollback()
    finally:
        await engine.dispose()


async def _kill_mid_write(
    server: LiveServer,
    database_url: str,
    app_name: str,
    request: Callable[[], Awaitable[httpx.Response]],
    *,
    sqlite_delay: float,
) -> str:
    """Send the request, SIGKILL the server while its transaction is open; 'sent' or 'lost'."""
    if database_url.startswith("postgresql"):
        async with _audit_lock(database_url) as conn:
            task = asyncio.ensure_future(request())
            await wait_for_pg_lock_wait(conn, app_name)
            server.kill()
        await wait_until_backends_gone(database_url, app_name)
    else:
        task = asyncio.ensure_future(request())
        await wait_for_sqlite_writer(database_url, request=task)
        await asyncio.sleep(sqlite_delay)
        server.kill()
    try:
        response = await task
    except httpx.TransportError:
        return "lost"
    # the response got out before the kill: then it must have been committed whole
    assert response.status_code in (200, 201), response.text
    return "sent"


async def test_kill9_mid_batch_leaves_all_or_nothing(database_url: str, tmp_path: Path) -> None:
    app_name = f"neo-faults-{uuid.uuid4().hex[:8]}"
    await truncate_all(database_url)
    env = {"DB_APPLICATION_NAME": app_name}
    try:
        with live_server(database_url=database_url, data_dir=tmp_path, extra_env=env) as server:
            async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
                headers = (await register(client, "alice")).headers
                started = time.monotonic()
                first = await client.post("/api/v1/events/batch", json=_batch("a"), headers=headers)
                assert first.status_code == 201, first.text
                took = time.monotonic() - started

                outcome = await _kill_mid_write(
                    server,
                    database_url,
                    app_name,
                    lambda: client.post("/api/v1/events/batch", json=_batch("b"), headers=headers),
                    sqlite_delay=took / 2,
                )
            after = await check_invariants(database_url)
            titles = [title.split("-")[0] for title, _ in after.events.values()]
            assert titles.count("a") == BATCH
            assert titles.count("b") in (0, BATCH), titles.count("b")  # never a part
            if database_url.startswith("postgresql"):
                assert outcome == "lost" and titles.count("b") == 0
            if outcome == "sent":
                assert titles.count("b") == BATCH

            server.start()  # same database, same port
            async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
                headers = await _sign_in(client)
                again = await client.post(
                    "/api/v1/events", json=event_body(title="c-0"), headers=headers
                )
                assert again.status_code == 201, again.text
                listed = await client.get("/api/v1/events?limit=5", headers=headers)
                assert listed.status_code == 200
            final = await check_invariants(database_url)
            assert len(final.events) == len(after.events) + 1
    finally:
        await truncate_all(database_url)


async def test_kill9_mid_rollback_leaves_all_or_nothing(database_url: str, tmp_path: Path) -> None:
    app_name = f"neo-faults-{uuid.uuid4().hex[:8]}"
    await truncate_all(database_url)
    env = {"DB_APPLICATION_NAME": app_name}
    try:
        with live_server(database_url=database_url, data_dir=tmp_path, extra_env=env) as server:
            async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
                headers = (await register(client, "alice")).headers
                event = (
                    await client.post("/api/v1/events", json=event_body(), headers=headers)
                ).json()
                url = f"/api/v1/events/{event['id']}"
                for n in range(2, 5):
                    edit = await client.patch(url, json={"title": f"v{n}"}, headers=headers)
                    assert edit.status_code == 200, edit.text

                if database_url.startswith("postgresql"):
                    outcome = await _kill_mid_write(
                        server,
                        database_url,
                        app_name,
                        lambda: client.post(f"{url}/rollback/1", headers=headers),
                        sqlite_delay=0,
                    )
                else:
                    # a rollback's transaction lasts milliseconds: keep several coming, so the
                    # write lock the test sees belongs to one of them
                    outcome = await _kill_during_rollbacks(
                        server, database_url, client, url, headers
                    )
            after = await check_invariants(database_url)
            [(title, version)] = after.events.values()
            if database_url.startswith("postgresql"):
                assert outcome == "lost" and version == 4
            if version == 4:
                assert title == "v4"  # no rollback got through: the event is untouched

            server.start()
            async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
                headers = await _sign_in(client)
                again = await client.post(f"{url}/rollback/2", headers=headers)
                assert again.status_code == 200, again.text
                assert again.json()["version"] == version + 1
                # every version, page by page: on SQLite as many rollbacks as got through
                # before the kill (51 once) are versions too, past one page of 50
                versions: list[int] = []
                cursor = None
                while True:
                    history = await client.get(
                        f"{url}/history",
                        params={"limit": 500} | ({"cursor": cursor} if cursor else {}),
                        headers=headers,
                    )
                    assert history.status_code == 200, history.text
                    versions += [item["version"] for item in history.json()["items"]]
                    cursor = history.json().get("next_cursor")
                    if not cursor:
                        break
                assert versions == list(range(version + 1, 0, -1))
            await check_invariants(database_url)
    finally:
        await truncate_all(database_url)


async def _kill_during_rollbacks(
    server: LiveServer,
    database_url: str,
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
) -> str:
    stop = asyncio.Event()

    async def keep_rolling_back(target: int) -> None:
        while not stop.is_set():
            try:
                response = await client.post(f"{url}/rollback/{target}", headers=headers)
            except httpx.TransportError:
                return
            assert response.status_code == 200, response.text

    writers = [asyncio.ensure_future(keep_rolling_back(1 + i % 3)) for i in range(4)]
    await asyncio.sleep(0.3)  # let them get going
    await wait_for_sqlite_writer(database_url)
    server.kill()
    stop.set()
    await asyncio.gather(*writers)
    return "lost"
