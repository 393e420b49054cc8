"""Statements on the database driver (`neo_events.driver`, #16): the hot reads and the text
edit run with asyncpg's own `fetch` on a pooled connection, compiled once by SQLAlchemy.

What SQLAlchemy would have done around them must still happen: the same values, typed as its
result processors type them; its exceptions, with a lost connection dropped from the pool
(a 503, `tests/faults/test_pg_terminate.py` under load); a cancelled statement's connection
ended rather than handed to the next request mid-protocol; and the engine's statement
listeners called (the read-only guard of safe requests, the tests that interpose writes).
PostgreSQL only: SQLite keeps SQLAlchemy's execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import String, TypeDecorator, bindparam, cast, event, literal_column, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from neo_events import db, driver
from neo_events.auth.service import access_claims
from neo_events.events import reads
from neo_events.models import User
from neo_events.web import read_engine
from tests.api.test_write_path import EVENTS
from tests.conftest import http_client, make_settings, serving
from tests.faults.outside import rows
from tests.helpers import event_body, register, share

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]  # SQLite keeps SQLAlchemy's execution


async def test_a_row_on_the_driver_is_the_row_sqlalchemy_reads(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The one statement of a GET and an edit (timestamps, dates, JSON aggregates, text,
    booleans, NULLs), read both ways: the same values, of the same types."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    body = {
        "title": "Standup",
        "start_time": "2026-06-01T09:00:00Z",
        "end_time": "2026-06-01T09:15:00Z",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=DAILY;COUNT=10",
        "exdates": ["2026-06-03T09:00:00Z"],
    }
    made = await client.post(EVENTS, json=body, headers=alice.headers)
    assert made.status_code == 201, made.text
    event_id = made.json()["id"]
    await share(client, alice, event_id, bob, "editor")
    reminders = {"reminders": [{"minutes_before": 10}]}
    put = await client.put(f"{EVENTS}/{event_id}/reminders", json=reminders, headers=alice.headers)
    assert put.status_code == 200, put.text
    day = await client.post(
        EVENTS,
        json={
            "title": "Off",
            "all_day": True,
            "start_date": "2026-06-02",
            "end_date": "2026-06-03",
        },
        headers=alice.headers,
    )
    assert day.status_code == 201, day.text
    engine = app.state.engine
    claims = access_claims(app.state.authenticator, alice.access_token)
    for wanted in (event_id, day.json()["id"]):
        xmin = None  # every part read; then the parts a worker keeps left out (NULL)
        for _ in range(2):
            statement = reads._statement_for("postgresql")
            params = {"user_id": claims.user_id, "session_id": claims.session_id}
            params |= {"event_id": wanted, "known_xmin": xmin}
            async with engine.connect() as connection:
                expected = dict((await connection.execute(statement, params)).one()._mapping)
            async with driver.connection(engine) as on_driver:
                found = (await on_driver.execute(statement, params)).one_or_none()
            assert found is not None
            assert found._mapping == expected
            assert {k: type(v) for k, v in found._mapping.items()} == {
                k: type(v) for k, v in expected.items()
            }
            assert (expected["grants"] is None) == (xmin is not None), expected
            xmin = expected["row_xmin"]


class _Tagged(TypeDecorator[str]):
    """A column type that changes values both ways, as the app's `db.UTCDateTime` does."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else f"in:{value}"

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else f"{value}:out"


async def test_values_pass_their_column_types_processors_both_ways(app: FastAPI) -> None:
    engine = app.state.engine
    statement = select(cast(bindparam("v", type_=_Tagged), _Tagged).label("v"))
    async with engine.connect() as connection:
        expected = (await connection.execute(statement, {"v": "x"})).scalar()
    async with driver.connection(engine) as on_driver:
        found = await on_driver.scalar(statement, {"v": "x"})
    assert found == expected == "in:x:out"


async def test_a_constraint_violation_is_sqlalchemys_error_and_the_connection_stays(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await register(client, "alice")
    engine = app.state.engine
    duplicate = text(
        "INSERT INTO users (username, password_hash, created_at)"
        " SELECT username, password_hash, created_at FROM users WHERE username = :name"
    )
    async with driver.connection(engine) as on_driver:
        with pytest.raises(IntegrityError) as raised:
            await on_driver.execute(duplicate, {"name": "alice"})
        assert not raised.value.connection_invalidated
        assert "users" in str(raised.value.orig)
        # the same connection goes on: nothing was left half-done (autocommit)
        assert await on_driver.scalar(select(literal_column("1")), {}) == 1
    async with engine.connect() as connection:
        assert await connection.scalar(select(User.id).where(User.username == "alice"))


async def test_a_connection_the_server_ended_is_invalidated_and_replaced(app: FastAPI) -> None:
    engine = app.state.engine
    pid_of = text("SELECT pg_backend_pid()")
    async with driver.connection(engine) as on_driver:
        pid = await on_driver.scalar(pid_of, {})
        async with engine.connect() as other:
            assert await other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.1)
        with pytest.raises(DBAPIError) as raised:
            await on_driver.scalar(pid_of, {})
        assert raised.value.connection_invalidated  # errors.py answers 503
    # the pool hands out live connections again, none of them the ended one
    for _ in range(engine.pool.size() + 1):
        async with driver.connection(engine) as on_driver:
            assert await on_driver.scalar(pid_of, {}) != pid


