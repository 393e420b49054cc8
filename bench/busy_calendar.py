"""What a busy calendar costs the requests that read it (issue #16, thirty-sixth session): one
user holding EVENTS single events over the next 360 days, and the CPU of this process (the app
in process) for each request: a create under each conflict policy (whose check reads at most
`calendar_keys.CHECK_EVENTS` of them), free/busy and an event's conflicts over a year (a 422
past 20,000 events or 10,000 occurrences), the best of RUNS. `python -m bench busy-calendar`
(PostgreSQL too with BENCH_DATABASE_URL, whose schema it empties)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import inprocess

EVENTS, RUNS = 20_000, 3


async def _cpu(
    client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
) -> tuple[int, float]:
    """The status and the best CPU milliseconds of RUNS of one request."""
    spent = []
    for _ in range(RUNS):
        began = time.process_time()
        response = await client.request(method, path, **kwargs)
        spent.append((time.process_time() - began) * 1000)
    return response.status_code, min(spent)


async def measure(url: str, data_dir: Path) -> list[str]:
    await inprocess.fresh_database(url)
    async with inprocess.app_client(url, data_dir) as client:
        headers = await inprocess.register(client)
        first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        first += timedelta(days=1)
        step = timedelta(days=360) / EVENTS
        bodies = [
            {
                "title": f"e{n}",
                "start_time": (first + step * n).isoformat(),
                "end_time": (first + step * n + timedelta(minutes=20)).isoformat(),
                "timezone": "UTC",
            }
            for n in range(EVENTS)
        ]
        await inprocess.create_all(client, headers, bodies)
        start = first + timedelta(days=30, hours=3)
        one = {
            "title": "x",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=1)).isoformat(),
            "timezone": "UTC",
        }
        cases: list[tuple[str, str, str, dict[str, Any]]] = []
        for policy in ("reject", "warn"):
            cases.append((f"single event, `{policy}`", "POST", "/api/v1/events",
                          {"params": {"conflicts": policy}, "json": one}))  # fmt: skip
        for rule in ("FREQ=WEEKLY", "FREQ=DAILY", "FREQ=HOURLY;INTERVAL=7"):
            series = one | {"is_recurring": True, "recurrence_pattern": rule}
            for policy in ("reject", "warn", "suggest"):
                cases.append((f"`{rule}`, `{policy}`", "POST", "/api/v1/events",
                              {"params": {"conflicts": policy}, "json": series}))  # fmt: skip
        year = {
            "start_time": first.isoformat(),
            "end_time": (first + timedelta(days=366)).isoformat(),
        }
        cases.append(("`/freebusy`, 366 days", "GET", "/api/v1/freebusy", {"params": year}))
        made = await client.post(
            "/api/v1/events",
            params={"conflicts": "ignore"},
            json=one | {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY"},
            headers=headers,
        )
        conflicts = f"/api/v1/events/{made.json()['id']}/conflicts"
        cases.append(("an event's conflicts, 366 days", "GET", conflicts, {"params": year}))
        rows = []
        for label, method, path, kwargs in cases:
            status, cpu = await _cpu(client, method, path, headers=headers, **kwargs)
            rows.append(f"{label} | {status} | {cpu:.1f}")
        return rows


def run() -> list[str]:
    heads = (f"| a calendar of {EVENTS:,} events in a year | status | CPU, ms |", "|---|---:|---:|")
    return inprocess.table(heads, measure)


if __name__ == "__main__":
    print("\n".join(run()))
