"""Week-window listing for a user holding 2,000 events (20% recurring), through the real app."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events.cli import alembic_config
from neo_events.main import create_app
from neo_events.settings import Settings

EVENTS = 2_000
RECURRING_SHARE = 0.2
RULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,WE",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    "FREQ=MONTHLY;BYDAY=1MO",
]
REQUESTS = 200


def _event(rng: random.Random, index: int) -> dict[str, Any]:
    day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 3 * 365))
    start = day.replace(hour=rng.randrange(7, 19), minute=rng.choice([0, 15, 30, 45]))
    body: dict[str, Any] = {
        "title": f"Event {index}",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=rng.choice([30, 45, 60, 90]))).isoformat(),
        "timezone": rng.choice(["Europe/Berlin", "America/New_York", "UTC"]),
    }
    if index < EVENTS * RECURRING_SHARE:
        body |= {"is_recurring": True, "recurrence_pattern": rng.choice(RULES)}
    return body


async def _reset(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def measure(url: str, data_dir: Path) -> dict[str, float]:
    await _reset(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        secret_key="bench-secret-key-long-enough-for-hs256-x",
        rate_limit_enabled=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        log_json=False,
    )
    app = create_app(settings)
    rng = random.Random(7)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            reg = await client.post(
                "/api/v1/auth/register",
                json={"username": "bench", "email": "bench@example.com", "password": "benchmark!"},
            )
            headers = {"Authorization": f"Bearer {reg.json()['access_token']}"}
            bodies = [_event(rng, i) for i in range(EVENTS)]
            for chunk in range(0, EVENTS, 500):
                response = await client.post(
                    "/api/v1/events/batch",
                    params={"conflicts": "ignore"},
                    json={"events": bodies[chunk : chunk + 500]},
                    headers=headers,
                )
                assert response.status_code == 201, response.text
            week = {
                "start_time": "2026-06-01T00:00:00Z",
                "end_time": "2026-06-08T00:00:00Z",
                "limit": 500,
            }
            times = []
            count = 0
            for _ in range(REQUESTS):
                began = time.perf_counter()
                response = await client.get("/api/v1/events", params=week, headers=headers)
                times.append(time.perf_counter() - began)
                count = len(response.json()["items"])
    await _reset(url)
    quantiles = statistics.quantiles(times, n=100)
    return {"p50_ms": quantiles[49] * 1000, "p95_ms": quantiles[94] * 1000, "occurrences": count}


def run() -> list[str]:
    urls = {"SQLite": None, "PostgreSQL": os.environ.get("BENCH_DATABASE_URL")}
    lines = [
        f"| week window, {EVENTS} events ({RECURRING_SHARE:.0%} recurring), one client, "
        "in-process | p50 ms | p95 ms | occurrences |",
        "|---|---:|---:|---:|",
    ]
    for name, url in urls.items():
        if name == "PostgreSQL" and not url:
            lines.append("| PostgreSQL | (set BENCH_DATABASE_URL) | | |")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            db_url = url or f"sqlite+aiosqlite:///{tmp}/bench.db"
            result = asyncio.run(measure(db_url, Path(tmp)))
        lines.append(
            f"| {name} | {result['p50_ms']:.1f} | {result['p95_ms']:.1f} "
            f"| {result['occurrences']:.0f} |"
        )
    return lines
