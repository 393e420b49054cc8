"""The migrations are the schema: after running them, the models show no drift."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events.db import Base, SchemaNotCurrent, check_schema

pytestmark = pytest.mark.anyio


async def test_models_match_the_migrated_schema(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


def test_the_code_names_the_newest_migration() -> None:
    """`db.SCHEMA_REVISION`, which a server checks its database against on start-up, is
    alembic's head: a new migration cannot land without it."""
    from alembic.script import ScriptDirectory

    from neo_events.cli import alembic_config
    from neo_events.db import SCHEMA_REVISION

    head = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://")).get_current_head()
    assert head == SCHEMA_REVISION


async def test_a_database_never_migrated_is_refused(database_url: str) -> None:
    """On each backend, a database with no `alembic_version` table fails the check that
    a server or job worker runs before it serves (`db.create_checked_engine`)."""
    if database_url.startswith("postgresql"):  # a schema that does not exist: no tables
        options = {"server_settings": {"search_path": "never_migrated"}}
        empty = create_async_engine(database_url, connect_args=options)
    else:
        empty = create_async_engine("sqlite+aiosqlite://")  # in memory
    migrated = create_async_engine(database_url)  # the suite's own
    try:
        with pytest.raises(SchemaNotCurrent, match="has no schema: run `neo-events migrate`"):
            await check_schema(empty)
        await check_schema(migrated)
    finally:
        await empty.dispose()
        await migrated.dispose()


def test_a_fresh_sqlite_database_downgrades_to_base_and_back(tmp_path: Path) -> None:
    """Every migration's `downgrade` runs on SQLite: 0007's named its check constraints as
    written, and the naming convention prefixed them again (`ck_events_ck_events_…`), so
    `alembic downgrade base` stopped there with `No such constraint`."""
    from alembic import command

    from neo_events.cli import alembic_config
    from neo_events.db import SCHEMA_REVISION

    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'neo.db'}")
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    with sqlite3.connect(tmp_path / "neo.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (SCHEMA_REVISION,)
        ]
