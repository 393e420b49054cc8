"""Find a time for 20 people over 14 days among 100,000 events, in process, through the
real app (`python -m bench.find_time`; PostgreSQL too with BENCH_DATABASE_URL).

The dataset is written straight into the tables (no history): 2,000 users, each owning
about 50 events and holding a role on about 100 more, spread over 2026, 20% of them
recurring without end (daily, weekly, monthly) — so each person's 14 days hold dozens of
busy occurrences. User 1 asks about 19 contacts; each request takes a different fortnight.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import inprocess
from neo_events.auth.passwords import PasswordHasher
from neo_events.events.content import apply_content
from neo_events.events.validation import build_content
from neo_events.models import Event, EventPermission, User

EVENTS = 100_000
USERS = 2_000
GRANTS_PER_EVENT = 2
RECURRING_SHARE = 0.2
RULES = ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=WEEKLY", "FREQ=MONTHLY;BYDAY=1MO"]
PEOPLE = 20
REQUESTS = 100
PASSWORD = "benchmark!"


def _rows(
    rng: random.Random,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    hashed = PasswordHasher(
        time_cost=1, memory_kib=1024, parallelism=1, concurrency=1
    )._hasher.hash(PASSWORD)
    users = [
        {
            "id": i,
            "username": f"u{i}",
            "username_key": f"u{i}",
            "email": f"u{i}@bench.example",
            "email_key": f"u{i}@bench.example",
            "password_hash": hashed,
            "is_admin": False,
            "created_at": now,
        }
        for i in range(1, USERS + 1)
    ]
    events, grants = [], []
    for event_id in range(1, EVENTS + 1):
        owner = rng.randrange(1, USERS + 1)
        day = now + timedelta(days=rng.randrange(0, 365))
        start = day.replace(hour=rng.randrange(7, 19), minute=rng.choice([0, 15, 30, 45]))
        body: dict[str, Any] = {
            "title": f"Event {event_id}",
            "start_time": start,
            "end_time": start + timedelta(minutes=rng.choice([30, 45, 60, 90])),
            "timezone": rng.choice(["Europe/Berlin", "America/New_York", "UTC"]),
        }
        if rng.random() < RECURRING_SHARE:
            body |= {"is_recurring": True, "recurrence_pattern": rng.choice(RULES)}
        row = Event(id=event_id, owner_id=owner)
        apply_content(row, build_content(None, body))
        events.append(
            {
                c.name: getattr(row, c.key)
                for c in Event.__table__.columns
                if c.name != "split_from_id"
            }
            | {
                "version": 1,
                "created_at": now,
                "created_by_id": owner,
                "updated_at": now,
                "updated_by_id": owner,
            }
        )
        holders = {owner} | {rng.randrange(1, USERS + 1) for _ in range(GRANTS_PER_EVENT)}
        grants += [
            {
                "event_id": event_id,
                "user_id": u,
                "role": "owner" if u == owner else "viewer",
                "granted_by_id": owner,
                "granted_at": now,
            }
            for u in holders
        ]
    return users, events, grants


async def _load(url: str) -> None:
    engine = create_async_engine(url)
    users, events, grants = await asyncio.to_thread(_rows, random.Random(7))
    # user 1 meets people 2..20 on one more event: they are contacts
    meeting = dict(events[0]) | {"id": EVENTS + 1, "owner_id": 1}
    grants += [
        {
            "event_id": EVENTS + 1,
            "user_id": u,
            "role": "owner" if u == 1 else "viewer",
            "granted_by_id": 1,
            "granted_at": meeting["created_at"],
        }
        for u in range(1, PEOPLE + 1)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(User), users)
        for chunk in range(0, len(events), 5_000):
            await conn.execute(insert(Event), events[chunk : chunk + 5_000])
        await conn.execute(insert(Event), [meeting])
        for chunk in range(0, len(grants), 10_000):
            await conn.execute(insert(EventPermission), grants[chunk : chunk + 10_000])
    await engine.dispose()
    analyzer = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with analyzer.connect() as conn:
        # Planner statistics, and on PostgreSQL the visibility map (index-only scans), as a
        # live database has them from autovacuum; a bulk load just before has neither.
        vacuum = "VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"
        await conn.execute(text(vacuum))
    await analyzer.dispose()


async def measure(url: str, data_dir: Path) -> dict[str, float]:
    await inprocess.fresh_database(url)
    began = time.perf_counter()
    await _load(url)
    loaded = time.perf_counter() - began
    rng = random.Random(11)
    times, slots, busy = [], 0, 0
    async with inprocess.app_client(url, data_dir) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "u1", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        others = list(range(2, PEOPLE + 1))
        for _ in range(REQUESTS):
            start = datetime(2026, 2, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 300))
            body = {
                "user_ids": others,
                "duration_minutes": 60,
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(days=14)).isoformat(),
                "timezone": "Europe/Berlin",
                "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
                "granularity_minutes": 15,
                "limit": 10,
            }
            t0 = time.perf_counter()
            response = await client.post("/api/v1/scheduling/find-time", json=body, headers=headers)
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.text
            slots += len(response.json()["slots"])
        fb = await client.get(
            "/api/v1/freebusy",
            params={
                "start_time": "2026-06-01T00:00:00Z",
                "end_time": "2026-06-15T00:00:00Z",
                "user_ids": ",".join(map(str, others)),
            },
            headers=headers,
        )
        busy = sum(len(c.get("busy", [])) for c in fb.json()["calendars"].values())
    await inprocess.reset(url)
    q = statistics.quantiles(times, n=100)
    return {
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "max_ms": max(times) * 1000,
        "slots": slots / REQUESTS,
        "busy": busy,
        "load_s": loaded,
    }


def run() -> list[str]:
    lines = [
        f"| find-time, {PEOPLE} people, 14 days, {EVENTS:,} events, in process "
        "| p50 ms | p95 ms | max ms | busy intervals (19 people, 14 days) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, result in inprocess.on_each_database(measure):
        if result is None:
            lines.append("| PostgreSQL | (set BENCH_DATABASE_URL) | | | |")
            continue
        lines.append(
            f"| {name} | {result['p50_ms']:.1f} | {result['p95_ms']:.1f} "
            f"| {result['max_ms']:.1f} | {result['busy']:.0f} |"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
