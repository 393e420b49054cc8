"""Incremental sync (SPEC §8) through HTTP: snapshot, deltas, deletes, lost access, 410."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.helpers import Account, assert_problem, create_event, register, share

pytestmark = pytest.mark.anyio

SYNC = "/api/v1/sync"


async def _sync(client: httpx.AsyncClient, who: Account, **params: Any) -> dict[str, Any]:
    response = await client.get(SYNC, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_snapshot_then_deltas(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    first = await create_event(client, alice, title="First")
    theirs = await create_event(client, bob, title="Bob's")
    snapshot = await _sync(client, alice)
    assert [(c["op"], c["event_id"]) for c in snapshot["changes"]] == [("upsert", first["id"])]
    assert snapshot["changes"][0]["event"]["title"] == "First"
    assert snapshot["has_more"] is False
    token = snapshot["next_token"]

    nothing = await _sync(client, alice, token=token)
    assert nothing["changes"] == [] and nothing["has_more"] is False

    await client.patch(
        f"/api/v1/events/{first['id']}", json={"title": "Renamed"}, headers=alice.headers
    )
    await share(client, bob, theirs["id"], alice, "viewer")
    delta = await _sync(client, alice, token=token)
    assert [(c["op"], c["event_id"]) for c in delta["changes"]] == [
        ("upsert", first["id"]),
        ("upsert", theirs["id"]),
    ]
    assert delta["changes"][0]["event"]["title"] == "Renamed"
    token = delta["next_token"]

    await client.delete(
        f"/api/v1/events/{theirs['id']}/permissions/{alice.id}", headers=bob.headers
    )
    await client.delete(f"/api/v1/events/{first['id']}", headers=alice.headers)
    gone = await _sync(client, alice, token=token)
    assert [(c["op"], c["event_id"]) for c in gone["changes"]] == [
        ("delete", theirs["id"]),
        ("delete", first["id"]),
    ]
    assert all("event" not in c or c["event"] is None for c in gone["changes"])


async def test_sync_pages_with_has_more(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    ids = [(await create_event(client, alice, title=f"E{i}"))["id"] for i in range(5)]
    seen: list[int] = []
    page = await _sync(client, alice, limit=2)
    seen += [c["event_id"] for c in page["changes"]]
    while page["has_more"]:
        page = await _sync(client, alice, token=page["next_token"], limit=2)
        seen += [c["event_id"] for c in page["changes"]]
    assert seen == ids
    # the final token is a delta token: a change made now comes back alone
    await client.patch(f"/api/v1/events/{ids[2]}", json={"title": "x"}, headers=alice.headers)
    delta = await _sync(client, alice, token=page["next_token"])
    assert [c["event_id"] for c in delta["changes"]] == [ids[2]]


async def test_strangers_changes_never_appear(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    token = (await _sync(client, alice))["next_token"]
    theirs = await create_event(client, bob, title="Private")
    await client.patch(
        f"/api/v1/events/{theirs['id']}", json={"title": "Still private"}, headers=bob.headers
    )
    assert (await _sync(client, alice, token=token))["changes"] == []


# garbage, a position never reached, no time, and times no clock can hold (1e20, -1e18, 1e300:
# forged, they were a 500)
@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "eyJzIjo5OTk5OTksInQiOjF9",
        "eyJzIjoxfQ",
        "eyJzIjowLCJ0IjoxZTIwfQ",
        "eyJzIjowLCJ0IjotMTAwMDAwMDAwMDAwMDAwMDAwMH0",
        "eyJzIjowLCJ0IjoxZTMwMH0",
    ],
)
async def test_unknown_or_expired_tokens_are_410(client: httpx.AsyncClient, token: str) -> None:
    alice = await register(client, "alice")
    assert_problem(
        await client.get(SYNC, params={"token": token}, headers=alice.headers),
        410,
        "sync_token_gone",
    )


async def test_an_edit_reaches_every_holder_once_and_nobody_else(
    client: httpx.AsyncClient,
) -> None:
    """A new version's recipients are the event's holders as the write commits (on
    PostgreSQL read by the feed's own statement, live/feed.py), each once."""
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    event = await create_event(client, alice, title="Shared")
    await share(client, alice, event["id"], bob, "viewer")
    tokens = {who.id: (await _sync(client, who))["next_token"] for who in (alice, bob, carol)}
    edited = await client.patch(
        f"/api/v1/events/{event['id']}", json={"title": "Edited"}, headers=alice.headers
    )
    assert edited.status_code == 200, edited.text
    for who in (alice, bob):
        delta = await _sync(client, who, token=tokens[who.id])
        assert [(c["op"], c["event_id"]) for c in delta["changes"]] == [("upsert", event["id"])]
        assert delta["changes"][0]["event"]["title"] == "Edited"
    assert (await _sync(client, carol, token=tokens[carol.id]))["changes"] == []


def _forged(**values: Any) -> str:
    """A token of this service's shape, made now, with the values given."""
    raw = orjson.dumps({"t": int(time.time())} | values)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Positions as text (an outside attack, 2026-12-04): they passed the integer check but stayed
# text, and met an integer comparison: a 500 on /sync and on CalDAV's sync-collection.
async def test_a_token_whose_position_is_text_is_read_as_its_number_or_refused(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "alice")
    made = await create_event(client, alice)
    head = _forged(s=10**9)
    assert_problem(
        await client.get(SYNC, params={"token": head}, headers=alice.headers),
        410,
        "sync_token_gone",
    )
    for token in (_forged(s="0"), _forged(s=" 0 "), _forged(s=0, e="0")):
        body = await _sync(client, alice, token=token)
        assert [c["event_id"] for c in body["changes"]] == [made["id"]]
    future = int(time.time()) + 10**10  # a token that would never expire (an outside attack)
    for token in (
        _forged(s="99999999"), _forged(s="x"), _forged(s=0, e="-"), _forged(s=[0]),
        _forged(s=0, t=future),
    ):  # fmt: skip
        assert_problem(
            await client.get(SYNC, params={"token": token}, headers=alice.headers),
            410,
            "sync_token_gone",
        )


async def test_a_token_from_before_a_restore_is_410_once_its_number_means_another_change(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """A restore from a backup numbers changes again from where the backup ended: a token
    handed out after the backup names a number a new change takes. It was read as that
    position, and the client silently missed the new change; it is a 410 (SPEC §8)."""
    alice = await register(client, "alice")
    await create_event(client, alice, title="Before the backup")
    backup = await _sync(client, alice)
    backed_up = orjson.loads(base64.urlsafe_b64decode(backup["next_token"] + "=="))["s"]
    lost = await create_event(client, alice, title="Lost with the restore")
    seen = await _sync(client, alice, token=backup["next_token"])
    assert [c["event_id"] for c in seen["changes"]] == [lost["id"]]
    after = seen["next_token"]
    # The restore, as the feed sees it: what came after the backup gone, its counter back.
    async with app.state.sessionmaker() as session:
        for table in ("change_recipients", "changes"):
            await session.execute(text(f"DELETE FROM {table} WHERE seq > :s"), {"s": backed_up})
        await session.execute(text("UPDATE feed_state SET last_seq = :s"), {"s": backed_up})
        await session.commit()
    made = await create_event(client, alice, title="After the restore")
    assert_problem(
        await client.get(SYNC, params={"token": after}, headers=alice.headers),
        410,
        "sync_token_gone",
    )
    # A token from before the backup is of the same history: the new change comes.
    delta = await _sync(client, alice, token=backup["next_token"])
    assert [c["event_id"] for c in delta["changes"]] == [made["id"]]
