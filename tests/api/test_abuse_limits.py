"""Abuse limits (issue #10): the ones not already pinned elsewhere, one test each.

Already pinned elsewhere (SECURITY.md lists them): body size (test_http_errors), batch size
(test_events::test_batch_limits), the listing window and expansion cap (test_listing,
test_recurring), WebSocket/SSE connections per user (test_live), login brute force
(test_ratelimit), read-only fields on create (test_events).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import (
    Account,
    assert_problem,
    count_rows,
    create_event,
    event_body,
    register,
    share,
)

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
YEAR_AND_A_DAY = {"start_time": "2026-01-01T00:00:00Z", "end_time": "2027-01-03T00:00:00Z"}
MINUTELY = {  # every minute of every day: 44,640 occurrences in a month
    "title": "Every minute, as a daily rule",
    "start_time": "2026-01-01T00:00:00Z",
    "end_time": "2026-01-01T00:00:30Z",
    "timezone": "UTC",
    "is_recurring": True,
    "recurrence_pattern": "FREQ=DAILY;BYHOUR="
    + ",".join(map(str, range(24)))
    + ";BYMINUTE="
    + ",".join(map(str, range(60))),
}


@pytest.mark.parametrize(
    "path",
    [
        EVENTS,
        f"{EVENTS}/{{id}}/history",
        f"{EVENTS}/{{id}}/changelog",
        "/api/v1/audit",
        "/api/v1/sync",
    ],
)
async def test_every_page_size_is_capped_at_500(
    client: httpx.AsyncClient, alice: Account, path: str
) -> None:
    event = await create_event(client, alice)
    url = path.format(id=event["id"])
    assert (await client.get(url, params={"limit": 500}, headers=alice.headers)).status_code == 200
    for limit in (501, 10**6, 0, -1):
        response = await client.get(url, params={"limit": limit}, headers=alice.headers)
        assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(
    ("path", "param", "bound"),
    [(EVENTS, "q", 200), (EVENTS, "location", 200), ("/api/v1/users", "q", 254)],
)
async def test_search_text_is_bounded_in_characters(
    client: httpx.AsyncClient, alice: Account, path: str, param: str, bound: int
) -> None:
    ok = await client.get(path, params={param: "é" * bound}, headers=alice.headers)
    assert ok.status_code == 200, ok.text
    response = await client.get(path, params={param: "é" * (bound + 1)}, headers=alice.headers)
    assert_problem(response, 422, "validation_error")
    assert response.json()["errors"][0]["msg"] == f"String should have at most {bound} characters"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/api/v1/auth/register",
            {"username": "carol", "email": "carol@example.com", "password": "short"},
            "String should have at least 8 characters",
        ),
        (
            "/api/v1/auth/login",
            {"username": "x" * 255, "password": "whatever1"},
            "String should have at most 254 characters",
        ),
        (
            "/api/v1/auth/login",
            {"username": "alice", "password": "x" * 257},
            "String should have at most 256 characters",
        ),
    ],
)
async def test_credential_lengths_are_said_in_characters(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], message: str
) -> None:
    response = await client.post(path, json=body)
    assert_problem(response, 422, "validation_error")
    assert response.json()["errors"][0]["msg"] == message


@pytest.mark.parametrize(
    "path", [EVENTS, f"{EVENTS}/{{id}}/instances", "/api/v1/freebusy", f"{EVENTS}/{{id}}/conflicts"]
)
async def test_every_window_is_capped_at_366_days(
    client: httpx.AsyncClient, alice: Account, path: str
) -> None:
    event = await create_event(client, alice)
    url = path.format(id=event["id"])
    response = await client.get(url, params=YEAR_AND_A_DAY, headers=alice.headers)
    assert_problem(response, 422, "window_too_large")


@pytest.mark.parametrize(
    "path",
    [
        EVENTS,
        f"{EVENTS}/{{id}}/instances",
        "/api/v1/freebusy",
        f"{EVENTS}/{{id}}/conflicts",
    ],
)
async def test_every_expansion_is_capped_never_truncated(
    client: httpx.AsyncClient, alice: Account, path: str
) -> None:
    """A rule that repeats every minute: a month holds 44,640 occurrences, past the 10,000
    cap. The answer is a 422, or complete: never a silently shortened list."""
    created = await client.post(
        EVENTS, params={"conflicts": "ignore"}, json=MINUTELY, headers=alice.headers
    )
    assert created.status_code == 201, created.text
    # late in the window, overlapping one of the occurrences: only a full expansion finds it
    late = await client.post(
        EVENTS,
        params={"conflicts": "ignore"},
        json=event_body(
            title="Late",
            start_time="2026-01-30T12:00:00Z",
            end_time="2026-01-30T12:00:10Z",
            timezone="UTC",
        ),
        headers=alice.headers,
    )
    assert late.status_code == 201, late.text
    url = path.format(id=created.json()["id"])
    window = {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-02-01T00:00:00Z"}
    response = await client.get(url, params=window, headers=alice.headers)
    if response.status_code == 200:  # then it must be complete
        last = "Late" if path.endswith("conflicts") else "2026-01-31T23:59:00Z"
        assert last in response.text, (
            f"{path} answered 200 with a truncated expansion ({len(response.text)} bytes)"
        )
        return
    assert_problem(response, 422, "window_too_large")


async def test_an_unbounded_rule_is_checked_for_conflicts_without_unbounded_work(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await create_event(client, alice)
    response = await client.post(EVENTS, json=MINUTELY, headers=alice.headers)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert response.json()["code"] == "window_too_large"


async def test_read_only_fields_in_an_update_are_ignored(
    client: httpx.AsyncClient, alice: Account
) -> None:
    bob = await register(client, "bob")
    event = await create_event(client, alice)
    await share(client, alice, event["id"], bob, "editor")
    sneaky = {
        "title": "Renamed",
        "id": event["id"] + 1000,
        "version": 99,
        "owner": {"id": bob.id, "username": "bob"},
        "owner_id": bob.id,
        "created_by": {"id": bob.id, "username": "bob"},
        "created_by_id": bob.id,
        "created_at": "2000-01-01T00:00:00Z",
        "updated_by": {"id": alice.id, "username": "alice"},
        "my_role": "owner",
        "permissions": [{"user_id": bob.id, "role": "owner"}],
        "deleted_at": "2000-01-01T00:00:00Z",
    }
    for method in ("PATCH", "PUT"):
        response = await client.request(
            method, f"{EVENTS}/{event['id']}", json=sneaky, headers=bob.headers
        )
        assert response.status_code == 200, response.text
    after = (await client.get(f"{EVENTS}/{event['id']}", headers=alice.headers)).json()
    assert after["id"] == event["id"] and after["title"] == "Renamed"
    assert after["version"] == 2  # one real change; the second PUT changed nothing
    assert after["owner"]["id"] == alice.id and after["created_by"]["id"] == alice.id
    assert after["created_at"] == event["created_at"]
    assert after["updated_by"]["id"] == bob.id
    assert {p["user_id"]: p["role"] for p in after["permissions"]} == {
        alice.id: "owner",
        bob.id: "editor",
    }
    # bob is still only an editor: deleting stays refused
    assert_problem(
        await client.delete(f"{EVENTS}/{event['id']}", headers=bob.headers), 403, "role_too_low"
    )


async def test_read_only_fields_in_a_batch_are_ignored(
    client: httpx.AsyncClient, alice: Account
) -> None:
    bob = await register(client, "bob")
    items: list[dict[str, Any]] = [
        event_body(title=f"B{i}", id=i + 1000, version=7, owner={"id": bob.id}, created_by=bob.id)
        for i in range(3)
    ]
    response = await client.post(f"{EVENTS}/batch", json={"events": items}, headers=alice.headers)
    assert response.status_code == 201, response.text
    for item in response.json()["items"]:
        assert item["id"] < 1000 and item["version"] == 1
        assert item["owner"]["id"] == alice.id and item["created_by"]["id"] == alice.id
    assert (await client.get(EVENTS, headers=bob.headers)).json()["items"] == []


async def test_registering_cannot_make_an_admin(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "username": "mallory",
            "email": "mallory@example.com",
            "password": "correct horse battery",
            "is_admin": True,
            "id": 1,
            "created_at": "2000-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 201, response.text
    assert "is_admin" not in response.json()["user"]
    assert not response.json()["user"]["created_at"].startswith("2000")
    assert await count_rows(app, "users", is_admin=True) == 0


async def test_sharing_cannot_forge_the_granter(client: httpx.AsyncClient, alice: Account) -> None:
    bob = await register(client, "bob")
    event = await create_event(client, alice)
    response = await client.post(
        f"{EVENTS}/{event['id']}/share",
        json={"users": [{"user_id": bob.id, "role": "viewer", "granted_by": bob.id}]},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    [granted] = [p for p in response.json()["items"] if p["user_id"] == bob.id]
    assert granted["granted_by"] in (alice.id, {"id": alice.id, "username": "alice"})


@pytest.mark.parametrize(
    ("field", "size"),
    [("password", 257), ("username", 33), ("email", 255)],
)
async def test_oversized_credentials_are_refused_before_hashing(
    client: httpx.AsyncClient, field: str, size: int
) -> None:
    body = {"username": "kim", "email": "kim@example.com", "password": "correct horse battery"}
    body[field] = "k" * size if field != "email" else "k" * (size - 12) + "@example.com"
    response = await client.post("/api/v1/auth/register", json=body)
    assert_problem(response, 422, "validation_error")
