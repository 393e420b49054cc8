"""A CalDAV resource at the per-occurrence answers' bounds (issue #21): a daily series with
three attendees, one of whom (bob) answered 1,000 occurrences one by one (the RSVP's cap),
read with GET right after an answer changed (so never from the text cache), as a client
syncing it does: by the organizer, who sees at most 100 occurrences answered by others
only, and by bob, who sees all his own (1,001 VEVENTs, the cost of an event with 1,000
overrides: icalendar writes about one VEVENT a millisecond here). Run with
`python -m bench.caldav_answers` (SQLite; BENCH_DATABASE_URL for PostgreSQL too)."""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import inprocess

ANSWERED = 1_000
ROUNDS = 20


async def measure(url: str, data_dir: Path) -> dict[str, dict[str, float]]:
    await inprocess.fresh_database(url)
    async with inprocess.app_client(url, data_dir) as client:
        alice = await inprocess.register(client, "alice")
        bob = await inprocess.register(client, "bob")
        carol = await inprocess.register(client, "carol")
        ids = [(await client.get("/api/v1/auth/me", headers=h)).json()["id"] for h in (bob, carol)]
        first = datetime(2026, 1, 1, 9, tzinfo=UTC)
        event = (
            await client.post(
                "/api/v1/events",
                json={
                    "title": "Daily",
                    "start_time": first.isoformat(),
                    "end_time": (first + timedelta(hours=1)).isoformat(),
                    "timezone": "UTC",
                    "is_recurring": True,
                    "recurrence_pattern": f"FREQ=DAILY;COUNT={ANSWERED + 100}",
                },
                headers=alice,
            )
        ).json()
        url_of = f"/api/v1/events/{event['id']}"
        invited = await client.post(
            f"{url_of}/attendees", json={"users": [{"user_id": i} for i in ids]}, headers=alice
        )
        assert invited.status_code == 200, invited.text
        for day in range(ANSWERED):
            at = (first + timedelta(days=day)).isoformat().replace("+00:00", "Z")
            answered = await client.put(
                f"{url_of}/instances/{at}/rsvp", json={"response": "declined"}, headers=bob
            )
            assert answered.status_code == 200, answered.text
        secret = (
            await client.post("/api/v1/app-passwords", json={"name": "bench"}, headers=alice)
        ).json()["password"]
        bobs = (
            await client.post("/api/v1/app-passwords", json={"name": "bench"}, headers=bob)
        ).json()["password"]
        readers = {
            "the organizer (100 VEVENTs of others' answers)": ("alice", secret, 101),
            "the answerer (his 1,000 own)": ("bob", bobs, ANSWERED + 1),
        }
        results = {}
        for reader, (username, password, vevents) in readers.items():
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            dav = {"Authorization": f"Basic {token}"}
            resource = f"/dav/calendars/{username}/events/event-{event['id']}.ics"
            times, size = [], 0
            for round_ in range(ROUNDS):  # a new state each time: never a cached text
                day = first + timedelta(days=round_ + (0 if username == "bob" else ROUNDS))
                at = day.isoformat().replace("+00:00", "Z")
                changed = await client.put(
                    f"{url_of}/instances/{at}/rsvp", json={"response": "tentative"}, headers=bob
                )
                assert changed.status_code == 200, changed.text
                began = time.perf_counter()
                got = await client.get(resource, headers=dav)
                times.append(time.perf_counter() - began)
                assert got.status_code == 200, got.text
                size = len(got.content)
                assert got.content.count(b"BEGIN:VEVENT") == vevents
            q = statistics.quantiles(times, n=20)
            results[reader] = {"p50_ms": q[9] * 1000, "p95_ms": q[18] * 1000, "kib": size / 1024}
    await inprocess.reset(url)
    return results


def run() -> list[str]:
    urls = {"SQLite": None, "PostgreSQL": os.environ.get("BENCH_DATABASE_URL")}
    lines = [
        f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        "",
        f"| GET, uncached, of a resource with {ANSWERED:,} occurrences answered by one of its 3 "
        "attendees, by | database | p50 ms | p95 ms | body KiB |",
        "|---|---|---:|---:|---:|",
    ]
    for name, url in urls.items():
        if name == "PostgreSQL" and not url:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            results = asyncio.run(measure(url or f"sqlite+aiosqlite:///{tmp}/bench.db", Path(tmp)))
        for reader, result in results.items():
            lines.append(
                f"| {reader} | {name} | {result['p50_ms']:.1f} | {result['p95_ms']:.1f} "
                f"| {result['kib']:.0f} |"
            )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
