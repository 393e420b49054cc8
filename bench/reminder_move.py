"""An owner's move of an all-day daily series held by 500 people in 400 zones, 5 reminders
each (an outside attack's input, 2026-12-07): CPU of the process (client included) for each
of six moves, in process through the whole ASGI stack, on a fresh SQLite database (or
`BENCH_DATABASE_URL`'s PostgreSQL database, its `public` schema dropped and made again):

    PYTHONPATH=. .venv/bin/python -m bench.reminder_move
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import available_timezones

import httpx
from alembic import command
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events.cli import alembic_config
from neo_events.main import create_app
from neo_events.models import EventPermission, Reminder, User
from neo_events.settings import Settings

HOLDERS, ZONES, OFFSETS = 500, 400, (0, 5, 15, 60, 1440)


async def _measure(app: object, client: httpx.AsyncClient) -> list[float]:
    signed = await client.post(
        "/api/v1/auth/register",
        json={"username": "owner", "email": "owner@example.com", "password": "x" * 12},
    )
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc"))
    rows = [
        {"username": f"z{n}", "username_key": f"z{n}", "email": f"z{n}@example.com",
         "email_key": f"z{n}@example.com", "password_hash": "x", "timezone": zones[n % ZONES]}
        for n in range(HOLDERS)
    ]  # fmt: skip
    day = {"title": "stand-up", "all_day": True, "start_date": "2027-03-01", "timezone": "UTC",
           "is_recurring": True, "recurrence_pattern": "FREQ=DAILY"}  # fmt: skip
    made = await client.post("/api/v1/events", json=day, headers=headers)
    event_id = made.json()["id"]
    async with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        users = list((await session.execute(insert(User).returning(User.id), rows)).scalars())
        await session.execute(
            insert(EventPermission),
            [{"event_id": event_id, "user_id": u, "role": "viewer"} for u in users],
        )
        now = datetime.now(UTC)
        await session.execute(
            insert(Reminder),
            [{"event_id": event_id, "user_id": u, "minutes_before": m, "created_at": now}
             for u in users for m in OFFSETS],
        )  # fmt: skip
        await session.commit()
    spent = []
    for day_of_march in range(2, 8):
        began = time.process_time()
        moved = await client.patch(
            f"/api/v1/events/{event_id}",
            json={"start_date": f"2027-03-{day_of_march:02d}", "end_date": None},
            headers=headers,
        )
        assert moved.status_code == 200, moved.text
        spent.append(time.process_time() - began)
    return spent


async def _run() -> list[float]:
    folder = Path(tempfile.mkdtemp())
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'move.db'}"
    if url.startswith("postgresql"):
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    settings = Settings(database_url=url, data_dir=folder, secret_key="bench-" * 8,
                        rate_limit_enabled=False, log_json=False)  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return await _measure(app, client)


if __name__ == "__main__":
    spent = asyncio.run(_run())
    print(
        f"owner's move, {HOLDERS} holders in {ZONES} zones, {len(OFFSETS)} reminders each: "
        f"CPU ms {', '.join(f'{s * 1000:.0f}' for s in spent)} "
        f"(median of the last five {statistics.median(spent[1:]) * 1000:.0f})"
    )
