"""The write path's round trips (#16): what one create and one text edit send to the database.

A create on PostgreSQL is the conflict check's calendar read (its keys, then the contents of
events whose weeks are not cached; the titles of what clashes, if anything does) and one
statement for the event with its grant, version 1, audit row and change-feed row that also
checks the token's sign-in session and reads the owner's name: no `BEGIN` and no `COMMIT`
(one statement is atomic by itself), unless an `Idempotency-Key` joins its transaction or
it is checked under `reject` or `suggest` (which hold the calendar's lock until the write
commits, infra/locks.py: two statements more); the
statement on a pooled connection of its own, the check's reads afterwards on another. A
text edit is the event's row read (with the caller's sign-in session checked) with what its
answer shows, and one statement for the row, its next version, audit row and change-feed
row, written only if the row is still the one read (test_unlocked_edits.py); other edits
lock the row in a transaction (`BEGIN`, the locked read, the write, `COMMIT`). What they
write is checked through the API by test_events,
test_history, test_audit and test_sync. These tests pin the count, so a change that adds a
round trip to every write has to say so here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text

from neo_events import db
from neo_events.events.calendars import calendar
from neo_events.models import Event
from tests.helpers import PASSWORD, assert_problem, count_rows, register, statements

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
BODY = {
    "title": "Standup",
    "start_time": "2026-03-02T09:00:00Z",
    "end_time": "2026-03-02T09:15:00Z",
    "timezone": "Europe/Berlin",
}


@contextmanager
def transactions(app: FastAPI) -> Iterator[list[str]]:
    """The BEGINs and COMMITs of real transactions this task runs meanwhile (a connection in
    autocommit sends neither: SQLAlchemy still reports them, with that isolation level)."""
    seen: list[str] = []
    engine = app.state.engine.sync_engine
    task = asyncio.current_task()

    def recorder(name: str) -> Any:
        def record(conn: Any) -> None:
            autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
            if asyncio.current_task() is task and not autocommit:
                seen.append(name)

        return record

    listeners = [("begin", recorder("BEGIN")), ("commit", recorder("COMMIT"))]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield seen
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


async def test_a_create_sends_no_begin_or_commit_on_postgresql_unless_idempotent(
    app: FastAPI, client: httpx.AsyncClient, backend: str
) -> None:
    alice = await register(client, "alice")
    await client.post(EVENTS, json=BODY, headers=alice.headers)
    with transactions(app) as plain:
        created = await client.post(EVENTS, json=BODY | {"title": "b"}, headers=alice.headers)
    assert created.status_code == 201, created.text
    keyed = alice.headers | {"Idempotency-Key": "create-once"}
    with transactions(app) as idempotent:
        first = await client.post(EVENTS, json=BODY | {"title": "c"}, headers=keyed)
    assert first.status_code == 201, first.text
    again = await client.post(EVENTS, json=BODY | {"title": "c"}, headers=keyed)
    assert again.json()["id"] == first.json()["id"], "the stored answer joined the create's"
    assert idempotent == ["BEGIN", "COMMIT"], idempotent
    if backend == "postgres":
        assert plain == [], plain
    else:  # SQLite keeps its (in-process) transaction
        assert plain == ["BEGIN", "COMMIT"], plain
    # Refused by a conflict, the create wrote nothing, in autocommit as in a transaction.
    refused = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=BODY | {"title": "d"}, headers=alice.headers
    )
    assert_problem(refused, 409, "schedule_conflict")
    listed = await client.get(EVENTS, params={"limit": 50}, headers=alice.headers)
    assert sorted(e["title"] for e in listed.json()["items"]) == ["Standup", "b", "c"]


async def test_a_clashing_create_is_two_statements_on_postgresql(
    app: FastAPI, client: httpx.AsyncClient, backend: str
) -> None:
    alice = await register(client, "alice")
    await client.post(EVENTS, json=BODY, headers=alice.headers)  # warm: the caches of a worker
    with statements(app) as seen:
        created = await client.post(EVENTS, json=BODY | {"title": "Review"}, headers=alice.headers)
    assert created.status_code == 201, created.text
    assert [c["title"] for c in created.json()["conflicts"]] == ["Standup"], "the check ran"
    if backend == "postgres":
        # Under `warn` (nothing the check finds stops the create): the sign-in check with
        # event+grant+version+audit+change feed (no user query; BEGIN/COMMIT are not
        # cursors) and the calendar's keys as they were before it, in one statement; no
        # contents: the first create kept the series it wrote (`expansions.keep_written`),
        # and a worker reads only what it lacks (events/calendars.py); then the titles of
        # what clashes (only because something does).
        assert len(seen) == 2, seen
        assert seen[0].startswith("WITH who AS") and "auth_sessions" in seen[0], seen
        assert "AS held" in seen[0] and "events.title" not in seen[0], seen
        assert seen[1].startswith("SELECT events.id, events.version, events.title"), seen
        assert not any(s.startswith("SELECT users.") for s in seen), seen
        # `reject` must know before it writes, and what it finds free must stay so until it
        # is written: in a transaction, the calendar's lock (its wait bounded, then the lock:
        # infra/locks.py), the keys, the titles of what clashes and the sign-in (a closed one
        # is told nothing of the calendar); with no clash, the write.
        with statements(app) as refused:
            answer = await client.post(
                f"{EVENTS}?conflicts=reject", json=BODY | {"title": "No"}, headers=alice.headers
            )
        assert_problem(answer, 409, "schedule_conflict")
        assert [c["title"] for c in answer.json()["conflicts"]] == ["Standup", "Review"]
        assert len(refused) == 5 and "lock_timeout" in refused[0], refused
        assert "pg_advisory_xact_lock" in refused[1] and "AS held" in refused[2], refused
        assert "auth_sessions" in refused[4], refused
        assert not any("INSERT" in s for s in refused), refused
        # The worker keeps a title read by event and version once the request commits, never
        # before (what a transaction rolled back read may be given again to other content):
        # a refusal keeps none, and the same refusal reads Review's title again...
        with statements(app) as refused_again:
            answer = await client.post(
                f"{EVENTS}?conflicts=reject", json=BODY | {"title": "No"}, headers=alice.headers
            )
        assert len(refused_again) == 5 and "events.title" in refused_again[3], refused_again
        # ...but Standup's is kept since Review's create, Review's since a read of Standup's
        # conflicts; then the same clash reads no title.
        standup = created.json()["conflicts"][0]["event_id"]
        listed = await client.get(f"{EVENTS}/{standup}/conflicts", headers=alice.headers)
        assert [c["title"] for c in listed.json()["items"]] == ["Review"], listed.text
        with statements(app) as again:
            answer = await client.post(
                f"{EVENTS}?conflicts=reject", json=BODY | {"title": "No"}, headers=alice.headers
            )
        assert [c["title"] for c in answer.json()["conflicts"]] == ["Standup", "Review"]
        assert len(again) == 4 and "auth_sessions" in again[3], again
        # Renamed, Standup is another version: its new title is read, never the one kept.
        await client.patch(f"{EVENTS}/{standup}", json={"title": "Daily"}, headers=alice.headers)
        with statements(app) as renamed:
            answer = await client.post(
                f"{EVENTS}?conflicts=reject", json=BODY | {"title": "No"}, headers=alice.headers
            )
        assert [c["title"] for c in answer.json()["conflicts"]] == ["Daily", "Review"]
        # (its series at the new version, not kept, is read too)
        titled = [
            s for s in renamed if s.startswith("SELECT events.id, events.version, events.title")
        ]
        assert len(titled) == 1, renamed
        with statements(app) as checked:
            answer = await client.post(
                f"{EVENTS}?conflicts=reject",
                json=BODY
                | {"start_time": "2026-03-03T09:00:00Z", "end_time": "2026-03-03T09:15:00Z"},
                headers=alice.headers,
            )
        assert answer.status_code == 201, answer.text
        assert len(checked) == 4 and "AS held" in checked[2], checked
        assert checked[3].startswith("WITH who AS") and "AS held" not in checked[3], checked
    else:  # the ORM's statements; SQLite has no data-modifying CTEs
        assert 5 <= len(seen) <= 12, (len(seen), seen)  # BEGIN IMMEDIATE, 4 inserts, feed in 3
    history = await client.get(f"{EVENTS}/{created.json()['id']}/history", headers=alice.headers)
    assert [v["version"] for v in history.json()["items"]] == [1]


@contextmanager
def connections(app: FastAPI) -> Iterator[list[int]]:
    """How many pooled connections this task held at once, each time it took one: its
    checkouts (the feed's numbering runs on a task of its own)."""
    held: list[int] = []
    now = [0]
    pool = app.state.engine.sync_engine.pool
    task = asyncio.current_task()

    def checkout(*_: Any) -> None:
        if asyncio.current_task() is task:
            now[0] += 1
            held.append(now[0])

    def checkin(*_: Any) -> None:
        if asyncio.current_task() is task:
            now[0] -= 1

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield held
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


@pytest.mark.postgres  # SQLite's create is one transaction of the session's
async def test_a_create_takes_one_connection_at_a_time_and_a_second_only_to_read(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The write goes on a connection of its own; the session takes one afterwards only if
    the check reads something (here the titles of what clashes), once the write's is back:
    never two at once (a pool without overflow could deadlock on that)."""
    alice = await register(client, "alice")
    await client.post(EVENTS, json=BODY, headers=alice.headers)  # warm: the worker's caches
    later = BODY | {"start_time": "2026-03-03T09:00:00Z", "end_time": "2026-03-03T09:15:00Z"}
    with connections(app) as alone:
        made = await client.post(EVENTS, json=later | {"title": "Alone"}, headers=alice.headers)
    assert made.status_code == 201 and made.json()["conflicts"] == [], made.text
    assert alone == [1], alone  # the write's: the check had nothing to read
    with connections(app) as clashing:
        made = await client.post(EVENTS, json=BODY | {"title": "Review"}, headers=alice.headers)
    assert [c["title"] for c in made.json()["conflicts"]] == ["Standup"], made.text
    assert clashing == [1, 1], clashing  # the write's, then the titles' read
    with connections(app) as idempotent:
        made = await client.post(
            EVENTS, json=later, headers=alice.headers | {"Idempotency-Key": "one-connection"}
        )
    assert made.status_code == 201, made.text
    assert idempotent == [1], idempotent  # the answer stored in the write's transaction


async def test_a_text_edit_checks_no_conflict(
    app: FastAPI, client: httpx.AsyncClient, backend: str
) -> None:
    alice = await register(client, "alice")
    made = await client.post(EVENTS, json=BODY, headers=alice.headers)
    event_id = made.json()["id"]
    with statements(app) as seen:
        edited = await client.patch(
            f"{EVENTS}/{event_id}", json={"title": "Renamed"}, headers=alice.headers
        )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "Renamed"
    assert edited.json()["conflicts"] == [] and edited.json()["merged"] is False
    assert edited.headers["ETag"] == '"2"'
    assert not any("AS held" in s for s in seen), "a text edit runs no conflict check"
    # the answer is read back in one statement (events/reads.py), not grants, attendees and
    # reminders one by one
    assert not any(s.startswith("SELECT attendees.") for s in seen), seen
    if backend == "postgres":
        # the row (unlocked, with its xmin) with the caller's role and sign-in session (no
        # user query) and the document the answer is made of (events/reads.py), then the
        # row if unchanged, version 2, the audit row and the change-feed row (its
        # recipients read there) as one statement (history/versions.py); the answer is that
        # document, edited. No BEGIN or COMMIT (test_unlocked_edits.py).
        assert len(seen) == 2, seen
        assert "FOR UPDATE" not in seen[0] and "auth_sessions" in seen[0], seen
        assert "AS grants" in seen[0] and "AS row_xmin" in seen[0], seen
        assert seen[1].startswith("WITH e AS (UPDATE events SET"), seen
        assert "AND CAST(events.xmin AS text) = " in seen[1], seen
        assert "INSERT INTO feed_pending" in seen[1], seen


async def test_an_edit_after_logout_is_a_401_that_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """An edit checks the caller's sign-in session in the statement that locks the event
    (no user query): a closed session is a 401 before the 403 or 404 the event would give
    (bob is a viewer; 999999 does not exist), and nothing is written."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    made = await client.post(EVENTS, json=BODY, headers=alice.headers)
    url = f"{EVENTS}/{made.json()['id']}"
    viewer = {"users": [{"user_id": bob.id, "role": "viewer"}]}
    assert (await client.post(f"{url}/share", json=viewer, headers=alice.headers)).is_success
    versions = await count_rows(app, "event_versions")
    audits = await count_rows(app, "audit_log", action="event.updated")
    for who in (alice, bob):
        assert (await client.post(LOGOUT, headers=who.headers)).status_code == 204
    for who, path in ((alice, url), (bob, url), (alice, f"{EVENTS}/999999")):
        for method in ("PATCH", "PUT"):
            response = await client.request(
                method, path, json={"title": "Renamed"}, headers=who.headers
            )
            assert_problem(response, 401, "invalid_token")
    assert await count_rows(app, "event_versions") == versions
    assert await count_rows(app, "audit_log", action="event.updated") == audits
    signed_in = await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    again = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert (await client.get(url, headers=again)).json()["title"] == "Standup"
    missing = await client.patch(f"{EVENTS}/999999", json={"title": "x"}, headers=again)
    assert_problem(missing, 404, "event_not_found")  # signed in again: a 404 as before


async def test_a_create_after_logout_is_a_401_that_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A create checks the caller's sign-in session in the statement that writes the event
    (no user query before it): after a logout it is a 401 and writes nothing, and a create
    that the conflict check refuses (`reject`) is a 401 too, not a 409 naming the caller's
    events. Signed in again, the same requests work as before."""
    alice = await register(client, "alice")
    assert (await client.post(EVENTS, json=BODY, headers=alice.headers)).status_code == 201
    counts = {
        table: await count_rows(app, table)
        for table in ("events", "event_permissions", "event_versions", "audit_log", "changes")
    }
    assert (await client.post(LOGOUT, headers=alice.headers)).status_code == 204
    counts["audit_log"] = await count_rows(app, "audit_log")  # the logout's own entry
    later = BODY | {"start_time": "2026-03-03T09:00:00Z", "end_time": "2026-03-03T09:15:00Z"}
    for body, query in (
        (later, ""),
        (BODY, ""),
        (BODY, "?conflicts=reject"),
        (BODY, "?conflicts=suggest"),
    ):
        response = await client.post(f"{EVENTS}{query}", json=body, headers=alice.headers)
        assert_problem(response, 401, "invalid_token")
        assert "Standup" not in response.text
    for table, count in counts.items():
        assert await count_rows(app, table) == count, table
    signed_in = await client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    again = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    refused = await client.post(f"{EVENTS}?conflicts=reject", json=BODY, headers=again)
    assert_problem(refused, 409, "schedule_conflict")
    made = await client.post(EVENTS, json=later, headers=again)
    assert made.status_code == 201, made.text
    assert made.json()["owner"] == {"id": alice.id, "username": "alice"}
    assert made.json()["permissions"][0]["username"] == "alice"


async def test_an_update_answers_the_object_a_get_then_reads(
    client: httpx.AsyncClient,
) -> None:
    """The editor's answer to a write, read in the write's transaction, is the object (and
    ETag) a GET gives them next: grants with names, attendees and their own reminders."""
    alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
    made = await client.post(EVENTS, json=BODY, headers=alice.headers)
    url = f"{EVENTS}/{made.json()['id']}"
    shared = await client.post(
        f"{url}/share",
        json={"users": [{"user_id": bob.id, "role": "editor"}]},
        headers=alice.headers,
    )
    assert shared.status_code == 200, shared.text
    invited = await client.post(
        f"{url}/attendees", json={"users": [{"user_id": carol.id}]}, headers=alice.headers
    )
    assert invited.status_code in (200, 201), invited.text
    reminded = await client.put(
        f"{url}/reminders", json={"reminders": [{"minutes_before": 15}]}, headers=bob.headers
    )
    assert reminded.status_code == 200, reminded.text
    edited = await client.patch(url, json={"location": "Room 2"}, headers=bob.headers)
    assert edited.status_code == 200, edited.text
    answer = edited.json()
    assert answer.pop("merged") is False and answer.pop("conflicts") == []
    read = await client.get(url, headers=bob.headers)
    assert answer == read.json()
    assert edited.headers["ETag"] == read.headers["ETag"]
    assert answer["my_role"] == "editor" and answer["my_reminders"] == [{"minutes_before": 15}]
    assert {p["username"] for p in answer["permissions"]} >= {"alice", "bob"}
    assert [a["username"] for a in answer["attendees"]][-1] == "carol"
    assert answer["updated_by"]["username"] == "bob" and answer["version"] == 2


@pytest.mark.postgres  # SQLite has no plan cache to settle
async def test_a_one_user_calendar_read_settles_on_one_plan(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """PostgreSQL plans a prepared statement afresh on each execution while its generic
    plan looks dearer than the custom ones, and it estimates an array parameter at ten
    elements: a conflict check's keys query compares its one user with `=`, not `= ANY` of
    a one-element array (`key_rows.statement`), so from the sixth execution on it runs one
    generic plan and plans nothing (0.15 ms of the server's CPU a check)."""
    alice = await register(client, "alice")
    weekly = BODY | {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO"}
    assert (await client.post(EVENTS, json=weekly, headers=alice.headers)).status_code == 201
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    async with app.state.sessionmaker() as session:
        for week in range(8):
            monday = start + timedelta(weeks=week)  # 10:00 in Berlin: 09:00 or 08:00 UTC
            window = (monday - timedelta(hours=2), monday + timedelta(hours=2))
            busy, _, _ = await calendar(session, [alice.id], window, viewer_id=alice.id)
            assert len(busy) == 1
        # the one run eight times here (the connection may have served a create's keys,
        # read with its write, before: another statement)
        plans = (
            await session.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                    " WHERE statement LIKE '%FROM event_permissions AS held%'"
                    " AND statement NOT LIKE '%pg_prepared_statements%'"
                    " ORDER BY generic_plans + custom_plans DESC LIMIT 1"
                )
            )
        ).one()
    assert plans.custom_plans <= 5 and plans.generic_plans >= 3, plans


async def test_a_core_statement_sees_what_the_session_holds_pending(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """`db.core(session)`: a Core statement on the session's connection runs after the flush
    the session's own `execute` would have made, so it reads the session's pending changes;
    with nothing pending it flushes nothing (no statement)."""
    alice = await register(client, "alice")
    created = await client.post(EVENTS, json=BODY, headers=alice.headers)
    event_id = created.json()["id"]
    title_of = select(Event.title).where(Event.id == event_id)
    async with app.state.sessionmaker() as session:
        with statements(app) as seen:
            assert await (await db.core(session)).scalar(title_of) == "Standup"
        # the select alone (SQLite's connection sends its own BEGIN, or BEGIN IMMEDIATE after
        # a write request in this context, first: `db_sqlite.configure`)
        selects = [s for s in seen if not s.startswith("BEGIN")]
        assert len(selects) == 1 and selects[0].startswith("SELECT events.title"), seen
        loaded = await session.get(Event, event_id)
        assert loaded is not None
        loaded.title = "Renamed, not yet flushed"
        assert await (await db.core(session)).scalar(title_of) == "Renamed, not yet flushed"
        await session.rollback()
