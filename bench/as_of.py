"""What a listing with `as_of` costs by how many events the caller holds (issue #16, twenty-
first session): one user holding 2,000, then 10,000 (`past_listing.MAX_AS_OF_HELD`), then
10,001 events (made by batches; every tenth of them renamed after the instant, so that its
last version by then is one to step over), listed as they were before the renames. Wall
milliseconds of the first page through the app in process (on PostgreSQL most of it the
server's), the median of RUNS, and the answer's status. On PostgreSQL the tables are
vacuumed first, as autovacuum would have (the walk of the versions' index then reads no
heap).
`python -m bench as-of` (PostgreSQL too with BENCH_DATABASE_URL, whose schema it empties).

`python -m bench as-of --size 100k --dataset` measures the same on a PostgreSQL dataset, among
everyone else's versions (where grouping every version was a plan over all of them): a user
is given a viewer's role on events of others up to 10,000 and 10,001 held, the tables
vacuumed, and listed as of now and as of 2026-11-01 (before most of the dataset's versions:
the walk steps over them); the roles given are taken back after."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import inprocess, load
from neo_events.main import create_app

HELD, PER_BATCH, RUNS = (2_000, 10_000, 10_001), 500, 5
RENAMED = 10  # every tenth event of each round is renamed after the instant listed


def _bodies(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "title": f"Event {n}",
            "start_time": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T09:00:00Z",
            "end_time": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z",
            "timezone": "UTC",
        }
        for n in range(first, first + count)
    ]


async def _vacuum(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        for table in ("event_versions", "event_permissions", "events"):
            await conn.execute(text(f"VACUUM (ANALYZE) {table}"))
    await engine.dispose()


async def _first_pages(
    client: httpx.AsyncClient, headers: dict[str, str], as_of: str
) -> tuple[list[float], int]:
    """Wall ms of each of RUNS first pages as of the instant, and the last answer's status."""
    spent, status = [], 0
    for _ in range(RUNS):
        began = time.perf_counter()
        response = await client.get(
            "/api/v1/events", params={"as_of": as_of, "limit": 50}, headers=headers, timeout=60
        )
        spent.append((time.perf_counter() - began) * 1000)
        status = response.status_code
    return spent, status


GIVEN_AT = "2000-01-01T00:00:00Z"  # marks the roles the dataset run gives, to take them back


async def _on_dataset(url: str, size: str) -> list[str]:
    prep = load.Prepared(url, size, seed=59)
    await prep.load()
    user = prep.rng.randrange(2, prep.users + 1)
    await prep.mint([user])
    headers = {"Authorization": f"Bearer {prep.token(user)}"}
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    rows = []
    try:
        app = create_app(prep.settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for held in HELD[1:]:
                    async with engine.connect() as conn:
                        await conn.execute(
                            text(
                                "INSERT INTO event_permissions (event_id, user_id, role,"
                                " granted_by_id, granted_at, live) SELECT id, :user, 'viewer',"
                                " owner_id, :at, true FROM events e WHERE NOT EXISTS (SELECT 1"
                                " FROM event_permissions p WHERE p.event_id = e.id AND"
                                " p.user_id = :user) ORDER BY id LIMIT :held - (SELECT count(*)"
                                " FROM event_permissions WHERE user_id = :user)"
                            ),
                            {"user": user, "at": datetime.fromisoformat(GIVEN_AT), "held": held},
                        )
                    await _vacuum(url)
                    for as_of in (datetime.now(UTC).isoformat(), "2026-11-01T00:00:00Z"):
                        spent, status = await _first_pages(client, headers, as_of)
                        rows.append(
                            f"{held:,}, as of {as_of[:10]} | {statistics.median(spent):.0f}"
                            f" | {max(spent):.0f} | {status}"
                        )
    finally:
        async with engine.connect() as conn:
            await conn.execute(
                text("DELETE FROM event_permissions WHERE user_id = :user AND granted_at = :at"),
                {"user": user, "at": datetime.fromisoformat(GIVEN_AT)},
            )
        await engine.dispose()
    return rows


def on_dataset(url: str, size: str) -> list[str]:
    lines = [
        f"| user {size} dataset: events held | first page, ms (median) | slowest, ms | status |",
        "|---|---:|---:|---:|",
    ]
    return lines + [f"| {row} |" for row in asyncio.run(_on_dataset(url, size))]


async def measure(url: str, data_dir: Path) -> list[str]:
    await inprocess.fresh_database(url)
    rows = []
    async with inprocess.app_client(url, data_dir) as client:
        headers = await inprocess.register(client)
        made: list[int] = []
        for held in HELD:
            first = len(made)
            while len(made) < held:
                count = min(PER_BATCH, held - len(made))
                response = await client.post(
                    "/api/v1/events/batch",
                    params={"conflicts": "ignore"},
                    json={"events": _bodies(len(made), count)},
                    headers=headers,
                    timeout=120,
                )
                assert response.status_code == 201, response.text
                made += [event["id"] for event in response.json()["items"]]
            await asyncio.sleep(0.01)
            instant = datetime.now(UTC).isoformat()
            await asyncio.sleep(0.01)
            for event_id in made[first::RENAMED]:
                renamed = await client.patch(
                    f"/api/v1/events/{event_id}", json={"title": "renamed"}, headers=headers
                )
                assert renamed.status_code == 200, renamed.text
            await _vacuum(url)
            spent, status = await _first_pages(client, headers, instant)
            rows.append(f"{held:,} | {statistics.median(spent):.0f} | {max(spent):.0f} | {status}")
    return rows


def run() -> list[str]:
    heads = (
        "| events held, `as_of` without a window | first page, ms (median) | slowest, ms"
        " | status |",
        "|---|---:|---:|---:|",
    )
    return inprocess.table(heads, measure)


if __name__ == "__main__":
    print("\n".join(run()))
