"""A text edit on PostgreSQL without the row's lock (#16, `events.service.update_event`).

The API's edit of a title, description or location reads the event without locking it, in
autocommit, and writes it with one statement only if the row's `xmin` is still the one it
read (`statements.EDIT_IF_UNCHANGED`); otherwise it starts over, and after three tries takes
the lock. A change that does not write the row but that the edit depends on (a grant: the
edit's change-feed recipients) touches it (`access.touch`).

These tests put real requests between the edit's read and its write: a listener on the
engine runs them when the edit's write is about to be sent (`sqlalchemy.util.await_only`
awaits them from inside the driver's call, on the same event loop). PostgreSQL only: SQLite
serializes whole write transactions, so it keeps its one path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.util import await_only

from tests.api.test_write_path import BODY, EVENTS, transactions
from tests.helpers import Account, assert_problem, change_recipients, register, share

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]  # SQLite serializes whole write transactions

UNCHANGED = "AND CAST(events.xmin AS text) = "  # what only the unlocked edit's write says


@contextmanager
def before_unlocked_writes(
    app: FastAPI, meanwhile: Callable[[], Awaitable[Any]], times: int = 1
) -> Iterator[list[str]]:
    """Run `meanwhile` (awaited to its end) just before each of the first `times` unlocked
    edit writes this task sends (not those `meanwhile` itself makes); yields every statement
    this task sends meanwhile, in order."""
    engine = app.state.engine.sync_engine
    seen: list[str] = []
    left = [times]
    running = [False]
    task = asyncio.current_task()  # the requests' (ASGI transport), not the app's pollers'

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if asyncio.current_task() is not task:
            return
        seen.append(" ".join(statement.split()))
        if UNCHANGED in statement and left[0] > 0 and not running[0]:
            left[0] -= 1
            running[0] = True
            try:
                await_only(meanwhile())
            finally:
                running[0] = False

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def _event(client: httpx.AsyncClient, owner: Account) -> int:
    made = await client.post(EVENTS, json=BODY, headers=owner.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def _alice_and_bob_edit(
    client: httpx.AsyncClient,
) -> tuple[Account, Account, int, Callable[[dict[str, Any]], Awaitable[None]]]:
    """Alice's event, Bob its editor, and Bob's edit of it (any fields; it must succeed)."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    event_id = await _event(client, alice)
    await share(client, alice, event_id, bob, "editor")

    async def bob_edits(fields: dict[str, Any]) -> None:
        theirs = await client.patch(f"{EVENTS}/{event_id}", json=fields, headers=bob.headers)
        assert theirs.status_code == 200, theirs.text

    return alice, bob, event_id, bob_edits


async def _history(client: httpx.AsyncClient, who: Account, event_id: int) -> list[Any]:
    """(version, by whom, title) of every version, oldest first."""
    listed = await client.get(f"{EVENTS}/{event_id}/history", headers=who.headers)
    assert listed.status_code == 200, listed.text
    versions = []
    for number in sorted(v["version"] for v in listed.json()["items"]):
        version = await client.get(f"{EVENTS}/{event_id}/history/{number}", headers=who.headers)
        assert version.status_code == 200, version.text
        body = version.json()
        versions.append((number, body["changed_by"]["username"], body["title"]))
    return versions


async def test_a_text_edit_sends_no_begin_or_commit_and_a_move_locks_the_row(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    event_id = await _event(client, alice)
    with (
        transactions(app) as text_edit,
        before_unlocked_writes(app, lambda: asyncio.sleep(0), 0) as sent,
    ):
        edited = await client.patch(
            f"{EVENTS}/{event_id}", json={"location": "Room 2"}, headers=alice.headers
        )
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] == '"2"' and edited.json()["location"] == "Room 2"
    assert text_edit == [], text_edit
    assert len(sent) == 2 and "FOR UPDATE" not in sent[0] and UNCHANGED in sent[1], sent
    with transactions(app) as move:
        moved = await client.patch(
            f"{EVENTS}/{event_id}",
            json={"start_time": "2026-03-02T10:00:00Z", "end_time": "2026-03-02T10:15:00Z"},
            headers=alice.headers,
        )
    assert moved.status_code == 200, moved.text
    assert move == ["BEGIN", "COMMIT"], move


