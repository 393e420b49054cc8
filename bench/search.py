"""What a text search of the listing costs (`q=`; issue #16, twentieth session): one user
holding EVENTS events whose descriptions are 10,000 four-byte characters (40 KB each, 40 MB
in all), searched for a plain word and for the worst needles found (`b` and 199 of the
text's character, or the other way round: compared whole at every position). Wall
milliseconds of each request through the app in process (on PostgreSQL most of it the
server's), the median of RUNS: the first page, and every page of the whole search followed
by its cursor. `python -m bench search`
(PostgreSQL too with BENCH_DATABASE_URL, whose schema it empties)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench import inprocess

EVENTS, PER_BATCH, RUNS = 1_000, 20, 3
CHAR = "\U0001f600"  # four bytes in UTF-8
# The worst needles: PostgreSQL's strpos compares from the needle's end, SQLite's instr from
# its start, each failing only at the other end.
NEEDLES = {
    "a plain word": "standup",
    "`b` and 199 of the text's character": "b" + CHAR * 199,
    "199 of the text's character and `b`": CHAR * 199 + "b",
}


def _bodies() -> list[dict[str, Any]]:
    return [
        {
            "title": f"Event {n}",
            "description": CHAR * 10_000,
            "start_time": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T09:00:00Z",
            "end_time": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00Z",
            "timezone": "UTC",
        }
        for n in range(EVENTS)
    ]


async def _pages(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> list[float]:
    """The wall milliseconds of each page of a search, following its cursor."""
    spent, cursor = [], None
    while True:
        params: dict[str, Any] = {"q": q, "limit": 50} | ({"cursor": cursor} if cursor else {})
        began = time.perf_counter()
        response = await client.get("/api/v1/events", params=params, headers=headers)
        spent.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return spent


async def measure(url: str, data_dir: Path) -> list[str]:
    await inprocess.fresh_database(url)
    async with inprocess.app_client(url, data_dir) as client:
        headers = await inprocess.register(client)
        bodies = _bodies()
        for begin in range(0, EVENTS, PER_BATCH):  # under the 1 MiB body limit
            response = await client.post(
                "/api/v1/events/batch",
                params={"conflicts": "ignore"},
                json={"events": bodies[begin : begin + PER_BATCH]},
                headers=headers,
                timeout=120,
            )
            assert response.status_code == 201, response.text
        rows = []
        for label, needle in NEEDLES.items():
            runs = [await _pages(client, headers, needle) for _ in range(RUNS)]
            first: float = statistics.median(run[0] for run in runs)
            whole: float = statistics.median(sum(run) for run in runs)
            worst = max(max(run) for run in runs)
            rows.append(f"{label} | {first:.0f} | {len(runs[0])} | {worst:.0f} | {whole:.0f}")
        return rows


def run() -> list[str]:
    heads = (
        f"| {EVENTS:,} events of 40 KB, `q=` | first page, ms | pages | slowest page, ms"
        " | whole search, ms |",
        "|---|---:|---:|---:|---:|",
    )
    return inprocess.table(heads, measure)


if __name__ == "__main__":
    print("\n".join(run()))
