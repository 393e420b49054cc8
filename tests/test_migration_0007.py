"""Migration 0007 (the calendar model) from 0006 with data in it: existing events become
timed, opaque and without rdates, and keep working — on SQLite through the whole app, on
PostgreSQL (in a schema of its own) at the table and model level."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import argon2
import pytest
from alembic import command
from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from neo_events.cli import alembic_config
from neo_events.db import UTCDateTime
from neo_events.events import recurrence
from neo_events.events.content import content_of, series_of
from neo_events.models import Event
from tests.conftest import http_client, make_settings, serving
from tests.helpers import PASSWORD

pytestmark = pytest.mark.anyio

SCHEMA = "migration_0007"
START = datetime(2026, 3, 2, 9, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _sql(statement: str) -> Any:
    """A statement whose :start, :end and :now are instants, bound as the models bind them."""
    names = [n for n in ("start", "end", "now") if f":{n}" in statement]
    return text(statement).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in names))


def _seed(sync: Connection) -> None:
    """A user, and a weekly series with an exdate and a version, as 0006 stores them."""
    digest = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    now = NOW
    sync.execute(
        _sql(
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
            " is_admin, created_at) VALUES (1, 'old', 'old', 'old@example.com',"
            " 'old@example.com', :digest, false, :now)"
        ),
        {"digest": digest, "now": now},
    )
    sync.execute(
        _sql(
            "INSERT INTO events (id, owner_id, title, start_time, end_time, timezone,"
            " is_recurring, recurrence_pattern, exdates, overrides, span_start, version,"
            " created_at, created_by_id, updated_at, updated_by_id) VALUES (1, 1, 'Weekly',"
            " :start, :end, 'UTC', true, 'FREQ=WEEKLY;BYDAY=MO',"
            " '[\"2026-03-09T09:00:00Z\"]', '[]', :start, 1, :now, 1, :now, 1)"
        ),
        {"start": START, "end": START.replace(hour=10), "now": now},
    )
    sync.execute(
        _sql(
            "INSERT INTO event_permissions (event_id, user_id, role, granted_by_id, granted_at)"
            " VALUES (1, 1, 'owner', 1, :now)"
        ),
        {"now": now},
    )
    snapshot = (
        '{"title": "Weekly", "description": null, "start_time": "2026-03-02T09:00:00Z",'
        ' "end_time": "2026-03-02T10:00:00Z", "timezone": "UTC", "location": null,'
        ' "is_recurring": true, "recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO",'
        ' "exdates": ["2026-03-09T09:00:00Z"], "overrides": []}'
    )
    sync.execute(
        _sql(
            "INSERT INTO event_versions (id, event_id, version, change_type, snapshot,"
            " changed_by_id, changed_at) VALUES (1, 1, 1, 'created', :snapshot, 1, :now)"
        ),
        {"snapshot": snapshot, "now": now},
    )


def _upgrade(url: str, revision: str) -> Callable[[Connection], None]:
    def run(sync: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = sync
        command.upgrade(config, revision)

    return run


async def _migrate_with_data(engine: AsyncEngine, url: str) -> None:
    async with engine.connect() as conn:
        await conn.run_sync(_upgrade(url, "0006"))
        await conn.commit()
    async with engine.begin() as conn:
        await conn.run_sync(_seed)
    async with engine.connect() as conn:
        await conn.run_sync(_upgrade(url, "0007"))
        await conn.commit()


_ADDED_AFTER_0007 = frozenset({"count_end"})


async def _check_rows(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT all_day, start_date, end_date, transparency, rdates FROM events")
            )
        ).one()
        assert (bool(row.all_day), row.start_date, row.end_date, row.transparency) == (
            False,
            None,
            None,
            "opaque",
        )
        assert row.rdates in ([], "[]")
        # the model's columns but those later migrations add (0017's `count_end`)
        at_0007 = [c for c in Event.__table__.columns if c.name not in _ADDED_AFTER_0007]
        event = (await conn.execute(select(*at_0007))).one()
    # the model reads the row, and its series expands as before
    event_row: Any = event
    content = content_of(Event(**dict(event_row._mapping)))
    assert (content["all_day"], content["transparency"], content["rdates"]) == (
        False,
        "opaque",
        [],
    )
    found = recurrence.expand(
        series_of(content),
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 24, tzinfo=UTC),
    )
    assert [o.start.day for o in found] == [2, 16, 23]
    # the new constraints hold for new rows
    async with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            await conn.execute(text("UPDATE events SET transparency = 'busy'"))
        await conn.rollback()
        with pytest.raises(IntegrityError):
            await conn.execute(text("UPDATE events SET all_day = true"))  # but no dates
        await conn.rollback()


async def test_0007_from_0006_with_data_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = create_async_engine(url)
    try:
        await _migrate_with_data(engine, url)
        await _check_rows(engine)
        async with engine.connect() as conn:  # the later migrations, which the app needs
            await conn.run_sync(_upgrade(url, "head"))
            await conn.commit()
    finally:
        await engine.dispose()
    async with serving(make_settings(url, tmp_path)) as app, http_client(app) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "old", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        event = (await client.get("/api/v1/events/1", headers=headers)).json()
        assert (event["all_day"], event["transparency"], event["rdates"]) == (
            False,
            "opaque",
            [],
        )
        # a version written before 0007 diffs against a new one by what changed, nothing else
        response = await client.patch(
            "/api/v1/events/1", json={"title": "Weekly sync"}, headers=headers
        )
        assert response.status_code == 200, response.text
        diff = (await client.get("/api/v1/events/1/diff/1/2", headers=headers)).json()
        assert [c["field"] for c in diff["changes"]] == ["title"]
        rolled = await client.post("/api/v1/events/1/rollback/1", headers=headers)
        assert rolled.status_code == 200, rolled.text
        assert rolled.json()["title"] == "Weekly"


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL: TEST_DATABASE_URL is not set"
)
async def test_0007_from_0006_with_data_on_postgresql() -> None:
    url = os.environ["TEST_DATABASE_URL"]
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        engine = create_async_engine(url, connect_args={"server_settings": {"search_path": SCHEMA}})
        try:
            await _migrate_with_data(engine, url)
            await _check_rows(engine)
        finally:
            await engine.dispose()
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await admin.dispose()
