"""RFC 9110 §13.1.1 on an event's URL space: every unsafe request evaluates If-Match against
the event's version before it writes (412 `precondition_failed`, nothing changed); a
current one (or `*`) goes through; a stranger still gets the 404 the request gets without
the header, and a role too low still its 403."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.test_invitations import WEEKLY
from tests.helpers import Account, assert_problem, count_rows, create_event, register, share

pytestmark = pytest.mark.anyio

WEEK2 = "2026-03-09T09:00:00Z"
TABLES = (
    "events",
    "event_versions",
    "event_permissions",
    "attendees",
    "occurrence_responses",
    "reminders",
    "audit_log",
    "changes",
)


@dataclass
class Scene:
    event_id: int
    version: int
    people: dict[str, Account]

    def url(self, tail: str = "") -> str:
        return f"/api/v1/events/{self.event_id}{tail}"


@pytest.fixture
async def scene(client: httpx.AsyncClient) -> Scene:
    """Alice's weekly event at version 3; Bob invited (a viewer), Carol a viewer, Erin
    nobody yet, Dave a stranger."""
    people = {n: await register(client, n) for n in ("alice", "bob", "carol", "dave", "erin")}
    alice = people["alice"]
    event = await create_event(client, alice, **WEEKLY)
    url = f"/api/v1/events/{event['id']}"
    for title in ("Two", "Three"):
        edited = await client.patch(url, json={"title": title}, headers=alice.headers)
        assert edited.status_code == 200, edited.text
    invited = await client.post(
        f"{url}/attendees", json={"users": [{"user_id": people["bob"].id}]}, headers=alice.headers
    )
    assert invited.status_code == 200, invited.text
    await share(client, alice, event["id"], people["carol"], "viewer")
    read = await client.get(url, headers=alice.headers)
    version = read.json()["version"]
    assert version == 3 and read.headers["etag"] == '"3"'
    return Scene(event["id"], version, people)


# (who, method, path after /events/{id}, body (a function of the people), success status)
Body = dict[str, Any] | None
ROUTES: dict[str, tuple[str, str, str, Any, int]] = {
    "delete": ("alice", "DELETE", "", None, 204),
    "rollback": ("alice", "POST", "/rollback/1", None, 200),
    "put": ("alice", "PUT", "", lambda p: {"title": "New"}, 200),
    "patch": ("alice", "PATCH", "", lambda p: {"title": "New"}, 200),
    "share": (
        "alice",
        "POST",
        "/share",
        lambda p: {"users": [{"user_id": p["erin"].id, "role": "viewer"}]},
        200,
    ),
    "change_role": ("alice", "PUT", "/permissions/{carol}", lambda p: {"role": "editor"}, 200),
    "remove_role": ("alice", "DELETE", "/permissions/{carol}", None, 204),
    "invite": (
        "alice",
        "POST",
        "/attendees",
        lambda p: {"users": [{"user_id": p["erin"].id}]},
        200,
    ),
    "uninvite": ("alice", "DELETE", "/attendees/{bob}", None, 204),
    "uninvite_self": ("bob", "DELETE", "/attendees/{bob}", None, 204),
    "rsvp": ("bob", "PUT", "/rsvp", lambda p: {"response": "accepted"}, 200),
    "rsvp_occurrence": (
        "bob",
        "PUT",
        f"/instances/{WEEK2}/rsvp",
        lambda p: {"response": "declined"},
        200,
    ),
    "reminders": (
        "bob",
        "PUT",
        "/reminders",
        lambda p: {"reminders": [{"minutes_before": 10}]},
        200,
    ),
    "edit_occurrence": ("alice", "PUT", f"/instances/{WEEK2}", lambda p: {"title": "x"}, 200),
    "cancel_occurrence": ("alice", "DELETE", f"/instances/{WEEK2}", None, 204),
}


def _request(scene: Scene, name: str, who: str | None = None) -> tuple[Account, str, str, Body]:
    default, method, tail, body, _ = ROUTES[name]
    people = scene.people
    path = tail.format(bob=people["bob"].id, carol=people["carol"].id)
    return people[who or default], method, scene.url(path), body(people) if body else None


async def _send(
    client: httpx.AsyncClient, scene: Scene, name: str, if_match: str | None, who: str | None = None
) -> httpx.Response:
    account, method, url, body = _request(scene, name, who)
    headers = account.headers | ({"If-Match": if_match} if if_match is not None else {})
    return await client.request(method, url, json=body, headers=headers)


async def _state(client: httpx.AsyncClient, app: FastAPI, scene: Scene) -> dict[str, Any]:
    """Every row a write to the event may touch, and the event as Alice and Bob read it."""
    state: dict[str, Any] = {t: await count_rows(app, t) for t in TABLES}
    for name in ("alice", "bob"):
        read = await client.get(scene.url(), headers=scene.people[name].headers)
        state[name] = (read.status_code, read.headers.get("etag"), read.json())
    grants = await client.get(scene.url("/permissions"), headers=scene.people["alice"].headers)
    state["permissions"] = grants.json()
    return state


@pytest.mark.parametrize("name", list(ROUTES))
async def test_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, scene: Scene, name: str
) -> None:
    before = await _state(client, app, scene)
    for stale in ('"1"', '"2", "1"', 'W/"3"', '"1-r10"'):
        problem = assert_problem(
            await _send(client, scene, name, stale), 412, "precondition_failed"
        )
        assert problem["current_version"] == scene.version
    assert await _state(client, app, scene) == before
    current = await _send(client, scene, name, f'"{scene.version}"')
    assert current.status_code == ROUTES[name][4], current.text


@pytest.mark.parametrize("name", ["delete", "rollback", "share", "rsvp", "reminders"])
async def test_star_and_no_if_match_go_through(
    client: httpx.AsyncClient, scene: Scene, name: str
) -> None:
    assert (await _send(client, scene, name, "*")).status_code == ROUTES[name][4]
    if name != "delete":
        assert (await _send(client, scene, name, None)).status_code == ROUTES[name][4]


@pytest.mark.parametrize("name", list(ROUTES))
async def test_a_stranger_gets_the_same_404_with_if_match(
    client: httpx.AsyncClient, app: FastAPI, scene: Scene, name: str
) -> None:
    before = await _state(client, app, scene)
    for if_match in (None, '"1"', f'"{scene.version}"', "*"):
        assert_problem(await _send(client, scene, name, if_match, "dave"), 404, "event_not_found")
    assert await _state(client, app, scene) == before


@pytest.mark.parametrize("name", ["delete", "rollback", "share", "change_role", "invite"])
async def test_a_role_too_low_is_403_before_412(
    client: httpx.AsyncClient, app: FastAPI, scene: Scene, name: str
) -> None:
    before = await _state(client, app, scene)
    without = await _send(client, scene, name, None, "carol")
    with_stale = await _send(client, scene, name, '"1"', "carol")
    assert without.status_code == with_stale.status_code == 403
    assert without.json()["code"] == with_stale.json()["code"]
    assert await _state(client, app, scene) == before


async def test_every_unsafe_route_of_an_event_takes_if_match(app: FastAPI) -> None:
    """A new write under /events/{event_id} must evaluate If-Match too (and document 412)."""
    paths = app.openapi()["paths"]
    found = []
    for path, operations in paths.items():
        if not path.startswith("/api/v1/events/{event_id}"):
            continue
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            found.append((method, path))
            headers = {
                p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"
            }
            assert "if-match" in headers, (method, path)
            assert "412" in operation["responses"], (method, path)
    assert len(found) >= 12, found
