"""The bench-only ASGI application: the real app plus the machine's ceilings for this stack.

`create_bench_app()` (a factory for uvicorn `--factory` and granian `--factory`) builds
`neo_events.main.create_app()` from the environment, exactly as `neo-events serve` does (same
logging set-up), and adds, for the benchmark only:

- `GET /bench/constant`: a FastAPI route returning a constant, behind the app's whole middleware
  stack: the floor of every request of this stack.
- `GET /bench/pk/{id}`: one primary-key `SELECT` on `events` with a raw asyncpg pool (or one
  aiosqlite connection on SQLite), same middleware: the floor of every request that reads a row.
  One round trip: the pool sends no reset query when a connection comes back
  (`_no_reset_query`), as the product's pool sends none.
- `PATCH /bench/floor/events/{id}` (PostgreSQL): the least an edit can cost on this stack and
  schema, for the ratio the issue asks of `PATCH /api/v1/events/{id}` (`floor.py`).
- `GET /bench/raw`: a constant answered before any middleware (what the server alone costs).
- `GET /bench/rss`: this worker's pid and resident memory, so the driver can read each worker.

`BENCH_HASH_NICE=N` (an experiment, not a product setting) runs password verification in
threads lowered to nice N, to measure whether a login burst still starves other requests when
the scheduler prefers the event loop's thread.

None of this is in the product; the ceilings are served by the same server and worker count as
the app they are compared with.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from neo_events.logs import configure_logging
from neo_events.main import create_app
from neo_events.settings import Settings

CONSTANT = b'{"ok":true}'


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _nice_hashing(app: FastAPI, nice: int) -> None:
    hasher = app.state.authenticator.hasher
    verify = hasher._verify
    niced: set[int] = set()

    def lowered(password_hash: str | None, password: str) -> bool:
        tid = threading.get_native_id()
        if tid not in niced:  # Linux: a thread's nice value is its own
            os.setpriority(os.PRIO_PROCESS, tid, nice)
            niced.add(tid)
        result: bool = verify(password_hash, password)
        return result

    hasher._verify = lowered


class _Raw:
    """Answers /bench/raw and /bench/rss before the app's middleware; the rest goes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/bench/raw", "/bench/rss"):
            if scope["path"] == "/bench/raw":
                body = CONSTANT
            else:
                body = orjson.dumps({"pid": os.getpid(), "rss_kib": _rss_kib()})
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def _no_reset_query(connection: Any) -> None:
    """The PK route's pool returns a connection as it is (asyncpg still drops its listeners
    and rolls back a transaction left open, which this route never leaves): asyncpg's default
    reset is one more round trip on every release, `SELECT pg_advisory_unlock_all(); CLOSE
    ALL; UNLISTEN *; RESET ALL`, which the product's own pool does not send. With it the
    ceiling cost a round trip the product's requests do not, and every ratio to it looked
    better than it was (until 2026-12-06)."""


def create_bench_app() -> ASGIApp:
    settings = Settings()
    configure_logging(json_logs=settings.log_json)
    app: FastAPI = create_app(settings)
    product_lifespan = app.router.lifespan_context
    url = settings.database_url

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with product_lifespan(app_) as state:
            if os.environ.get("BENCH_HASH_NICE"):
                _nice_hashing(app, int(os.environ["BENCH_HASH_NICE"]))
            if url.startswith("postgresql"):
                import asyncpg

                dsn = url.replace("postgresql+asyncpg://", "postgresql://")
                pool = await asyncpg.create_pool(
                    dsn, min_size=1, max_size=settings.db_pool_size, reset=_no_reset_query
                )
                app.state.bench_pool = pool
                try:
                    yield state
                finally:
                    await pool.close()
            else:
                import aiosqlite

                path = url.split("///", 1)[1]
                async with aiosqlite.connect(path) as conn:
                    app.state.bench_sqlite = conn
                    yield state

    app.router.lifespan_context = lifespan

    @app.get("/bench/constant", include_in_schema=False)
    async def constant() -> Response:
        return Response(CONSTANT, media_type="application/json")

    @app.get("/bench/pk/{event_id}", include_in_schema=False)
    async def pk(event_id: int) -> Response:
        query = "SELECT id, title, start_time, end_time, version FROM events WHERE id = "
        if url.startswith("postgresql"):
            row = await app.state.bench_pool.fetchrow(query + "$1", event_id)
            values = dict(row) if row else None
        else:
            async with app.state.bench_sqlite.execute(query + "?", (event_id,)) as cursor:
                found = await cursor.fetchone()
            keys = ("id", "title", "start_time", "end_time", "version")
            values = dict(zip(keys, found, strict=True)) if found else None
        if values is None:
            return Response(b'{"detail":"not found"}', status_code=404)
        return Response(orjson.dumps(values), media_type="application/json")

    if url.startswith("postgresql"):
        from bench.floor import add_floor_edit

        add_floor_edit(app)
    return _Raw(app)
