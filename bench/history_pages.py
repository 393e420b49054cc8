"""An event's history and changelog pages when each version changes thousands of small
items (a thirteenth outside attack's input, 2026-12-08): an all-day daily series whose
1,000 exdates, 1,000 rdates and 1,000 overrides all change at each of 150 versions. CPU of
the process (client included) for each page, the median of five, in process through the
whole ASGI stack, on a fresh SQLite database, then on `BENCH_DATABASE_URL`'s PostgreSQL
database if set (its `public` schema dropped and made again):

    PYTHONPATH=. .venv/bin/python -m bench.history_pages
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.inprocess import app_client, fresh_database, on_each_database, register

VERSIONS, ITEMS = 150, 1_000
START = date(2027, 1, 1)
PAGES = ("history", "history?limit=500", "changelog", "changelog?limit=500")


def content(k: int) -> dict[str, Any]:
    """The lists of the k-th version: every item moved by a day from the version before."""
    return {
        "exdates": [str(START + timedelta(days=2 * j + k % 2)) for j in range(ITEMS)],
        "rdates": [str(START + timedelta(days=3000 + 2 * j + k % 2)) for j in range(ITEMS)],
        "overrides": [
            {"recurrence_id": str(START + timedelta(days=2 * j + 1 - k % 2)),
             "title": "t" if k % 2 else "u"}
            for j in range(ITEMS)
        ],
    }  # fmt: skip


async def _measure(url: str, data_dir: Path) -> list[str]:
    await fresh_database(url)
    async with app_client(url, data_dir) as client:
        return await _pages(client, await register(client))


async def _pages(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    made = await client.post(
        "/api/v1/events",
        params={"conflicts": "ignore"},
        json={"title": "m", "all_day": True, "start_date": str(START), "is_recurring": True,
              "recurrence_pattern": f"FREQ=DAILY;COUNT={3 * ITEMS}", **content(0)},
        headers=headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    event_id = made.json()["id"]
    for k in range(1, VERSIONS):
        edited = await client.patch(
            f"/api/v1/events/{event_id}", params={"conflicts": "ignore"}, json=content(k),
            headers=headers,
        )  # fmt: skip
        assert edited.status_code == 200, edited.text
    rows = []
    for page in PAGES:
        spent, items, size = [], 0, 0
        for _ in range(5):
            began = time.process_time()
            got = await client.get(f"/api/v1/events/{event_id}/{page}", headers=headers)
            spent.append(time.process_time() - began)
            assert got.status_code == 200, got.text
            items, size = len(got.json()["items"]), len(got.content)
        rows.append(
            f"`{page}` | {items} | {size / 1e6:.2f} MB | {statistics.median(spent) * 1000:.0f}"
        )
    return rows


if __name__ == "__main__":
    print("| database, page | items | answer | CPU ms (median of 5) |")
    print("|---|---:|---:|---:|")
    for name, rows in on_each_database(_measure):
        for row in rows or ["(set BENCH_DATABASE_URL) | | |"]:
            print(f"| {name}, {row} |")
