"""The queue's operations: schedule under a key, claim under a lease, finish only if still held.

A claim moves `run_at` to the end of the lease and stamps a fresh token into `locked_by`; a
worker finishes a job (delete, reschedule, retry) only while the row still carries its token,
in the same transaction as the job's own writes. A worker that dies mid-job leaves the row to
become due again when the lease ends, and whatever it did not commit never happened; one
that outlived its lease finds the token replaced and writes nothing.

Work that is only database writes (reminders) is taken instead (`take`): claimed and
finished in one transaction, the rows locked (FOR UPDATE SKIP LOCKED) rather than stamped,
so a batch costs no claim's writes and commit. A worker that dies mid-batch leaves nothing
behind and the jobs due at once; one that stalls inside it is cut off by PostgreSQL after the
lease (`idle_in_transaction_session_timeout`, set for that transaction), its locks released.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Table, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.db import utcnow
from neo_events.jobs import arrays, turns
from neo_events.models import Job


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this worker holds until `token` is no longer in its row."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    due_at: datetime
    attempts: int
    token: str | None  # None: taken in this transaction (`take`), its row locked, not stamped


def among(session: AsyncSession, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(:array)`, one parameter: a batch's
    hundreds of ids are neither rendered into the statement one by one at each execution
    nor make a new prepared statement for each count."""
    wanted = list(values)
    if session.get_bind().dialect.name != "postgresql":
        return cast(ColumnElement[bool], column.in_(wanted))
    return cast(
        ColumnElement[bool], column == any_(bindparam(None, wanted, type_=ARRAY(column.type)))
    )


def insert_for(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def schedule(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any],
    owner_id: int | None = None,
) -> None:
    """Create the job under `key`, or replace it (due time, payload; released, attempts reset).

    Replacing a claimed job takes it from its worker: that worker's finish finds its token
    gone and writes nothing."""
    await schedule_many(session, kind=kind, jobs=[(key, due_at, payload)], owner_id=owner_id)


async def schedule_many(
    session: AsyncSession,
    *,
    kind: str,
    jobs: Sequence[tuple[str, datetime, dict[str, Any]]],
    owner_id: int | None = None,
) -> None:
    """`schedule` for many (key, due time, payload) at once: one upsert statement for all of
    them (an import's thousands of reminders are not a round trip each): on PostgreSQL over
    arrays (`arrays.schedule`), elsewhere an executemany."""
    if not jobs:
        return
    if session.get_bind().dialect.name == "postgresql":
        await arrays.schedule(session, kind, jobs, owner_id)
        return
    table = cast(Table, Job.__table__)  # Core: a plain executemany, not ORM bulk insert
    statement = insert_for(session)(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={name: statement.excluded[name] for name in arrays.SCHEDULED},
    )
    now = utcnow()
    await session.execute(
        statement,
        [
            {
                "key": key,
                "kind": kind,
                "payload": payload,
                "due_at": due_at,
                "run_at": due_at,
                "attempts": 0,
                "locked_by": None,
                "last_error": None,
                "created_at": now,
                "owner_id": owner_id,
            }
            for key, due_at, payload in jobs
        ],
    )


async def ensure(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any],
    owner_id: int | None = None,
) -> None:
    """Create the job under `key` unless there is one (which keeps its time and state)."""
    statement = insert_for(session)(Job).values(
        key=key,
        kind=kind,
        payload=payload,
        due_at=due_at,
        run_at=due_at,
        attempts=0,
        owner_id=owner_id,
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=[Job.key]))


async def cancel(session: AsyncSession, keys: Iterable[str]) -> None:
    wanted = list(keys)
    if wanted:
        await session.execute(
            delete(Job).where(Job.key.in_(wanted)), execution_options={"synchronize_session": False}
        )


class Held(NamedTuple):
    """What a writer reads of a job it locked (`lock_keys`)."""

    due_at: datetime
    payload: dict[str, Any]


