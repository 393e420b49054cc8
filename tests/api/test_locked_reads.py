"""A write under the event's row lock reads the caller's role as last committed (PostgreSQL).

Under READ COMMITTED a statement that waits for a row's lock sees that row as the write it
waited on left it, but every row it joins as its own snapshot had it, from before that
write. A read that locked the event's row and joined the caller's grant in one statement
let an editor demoted meanwhile move the event as an editor (an outside attack). The lock is
now taken by a statement of its own (`access.lock_row`), and the read follows it.

Each test holds a change of Bob's grant uncommitted, with the event's row written (as a
share does, `access.touch`), when Bob's request is about to take the row's lock, and commits
it a moment later, while his request waits. PostgreSQL only: SQLite's write transactions
are exclusive, so no read of one can meet a change in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.util import await_only

from tests.helpers import Account, assert_problem, change_recipients, register, share

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

EVENTS = "/api/v1/events"
BODY = {
    "title": "Planning",
    "start_time": "2026-03-02T09:00:00Z",
    "end_time": "2026-03-02T10:00:00Z",
}
MOVED = {"start_time": "2026-03-02T11:00:00Z", "end_time": "2026-03-02T12:00:00Z"}
COMMIT_AFTER = 0.3  # seconds the change stays uncommitted once Bob's request is waiting


@contextmanager
def when_locking(
    app: FastAPI, meanwhile: Callable[[], Awaitable[Any]], moment: str = "before_cursor_execute"
) -> Iterator[list[str]]:
    """Run `meanwhile` just before the first statement this task sends that takes a row
    lock (`FOR UPDATE`), or just after it (`moment="after_cursor_execute"`); yields every
    statement this task sends, in order."""
    engine = app.state.engine.sync_engine
    seen: list[str] = []
    done = [False]
    task = asyncio.current_task()

    def sent(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if asyncio.current_task() is not task:
            return
        seen.append(" ".join(statement.split()))
        if "FOR UPDATE" in statement and not done[0]:
            done[0] = True
            await_only(meanwhile())

    event.listen(engine, moment, sent)
    try:
        yield seen
    finally:
        event.remove(engine, moment, sent)


class InFlight:
    """A change of the database made in a transaction of its own, committed COMMIT_AFTER
    seconds after it is made (`start`), while the request under test runs."""

    def __init__(self, database_url: str, statements: list[tuple[str, dict[str, Any]]]) -> None:
        self.engine = create_async_engine(database_url)
        self.statements = statements
        self.committed: asyncio.Task[None] | None = None

    async def start(self) -> None:
        connection = await self.engine.connect()
        transaction = await connection.begin()
        for statement, params in self.statements:
            await connection.execute(text(statement), params)
        self.committed = asyncio.create_task(self._commit_later(connection, transaction))

    @staticmethod
    async def _commit_later(connection: AsyncConnection, transaction: Any) -> None:
        await asyncio.sleep(COMMIT_AFTER)
        await transaction.commit()
        await connection.close()

    async def finish(self) -> None:
        assert self.committed is not None, "the request took no row lock"
        await self.committed
        await self.engine.dispose()


def _bob_becomes(role: str | None, event_id: int, bob: Account) -> list[tuple[str, dict[str, Any]]]:
    """What a role change (or, with None, an unshare) writes: the grant, and the event's row."""
    who = {"event_id": event_id, "user_id": bob.id}
    grant = (
        ("DELETE FROM event_permissions WHERE event_id = :event_id AND user_id = :user_id", who)
        if role is None
        else (
            "UPDATE event_permissions SET role = :role"
            " WHERE event_id = :event_id AND user_id = :user_id",
            who | {"role": role},
        )
    )
    touch = ("UPDATE events SET version = version WHERE id = :event_id", {"event_id": event_id})
    return [grant, touch]


Demotion = tuple[str | None, int, str]  # Bob's role afterwards (None: unshared), the answer


@pytest.fixture(params=[("viewer", 403, "role_too_low"), (None, 404, "event_not_found")])
def demotion(request: pytest.FixtureRequest) -> Demotion:
    """Bob demoted to viewer, or his role taken away, and what his request must answer."""
    found: Demotion = request.param
    return found


async def _alice_and_bob(client: httpx.AsyncClient) -> tuple[Account, Account, int]:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    made = await client.post(EVENTS, json=BODY, headers=alice.headers)
    assert made.status_code == 201, made.text
    event_id = int(made.json()["id"])
    await share(client, alice, event_id, bob, "editor")
    return alice, bob, event_id


async def _unchanged(client: httpx.AsyncClient, alice: Account, event_id: int) -> None:
    """The event is still at version 1, at its first times, with no version by Bob."""
    read = await client.get(f"{EVENTS}/{event_id}", headers=alice.headers)
    assert read.status_code == 200, read.text
    assert read.json()["version"] == 1, read.json()
    assert read.json()["start_time"] == "2026-03-02T09:00:00Z", read.json()
    listed = await client.get(f"{EVENTS}/{event_id}/history", headers=alice.headers)
    assert [v["version"] for v in listed.json()["items"]] == [1], listed.json()


