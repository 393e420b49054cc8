"""Reminders of all-day events moved, two outside attacks' inputs: an owner's move of an
all-day daily series held by 500 people in 400 zones, 5 reminders each (2026-12-07), and a
holder's change of their own zone with 500 all-day daily series of 5 reminders each (the
first 1,000 moved: `reminders.service.ZONE_MOVES`). CPU of the process (client included) for
each of six moves, in process through the whole ASGI stack, on a fresh SQLite database, then
on `BENCH_DATABASE_URL`'s PostgreSQL database if set (its `public` schema dropped and made
again):

    PYTHONPATH=. .venv/bin/python -m bench.reminder_move
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import available_timezones

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bench.inprocess import app_client, create_all, fresh_database, on_each_database, register
from neo_events.models import EventPermission, Reminder, User

HOLDERS, ZONES, OFFSETS, SERIES = 500, 400, (0, 5, 15, 60, 1440), 500


async def _measure(url: str, data_dir: Path) -> tuple[list[float], list[float]]:
    await fresh_database(url)
    async with app_client(url, data_dir) as client:
        moves = await _moved(url, client, await register(client, "owner"))
        return moves, await _zone_changes(url, client, await register(client, "traveller"))


async def _zone_changes(
    url: str, client: httpx.AsyncClient, headers: dict[str, str]
) -> list[float]:
    days = [
        {"title": f"day {n}", "all_day": True, "start_date": f"2027-03-{1 + n % 28:02d}",
         "timezone": "UTC", "is_recurring": True, "recurrence_pattern": "FREQ=DAILY"}
        for n in range(SERIES)
    ]  # fmt: skip
    ids = [e["id"] for e in await create_all(client, headers, days)]
    for i in ids:  # set through the API, each with its job
        put = await client.put(
            f"/api/v1/events/{i}/reminders",
            json={"reminders": [{"minutes_before": m} for m in OFFSETS]},
            headers=headers,
        )
        assert put.status_code == 200, put.text
    spent = []
    for zone in ("Asia/Tokyo", "America/New_York") * 3:
        began = time.process_time()
        changed = await client.patch(
            "/api/v1/auth/me/settings", json={"timezone": zone}, headers=headers
        )
        assert changed.status_code == 200, changed.text
        spent.append(time.process_time() - began)
    return spent


async def _moved(url: str, client: httpx.AsyncClient, headers: dict[str, str]) -> list[float]:
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
    engine = create_async_engine(url)
    async with AsyncSession(engine) as session:  # the holders and reminders, written straight
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
    await engine.dispose()
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


if __name__ == "__main__":
    for name, both in on_each_database(_measure):
        if both is None:
            continue
        moves, changes = both
        for what, spent in (
            (f"an owner's move, {HOLDERS} holders in {ZONES} zones", moves),
            (f"a change of one's own zone, {SERIES} all-day series", changes),
        ):
            print(
                f"{name}: {what}, {len(OFFSETS)} reminders each: CPU ms "
                f"{', '.join(f'{s * 1000:.0f}' for s in spent)} "
                f"(median of the last five {statistics.median(spent[1:]) * 1000:.0f})"
            )
