"""Regression (found by schemathesis): integers past the database's ranges are 4xx, never 500.

PostgreSQL ids are BIGINT and version numbers INTEGER; a larger number in a body, a query,
a cursor or a token must be refused before it reaches a query.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.helpers import Account, assert_problem, create_event

pytestmark = pytest.mark.anyio

HUGE = 33872558701544971226290984025325568


def _opaque(values: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("user_id", [HUGE, 2**63, 11629039380424])
async def test_share_with_an_impossible_user(
    client: httpx.AsyncClient, alice: Account, user_id: int
) -> None:
    event = await create_event(client, alice)
    response = await client.post(
        f"/api/v1/events/{event['id']}/share",
        json={"users": [{"user_id": user_id, "role": "viewer"}]},
        headers=alice.headers,
    )
    assert_problem(response, 422, "validation_error")


async def test_base_version_out_of_range(client: httpx.AsyncClient, alice: Account) -> None:
    event = await create_event(client, alice)
    response = await client.patch(
        f"/api/v1/events/{event['id']}",
        json={"title": "x", "base_version": 2**40},
        headers=alice.headers,
    )
    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("value", [True, False, "2", 1.0])
async def test_ids_and_versions_in_a_body_are_integers(
    client: httpx.AsyncClient, alice: Account, value: object
) -> None:
    """Not booleans, texts or floats read as integers (pydantic's lax mode took `true` as 1):
    a 422 naming the field, nothing written."""
    event = await create_event(client, alice)
    url = f"/api/v1/events/{event['id']}"
    share = {"users": [{"user_id": value, "role": "viewer"}]}
    for path, body, loc in (
        (url, {"title": "x", "base_version": value}, ["base_version"]),
        (f"{url}/share", share, ["users", 0, "user_id"]),
        (f"{url}/attendees", {"users": [{"user_id": value}]}, ["users", 0, "user_id"]),
    ):
        method = client.patch if path == url else client.post
        problem = assert_problem(
            await method(path, json=body, headers=alice.headers), 422, "validation_error"
        )
        assert [e["loc"] for e in problem["errors"]] == [loc]
    found = (await client.get(url, headers=alice.headers)).json()
    assert (found["version"], found["title"], len(found["permissions"])) == (1, event["title"], 1)


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("/api/v1/events", {"s": "2026-01-01T00:00:00Z", "i": HUGE}),
        ("/api/v1/events/{id}/history", {"v": HUGE}),
        ("/api/v1/events/{id}/changelog", {"t": "2026-01-01T00:00:00Z", "k": 0, "i": HUGE}),
    ],
)
async def test_cursors_out_of_range(
    client: httpx.AsyncClient, alice: Account, path: str, values: dict[str, object]
) -> None:
    event = await create_event(client, alice)
    url = path.replace("{id}", str(event["id"]))
    response = await client.get(url, params={"cursor": _opaque(values)}, headers=alice.headers)
    assert_problem(response, 422, "validation_error")


async def test_sync_token_out_of_range(client: httpx.AsyncClient, alice: Account) -> None:
    await create_event(client, alice)
    token = (await client.get("/api/v1/sync", headers=alice.headers)).json()["next_token"]
    values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    response = await client.get(
        "/api/v1/sync", params={"token": _opaque(values | {"e": HUGE})}, headers=alice.headers
    )
    assert_problem(response, 410, "sync_token_gone")
