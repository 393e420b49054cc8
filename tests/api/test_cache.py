"""The expansion cache: hits are counted, and nobody ever reads a stale expansion — not the
writer, not another worker (entries are keyed by event version, so none can go stale)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import truncate_all
from tests.helpers import PASSWORD, Account, create_event, register
from tests.live import running_server

pytestmark = pytest.mark.anyio

WEEK = {"start_time": "2026-03-23T00:00:00Z", "end_time": "2026-03-30T00:00:00Z"}
DAILY = {
    "title": "Daily",
    "start_time": "2026-01-05T09:00:00+01:00",
    "end_time": "2026-01-05T09:30:00+01:00",
    "timezone": "Europe/Berlin",
    "is_recurring": True,
    "recurrence_pattern": "FREQ=DAILY",
}


async def _hits(client: httpx.AsyncClient) -> tuple[float, float]:
    text = (await client.get("/metrics")).text

    def value(result: str) -> float:
        found = re.search(
            rf'neo_cache_requests_total\{{cache="expansions",result="{result}"\}} ([0-9.e+]+)', text
        )
        return float(found.group(1)) if found else 0.0

    return value("hit"), value("miss")


async def _starts(client: httpx.AsyncClient, who: Account) -> list[str]:
    response = await client.get("/api/v1/events", params=WEEK, headers=who.headers)
    assert response.status_code == 200, response.text
    return [item["start_time"] for item in response.json()["items"]]


async def test_repeated_windows_hit_and_writes_are_never_read_stale(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "alice")
    event = await create_event(client, alice, **DAILY)
    first = await _starts(client, alice)
    assert first[0] == "2026-03-23T08:00:00Z" and len(first) == 7
    hits, misses = await _hits(client)
    assert await _starts(client, alice) == first
    assert (await _hits(client)) == (hits + 1, misses)  # the same window again: a hit

    moved = await client.patch(
        f"/api/v1/events/{event['id']}",
        json={"start_time": "2026-01-05T10:00:00+01:00", "end_time": "2026-01-05T10:30:00+01:00"},
        headers=alice.headers,
    )
    assert moved.status_code == 200
    after = await _starts(client, alice)
    assert after[0] == "2026-03-23T09:00:00Z"  # the writer reads its own write
    assert (await _hits(client))[1] == misses + 1  # a new version: computed afresh


async def test_another_worker_never_serves_a_stale_expansion(
    database_url: str, tmp_path: Path
) -> None:
    try:
        with (
            running_server(database_url=database_url, data_dir=tmp_path) as first,
            running_server(database_url=database_url, data_dir=tmp_path) as second,
        ):
            async with (
                httpx.AsyncClient(base_url=first, timeout=30) as a,
                httpx.AsyncClient(base_url=second, timeout=30) as b,
            ):
                reg = await a.post(
                    "/api/v1/auth/register",
                    json={"username": "alice", "email": "alice@example.com", "password": PASSWORD},
                )
                token = reg.json()["access_token"]
                alice = Account(reg.json()["user"]["id"], "alice", "alice@example.com", token, "")
                event = (await a.post("/api/v1/events", json=DAILY, headers=alice.headers)).json()
                assert (await _starts(a, alice))[0] == "2026-03-23T08:00:00Z"  # cached on A
                moved = await b.patch(
                    f"/api/v1/events/{event['id']}",
                    json={"recurrence_pattern": "FREQ=DAILY;INTERVAL=2"},
                    headers=alice.headers,
                )
                assert moved.status_code == 200
                assert await _starts(a, alice) == [
                    "2026-03-24T08:00:00Z",
                    "2026-03-26T08:00:00Z",
                    "2026-03-28T08:00:00Z",
                ]  # A sees B's write at once
    finally:
        await truncate_all(database_url)
