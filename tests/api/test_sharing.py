"""SPEC §5 through HTTP: share, list, change, remove; an owner always remains; the scenario."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Account, assert_problem, audit_actions, create_event, register, share

pytestmark = pytest.mark.anyio


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, Account]:
    return {name: await register(client, name) for name in ("alice", "bob", "carol")}


async def test_scenario_create_share_edit_forbid_unshare(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """create → share → edit by the editor → 403 for the viewer's edit → unshare → 404."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = await create_event(client, alice)
    url = f"/api/v1/events/{event['id']}"
    response = await client.post(
        f"{url}/share",
        json={
            "users": [
                {"user_id": bob.id, "role": "editor"},
                {"user_id": carol.id, "role": "viewer"},
            ]
        },
        headers=alice.headers,
    )
    assert response.status_code == 200
    roles = {p["username"]: p["role"] for p in response.json()["items"]}
    assert roles == {"alice": "owner", "bob": "editor", "carol": "viewer"}

    edited = await client.patch(url, json={"title": "Bob's title"}, headers=bob.headers)
    assert edited.status_code == 200
    assert edited.json()["updated_by"]["username"] == "bob"
    assert edited.json()["my_role"] == "editor"

    assert_problem(
        await client.patch(url, json={"title": "Carol's"}, headers=carol.headers),
        403,
        "role_too_low",
    )
    seen = await client.get(url, headers=carol.headers)
    assert seen.status_code == 200 and seen.json()["title"] == "Bob's title"
    assert seen.json()["my_role"] == "viewer"

    removed = await client.delete(f"{url}/permissions/{carol.id}", headers=alice.headers)
    assert removed.status_code == 204
    assert_problem(await client.get(url, headers=carol.headers), 404, "event_not_found")
    assert_problem(
        await client.patch(url, json={"title": "x"}, headers=carol.headers), 404, "event_not_found"
    )


async def test_share_updates_existing_grants(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice)
    await share(client, alice, event["id"], bob, "viewer")
    await share(client, alice, event["id"], bob, "editor")
    listed = await client.get(f"/api/v1/events/{event['id']}/permissions", headers=bob.headers)
    assert listed.status_code == 200
    [bob_grant] = [p for p in listed.json()["items"] if p["user_id"] == bob.id]
    assert bob_grant["role"] == "editor"
    assert bob_grant["granted_by"] == {"id": alice.id, "username": "alice"}
    actions = [a for a, _ in await audit_actions(app)]
    assert actions.count("event.shared") == 1 and actions.count("event.permission_changed") == 1


async def test_share_rejects_unknown_users_and_roles_atomically(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice)
    url = f"/api/v1/events/{event['id']}/share"
    bad_user = {
        "users": [{"user_id": bob.id, "role": "viewer"}, {"user_id": 9999, "role": "viewer"}]
    }
    problem = assert_problem(
        await client.post(url, json=bad_user, headers=alice.headers), 422, "validation_error"
    )
    assert problem["errors"][0]["loc"] == ["users", 1, "user_id"]
    bad_role = {"users": [{"user_id": bob.id, "role": "admin"}]}
    problem = assert_problem(
        await client.post(url, json=bad_role, headers=alice.headers), 422, "validation_error"
    )
    assert problem["errors"][0]["loc"] == ["users", 0, "role"]
    twice = {
        "users": [{"user_id": bob.id, "role": "viewer"}, {"user_id": bob.id, "role": "editor"}]
    }
    assert_problem(
        await client.post(url, json=twice, headers=alice.headers), 422, "validation_error"
    )
    assert_problem(
        await client.post(url, json={"users": []}, headers=alice.headers), 422, "validation_error"
    )
    # nothing was granted by any of those
    assert_problem(
        await client.get(f"/api/v1/events/{event['id']}", headers=bob.headers),
        404,
        "event_not_found",
    )


async def test_an_event_always_keeps_an_owner(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice)
    base = f"/api/v1/events/{event['id']}"
    assert_problem(
        await client.put(
            f"{base}/permissions/{alice.id}", json={"role": "editor"}, headers=alice.headers
        ),
        409,
        "last_owner",
    )
    assert_problem(
        await client.delete(f"{base}/permissions/{alice.id}", headers=alice.headers),
        409,
        "last_owner",
    )
    demote_self = {"users": [{"user_id": alice.id, "role": "viewer"}]}
    assert_problem(
        await client.post(f"{base}/share", json=demote_self, headers=alice.headers),
        409,
        "last_owner",
    )
    # with a second owner, the first may step down, and `owner` follows
    await share(client, alice, event["id"], bob, "owner")
    response = await client.put(
        f"{base}/permissions/{alice.id}", json={"role": "viewer"}, headers=alice.headers
    )
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    read = (await client.get(base, headers=alice.headers)).json()
    assert read["owner"]["id"] == bob.id and read["my_role"] == "viewer"


async def test_change_and_remove_unknown_grants_are_404(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice)
    base = f"/api/v1/events/{event['id']}/permissions"
    assert_problem(
        await client.put(f"{base}/{bob.id}", json={"role": "viewer"}, headers=alice.headers),
        404,
        "permission_not_found",
    )
    assert_problem(
        await client.delete(f"{base}/{bob.id}", headers=alice.headers), 404, "permission_not_found"
    )
    assert_problem(
        await client.put(f"{base}/{bob.id}", json={"role": "god"}, headers=alice.headers),
        422,
        "validation_error",
    )


async def test_sharing_changes_are_audited(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice)
    base = f"/api/v1/events/{event['id']}"
    await share(client, alice, event["id"], bob, "viewer")
    await client.put(f"{base}/permissions/{bob.id}", json={"role": "editor"}, headers=alice.headers)
    await client.delete(f"{base}/permissions/{bob.id}", headers=alice.headers)
    actions = [a for a, _ in await audit_actions(app) if a.startswith("event.")]
    assert actions == [
        "event.created",
        "event.shared",
        "event.permission_changed",
        "event.unshared",
    ]
