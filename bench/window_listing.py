"""Week-window listing for a user holding 2,000 events (20% recurring), through the real app."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import inprocess

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


async def measure(url: str, data_dir: Path) -> dict[str, float]:
    await inprocess.fresh_database(url)
    rng = random.Random(7)
    async with inprocess.app_client(url, data_dir) as client:
        headers = await inprocess.register(client)
        await inprocess.create_all(client, headers, [_event(rng, i) for i in range(EVENTS)])
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
    await inprocess.reset(url)
    quantiles = statistics.quantiles(times, n=100)
    return {"p50_ms": quantiles[49] * 1000, "p95_ms": quantiles[94] * 1000, "occurrences": count}


def run() -> list[str]:
    lines = [
        f"| week window, {EVENTS} events ({RECURRING_SHARE:.0%} recurring), one client, "
        "in-process | p50 ms | p95 ms | occurrences |",
        "|---|---:|---:|---:|",
    ]
    for name, result in inprocess.on_each_database(measure):
        if result is None:
            lines.append("| PostgreSQL | (set BENCH_DATABASE_URL) | | |")
            continue
        lines.append(
            f"| {name} | {result['p50_ms']:.1f} | {result['p95_ms']:.1f} "
            f"| {result['occurrences']:.0f} |"
        )
    return lines