async def test_an_edit_landing_between_the_read_and_the_write_is_kept(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, _, event_id, bob_edits = await _alice_and_bob_edit(client)
    with before_unlocked_writes(app, lambda: bob_edits({"description": "Bob's notes"})) as sent:
        mine = await client.patch(
            f"{EVENTS}/{event_id}", json={"title": "Alice's"}, headers=alice.headers
        )
    assert mine.status_code == 200, mine.text
    assert mine.headers["ETag"] == '"3"'
    assert mine.json()["title"] == "Alice's" and mine.json()["description"] == "Bob's notes"
    # Alice's first write found the row changed and wrote nothing; she read it again.
    assert sum(UNCHANGED in s for s in sent) == 3, sent  # hers, Bob's, hers again
    assert await _history(client, alice, event_id) == [
        (1, "alice", "Standup"),
        (2, "bob", "Standup"),
        (3, "alice", "Alice's"),
    ]


async def test_an_if_match_edit_overtaken_between_its_read_and_its_write_is_a_412(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, _, event_id, bob_edits = await _alice_and_bob_edit(client)
    with before_unlocked_writes(app, lambda: bob_edits({"title": "Bob's"})):
        mine = await client.patch(
            f"{EVENTS}/{event_id}",
            json={"title": "Alice's"},
            headers=alice.headers | {"If-Match": '"1"'},
        )
    assert_problem(mine, 412, "precondition_failed")
    assert await _history(client, alice, event_id) == [(1, "alice", "Standup"), (2, "bob", "Bob's")]


async def test_edits_overtaken_every_time_take_the_lock(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, _, event_id, bob_edits = await _alice_and_bob_edit(client)
    count = [0]

    async def bob_moves_room() -> None:
        count[0] += 1
        await bob_edits({"location": f"Room {count[0]}"})

    with transactions(app) as begun, before_unlocked_writes(app, bob_moves_room, 3) as sent:
        mine = await client.patch(
            f"{EVENTS}/{event_id}", json={"title": "Alice's"}, headers=alice.headers
        )
    assert mine.status_code == 200, mine.text
    assert mine.json()["location"] and mine.json()["title"] == "Alice's"
    assert begun == ["BEGIN", "COMMIT"], begun  # her last try held the row's lock
    assert any("FOR UPDATE OF events" in s for s in sent), sent
    assert count[0] == 3, "Bob's edits came before each of Alice's three unlocked writes"
    versions = await _history(client, alice, event_id)
    assert [v[1] for v in versions] == ["alice", "bob", "bob", "bob", "alice"], versions


async def test_a_share_committed_while_an_edit_waits_on_the_row_reaches_the_new_holder(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The race the touch is for: Alice's write starts (its snapshot without Bob's grant),
    waits on the row's lock the share holds, and goes on once the share commits. Without the
    touch its change-feed row would be for the holders its snapshot saw, not Bob, who was
    given the event before the edit: his sync would never hear of it."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    event_id = await _event(client, alice)
    engine = app.state.engine.sync_engine
    sharing: list[asyncio.Task[None]] = []
    about_to_commit = asyncio.Event()

    def hold_commit(conn: Any) -> None:  # the share's COMMIT waits: Alice's write is sent
        if sharing and asyncio.current_task() is sharing[0] and not about_to_commit.is_set():
            about_to_commit.set()
            await_only(asyncio.sleep(0.5))

    async def start_the_share() -> None:
        sharing.append(asyncio.ensure_future(share(client, alice, event_id, bob, "viewer")))
        # the share holds the row's lock, not yet committed (a share that failed first
        # would never get there: the test fails then, it does not hang)
        await asyncio.wait_for(about_to_commit.wait(), timeout=30)

    event.listen(engine, "commit", hold_commit)
    try:
        with before_unlocked_writes(app, start_the_share) as sent:
            edited = await client.patch(
                f"{EVENTS}/{event_id}", json={"title": "Renamed"}, headers=alice.headers
            )
        await sharing[0]
    finally:
        event.remove(engine, "commit", hold_commit)
    assert edited.status_code == 200, edited.text
    assert about_to_commit.is_set(), "the share ran while Alice's write was pending"
    assert await change_recipients(app, event_id, version=2) == [alice.id, bob.id]
    assert sum(UNCHANGED in s for s in sent) == 2, "the touched row made Alice read it again"


async def test_an_editor_removed_or_demoted_between_the_read_and_the_write_cannot_edit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, bob, event_id, _ = await _alice_and_bob_edit(client)
    grant = f"{EVENTS}/{event_id}/permissions/{bob.id}"

    async def alice_demotes_bob() -> None:
        demoted = await client.put(grant, json={"role": "viewer"}, headers=alice.headers)
        assert demoted.status_code == 200, demoted.text

    async def alice_removes_bob() -> None:
        removed = await client.delete(grant, headers=alice.headers)
        assert removed.status_code == 204, removed.text

    for meanwhile, status in ((alice_demotes_bob, 403), (alice_removes_bob, 404)):
        await share(client, alice, event_id, bob, "editor")
        with before_unlocked_writes(app, meanwhile):
            theirs = await client.patch(
                f"{EVENTS}/{event_id}", json={"title": "Bob's"}, headers=bob.headers
            )
        assert theirs.status_code == status, theirs.text
    assert [v[2] for v in await _history(client, alice, event_id)] == ["Standup"]


async def test_an_invitation_or_reminders_set_between_the_read_and_the_write_are_in_the_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    event_id = await _event(client, alice)

    async def alice_sets_reminders() -> None:
        reminders = {"reminders": [{"minutes_before": 15}]}
        put = await client.put(
            f"{EVENTS}/{event_id}/reminders", json=reminders, headers=alice.headers
        )
        assert put.status_code == 200, put.text

    async def alice_invites_bob() -> None:
        invited = await client.post(
            f"{EVENTS}/{event_id}/attendees",
            json={"users": [{"user_id": bob.id}]},
            headers=alice.headers,
        )
        assert invited.status_code in (200, 201), invited.text

    for meanwhile, title in ((alice_sets_reminders, "First"), (alice_invites_bob, "Second")):
        with before_unlocked_writes(app, meanwhile):
            mine = await client.patch(
                f"{EVENTS}/{event_id}", json={"title": title}, headers=alice.headers
            )
        assert mine.status_code == 200, mine.text
        now = await client.get(f"{EVENTS}/{event_id}", headers=alice.headers)
        assert mine.headers["ETag"] == now.headers["ETag"], "the answer is the event as written"
        assert {k: mine.json()[k] for k in ("my_reminders", "attendees", "title")} == {
            k: now.json()[k] for k in ("my_reminders", "attendees", "title")
        }
    assert {a["user_id"] for a in mine.json()["attendees"]} == {alice.id, bob.id}


async def test_an_edit_that_ends_under_the_lock_still_wakes_every_worker(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A missed unlocked write queued the wake-up of the live hubs, then was rolled back:
    the write made under the lock wakes them once it commits (not only the next poll)."""
    alice, _, event_id, bob_edits = await _alice_and_bob_edit(client)
    wakes = [0]
    hub = app.state.hub
    wake = hub.changed

    async def counted() -> None:  # the hub's own wake-up, counted
        wakes[0] += 1
        await wake()

    hub.changed = counted  # each request's session takes it from the hub
    count = [0]

    async def bob_moves_room() -> None:
        count[0] += 1
        await bob_edits({"location": f"Room {count[0]}"})

    try:
        with before_unlocked_writes(app, bob_moves_room, 3):
            mine = await client.patch(
                f"{EVENTS}/{event_id}", json={"title": "Alice's"}, headers=alice.headers
            )
    finally:
        hub.changed = wake
    assert mine.status_code == 200, mine.text
    assert wakes[0] == count[0] + 1 == 4, wakes  # Bob's three edits and Alice's


async def test_an_event_with_attendees_is_edited_under_the_lock(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Its answer is read after the write (answers a move resets), which only a transaction
    keeps to that write's version."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    event_id = await _event(client, alice)
    invited = await client.post(
        f"{EVENTS}/{event_id}/attendees",
        json={"users": [{"user_id": bob.id}]},
        headers=alice.headers,
    )
    assert invited.status_code in (200, 201), invited.text
    with transactions(app) as begun, before_unlocked_writes(app, lambda: asyncio.sleep(0)) as sent:
        mine = await client.patch(
            f"{EVENTS}/{event_id}", json={"title": "Alice's"}, headers=alice.headers
        )
    assert mine.status_code == 200, mine.text
    assert begun == ["BEGIN", "COMMIT"] and not any(UNCHANGED in s for s in sent), sent
