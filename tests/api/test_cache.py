"""The expansion cache: hits are counted, and nobody ever reads a stale expansion — not the
writer, not another worker (entries are keyed by event version, so none can go stale)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import http_client, make_settings, serving, truncate_all
from tests.helpers import PASSWORD, Account, cache_lookups, create_event, register, share
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
    hits, misses = await cache_lookups(client)
    assert await _starts(client, alice) == first
    assert (await cache_lookups(client)) == (hits + 1, misses)  # the same window again: a hit

    moved = await client.patch(
        f"/api/v1/events/{event['id']}",
        json={"start_time": "2026-01-05T10:00:00+01:00", "end_time": "2026-01-05T10:30:00+01:00"},
        headers=alice.headers,
    )
    assert moved.status_code == 200
    # (the write's conflict check looks the calendar up in the same cache)
    misses = (await cache_lookups(client))[1]
    after = await _starts(client, alice)
    assert after[0] == "2026-03-23T09:00:00Z"  # the writer reads its own write
    # a new version: computed afresh, its window and its series (kept for later windows)
    assert (await cache_lookups(client))[1] == misses + 2


async def _week(client: httpx.AsyncClient, who: Account) -> dict[str, Any]:
    response = await client.get("/api/v1/events", params=WEEK, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert len(items) == 7
    assert all({k: v for k, v in i.items() if "time" not in k and k != "recurrence_id"}
               == {k: v for k, v in items[0].items() if "time" not in k and k != "recurrence_id"}
               for i in items)  # fmt: skip
    return items[0]


async def test_cached_event_objects_follow_roles_and_ownership(client: httpx.AsyncClient) -> None:
    """The listing caches event objects by (id, version, owner); sharing changes neither the
    version nor (usually) the owner, so permissions and my_role must come from each request."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    event = await create_event(client, alice, **DAILY)
    before = await _week(client, alice)
    assert [p["username"] for p in before["permissions"]] == ["alice"]
    assert await _week(client, alice) == before
    hits, _ = await cache_lookups(client, "event_objects")
    assert hits >= 1  # the second listing used the cached object

    await share(client, alice, event["id"], bob, "viewer")
    seen_by_alice, seen_by_bob = await _week(client, alice), await _week(client, bob)
    assert seen_by_alice["version"] == seen_by_bob["version"] == before["version"]
    assert [p["username"] for p in seen_by_alice["permissions"]] == ["alice", "bob"]
    assert (seen_by_alice["my_role"], seen_by_bob["my_role"]) == ("owner", "viewer")

    # Ownership passes to bob when alice, the only other owner, leaves: same version, new owner.
    await share(client, alice, event["id"], bob, "owner")
    left = await client.delete(
        f"/api/v1/events/{event['id']}/permissions/{alice.id}", headers=alice.headers
    )
    assert left.status_code == 204, left.text
    now = await _week(client, bob)
    assert now["version"] == before["version"]
    assert now["owner"] == {"id": bob.id, "username": "bob"}
    assert [(p["username"], p["role"]) for p in now["permissions"]] == [("bob", "owner")]


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


def _heavy(n: int) -> dict[str, Any]:
    """A daily series whose 30 exceptions carry 10,000 characters each: ~300 KB of JSON."""
    return {
        "title": f"Heavy {n}",
        "start_time": "2026-03-01T09:00:00Z",
        "end_time": "2026-03-01T10:00:00Z",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=DAILY;COUNT=60",
        "timezone": "UTC",
        "overrides": [
            {"recurrence_id": f"2026-03-{day:02d}T09:00:00Z", "description": f"{n}" * 10_000}
            for day in range(1, 31)
        ],
    }


async def test_the_event_object_cache_is_bounded_in_bytes(
    database_url: str, data_dir: Path
) -> None:
    """A listing keeps the events it shows (`EVENT_OBJECT_CACHE_SIZE`, by count), and at
    most `EVENT_OBJECT_CACHE_BYTES` of them: 5,000 events of a megabyte each held 4.7 GB
    in one worker before (an outside attack: 142 MB for 150). Here a cap of 2 MiB keeps two
    of eight ~300 KB events, the listings answer them all every time, and small ones are
    still kept: a listing keeps what it loaded in the page's order (the small event, shown
    last, is the newest), not in the order PostgreSQL returned the rows, which after other
    tests' rows were deleted from the same table is any order (this test failed then)."""
    cap = 2 * 2**20
    settings = make_settings(database_url, data_dir, event_object_cache_bytes=cap)
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        for n in range(8):
            await create_event(client, alice, **_heavy(n))
        window = {"start_time": "2026-03-02T00:00:00Z", "end_time": "2026-03-03T00:00:00Z"}
        for _ in range(2):
            listed = await client.get("/api/v1/events", params=window, headers=alice.headers)
            assert listed.status_code == 200, listed.text
            items = listed.json()["items"]
            assert sorted(i["title"] for i in items) == [f"Heavy {n}" for n in range(8)]
            assert all(len(i["overrides"]) == 30 for i in items)
        cache = app.state.event_objects
        assert 1 <= len(cache) <= 3 and cache.bytes <= cap
        small = await create_event(
            client,
            alice,
            title="Small",
            start_time="2026-03-02T12:00:00Z",
            end_time="2026-03-02T13:00:00Z",
        )
        listed = await client.get("/api/v1/events", params=window, headers=alice.headers)
        assert len(listed.json()["items"]) == 9
        assert cache.get((small["id"], small["version"], alice.id)) is not None
