"""What one statement costs the worker's CPU through each layer (issue #16): the calendar
read's keys query (one user, a 45-minute window) run on one PostgreSQL connection through
the ORM session, the session's connection (Core), `exec_driver_sql` with the compiled SQL,
and asyncpg itself. `python -m bench statements --size 1m`; figures in BENCHMARKS.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from neo_events.events.calendar_keys import Budget
from neo_events.events.key_rows import statement

ROUNDS = 4
RUNS = 3_000


class DriverStatement:
    """A statement compiled once by SQLAlchemy for asyncpg: its SQL and, per call, its
    positional arguments, each through the column type's bind processor (also the floor of
    an edit's, `bench/floor.py`)."""

    def __init__(self, statement: Any) -> None:
        self.compiled = statement.compile(dialect=asyncpg_dialect())
        self.sql = self.compiled.string
        self._processors = self.compiled._bind_processors

    def args(self, params: dict[str, Any]) -> list[Any]:
        bound = self.compiled.construct_params(params)
        return [
            self._processors[k](bound[k]) if k in self._processors else bound[k]
            for k in self.compiled.positiontup or ()
        ]


async def _cost(url: str) -> list[str]:
    engine = create_async_engine(url)
    start = datetime(2027, 3, 2, 9, tzinfo=UTC)
    out = []
    try:
        async with AsyncSession(engine) as session:
            user = await session.scalar(  # an ordinary user: the owner of a middle event
                text(
                    "SELECT owner_id FROM events WHERE id >= (SELECT max(id) / 2 FROM events)"
                    " ORDER BY id LIMIT 1"
                )
            )
            query = statement("postgresql", False, True)
            params = {"start": start, "end": start + timedelta(minutes=45), "users": user}
            params |= Budget().params()
            conn = await session.connection()
            compiled = DriverStatement(query)
            args = tuple(compiled.args(params))
            driver = (await conn.get_raw_connection()).driver_connection

            async def orm() -> Any:
                return (await session.execute(query, params)).all()

            async def core() -> Any:
                return (await conn.execute(query, params)).all()

            async def driver_sql() -> Any:
                return (await conn.exec_driver_sql(compiled.sql, args)).all()

            async def asyncpg() -> Any:
                return await driver.fetch(compiled.sql, *args)

            ways: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("session.execute", orm),
                ("connection.execute", core),
                ("exec_driver_sql", driver_sql),
                ("asyncpg fetch", asyncpg),
            ]
            spent: dict[str, list[float]] = {name: [] for name, _ in ways}
            for _ in range(ROUNDS):
                for name, way in ways:
                    for _ in range(100):
                        rows = await way()
                    began = time.process_time()
                    for _ in range(RUNS):
                        await way()
                    spent[name].append((time.process_time() - began) / RUNS * 1000)
            out.append(f"user {user}, {len(rows)} rows, {ROUNDS} rounds of {RUNS:,}:")
            for name, figures in spent.items():
                out.append(f"  {name:20} {min(figures):.3f}–{max(figures):.3f} ms CPU/statement")
    finally:
        await engine.dispose()
    return out


def run(url: str) -> str:
    if not url.startswith("postgresql"):
        return "statements: PostgreSQL only (the layers compared are asyncpg's)"
    return "\n".join(asyncio.run(_cost(url)))
