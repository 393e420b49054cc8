"""Alembic environment: runs migrations on the async engine of the configured database."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events import models  # noqa: F401  (registers every table on Base.metadata)
from neo_events.db import Base
from neo_events.settings import Settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    return url or Settings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Two `neo-events migrate` at once (two hosts, a deploy's retry) on PostgreSQL: the second
# waits for this lock, then finds nothing left to do (the first failed with a traceback).
# Session-level: held across the migrations' own commits, released when the connection closes.
MIGRATE_LOCK = 0x6E656F6D  # "neom"


async def _run_async() -> None:
    engine = create_async_engine(_url())
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATE_LOCK}
                )
                await connection.commit()
            await connection.run_sync(_run)
            await connection.commit()
    finally:  # a migration that fails leaves no connection open behind it
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