async def lock_keys(session: AsyncSession, keys: Sequence[str]) -> dict[str, Held]:
    """The jobs under `keys`, row-locked (PostgreSQL) until the transaction ends: a writer
    that recomputes a job waits for a worker finishing it, then sees what it wrote. Their
    columns, not ORM objects: an owner's move locks thousands (2,500 objects built were a
    tenth of such a move's CPU)."""
    if not keys:
        return {}
    rows = await session.execute(
        select(Job.key, Job.due_at, Job.payload)
        .where(among(session, Job.key, keys))
        .order_by(Job.id)
        .with_for_update()
    )
    return {key: Held(due_at, payload) for key, due_at, payload in rows}


async def next_run_at(session: AsyncSession) -> datetime | None:
    """When the earliest job becomes claimable (a read; takes no lock)."""
    value: datetime | None = await session.scalar(select(func.min(Job.run_at)))
    return value


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    kinds: Sequence[str],
    per_owner: int | None = None,
) -> list[Claimed]:
    """Take up to `limit` due jobs of `kinds`, oldest first, skipping rows another worker is
    claiming right now (FOR UPDATE SKIP LOCKED; SQLite's write lock does the same).

    With `per_owner`, shared fairly between owners: taken in turns, owners holding the fewest
    claims of `kinds` first, and never more than `per_owner` held by one owner at once, by
    every worker together (`turns.py`)."""
    token = uuid.uuid4().hex
    if per_owner is None:
        due = (
            select(Job.id)
            .where(Job.run_at <= now, Job.kind.in_(list(kinds)))
            .order_by(Job.run_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    else:
        due = await turns.due_in_turns(
            session, now=now, limit=limit, kinds=kinds, per_owner=per_owner
        )
    rows = await session.execute(
        update(Job)
        .where(Job.id.in_(due.scalar_subquery()))
        .values(run_at=now + lease, locked_by=token, attempts=Job.attempts + 1)
        .returning(Job.id, Job.kind, Job.key, Job.payload, Job.due_at, Job.attempts),
        execution_options={"synchronize_session": False},
    )
    claimed = [
        Claimed(row.id, row.kind, row.key, dict(row.payload), row.due_at, row.attempts, token)
        for row in rows
    ]
    return sorted(claimed, key=lambda job: (job.due_at, job.id))


async def take(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    kinds: Sequence[str],
) -> list[Claimed]:
    """Take up to `limit` due jobs of `kinds` for this transaction, oldest first: the rows
    stay locked until it ends (FOR UPDATE SKIP LOCKED; SQLite's write lock), and the caller
    finishes them (`finish_many`, `reschedule_many`) before it commits. Nothing is written
    to take them: rolled back, they are due again at once (`postpone` holds them back)."""
    rows = (
        await session.execute(
            select(Job.id, Job.kind, Job.key, Job.payload, Job.due_at, Job.attempts, Job.locked_by)
            .where(Job.run_at <= now, Job.kind.in_(list(kinds)))
            .order_by(Job.run_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if rows and session.get_bind().dialect.name == "postgresql":
        # The lease of a taken job: a transaction left idle that long (a stalled or
        # unreachable worker) is ended by the server, and its locks with it.
        limit_ms = str(max(1, int(lease.total_seconds() * 1000)))
        await session.execute(
            select(func.set_config("idle_in_transaction_session_timeout", limit_ms, True))
        )
    return [
        Claimed(row.id, row.kind, row.key, dict(row.payload), row.due_at, row.attempts, None)
        for row in rows
    ]


async def postpone(
    session: AsyncSession, jobs: Sequence[Claimed], *, until: datetime, error: str
) -> None:
    """Hold taken jobs back until `until` after their transaction failed (as a lease would:
    a batch that fails every time does not hold up the rest), unless they have changed since
    (finished by another worker, or rescheduled)."""
    for job in jobs:
        await session.execute(
            update(Job)
            .where(
                Job.id == job.id,
                Job.due_at == job.due_at,
                Job.locked_by.is_not_distinct_from(job.token),
                Job.run_at <= until,
            )
            .values(run_at=until, attempts=Job.attempts + 1, last_error=error[:2000]),
            execution_options={"synchronize_session": False},
        )


async def held(session: AsyncSession, jobs: Sequence[Claimed]) -> set[int]:
    """Which of these claims are still ours; those rows stay locked (PostgreSQL) until the
    transaction ends, so nobody can take them back before our writes commit."""
    if not jobs:
        return set()
    tokens = {job.token for job in jobs}
    rows = await session.scalars(
        select(Job.id)
        .where(
            among(session, Job.id, [job.id for job in jobs]), among(session, Job.locked_by, tokens)
        )
        .order_by(Job.id)
        .with_for_update()
    )
    return set(rows)


async def finish(session: AsyncSession, job: Claimed) -> None:
    """The job is done: remove it (only if still ours)."""
    await session.execute(
        delete(Job).where(Job.id == job.id, Job.locked_by == job.token),
        execution_options={"synchronize_session": False},
    )


async def finish_many(session: AsyncSession, jobs: Sequence[Claimed]) -> None:
    """`finish` for many claims (taken or leased) in one statement per claim token."""
    by_token: dict[str | None, list[int]] = {}
    for job in jobs:
        by_token.setdefault(job.token, []).append(job.id)
    for token, ids in by_token.items():
        await session.execute(
            delete(Job).where(
                among(session, Job.id, ids), Job.locked_by.is_not_distinct_from(token)
            ),
            execution_options={"synchronize_session": False},
        )


async def release(session: AsyncSession, jobs: Sequence[Claimed], *, now: datetime) -> None:
    """Hand claims back unfinished, due at `now` (only those still ours), all else as it was:
    a worker that stops mid-job (`Runner.stop`), so the next takes it without waiting for
    the lease to end."""
    table = cast(Table, Job.__table__)  # Core: a plain executemany, not ORM bulk update
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.locked_by == bindparam("b_token"))
        .values(run_at=now, locked_by=None)
    )
    held = [{"b_id": job.id, "b_token": job.token} for job in jobs if job.token is not None]
    if held:
        await session.execute(statement, held)


async def reschedule(
    session: AsyncSession,
    job: Claimed,
    *,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    error: str | None = None,
    keep_attempts: bool = False,
    kind: str | None = None,
) -> None:
    """Release the job to run again at `due_at` (only if still ours), as `kind` if given."""
    values: dict[str, Any] = {"due_at": due_at, "run_at": due_at, "locked_by": None}
    if payload is not None:
        values["payload"] = payload
    if kind is not None:
        values["kind"] = kind
    if not keep_attempts:
        values["attempts"] = 0
    values["last_error"] = error
    await session.execute(
        update(Job).where(Job.id == job.id, Job.locked_by == job.token).values(**values),
        execution_options={"synchronize_session": False},
    )


async def reschedule_many(
    session: AsyncSession, moves: Sequence[tuple[Claimed, datetime, dict[str, Any]]]
) -> None:
    """`reschedule` (new payload, attempts reset) for many claims (taken or leased) in one
    statement, each only if still ours: a burst's roll-forward is not one round trip each
    (on PostgreSQL over arrays, `arrays.reschedule`; elsewhere an executemany)."""
    if not moves:
        return
    if session.get_bind().dialect.name == "postgresql":
        await arrays.reschedule(session, [(j.id, j.token, due, p) for j, due, p in moves])
        return
    table = cast(Table, Job.__table__)  # Core: a plain executemany, not ORM bulk update
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("b_id"),
            table.c.locked_by.is_not_distinct_from(bindparam("b_token")),
        )
        .values(
            due_at=bindparam("b_due"),
            run_at=bindparam("b_due"),
            payload=bindparam("b_payload"),
            locked_by=None,
            attempts=0,
            last_error=None,
        )
    )
    await session.execute(
        statement,
        [
            {"b_id": job.id, "b_token": job.token, "b_due": due_at, "b_payload": payload}
            for job, due_at, payload in moves
        ],
    )
