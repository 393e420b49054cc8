"""SPEC §5 through HTTP: share, list, change, remove; an owner always remains; the scenario."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from neo_events.models import Change, ChangeRecipient
from tests.helpers import (
    Account,
    assert_problem,
    audit_actions,
    count_rows,
    create_event,
    event_body,
    register,
    share,
)

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


async def test_anyone_may_leave_an_event_shared_with_them(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    """A week-long busy event shared unasked makes a stranger busy all week and its owner
    their contact (SPEC §7); leaving it (removing one's own role, whatever the role) undoes
    both, is told as `unshared` like a removal by the owner, and takes the invitation with
    it. (An outside attack: the viewer's own DELETE was a 403 `role_too_low`.)"""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    week = {"start_time": "2027-04-05T00:00:00Z", "end_time": "2027-04-12T00:00:00Z"}
    spam = await create_event(client, alice, title="spam", **week)
    base = f"/api/v1/events/{spam['id']}"
    await share(client, alice, spam["id"], bob, "viewer")
    invited = await client.post(
        f"{base}/attendees", json={"users": [{"user_id": bob.id}]}, headers=alice.headers
    )
    assert invited.status_code == 200, invited.text
    window = {"start_time": week["start_time"], "end_time": week["end_time"]}
    busy = await client.get("/api/v1/freebusy", params=window, headers=bob.headers)
    assert busy.json()["busy"] == [{"start": week["start_time"], "end": week["end_time"]}]
    theirs = await client.get(
        "/api/v1/freebusy", params=window | {"user_ids": str(bob.id)}, headers=alice.headers
    )
    assert "busy" in theirs.json()["calendars"][str(bob.id)]  # a contact by that share
    # removing someone else's role is still the owner's to do
    await share(client, alice, spam["id"], carol, "editor")
    assert_problem(
        await client.delete(f"{base}/permissions/{carol.id}", headers=bob.headers),
        403,
        "role_too_low",
    )

    left = await client.delete(f"{base}/permissions/{bob.id}", headers=bob.headers)
    assert left.status_code == 204, left.text
    assert_problem(await client.get(base, headers=bob.headers), 404, "event_not_found")
    busy = await client.get("/api/v1/freebusy", params=window, headers=bob.headers)
    assert busy.json()["busy"] == []
    theirs = await client.get(
        "/api/v1/freebusy", params=window | {"user_ids": str(bob.id)}, headers=alice.headers
    )
    assert theirs.json()["calendars"][str(bob.id)] == {"errors": ["not_found"]}
    mine = await client.post(
        "/api/v1/events",
        params={"conflicts": "reject"},
        json=event_body(start_time="2027-04-06T09:00:00Z", end_time="2027-04-06T10:00:00Z"),
        headers=bob.headers,
    )
    assert mine.status_code == 201, mine.text
    read = (await client.get(base, headers=alice.headers)).json()
    assert read["attendees"] == []  # his invitation went with his role (and the organizer's)
    assert {p["user_id"] for p in read["permissions"]} == {alice.id, carol.id}
    log = (await client.get(f"{base}/changelog", headers=alice.headers)).json()["items"]
    assert log[-1]["change_type"] == "unshared" and log[-1]["summary"] == "bob removed"
    assert log[-1]["user"] == {"id": bob.id, "username": "bob"}
    assert log[-1]["changed_by"]["username"] == "bob"
    audited = (await client.get("/api/v1/audit", headers=alice.headers)).json()["items"]
    [row] = [a for a in audited if a["action"] == "event.unshared"]
    assert row["actor"]["id"] == bob.id and row["target_id"] == spam["id"]
    assert row["details"]["old_role"] == "viewer" and row["details"]["user_id"] == bob.id
    async with app.state.sessionmaker() as session:
        seq, kind = (
            await session.execute(
                select(Change.seq, Change.type)
                .where(Change.event_id == spam["id"])
                .order_by(Change.seq.desc())
                .limit(1)
            )
        ).one()
        told = set(
            (
                await session.execute(
                    select(ChangeRecipient.user_id).where(ChangeRecipient.seq == seq)
                )
            ).scalars()
        )
    assert kind == "event.unshared" and told == {alice.id, bob.id, carol.id}

    # an editor leaves too; an owner may, while another owner stays
    assert (
        await client.delete(f"{base}/permissions/{carol.id}", headers=carol.headers)
    ).status_code == 204
    await share(client, alice, spam["id"], carol, "owner")
    assert (
        await client.delete(f"{base}/permissions/{alice.id}", headers=alice.headers)
    ).status_code == 204
    read = (await client.get(base, headers=carol.headers)).json()
    assert read["owner"]["id"] == carol.id
    assert [p["user_id"] for p in read["permissions"]] == [carol.id]
    assert_problem(
        await client.delete(f"{base}/permissions/{carol.id}", headers=carol.headers),
        409,
        "last_owner",
    )


async def test_reminders_go_with_a_role_taken_away(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    """Bob's reminders on an event he left came back when it was shared with him again (an
    outside attack): they go with his role, and their jobs with them."""
    bob = await register(client, "bob")
    event = await create_event(client, alice)
    await share(client, alice, event["id"], bob, "viewer")
    set_ = await client.put(
        f"/api/v1/events/{event['id']}/reminders",
        json={"reminders": [{"minutes_before": 10}]},
        headers=bob.headers,
    )
    assert set_.status_code == 200, set_.text
    assert await count_rows(app, "reminders", user_id=bob.id) == 1
    left = await client.delete(
        f"/api/v1/events/{event['id']}/permissions/{bob.id}", headers=bob.headers
    )
    assert left.status_code == 204, left.text
    assert await count_rows(app, "reminders", user_id=bob.id) == 0
    await share(client, alice, event["id"], bob, "viewer")
    again = await client.get(f"/api/v1/events/{event['id']}", headers=bob.headers)
    assert again.json()["my_reminders"] == []
