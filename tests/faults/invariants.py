"""What must hold in the database after any crash: every committed change is whole.

Each event has versions 1..version, each version has exactly its change-feed row and its
audit row (on PostgreSQL once what was committed is numbered, as a restart does), the feed's
numbers are gap-free up to `feed_state.last_seq`, and nothing points at an event that does
not exist.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events.live.feed import CHANGE_TYPES
from neo_events.live.sequencer import number_pending
from neo_events.models import AuditEntry, Change, Event, EventVersion, FeedState

# change_type of a version -> action of its audit row (for the kinds these tests make)
AUDIT_ACTIONS = {
    "created": "event.created",
    "updated": "event.updated",
    "deleted": "event.deleted",
    "rolled_back": "event.rolled_back",
}


@dataclass(frozen=True)
class Snapshot:
    events: dict[int, tuple[str, int]]  # id -> (title, version)
    versions: int
    changes: int


async def check_invariants(database_url: str) -> Snapshot:
    """Assert the crash invariants over the whole database; return what it holds."""
    engine = create_async_engine(database_url)
    try:
        if engine.dialect.name == "postgresql":
            # a change committed by a process killed before its run of the feed's numbering is
            # whole in `feed_pending`: numbered as the next process starts (live/sequencer.py)
            await number_pending(engine)
        async with engine.connect() as conn:
            events = (await conn.execute(select(Event.id, Event.title, Event.version))).all()
            versions = (
                await conn.execute(
                    select(
                        EventVersion.event_id,
                        EventVersion.version,
                        EventVersion.change_type,
                        EventVersion.snapshot,
                    )
                )
            ).all()
            changes = (
                await conn.execute(select(Change.seq, Change.event_id, Change.version, Change.type))
            ).all()
            audit = (
                await conn.execute(
                    select(AuditEntry.action, AuditEntry.target_id, AuditEntry.details).where(
                        AuditEntry.action.like("event.%")
                    )
                )
            ).all()
            last_seq = (await conn.execute(select(FeedState.last_seq))).scalar_one()
    finally:
        await engine.dispose()

    by_event: dict[int, list[int]] = {}
    titles: dict[tuple[int, int], str] = {}
    for event_id, number, _, snapshot in versions:
        by_event.setdefault(event_id, []).append(number)
        titles[event_id, number] = snapshot["title"]
    for event_id, title, version in events:
        assert sorted(by_event.pop(event_id, [])) == list(range(1, version + 1)), event_id
        assert titles[event_id, version] == title  # the row is its latest version's content
    assert not by_event, f"versions of events that do not exist: {sorted(by_event)}"

    # the feed: exactly one row per version, numbered 1..last_seq without a gap
    expected_feed = Counter((e, v, CHANGE_TYPES[t]) for e, v, t, _ in versions)
    assert Counter((e, v, t) for _, e, v, t in changes) == expected_feed
    assert sorted(seq for seq, *_ in changes) == list(range(1, last_seq + 1))

    # the audit: one row per version (by kind), one batch row per committed batch
    expected_audit = Counter((AUDIT_ACTIONS[t], e) for e, _, t, _ in versions)
    actual_audit = Counter(
        (action, target) for action, target, _ in audit if action != "event.batch_created"
    )
    assert actual_audit == expected_audit
    ids = {event_id for event_id, *_ in events}
    batched: list[int] = []
    for action, _, details in audit:
        if action == "event.batch_created":
            assert len(details["event_ids"]) == details["count"]
            batched += details["event_ids"]
    assert len(batched) == len(set(batched)) and set(batched) <= ids
    in_batches = {target for action, target, details in audit if details.get("batch")}
    assert in_batches == set(batched)
    return Snapshot(
        events={event_id: (title, version) for event_id, title, version in events},
        versions=len(versions),
        changes=len(changes),
    )


# ---- telling that the server is in the middle of a write transaction ----------------------


def sqlite_path(database_url: str) -> str:
    return database_url.split(":///", 1)[1]


def sqlite_writer_active(path: str) -> bool:
    """Another connection holds SQLite's write lock (a write transaction is open)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()
    return False


async def wait_for_sqlite_writer(
    database_url: str, *, within: float = 60, request: asyncio.Future[Any] | None = None
) -> None:
    """Until the server holds SQLite's write lock, or `request` has its answer: a write of a
    few milliseconds can begin and commit between two looks on a loaded machine (the suite's
    four processes on two cores), and then the server must not be waited for to write again
    (the caller sees the answer: the write was committed whole before the kill)."""
    path = sqlite_path(database_url)
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(sqlite_writer_active, path):
        if request is not None and request.done():
            return
        assert time.monotonic() < deadline, "the server never started writing"
        await asyncio.sleep(0.002)


async def pg_backends(conn: Any, application_name: str) -> list[dict[str, Any]]:
    # pg_stat_activity is snapshotted once per transaction: drop the snapshot to see now
    await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    rows = await conn.execute(
        text(
            "SELECT pid, state, wait_event_type, xact_start IS NOT NULL AS in_xact "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = :name"
        ),
        {"name": application_name},
    )
    return [dict(row._mapping) for row in rows]


async def wait_for_pg_lock_wait(conn: Any, application_name: str, *, within: float = 60) -> None:
    """One of the server's backends is inside a transaction, waiting for a lock we hold."""
    deadline = time.monotonic() + within
    while True:
        backends = await pg_backends(conn, application_name)
        if any(b["wait_event_type"] == "Lock" and b["in_xact"] for b in backends):
            return
        assert time.monotonic() < deadline, f"no backend waits on the lock: {backends}"
        await asyncio.sleep(0.01)


async def wait_until_backends_gone(
    database_url: str, application_name: str, *, within: float = 30
) -> None:
    """After a kill -9, PostgreSQL ends the dead server's sessions (and rolls back their open
    transactions) once it notices the sockets are closed."""
    engine = create_async_engine(database_url)
    try:
        deadline = time.monotonic() + within
        while True:
            async with engine.connect() as conn:
                backends = await pg_backends(conn, application_name)
            if not backends:
                return
            assert time.monotonic() < deadline, f"backends outlived their server: {backends}"
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
