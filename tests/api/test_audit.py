"""GET /audit (SPEC §9): who sees which entries, their shape, filters and pages; and that no
password or token ever reaches the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from neo_events.auth.service import create_admin
from neo_events.db import Base
from neo_events.protocol import encode_cursor
from tests.helpers import PASSWORD, Account, assert_problem, create_event, register, share

pytestmark = pytest.mark.anyio

ENTRY_KEYS = {
    "id",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "ip",
    "user_agent",
    "details",
}


async def audit(client: httpx.AsyncClient, who: Account, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def make_admin(app: FastAPI, client: httpx.AsyncClient) -> Account:
    """What `neo-events create-admin` does, then a sign-in."""
    async with app.state.sessionmaker() as session:
        await create_admin(
            session,
            app.state.authenticator,
            username="root",
            email="root@example.com",
            password=PASSWORD,
        )
        await session.commit()
    response = await client.post(
        "/api/v1/auth/login", json={"username": "root", "password": PASSWORD}
    )
    data = response.json()
    return Account(
        data["user"]["id"], "root", "root@example.com", data["access_token"], data["refresh_token"]
    )


async def test_a_user_sees_their_own_actions_newest_first(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    await client.post(
        "/api/v1/auth/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"User-Agent": "pytest-agent"},
    )
    items = await audit(client, alice)
    assert [item["action"] for item in items] == ["login", "register"]
    login = items[0]
    assert set(login) == ENTRY_KEYS
    assert login["actor"] == {"id": alice.id, "username": "alice"}
    assert (login["target_type"], login["target_id"], login["outcome"]) == (
        "user",
        alice.id,
        "success",
    )
    assert login["user_agent"] == "pytest-agent" and login["ip"]
    assert datetime.fromisoformat(login["at"]).tzinfo is not None
    assert items[0]["id"] > items[1]["id"]


async def test_failed_logins_on_my_account_are_mine_to_see(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    for name in ("alice", "bob", "nobody"):
        response = await client.post(
            "/api/v1/auth/login", json={"username": name, "password": "wrong password"}
        )
        assert response.status_code == 401
    failed = await audit(client, alice, action="login")
    assert len(failed) == 1
    assert failed[0]["actor"] is None
    assert (failed[0]["outcome"], failed[0]["target_id"]) == ("failure", alice.id)
    assert all(item["target_id"] != bob.id for item in await audit(client, alice))


async def test_owners_see_every_action_on_their_events(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    carol = await register(client, "carol")
    event = await create_event(client, alice)
    await share(client, alice, event["id"], bob, "editor")
    await share(client, alice, event["id"], carol, "viewer")
    response = await client.patch(
        f"/api/v1/events/{event['id']}", json={"title": "Bob's title"}, headers=bob.headers
    )
    assert response.status_code == 200
    on_event = [
        (item["action"], item["actor"]["username"])
        for item in await audit(client, alice)
        if item["target_type"] == "event"
    ]
    assert ("event.updated", "bob") in on_event and ("event.created", "alice") in on_event
    # ...but not where from: bob's address and device are his (inviting anyone, then reading
    # their answer's row, told the inviter both)
    for item in await audit(client, alice):
        mine = item["actor"] is not None and item["actor"]["username"] == "alice"
        assert bool(item["ip"]) == mine and bool(item["user_agent"]) == mine, item
    assert all(item["ip"] and item["user_agent"] for item in await audit(client, bob))
    # An editor sees only their own actions on it; a viewer, nothing of it.
    assert {item["actor"]["username"] for item in await audit(client, bob)} == {"bob"}
    assert all(item["target_type"] != "event" for item in await audit(client, carol))


async def test_an_owner_who_steps_down_stops_seeing_the_others(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    event = await create_event(client, alice)
    await share(client, alice, event["id"], bob, "owner")
    demoted = await client.put(
        f"/api/v1/events/{event['id']}/permissions/{alice.id}",
        json={"role": "viewer"},
        headers=bob.headers,
    )
    assert demoted.status_code == 200, demoted.text
    actors = {item["actor"]["username"] for item in await audit(client, alice) if item["actor"]}
    assert actors == {"alice"}  # bob's change of her role is on the event she no longer owns


async def test_an_admin_sees_everything(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    await create_event(client, alice)
    await client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x" * 8})
    root = await make_admin(app, client)
    actions = {(item["action"], item["outcome"]) for item in await audit(client, root)}
    assert {("register", "success"), ("event.created", "success"), ("login", "failure")} <= actions
    assert ("create_admin", "success") in actions


async def test_filters_and_pages(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    for _ in range(4):
        await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORD})
    everything = await audit(client, alice)
    assert len(everything) == 5
    logins = await audit(client, alice, action="login")
    assert len(logins) == 4
    since = everything[1]["at"]
    assert [i["id"] for i in await audit(client, alice, since=since)] == [
        i["id"]
        for i in everything
        if datetime.fromisoformat(i["at"]) >= datetime.fromisoformat(since)
    ]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/audit", params=params, headers=alice.headers)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [item["id"] for item in everything]
    future = datetime(2100, 1, 1, tzinfo=UTC).isoformat()
    assert await audit(client, alice, since=future) == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 501},
        {"limit": 0},
        {"cursor": "garbage!"},
        {"since": "2026-01-01T00:00:00"},
        # forged cursors past BIGINT or of a boolean were a 500 (an outside attack)
        *({"cursor": encode_cursor({"before": v})} for v in (2**63, 2**64 - 1, True, False)),
    ],
)
async def test_bad_queries_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    alice = await register(client, "alice")
    response = await client.get("/api/v1/audit", params=params, headers=alice.headers)
    assert_problem(response, 422, "validation_error")


async def test_strangers_are_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/audit"), 401, "not_authenticated")


async def test_no_password_or_token_ever_reaches_the_audit_log(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    await client.post("/api/v1/auth/login", json={"username": "alice", "password": "wrong pass 1"})
    login = await client.post(
        "/api/v1/auth/login", data={"username": "alice", "password": PASSWORD}
    )
    tokens = login.json()
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    fresh = refreshed.json()
    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert reused.status_code == 401  # reuse detected: audited too
    logout = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": alice.refresh_token},
        headers=alice.headers,  # the sign-in from registering: reuse revoked the other one
    )
    assert logout.status_code == 204
    secrets = {
        PASSWORD,
        "wrong pass 1",
        alice.access_token,
        alice.refresh_token,
        tokens["access_token"],
        tokens["refresh_token"],
        fresh["access_token"],
        fresh["refresh_token"],
    }
    # Each token's signature alone would be enough to betray it.
    secrets |= {token.rsplit(".", 1)[-1] for token in secrets if token.count(".") == 2}

    table = Base.metadata.tables["audit_log"]
    async with app.state.sessionmaker() as session:
        rows = [dict(row._mapping) for row in await session.execute(select(table))]
    actions = {row["action"] for row in rows}
    assert {"register", "login", "refresh", "token_reuse_detected", "logout"} <= actions
    stored = orjson.dumps(rows, default=str).decode()
    root = await make_admin(app, client)
    served = (await client.get("/api/v1/audit?limit=500", headers=root.headers)).text
    for secret in secrets:
        assert secret not in stored
        assert secret not in served


async def test_a_failed_logins_identifier_is_cut_between_letters(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Its first 64 characters were kept: a name whose 64th is a letter under an accent (NFD,
    or an emoji's sequence) was recorded with the letter and without its accent."""
    name = "a" * 63 + "e\u0301" + "x" * 10
    response = await client.post("/api/v1/auth/login", json={"username": name, "password": "x"})
    assert_problem(response, 401, "invalid_credentials")
    table = Base.metadata.tables["audit_log"]
    async with app.state.sessionmaker() as session:
        [details] = (await session.execute(select(table.c.details))).scalars()
    assert details == {"identifier": "a" * 63}