async def test_an_editor_demoted_while_their_move_waits_for_the_lock_cannot_move(
    app: FastAPI, client: httpx.AsyncClient, database_url: str, demotion: Demotion
) -> None:
    """A move is edited under the row's lock (`reads.read_for_edit`)."""
    alice, bob, event_id = await _alice_and_bob(client)
    role, status, code = demotion
    change = InFlight(database_url, _bob_becomes(role, event_id, bob))
    with when_locking(app, change.start) as sent:
        moved = await client.patch(f"{EVENTS}/{event_id}", json=MOVED, headers=bob.headers)
    await change.finish()
    assert_problem(moved, status, code)
    # the lock is a statement of its own, and the read follows it
    locking = [s for s in sent if "FOR UPDATE" in s]
    assert len(locking) == 1 and "my_role" not in locking[0], sent
    await _unchanged(client, alice, event_id)


async def test_an_editor_demoted_while_their_rollback_waits_for_the_lock_cannot_roll_back(
    app: FastAPI, client: httpx.AsyncClient, database_url: str, demotion: Demotion
) -> None:
    """A rollback reads the event with the ORM under the row's lock (`access.get_event_for`)."""
    alice, bob, event_id = await _alice_and_bob(client)
    renamed = await client.patch(
        f"{EVENTS}/{event_id}", json={"title": "Renamed"}, headers=alice.headers
    )
    assert renamed.status_code == 200, renamed.text
    role, status, code = demotion
    change = InFlight(database_url, _bob_becomes(role, event_id, bob))
    with when_locking(app, change.start):
        rolled = await client.post(f"{EVENTS}/{event_id}/rollback/1", headers=bob.headers)
    await change.finish()
    assert_problem(rolled, status, code)
    read = await client.get(f"{EVENTS}/{event_id}", headers=alice.headers)
    assert read.json()["version"] == 2 and read.json()["title"] == "Renamed", read.json()


async def test_a_move_waiting_for_a_share_answers_with_the_grants_it_made(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    """What the read under the lock answers (the grants) and whom the edit's change is for
    are as committed when the lock was had: a share Alice made meanwhile is in both."""
    alice, bob, event_id = await _alice_and_bob(client)
    carol = await register(client, "carol")
    grant = (
        "INSERT INTO event_permissions (event_id, user_id, role, granted_by_id, granted_at)"
        " VALUES (:event_id, :user_id, 'viewer', :by, now())"
    )
    touch = ("UPDATE events SET version = version WHERE id = :event_id", {"event_id": event_id})
    change = InFlight(
        database_url,
        [(grant, {"event_id": event_id, "user_id": carol.id, "by": alice.id}), touch],
    )
    with when_locking(app, change.start):
        moved = await client.patch(f"{EVENTS}/{event_id}", json=MOVED, headers=bob.headers)
    await change.finish()
    assert moved.status_code == 200, moved.text
    holders = {p["user_id"]: p["role"] for p in moved.json()["permissions"]}
    assert holders == {alice.id: "owner", bob.id: "editor", carol.id: "viewer"}, holders
    assert await change_recipients(app, event_id, 2) == sorted([alice.id, bob.id, carol.id])


async def test_a_role_granted_between_the_lock_and_the_read_is_read_under_the_lock(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    """The lock's statement locks only an event the caller holds a role on, as its snapshot
    has it (a stranger's request locks nothing). A role granted after it began and before
    the read makes the read find one: the lock is taken again, then the event read again,
    so the write is still made under the lock."""
    alice, carol = await register(client, "alice"), await register(client, "carol")
    made = await client.post(EVENTS, json=BODY, headers=alice.headers)
    event_id = int(made.json()["id"])
    engine = create_async_engine(database_url)
    grant = text(
        "INSERT INTO event_permissions (event_id, user_id, role, granted_by_id, granted_at)"
        " VALUES (:event_id, :user_id, 'editor', :by, now())"
    )

    async def granted() -> None:
        async with engine.begin() as connection:
            await connection.execute(
                grant, {"event_id": event_id, "user_id": carol.id, "by": alice.id}
            )

    try:
        with when_locking(app, granted, "after_cursor_execute") as sent:
            moved = await client.patch(f"{EVENTS}/{event_id}", json=MOVED, headers=carol.headers)
    finally:
        await engine.dispose()
    assert moved.status_code == 200, moved.text
    assert moved.json()["my_role"] == "editor"
    locks = [i for i, s in enumerate(sent) if "FOR UPDATE" in s]
    assert len(locks) == 2, sent  # the lock taken again once the read found the role
    assert any("my_role" in s for s in sent[locks[1] + 1 :]), sent  # and the read after it
