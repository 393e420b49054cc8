"""CPU time of the worst inputs found for one request (issue #16), through the real app.

Each request goes through the whole ASGI stack in this process on a fresh SQLite database;
the figure is CPU seconds of the process (client included), the median of a few runs, so
it is an upper bound of what the server spends.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from alembic import command

from neo_events.cli import alembic_config
from neo_events.main import create_app
from neo_events.settings import Settings

ALL_DAYS = "MO,TU,WE,TH,FR,SA,SU"
HOURS = ",".join(map(str, range(24)))
MINUTES = ",".join(map(str, range(60)))
EVERY_MINUTE = f"FREQ=YEARLY;BYDAY={ALL_DAYS};BYHOUR={HOURS};BYMINUTE={MINUTES}"
EVENTS = "/api/v1/events"


def _series(rule: str, start: str = "2026-01-05T09:00:00Z", **extra: Any) -> dict[str, Any]:
    end = start.replace(":00:00Z", ":01:00Z")
    return {"title": "x", "start_time": start, "end_time": end, "timezone": "Europe/Berlin",
            "is_recurring": True, "recurrence_pattern": rule, **extra}  # fmt: skip


async def _measure(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    async def cpu(label: str, call: Callable[[], Awaitable[httpx.Response]], runs: int = 5) -> str:
        spent, status = [], 0
        for _ in range(runs):
            began = time.process_time()
            status = (await call()).status_code
            spent.append(time.process_time() - began)
        return f"| {label} | {status} | {statistics.median(spent) * 1000:.1f} |"

    dense = await client.post(
        EVENTS, json=_series(f"{EVERY_MINUTE};UNTIL=20331231T000000Z"), headers=headers
    )
    path = f"{EVENTS}/{dense.json()['id']}"
    batch = [
        {**_series("FREQ=DAILY", "2026-02-02T09:00:00Z"), "title": f"d{i}"} for i in range(500)
    ]
    apart, others = _apart(), [await _signed_up(client, f"apart{i}") for i in range(3)]
    rows = [
        await cpu(
            "create `…;BYSECOND=0,…,59;UNTIL=2033` (224 s before: now refused)",
            lambda: client.post(
                EVENTS, json=_series(f"{EVERY_MINUTE};BYSECOND={MINUTES}"), headers=headers
            ),
        ),
        await cpu(
            "create the same rule every minute (no BYSECOND), UNTIL 2033",
            lambda: client.post(
                EVENTS, json=_series(f"{EVERY_MINUTE};UNTIL=20331231T000000Z"), headers=headers
            ),
        ),
        await cpu(
            "its `/instances`, a 1-second window two years in (12 s before)",
            lambda: client.get(
                f"{path}/instances",
                params={"start_time": "2028-03-03T10:00:00Z", "end_time": "2028-03-03T10:00:01Z"},
                headers=headers,
            ),
        ),
        await cpu(
            "its exdate far from the start (16 s before)",
            lambda: client.patch(path, json={"exdates": ["2031-06-03T07:00:00Z"]}, headers=headers),
        ),
        await cpu(
            "listing a week of it (past 10,000 occurrences: 422)",
            lambda: client.get(
                EVENTS,
                params={"start_time": "2029-01-01T00:00:00Z", "end_time": "2029-01-08T00:00:00Z"},
                headers=headers,
            ),
        ),
        await cpu(
            "daily series from 1900, instances in 2199",
            lambda: client.post(
                EVENTS, json=_series("FREQ=DAILY", "1900-01-01T09:00:00Z"), headers=headers
            ),  # fmt: skip
            runs=1,
        ),
        await cpu(
            "batch of 500 `FREQ=DAILY`, default policy, all clashing (164 s before)",
            lambda: client.post(f"{EVENTS}/batch", json={"events": batch}, headers=headers),
            runs=3,
        ),
        await cpu(
            "batch of 500 distinct `FREQ=DAILY`, none clashing (another user)",
            lambda: client.post(f"{EVENTS}/batch", json={"events": apart}, headers=others.pop()),
            runs=3,
        ),
    ]
    # Sub-daily rules (#18): allowed, and bounded by the window limits like any other.
    minutely = await client.post(EVENTS, json=_series("FREQ=MINUTELY"), headers=headers)
    every = f"{EVENTS}/{minutely.json()['id']}"
    far = {"start_time": "2150-06-01T00:00:00Z", "end_time": "2150-06-02T00:00:00Z"}
    rows += [
        await cpu(
            "create `FREQ=MINUTELY` (no end), its conflicts checked",
            lambda: client.post(EVENTS, json=_series("FREQ=MINUTELY"), headers=headers),
        ),
        await cpu(
            "create `FREQ=HOURLY;BYMINUTE=0,…,59` (no end)",
            lambda: client.post(
                EVENTS, json=_series(f"FREQ=HOURLY;BYMINUTE={MINUTES}"), headers=headers
            ),
        ),
        await cpu(
            "list a year holding `FREQ=MINUTELY` series (past 10,000: 422)",
            lambda: client.get(
                EVENTS,
                params={"start_time": "2027-01-01T00:00:00Z", "end_time": "2027-12-31T00:00:00Z"},
                headers=headers,
            ),
        ),
        await cpu(
            "`FREQ=MINUTELY` `/instances`, a day in 2150 (1,440 occurrences)",
            lambda: client.get(f"{every}/instances", params=far, headers=headers),
        ),
        await cpu(
            "create `FREQ=YEARLY;BYDAY=MO,1TU;BYHOUR=0,…,23;BYMINUTE=0,…,59`",
            lambda: client.post(
                EVENTS,
                json=_series(f"FREQ=YEARLY;BYDAY=MO,1TU;BYHOUR={HOURS};BYMINUTE={MINUTES}"),
                headers=headers,
            ),
        ),
    ]
    mixed = _series(f"FREQ=YEARLY;BYDAY=MO,1TU;BYHOUR={HOURS};BYMINUTE={MINUTES}")
    for _ in range(55):  # sixty of them in the calendar, with the five above
        await client.post(EVENTS, json=mixed, headers=headers)
    rows.append(
        await cpu(
            "the same create into a calendar holding sixty of them (1.3 s before)",
            lambda: client.post(EVENTS, json=mixed, headers=headers),
        )
    )
    rows += await _attacked(client, headers, cpu)
    return rows


# What an outside attack found (2026-12-02): valid rules whose next occurrence is centuries
# away, an end that overflowed, repetitive texts for the word diff, and a series with the
# most exceptions the API takes, listed by the page.
SPARSE = "FREQ=MINUTELY;INTERVAL={};BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=3;BYMINUTE=5"
SPARSE_AT = "2016-02-29T03:05:00Z"
SPARSE_END = "2016-02-29T04:05:00Z"


async def _attacked(client: httpx.AsyncClient, headers: dict[str, str], cpu: Any) -> list[str]:
    other = await _signed_up(client, "attacked")
    for k in range(5):
        body = _series(SPARSE.format(997 - 2 * k), SPARSE_AT, timezone="UTC", end_time=SPARSE_END)
        await client.post(EVENTS, json=body, headers=other)
    year = {"start_time": "2017-03-01T00:00:00Z", "end_time": "2018-03-01T00:00:00Z"}
    me = (await client.get("/api/v1/auth/me", headers=other)).json()["id"]
    weeks = {"user_ids": [me], "duration_minutes": 60, "timezone": "UTC",
             "start_time": "2050-01-03T00:00:00Z", "end_time": "2050-03-01T00:00:00Z"}  # fmt: skip
    text = await client.post(
        EVENTS, json=_series("FREQ=WEEKLY", description="a " * 5000), headers=headers
    )
    texts = f"{EVENTS}/{text.json()['id']}"
    await client.patch(texts, json={"description": "b " * 5000}, headers=headers)
    first = datetime(2030, 1, 1, tzinfo=UTC)

    def at(minutes: int) -> str:
        return (first + timedelta(minutes=minutes)).isoformat()

    exceptions = {
        "overrides": [{"recurrence_id": at(7 * k), "title": f"o{k}"} for k in range(1000)],
        "rdates": [at(1440 + 7 * k + 3) for k in range(1000)],
        "exdates": [at(7 * (k + 1000)) for k in range(1000)],
    }
    many = _series("FREQ=MINUTELY;INTERVAL=7", "2030-01-01T00:00:00Z", timezone="UTC")
    many |= {"end_time": "2030-01-01T00:01:00Z"} | exceptions
    made = await client.post(EVENTS, json=many, params={"conflicts": "ignore"}, headers=headers)
    bloated = f"{EVENTS}/{made.json()['id']}/instances"
    week = {"start_time": "2030-01-01T00:00:00Z", "end_time": "2030-01-08T00:00:00Z"}
    return [
        await cpu(
            "create `FREQ=MINUTELY;INTERVAL=997;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=3;"
            "BYMINUTE=5` (next occurrence centuries away; 0.8-2.5 s before)",
            lambda: client.post(
                EVENTS,
                json=_series(SPARSE.format(997), SPARSE_AT, timezone="UTC", end_time=SPARSE_END),
                headers=other,
            ),
        ),
        await cpu(
            "list a year of a calendar holding five such series (5.1 s before)",
            lambda: client.get(EVENTS, params=year, headers=other),
        ),
        await cpu(
            "find a time over 8 weeks in that calendar (6.2 s before)",
            lambda: client.post("/api/v1/scheduling/find-time", json=weeks, headers=other),
        ),
        await cpu(
            "create the same rule with `UNTIL=99991201T000000Z` (a 500 at 1.7 s before)",
            lambda: client.post(
                EVENTS,
                json=_series(
                    f"{SPARSE.format(997)};UNTIL=99991201T000000Z",
                    SPARSE_AT,
                    timezone="UTC",
                    end_time=SPARSE_END,
                ),  # fmt: skip
                headers=other,
            ),
        ),
        await cpu(
            "create `FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=300` (now a 422)",
            lambda: client.post(
                EVENTS,
                json=_series("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=300", SPARSE_AT),
                headers=other,
            ),
        ),
        await cpu(
            "diff of a 10,000-character description, `a a a …` to `b b b …` (hours before)",
            lambda: client.get(f"{texts}/diff/1/2", headers=headers),
        ),
        await cpu(
            "its changelog (the same diff per entry)",
            lambda: client.get(f"{texts}/changelog", headers=headers),
        ),
        await cpu(
            "create every 7 minutes with 1,000 overrides, 1,000 rdates, 1,000 exdates",
            lambda: client.post(EVENTS, json=many, headers=headers),
            runs=3,
        ),
        await cpu(
            "its `/instances` over a week, first page (590 MB and 2.4 s before)",
            lambda: client.get(bloated, params=week, headers=headers),
        ),
    ]


def _apart() -> list[dict[str, Any]]:
    """500 daily series of 30 s, 2 minutes apart: nothing to list, and all of their
    183,000 occurrences to sweep."""
    batch = []
    for i in range(500):
        start = f"2026-02-02T{i * 2 // 60:02d}:{i * 2 % 60:02d}:00Z"
        item = _series("FREQ=DAILY", start, title=f"a{i}")
        batch.append(item | {"end_time": start.replace(":00Z", ":30Z")})
    return batch


async def _signed_up(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    signed = await client.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": "x" * 12},
    )
    return {"Authorization": f"Bearer {signed.json()['access_token']}"}


async def _run() -> list[str]:
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{folder / 'worst.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    settings = Settings(database_url=url, data_dir=folder, secret_key="bench-" * 8,
                        rate_limit_enabled=False, log_json=False)  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return await _measure(client, await _signed_up(client, "worst"))


def run() -> list[str]:
    header = ["| request | status | CPU ms (median) |", "| --- | --- | --- |"]
    return header + asyncio.run(_run())


if __name__ == "__main__":
    print("\n".join(run()))
