"""Writes that decide from what they read are one at a time (`infra/locks.py`; PostgreSQL).

An outside attack sent concurrent writes over two servers: two creates of one slot under
`?conflicts=reject` were both written in 24 rounds of 30 (two moves into one slot, two
shares, two batches alike), and four CalDAV PUTs of one new resource with `If-None-Match: *`
were four events, each answered 201 (four names of one UID: 500s and duplicates).

Each test makes the race certain rather than likely: it holds a SHARE lock on `audit_log`
from outside, so every write gets as far as its audit row and waits there, with whatever it
decided; it lets go once both requests wait on a lock, then looks at what each was told.
Before the locks, both had decided on a free calendar (or a free name) and both were
written. SQLite's write requests hold its one write lock from their first statement (BEGIN
IMMEDIATE), so there the second reads after the first has committed: no race to test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events.infra import locks
from neo_events.settings import Settings
from tests.caldav.dav import dav_for, ics
from tests.conftest import make_settings
from tests.helpers import Account, created, event_body, register

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

EVENTS = "/api/v1/events"
SLOT = {"start_time": "2026-05-04T09:00:00Z", "end_time": "2026-05-04T10:00:00Z"}


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    """The app's statements wait on the test's lock as long as the machine needs: a request
    that waited there past DB_COMMAND_TIMEOUT_S (30 s) while the other had not yet reached
    it was a 503, once, under a full suite and another run on the same two cores."""
    return make_settings(database_url, data_dir, db_command_timeout_s=120.0)


@pytest.fixture
def patient_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first write waits on `audit_log` until the second waits too: on a machine with a
    load average of 8-18 that once took past the 5 s `lock_timeout` (a 503). A race test
    waits as long as the machine needs; the timeout itself is tested below."""
    monkeypatch.setattr(locks, "LOCK_TIMEOUT_MS", 60_000)


async def _raced(database_url: str, *requests: Awaitable[httpx.Response]) -> list[int]:
    """The statuses of `requests`, sent together while `audit_log` is held, let go once all
    of them wait on a lock (the audit row's, or one of `infra.locks`')."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as holder, engine.connect() as watcher:
            await holder.execute(text("LOCK TABLE audit_log IN SHARE MODE"))
            sent = [asyncio.ensure_future(r) for r in requests]
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            for _ in range(2_400):  # a minute at most
                if (await watcher.execute(waiting)).scalar_one() >= len(sent):
                    break
                assert not any(s.done() for s in sent), [s.result().text for s in sent if s.done()]
                await asyncio.sleep(0.025)
            else:
                raise AssertionError("the requests never waited on a lock")
            await holder.commit()  # lets go of audit_log
            answers = await asyncio.gather(*sent)
    finally:
        await engine.dispose()
    return sorted(a.status_code for a in answers)


async def _titles(client: httpx.AsyncClient, who: Account) -> list[str]:
    listed = await client.get(EVENTS, headers=who.headers)
    return sorted(e["title"] for e in listed.json()["items"])


@pytest.mark.usefixtures("patient_locks")
async def test_two_creates_of_one_slot_under_reject_write_one(
    client: httpx.AsyncClient, alice: Account, database_url: str
) -> None:
    def create(title: str) -> Awaitable[httpx.Response]:
        return client.post(
            f"{EVENTS}?conflicts=reject",
            json=event_body(title=title, timezone="UTC", **SLOT),
            headers=alice.headers,
        )

    assert await _raced(database_url, create("A"), create("B")) == [201, 409]
    assert len(await _titles(client, alice)) == 1


@pytest.mark.usefixtures("patient_locks")
async def test_two_moves_into_one_slot_under_reject_write_one(
    client: httpx.AsyncClient, alice: Account, database_url: str
) -> None:
    ids = []
    for hour in (12, 14):
        body = event_body(
            title=f"at {hour}",
            timezone="UTC",
            start_time=f"2026-05-04T{hour}:00:00Z",
            end_time=f"2026-05-04T{hour + 1}:00:00Z",
        )
        ids.append((await created(client, alice, body))["id"])

    def move(event_id: int) -> Awaitable[httpx.Response]:
        return client.patch(
            f"{EVENTS}/{event_id}?conflicts=reject", json=SLOT, headers=alice.headers
        )

    assert await _raced(database_url, *(move(i) for i in ids)) == [200, 409]


@pytest.mark.usefixtures("patient_locks")
async def test_two_shares_into_one_persons_slot_under_reject_write_one(
    client: httpx.AsyncClient, alice: Account, database_url: str
) -> None:
    """A share locks its event's row, then the newcomer's calendar (the order every checked
    write takes them in)."""
    bob = await register(client, "bob")
    ids = [
        (await created(client, alice, event_body(title=t, timezone="UTC", **SLOT)))["id"]
        for t in ("one", "two")
    ]

    def share(event_id: int) -> Awaitable[httpx.Response]:
        return client.post(
            f"{EVENTS}/{event_id}/share?conflicts=reject",
            json={"users": [{"user_id": bob.id, "role": "viewer"}]},
            headers=alice.headers,
        )

    assert await _raced(database_url, *(share(i) for i in ids)) == [200, 409]
    assert len(await _titles(client, bob)) == 1


@pytest.mark.usefixtures("patient_locks")
async def test_concurrent_caldav_creates_of_one_resource_make_one_event(
    client: httpx.AsyncClient, database_url: str
) -> None:
    alice = await dav_for(client, "alice")
    body = ics(uid="same-1")
    statuses = await _raced(
        database_url,
        alice.put("same-1.ics", body, **{"If-None-Match": "*"}),
        alice.put("same-1.ics", body, **{"If-None-Match": "*"}),
    )
    assert statuses == [201, 412]
    assert len(await _titles(client, alice.account)) == 1
    # one UID under two names: the second is refused (RFC 4791 no-uid-conflict), not a 500
    statuses = await _raced(
        database_url,
        alice.put("other-a.ics", ics(uid="other")),
        alice.put("other-b.ics", ics(uid="other")),
    )
    assert statuses == [201, 403]
    assert len(await _titles(client, alice.account)) == 2


async def test_a_write_that_cannot_have_its_calendars_lock_in_time_is_a_503(
    client: httpx.AsyncClient, alice: Account, database_url: str
) -> None:
    """A checked write waits at most `lock_timeout` (`locks.LOCK_TIMEOUT_MS`, 5 s) for a
    lock, then is a 503 with Retry-After that wrote nothing, not a request holding its
    connection for as long as the writes ahead of it take (nor a 500: PostgreSQL's 55P03)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_xact_lock(1, :id)"), {"id": alice.id})
            answer = await client.post(
                f"{EVENTS}?conflicts=reject",
                json=event_body(title="Waited", timezone="UTC", **SLOT),
                headers=alice.headers,
            )
            await holder.rollback()
    finally:
        await engine.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "database_unavailable" and answer.headers["retry-after"]
    assert await _titles(client, alice) == []
