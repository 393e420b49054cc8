"""What the in-process benchmarks share (bench.window_listing, bench.caldav, bench.find_time, …):
a fresh database at head, the app with its lifespan and an HTTP client through ASGI (no
server, no network), the bench user's events made in batches, and a bench run on SQLite and
on PostgreSQL in turn (`on_each_database`)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events.cli import alembic_config
from neo_events.main import create_app
from neo_events.settings import Settings

T = TypeVar("T")


async def reset(url: str) -> None:
    """An empty PostgreSQL schema (a SQLite file is new anyway)."""
    if not url.startswith("postgresql"):
        return
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def fresh_database(url: str) -> None:
    await reset(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")


def bench_settings(url: str, data_dir: Path) -> Settings:
    """The app's settings for an in-process bench on `url`: no rate limit, cheap hashing."""
    return Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key="bench-secret-key-long-enough-for-hs256-x",
        rate_limit_enabled=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        log_json=False,
    )


@asynccontextmanager
async def app_client(url: str, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on `url` (migrated already), started, and a client to it."""
    app = create_app(bench_settings(url, data_dir))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client


def on_each_database(
    measure: Callable[[str, Path], Awaitable[T]],
) -> Iterator[tuple[str, T | None]]:
    """`measure(url, data_dir)` on a new SQLite file, then on PostgreSQL if BENCH_DATABASE_URL
    names a database (whose schema it empties): (name, result), or ("PostgreSQL", None)."""
    for name, url in (("SQLite", None), ("PostgreSQL", os.environ.get("BENCH_DATABASE_URL"))):
        if name == "PostgreSQL" and not url:
            yield name, None
            continue
        with tempfile.TemporaryDirectory() as tmp:
            yield (
                name,
                asyncio.run(measure(url or f"sqlite+aiosqlite:///{tmp}/bench.db", Path(tmp))),
            )


def table(heads: Sequence[str], measure: Callable[[str, Path], Awaitable[list[str]]]) -> list[str]:
    """A Markdown table: `heads` (its header lines), then a line per row `measure` returns on
    each database (`on_each_database`), each row's cells after the database's name."""
    lines = list(heads)
    for name, rows in on_each_database(measure):
        if rows is None:
            lines.append("| PostgreSQL | (set BENCH_DATABASE_URL) |")
            continue
        lines += [f"| {name}, {row} |" for row in rows]
    return lines


async def register(client: httpx.AsyncClient, username: str = "bench") -> dict[str, str]:
    """A new account's bearer header."""
    response = await client.post(
        "/api/v1/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": "benchmark!"},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def create_all(
    client: httpx.AsyncClient, headers: dict[str, str], bodies: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The events, 500 to a batch, without conflict checks; the created objects."""
    created: list[dict[str, Any]] = []
    for chunk in range(0, len(bodies), 500):
        response = await client.post(
            "/api/v1/events/batch",
            params={"conflicts": "ignore"},
            json={"events": list(bodies[chunk : chunk + 500])},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        created += response.json()["items"]
    return created
