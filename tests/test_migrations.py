"""The migrations are the schema: after running them, the models show no drift."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import make_url, text
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
    empty = await _empty_database(database_url)
    try:
        with pytest.raises(SchemaNotCurrent, match="has no schema: run `neo-events migrate`"):
            await check_schema_of(empty)
        await check_schema_of(database_url)  # the suite's own, migrated: passes
    finally:
        await _drop_database(database_url, empty)


async def check_schema_of(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await check_schema(engine)
    finally:
        await engine.dispose()


async def _empty_database(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        return "sqlite+aiosqlite://"  # in memory: no table at all
    name = f"{make_url(database_url).database}_unmigrated"
    await _server_statement(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _server_statement(database_url, f'CREATE DATABASE "{name}"')
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


async def _drop_database(database_url: str, url: str) -> None:
    if database_url.startswith("postgresql"):
        name = make_url(url).database
        await _server_statement(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _server_statement(database_url: str, statement: str) -> None:
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()
