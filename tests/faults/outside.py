"""Statements sent from outside the server under test, on a connection of their own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def rows(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of one statement (autocommitted) on the test database."""
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]
    finally:
        await engine.dispose()