async def test_after_a_lost_connection_every_older_one_is_replaced(
    database_url: str, data_dir: Path
) -> None:
    """A restarted database ended every pooled connection: the first statement to find out
    fails (a 503), and the pool replaces all the others at their next checkout, as
    SQLAlchemy does, rather than failing one request with each. An engine of its own: no
    poller of the app's finds out first."""
    name = f"neo-driver-{uuid.uuid4().hex[:8]}"
    settings = make_settings(database_url, data_dir, db_pool_size=4, db_application_name=name)
    engine = db.create_engine(settings)
    pid_of = text("SELECT pg_backend_pid()")
    try:
        async with contextlib.AsyncExitStack() as held:  # four live connections in the pool
            for _ in range(4):
                on_driver = await held.enter_async_context(driver.connection(engine))
                await on_driver.scalar(pid_of, {})
        [(ended,)] = await rows(
            database_url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = :name",
            name=name,
        )
        assert ended == 4
        await asyncio.sleep(0.2)
        with pytest.raises(DBAPIError) as raised:
            async with driver.connection(engine) as on_driver:
                await on_driver.scalar(pid_of, {})
        assert raised.value.connection_invalidated
        for _ in range(4):  # every other one replaced, not found dead one request each
            async with driver.connection(engine) as on_driver:
                assert await on_driver.scalar(pid_of, {})
    finally:
        await engine.dispose()


async def test_statements_go_to_the_driver_only_where_each_is_its_own_transaction(
    app: FastAPI,
) -> None:
    """`driver.connection_of`: a session in autocommit (a one-statement write's, a safe
    request's) lends its own connection to the driver; a session in a transaction keeps
    its statements, which then see what it wrote and has not committed."""
    writes = app.state.sessionmaker
    async with writes() as session:
        assert await db.one_statement_write(session)
        assert isinstance(await driver.connection_of(session), driver.Connection)
    async with app.state.read_sessionmaker() as session:
        assert isinstance(await driver.connection_of(session), driver.Connection)
    async with writes() as session:
        session.add(
            User(
                username="pending",
                username_key="pending",
                email="p@example.com",
                email_key="p@example.com",
                password_hash="x",
            )
        )  # flushed by connection_of, not committed
        connection = await driver.connection_of(session)
        assert not isinstance(connection, driver.Connection)
        names = await connection.execute(select(User.username), {})
        assert "pending" in {row.username for row in names}
        await session.rollback()


async def test_a_cancelled_statement_ends_its_connection(app: FastAPI) -> None:
    """A request cancelled mid-statement (its client gone, a timeout): the connection's
    protocol state is unknown, so it is closed, not handed to the next request."""
    engine = app.state.engine
    started = asyncio.Event()
    pids: list[int] = []

    async def sleeper() -> None:
        async with driver.connection(engine) as on_driver:
            pids.append(await on_driver.scalar(text("SELECT pg_backend_pid()"), {}))
            started.set()
            await on_driver.execute(text("SELECT pg_sleep(30)"), {})

    task = asyncio.create_task(sleeper())
    await started.wait()
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(engine.pool.size() + 1):
        async with driver.connection(engine) as on_driver:
            assert await on_driver.scalar(text("SELECT pg_backend_pid()"), {}) != pids[0]
    async with engine.connect() as other:  # its server process ends too, soon
        for _ in range(50):
            alive = await other.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pids[0]}
            )
            if not alive:
                break
            await asyncio.sleep(0.1)
        assert not alive


async def test_the_engines_statement_listeners_see_driver_statements(app: FastAPI) -> None:
    engine = app.state.engine
    seen: list[tuple[Any, str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "driver-test" in statement:  # not the app's pollers'
            seen.append((conn, statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with driver.connection(engine) as on_driver:
            await on_driver.execute(text("SELECT 'driver-test', :n"), {"n": "41"})
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    [(conn, statement, parameters)] = seen
    assert conn is None and "$1" in statement and list(parameters) == ["41"]


async def test_a_write_on_the_read_engines_driver_is_refused(app: FastAPI) -> None:
    """Safe-method requests read in autocommit (`db.create_read_sessionmaker`): a write there
    would commit at once, so the guard refuses it, on the driver too."""
    reading = read_engine(SimpleNamespace(app=app))  # type: ignore[arg-type]  # what it reads
    async with driver.connection(reading) as on_driver:
        with pytest.raises(db.WriteInReadOnlyRequest):
            await on_driver.execute(text("DELETE FROM users WHERE id = -1"), {})
        assert await on_driver.scalar(select(literal_column("1")), {}) == 1


async def test_an_edit_holds_one_pooled_connection_at_a_time(
    database_url: str, data_dir: Path
) -> None:
    """With a pool of one connection, every kind of edit still goes through: a text edit on
    the driver, one merged with a stale base_version (its base is read through the session,
    so it is made under the lock, after the driver's connection went back), a move (under
    the lock), and a GET. Holding two would wait for the pool's timeout: a 503."""
    settings = make_settings(database_url, data_dir, db_pool_size=1, db_pool_timeout_s=5)
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        made = await client.post(EVENTS, json=event_body(), headers=alice.headers)
        assert made.status_code == 201, made.text
        url = f"{EVENTS}/{made.json()['id']}"
        edits = [
            {"title": "Text"},
            {"location": "Room 9", "base_version": 1},  # merged with the title's version 2
            {"start_time": "2026-03-30T10:00:00+02:00", "end_time": "2026-03-30T10:30:00+02:00"},
        ]
        for edit in edits:
            edited = await client.patch(url, json=edit, headers=alice.headers)
            assert edited.status_code == 200, edited.text
        read = await client.get(url, headers=alice.headers)
        assert read.status_code == 200, read.text
        assert (read.json()["title"], read.json()["location"]) == ("Text", "Room 9")
        assert read.json()["version"] == 4
