"""A request reads its whole body before it opens a database session (`TransactionalRoute`):
a client trickling a CalDAV upload, a PROPFIND or REPORT body, or an iCalendar import holds no
connection of the pool, no transaction and no lock while it does.

An outside attack (2026-12-06): 20 such clients (one user, one app password, ~20 bytes/s in
all) each held a connection `idle in transaction` (authentication had read the user before
the body); every other request on the worker waited the pool's time-out and got a 503,
/readyz too, an ALTER TABLE waited behind their locks. Here, against a real `neo-events serve`
whose pool is two connections, more slow uploads than that are held open over raw sockets
while others are served.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from neo_events.db import create_engine
from tests.caldav.dav import app_password
from tests.conftest import make_settings, truncate_all
from tests.faults.outside import rows
from tests.helpers import Account, event_body, register, trickling
from tests.live import LiveServer, live_server
from tests.timing import budget

pytestmark = [pytest.mark.anyio]

POOL = 2
DECLARED = 100_000  # bytes each slow body says it has; it sends a byte every TRICKLE_S
TRICKLE_S = 0.2
REPORT = (
    b'<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" '
    b'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>'
)


def _env(app_name: str) -> dict[str, str]:
    # The body deadline far off: these uploads are slow, not past it.
    return {
        "DB_POOL_SIZE": str(POOL),
        "DB_POOL_TIMEOUT_S": "1",
        "DB_APPLICATION_NAME": app_name,
        "HTTP_BODY_TIMEOUT_S": "60",
        "JOBS_IN_SERVE": "false",
    }


@contextmanager
def slow_uploads(port: int, account: Account, secret: str) -> Iterator[list[socket.socket]]:
    """Two of each slow upload the attack sent (CalDAV PUT, PROPFIND, REPORT, an iCalendar
    import), each a head, then a byte every TRICKLE_S until the block ends."""
    dav = "Basic " + base64.b64encode(f"{account.username}:{secret}".encode()).decode()
    kinds = [
        ("PUT", f"/dav/calendars/{account.username}/events/slow{{i}}.ics", dav, "text/calendar"),
        ("PROPFIND", f"/dav/calendars/{account.username}/events/", dav, "application/xml"),
        ("REPORT", f"/dav/calendars/{account.username}/events/", dav, "application/xml"),
        ("POST", "/api/v1/events/import", f"Bearer {account.access_token}", "text/calendar"),
    ]
    socks = []
    for i, (method, path, auth, media) in enumerate(kinds * 2):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(
            f"{method} {path.format(i=i)} HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\n"
            f"Content-Type: {media}\r\nDepth: 1\r\nContent-Length: {DECLARED}\r\n\r\n".encode()
            + (REPORT[:1] if method == "REPORT" else b"B")
        )
        socks.append(sock)
    with trickling(socks, TRICKLE_S):
        yield socks


async def _signed_up(server: LiveServer) -> tuple[Account, str]:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        account = await register(client, "alice")
        return account, await app_password(client, account)


async def test_slow_uploads_leave_the_pool_to_other_requests(
    database_url: str, tmp_path: Path
) -> None:
    """Eight slow uploads (four times the pool) while others ask: each is answered at once,
    none waits for a connection (a 503 after DB_POOL_TIMEOUT_S before)."""
    await truncate_all(database_url)
    env = _env(f"neo-slow-{uuid.uuid4().hex[:8]}")
    try:
        with live_server(database_url=database_url, data_dir=tmp_path, extra_env=env) as server:
            account, secret = await _signed_up(server)
            with slow_uploads(server.port, account, secret):
                await asyncio.sleep(0.5)  # every head is in, every upload's app waits for its body
                async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
                    for _ in range(3):
                        began = time.monotonic()
                        listed = await client.get("/api/v1/events", headers=account.headers)
                        created = await client.post(
                            "/api/v1/events",
                            json=event_body(),
                            headers=account.headers,
                        )
                        ready = await client.get("/readyz")
                        took = time.monotonic() - began
                        assert listed.status_code == 200, listed.text
                        assert created.status_code == 201, created.text
                        assert ready.status_code == 200, ready.text
                        assert took < budget(0.9), took
    finally:
        await truncate_all(database_url)


@pytest.mark.postgres
async def test_a_trickling_body_holds_no_transaction_or_lock(
    database_url: str, tmp_path: Path
) -> None:
    """While eight bodies trickle in, none of the server's sessions is `idle in transaction`
    and none holds a lock on users or app_passwords (an ALTER TABLE would wait behind it)."""
    await truncate_all(database_url)
    app_name = f"neo-slow-{uuid.uuid4().hex[:8]}"
    try:
        with live_server(
            database_url=database_url, data_dir=tmp_path, extra_env=_env(app_name)
        ) as server:
            account, secret = await _signed_up(server)
            with slow_uploads(server.port, account, secret):
                await asyncio.sleep(1.0)
                states = await rows(
                    database_url,
                    "SELECT state, query FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :name",
                    name=app_name,
                )
                locks = await rows(
                    database_url,
                    "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE a.application_name = :name",
                    name=app_name,
                )
            assert not [s for s in states if s[0] != "idle"], states
            assert not locks, locks
    finally:
        await truncate_all(database_url)


@pytest.mark.postgres
async def test_the_servers_sessions_end_a_transaction_left_idle(
    database_url: str, tmp_path: Path
) -> None:
    """The backstop: PostgreSQL ends a session of the app left idle in a transaction for
    DB_IDLE_IN_TRANSACTION_TIMEOUT_S (two minutes unless set)."""
    engine = create_engine(make_settings(database_url, tmp_path))
    quick = create_engine(
        make_settings(database_url, tmp_path, db_idle_in_transaction_timeout_s=0.3)
    )
    try:
        async with engine.connect() as conn:
            shown = await conn.scalar(text("SHOW idle_in_transaction_session_timeout"))
            assert shown == "2min", shown
        async with quick.connect() as conn:
            await conn.execute(text("SELECT 1"))  # a transaction begun, then left idle
            await asyncio.sleep(0.8)
            with pytest.raises(Exception, match="idle-in-transaction|terminat|closed"):
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
        await quick.dispose()
