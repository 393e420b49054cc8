"""PostgreSQL's writes of many jobs as one statement over arrays (`unnest`), one parameter a
column: `queue.schedule_many` and `queue.reschedule_many` there.

An executemany sends each row's values through SQLAlchemy's bind processing and asyncpg's
encoding, and PostgreSQL executes the statement once a row: an owner's move of a series held
by 500 people rescheduled 2,500 jobs for ~35-45 ms of the worker's CPU and ~80-100 ms of wall
time; the same rows as four arrays, ~9-10 ms and ~45 ms (a scratch script on PostgreSQL;
BENCHMARKS.md, 2026-12-08). SQLite keeps the executemany.

The rows' values are typed by the statement's casts; a payload goes as its JSON text
(`db.json_text`, what the column's serializer writes) and is cast to `jsonb`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.db import json_text, utcnow

# What scheduling sets, on a new job and on the one it replaces (`queue.schedule`).
SCHEDULED = (
    "kind",
    "payload",
    "due_at",
    "run_at",
    "attempts",
    "locked_by",
    "last_error",
    "owner_id",
)

_UPSERT = text(
    "INSERT INTO jobs (key, kind, payload, due_at, run_at, attempts, locked_by, last_error,"
    " created_at, owner_id)"
    " SELECT v.key, :kind, CAST(v.payload AS jsonb), v.due_at, v.due_at, 0, NULL, NULL, :now,"
    " :owner_id"
    " FROM unnest(CAST(:keys AS text[]), CAST(:dues AS timestamptz[]),"
    " CAST(:payloads AS text[])) AS v(key, due_at, payload)"
    " ON CONFLICT (key) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in SCHEDULED)
)

_ROLL = text(
    "UPDATE jobs SET due_at = v.due_at, run_at = v.due_at, payload = CAST(v.payload AS jsonb),"
    " locked_by = NULL, attempts = 0, last_error = NULL"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:tokens AS text[]),"
    " CAST(:dues AS timestamptz[]), CAST(:payloads AS text[])) AS v(id, token, due_at, payload)"
    " WHERE jobs.id = v.id AND jobs.locked_by IS NOT DISTINCT FROM v.token"
)


def _utc(due_at: datetime) -> datetime:
    """A due time as the column's type writes it (`db.UTCDateTime`): an aware instant; a
    naive one is refused, as there (the statement's casts would read it as the server's)."""
    if due_at.tzinfo is None:
        raise ValueError("naive datetimes are not stored; attach a time zone")
    return due_at


async def schedule(
    session: AsyncSession,
    kind: str,
    jobs: Sequence[tuple[str, datetime, dict[str, Any]]],
    owner_id: int | None,
) -> None:
    """`queue.schedule_many` on PostgreSQL. One statement cannot write a key twice (an
    upsert's second row of a key is an error), so of a key given twice the last is written,
    as an executemany's rows one after another would leave it."""
    last = {key: (due_at, payload) for key, due_at, payload in jobs}
    await session.execute(
        _UPSERT,
        {
            "kind": kind,
            "now": utcnow(),
            "owner_id": owner_id,
            "keys": list(last),
            "dues": [_utc(due_at) for due_at, _ in last.values()],
            "payloads": [json_text(payload) for _, payload in last.values()],
        },
    )


async def reschedule(
    session: AsyncSession, moves: Sequence[tuple[int, str | None, datetime, dict[str, Any]]]
) -> None:
    """`queue.reschedule_many` on PostgreSQL: (job id, its token, due time, payload), each
    row written only if it still carries that token."""
    await session.execute(
        _ROLL,
        {
            "ids": [job_id for job_id, *_ in moves],
            "tokens": [token for _, token, *_ in moves],
            "dues": [_utc(due_at) for _, _, due_at, _ in moves],
            "payloads": [json_text(payload) for *_, payload in moves],
        },
    )
