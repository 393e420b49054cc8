"""The change feed is numbered after the writers commit (#16; migration 0022,
live/sequencer.py).

On PostgreSQL a writer hands its changes over as one `feed_pending` row and commits holding
no lock of the feed's; `feed_number_pending()`, run by each process once its writers have
committed, numbers every row committed by then under the `feed_state` lock. So a writer
waits for nobody's commit, a writer that has not committed yet holds up nobody, the
numbers follow the runs with no gap for a transaction that rolled back, and a write's
answer comes once its change is numbered. SQLite numbers in the application under its
single write lock, which test_sync and test_live cover.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from neo_events import db
from neo_events.live import feed
from neo_events.live.sequencer import number_pending
from tests.helpers import register
from tests.timing import budget

pytestmark = pytest.mark.anyio
# SQLite numbers the feed in the application, under its one write lock
POSTGRES = pytest.mark.postgres

EVENTS = "/api/v1/events"
PENDING = text("INSERT INTO feed_pending (payload) VALUES (CAST(:payload AS jsonb))")
BODY = {"title": "First", "start_time": "2026-03-02T09:00:00Z", "end_time": "2026-03-02T10:00:00Z"}


def _pending(event_id: int, user_id: int) -> dict[str, Any]:
    """One `updated` change for the event, for the user: what live/feed.py hands over."""
    change = {
        "at": "2026-12-01T03:00:00+00:00",
        "type": "event.updated",
        "event_id": event_id,
        "version": 1,
        "actor_id": user_id,
        "changes": ["title"],
    }
    return {"payload": orjson.dumps({"c": [change], "r": [{"o": 1, "u": user_id}]}).decode()}


async def _feed(app: FastAPI, after: int = 0) -> list[tuple[int, int, str]]:
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT seq, event_id, type FROM changes WHERE seq > :after ORDER BY seq"),
            {"after": after},
        )
        return [(int(seq), int(event_id), kind) for seq, event_id, kind in rows]


async def _created(app: FastAPI, client: httpx.AsyncClient, headers: Any, title: str) -> int:
    """A new event's id and its change's seq (numbered by the time the create answers)."""
    answer = await client.post(EVENTS, json=BODY | {"title": title}, headers=headers)
    assert answer.status_code == 201, answer.text
    event_id = answer.json()["id"]
    (seq,) = [seq for seq, e, _ in await _feed(app) if e == event_id]
    return seq


async def _left_pending(app: FastAPI) -> int:
    async with app.state.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM feed_pending")) or 0)


async def _alice_and_her_event(app: FastAPI, client: httpx.AsyncClient) -> tuple[Any, int, int]:
    """A user, an event of hers, and the feed's last seq after its creation."""
    alice = await register(client, "alice")
    event_id = (await client.post(EVENTS, json=BODY, headers=alice.headers)).json()["id"]
    return alice, event_id, max(seq for seq, _, _ in await _feed(app))


async def _writer(conn: AsyncConnection, event_id: int, user_id: int) -> None:
    """A writer that has handed its change over and not committed."""
    await conn.begin()
    await conn.execute(text("SET LOCAL lock_timeout = '5s'"))
    await conn.execute(PENDING, _pending(event_id, user_id))


@POSTGRES
async def test_a_writer_about_to_commit_holds_up_nobody_and_numbers_follow_runs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, first_id, before = await _alice_and_her_event(app, client)

    async with app.state.engine.connect() as slow, app.state.engine.connect() as gone:
        # Two writers that handed their changes over and have not committed: one will
        # commit late, the other will roll back.
        for conn in (slow, gone):
            await _writer(conn, first_id, alice.id)
        second = await asyncio.wait_for(
            client.post(EVENTS, json=BODY | {"title": "Second"}, headers=alice.headers), 10
        )
        assert second.status_code == 201, second.text
        # the create's answer came once its change was numbered; the others are not yet
        assert await _feed(app, before) == [(before + 1, second.json()["id"], "event.created")]
        await gone.rollback()
        await slow.commit()

    await number_pending(app.state.engine)  # what a later commit's run does (or the tick)
    assert await _feed(app, before) == [
        (before + 1, second.json()["id"], "event.created"),
        (before + 2, first_id, "event.updated"),  # the late commit; no number for the rollback
    ]
    assert await _left_pending(app) == 0


@POSTGRES
async def test_a_commit_waits_for_no_run_of_the_numbering(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A run holding the feed's lock (a slow one, or one whose process is busy) delays the
    numbering, not the writers' commits: when the lock was taken inside COMMIT, a commit
    waited for it (here past its `lock_timeout`)."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    async with app.state.engine.connect() as run, app.state.engine.connect() as writer:
        await run.begin()
        await run.execute(text("SELECT last_seq FROM feed_state WHERE id = 1 FOR UPDATE"))
        await _writer(writer, event_id, alice.id)
        await writer.execute(text("SET LOCAL lock_timeout = '2s'"))
        started = time.monotonic()
        await writer.commit()
        assert time.monotonic() - started < budget(1.5)
        await run.rollback()
    await number_pending(app.state.engine)
    assert await _feed(app, before) == [(before + 1, event_id, "event.updated")]


@POSTGRES
async def test_a_transaction_older_than_a_run_is_numbered_by_a_later_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A run looks for pending rows of the transactions running at the last run and later
    (`feed_state.horizon`), not of those after the newest it numbered: a transaction that
    began before another and commits after it and after a run is still found."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    async with app.state.engine.connect() as old, app.state.engine.connect() as young:
        await old.begin()
        await old.execute(text("SELECT pg_current_xact_id()"))  # its id, older than young's
        await _writer(young, event_id, alice.id)
        await young.commit()
        await number_pending(app.state.engine)  # young's, while old runs
        await old.execute(PENDING, _pending(event_id, alice.id))
        await old.commit()
    seq = await _created(app, client, alice.headers, "Later")  # its run numbers old's too
    assert [s for s, _, _ in await _feed(app, before)] == [before + 1, before + 2, seq]
    assert seq == before + 3
    assert await _left_pending(app) == 0


TAKEN_BEHIND = 3_000  # pending rows numbered while a transaction stays open


@POSTGRES
async def test_a_run_reads_what_came_since_the_last_one_however_long_a_transaction_runs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A transaction that took an id and stays open (a session left in a transaction)
    keeps the rows runs delete from being cleaned away. Runs looked from the oldest
    transaction running (migration 0022), so each one visited every row taken since that
    transaction began: 3,000 of them here. Now (migration 0023) a run looks at what began
    after the last run, and at each transaction that run saw running, by the index: it reads
    a handful of index entries, and the open transaction's own row is still numbered once it
    commits."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    empty = orjson.dumps({"c": [], "r": []}).decode()
    async with app.state.engine.connect() as open_, app.state.engine.connect() as conn:
        await open_.begin()
        await open_.execute(text("SELECT pg_current_xact_id()"))  # it holds an id now
        for _ in range(3):  # three runs, each taking a thousand rows
            await conn.execute(
                text(
                    "INSERT INTO feed_pending (payload) "
                    "SELECT CAST(:payload AS jsonb) FROM generate_series(1, :n)"
                ),
                {"payload": empty, "n": TAKEN_BEHIND // 3},
            )
            await conn.commit()
            assert await conn.scalar(text("SELECT feed_number_pending()")) == 0
            await conn.commit()
        # a row and a run, and what the run read of the queue's index (the backend's counts
        # not yet sent to the statistics: they only grow within a transaction), in one
        # transaction (no tick of the app's own can number the row first)
        returned = text("SELECT pg_stat_get_xact_tuples_returned('ix_feed_pending_txid'::regclass)")
        read_before = await conn.scalar(returned)
        await conn.execute(PENDING, _pending(event_id, alice.id))
        assert await conn.scalar(text("SELECT feed_number_pending()")) == 1
        read = await conn.scalar(returned) - read_before
        await conn.commit()
        assert read < 50, read  # 6,000 and more through migration 0022
        await open_.execute(PENDING, _pending(event_id, alice.id))
        await open_.commit()
    await number_pending(app.state.engine)
    assert [s for s, _, _ in await _feed(app, before)] == [before + 1, before + 2]
    assert await _left_pending(app) == 0


@POSTGRES
async def test_what_a_process_left_pending_is_numbered_without_a_write(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A process that ended between its commit and its run leaves its row pending: every
    process's tick (each `live_poll_s`) numbers it."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    async with app.state.engine.connect() as writer:
        await _writer(writer, event_id, alice.id)
        await writer.commit()
    waited = app.state.settings.live_poll_s * 3 + 5
    deadline = time.monotonic() + waited
    while not await _feed(app, before):
        assert time.monotonic() < deadline, f"not numbered in {waited} s"
        await asyncio.sleep(0.1)
    assert await _feed(app, before) == [(before + 1, event_id, "event.updated")]


COMPILE_EVERYTHING = {
    "jit": "on",
    "jit_above_cost": "0",
    "jit_inline_above_cost": "0",
    "jit_optimize_above_cost": "0",
}


@POSTGRES
async def test_a_run_is_never_compiled_whatever_its_plan_is_guessed_to_cost(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The numbering's generic plan guesses a third of the queue's rows and a hundred items
    in each JSON array, past `jit_above_cost` on a queue of some thousands: every run was
    JIT-compiled, 190 ms of PostgreSQL's CPU for ~20 rows numbered in 0.2 ms. The function
    turns JIT off for itself, whatever the session asks (here: compile everything)."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    async with app.state.engine.connect() as conn:
        for name, value in COMPILE_EVERYTHING.items():
            await conn.execute(text(f"SET {name} = {value}"))
        took = []
        for _ in range(3):
            # the row and the run in one transaction: no tick of the app's own (every
            # `live_poll_s`) can number the row between them
            await conn.execute(PENDING, _pending(event_id, alice.id))
            began = time.perf_counter()
            assert await conn.scalar(text("SELECT feed_number_pending()")) == 1
            await conn.commit()
            took.append(time.perf_counter() - began)
    # with JIT, 0.1-0.2 s a run here (LLVM's compile); without, about a millisecond
    assert min(took) < budget(0.04), took
    assert [seq for seq, _, _ in await _feed(app, before)] == [before + 1, before + 2, before + 3]


async def test_a_session_of_no_process_numbers_its_own_changes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A command's session (`neo-events import`) has no hub to number and wake: its changes
    are numbered once it commits, by a run of its own."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    async with app.state.sessionmaker() as session:
        assert "publish_change" not in session.info
        await feed.append(
            session,
            type="event.updated",
            event_id=event_id,
            version=1,
            actor_id=alice.id,
            changes=["title"],
            known_holders=[alice.id],
        )
        await db.commit(session)
    assert await _feed(app, before) == [(before + 1, event_id, "event.updated")]


@POSTGRES
async def test_a_row_that_cannot_be_numbered_is_set_aside_and_the_feed_goes_on(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A run numbers everything it finds in one statement, so a pending row it could not
    number (here a recipient named twice, which no writer hands over) failed every run: the
    whole feed stopped, and every write's answer waited for two failed runs. Now (migration
    0023) the process numbers the rows one at a time once that statement fails on the data,
    and the row that fails again is moved to `feed_rejected`, with its error: what came
    before and after it is numbered, in order and with no gap, and no run fails."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    bad = orjson.loads(_pending(event_id, alice.id)["payload"])
    bad["r"] *= 2  # the same recipient twice: the key of change_recipients refuses it
    async with app.state.engine.begin() as conn:
        await conn.execute(PENDING, _pending(event_id, alice.id))
        await conn.execute(PENDING, {"payload": orjson.dumps(bad).decode()})
        bad_id = await conn.scalar(text("SELECT max(id) FROM feed_pending"))
        await conn.execute(PENDING, _pending(event_id, alice.id))
    answer = await asyncio.wait_for(
        client.post(EVENTS, json=BODY | {"title": "Goes on"}, headers=alice.headers), 20
    )
    assert answer.status_code == 201, answer.text
    assert await _feed(app, before) == [
        (before + 1, event_id, "event.updated"),
        (before + 2, event_id, "event.updated"),
        (before + 3, answer.json()["id"], "event.created"),
    ]
    assert not [r for r in caplog.records if "numbering the change feed failed" in r.getMessage()]
    async with app.state.engine.connect() as conn:
        rejected = (await conn.execute(text("SELECT id, payload, error FROM feed_rejected"))).all()
        recipients = await conn.scalar(
            text("SELECT count(*) FROM change_recipients WHERE seq > :before"), {"before": before}
        )
    assert [(row.id, row.payload) for row in rejected] == [(bad_id, bad)]
    assert rejected[0].error.startswith("23505") and "change_recipients" in rejected[0].error
    assert recipients == 3  # each numbered change told once, the set-aside one to nobody
    assert await _left_pending(app) == 0


@POSTGRES
async def test_a_run_that_fails_for_want_of_something_else_sets_nothing_aside(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Only rows the data of which cannot be numbered are set aside: a run that fails for
    another reason (here a lock it waited for too long) is not numbered apart and sets
    nothing aside; the row is numbered once the lock is gone."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    impatient = create_async_engine(
        app.state.engine.url, connect_args={"server_settings": {"lock_timeout": "200ms"}}
    )
    try:
        async with app.state.engine.connect() as holder, app.state.engine.connect() as writer:
            await holder.begin()
            await holder.execute(text("LOCK TABLE changes IN ACCESS EXCLUSIVE MODE"))
            # committed once the lock is held: any run that finds it waits for the lock
            # (the app's own tick too, holding the feed's lock that this run then waits for)
            await writer.execute(PENDING, _pending(event_id, alice.id))
            await writer.commit()
            with pytest.raises(DBAPIError, match="lock timeout"):
                await number_pending(impatient)
            await holder.rollback()
    finally:
        await impatient.dispose()
    await number_pending(app.state.engine)
    assert await _feed(app, before) == [(before + 1, event_id, "event.updated")]
    async with app.state.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM feed_rejected")) == 0
    assert not [r for r in caplog.records if "numbering apart" in r.getMessage()]


@POSTGRES
async def test_a_counter_behind_the_feed_fails_the_run_and_sets_nothing_aside(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A number `changes` already holds is the counter's fault (a restore that lost its last
    numbers, a hand), not a row's: the run fails as before, nothing is set aside, and once the
    counter is right again the next run numbers what waited."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    async with app.state.engine.begin() as conn:
        await conn.execute(text("UPDATE feed_state SET last_seq = last_seq - 1 WHERE id = 1"))
        await conn.execute(PENDING, _pending(event_id, alice.id))
    with pytest.raises(DBAPIError, match="is behind the numbers changes holds"):
        await number_pending(app.state.engine)
    async with app.state.engine.begin() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM feed_rejected")) == 0
        await conn.execute(text("UPDATE feed_state SET last_seq = last_seq + 1 WHERE id = 1"))
    await number_pending(app.state.engine)
    assert await _feed(app, before) == [(before + 1, event_id, "event.updated")]


@POSTGRES
async def test_recipients_numbered_already_fail_the_run_and_set_nothing_aside(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A recipient row at a number not yet given (left by a restore or a hand: the feed's
    tables have no keys between them) is no pending row's fault either: the run fails and
    sets nothing aside, and once it is gone the next run numbers what waited."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    left = text("INSERT INTO change_recipients (user_id, seq) VALUES (:user, :seq)")
    async with app.state.engine.begin() as conn:
        await conn.execute(left, {"user": alice.id, "seq": before + 1})
        await conn.execute(PENDING, _pending(event_id, alice.id))
    with pytest.raises(DBAPIError, match="pk_change_recipients"):
        await number_pending(app.state.engine)
    async with app.state.engine.begin() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM feed_rejected")) == 0
        await conn.execute(
            text("DELETE FROM change_recipients WHERE seq = :seq"), {"seq": before + 1}
        )
    await number_pending(app.state.engine)
    assert await _feed(app, before) == [(before + 1, event_id, "event.updated")]


@POSTGRES
async def test_a_session_that_runs_the_numbering_and_then_writes_is_numbered_later(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A run keeps its snapshot, and a snapshot leaves its own transaction out of those
    running: the run's own transaction is kept among them, so a session that ran the
    numbering and then wrote a pending row before committing has it numbered by a later
    run."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    async with app.state.engine.connect() as conn, app.state.engine.connect() as other:
        await conn.begin()
        await conn.execute(text("SELECT pg_current_xact_id()"))  # its id, then a younger one's
        await other.execute(PENDING, _pending(event_id, alice.id))
        await other.commit()
        await conn.scalar(text("SELECT feed_number_pending()"))  # the run (or a tick's)
        await conn.execute(PENDING, _pending(event_id, alice.id))
        await conn.commit()
    await number_pending(app.state.engine)
    assert [s for s, _, _ in await _feed(app, before)] == [before + 1, before + 2]
    assert await _left_pending(app) == 0


@POSTGRES
async def test_a_snapshot_from_another_cluster_hides_no_row(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A database restored from a dump into another cluster keeps the last run's snapshot,
    whose transaction ids may be far past the new cluster's: a run then looks at every row
    instead of passing the new ones over."""
    alice, event_id, before = await _alice_and_her_event(app, client)
    far = "4000000000:4000000001:"
    async with app.state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE feed_state SET snapshot = :far, horizon = 4000000000"), {"far": far}
        )
        await conn.execute(PENDING, _pending(event_id, alice.id))
    await number_pending(app.state.engine)
    assert await _feed(app, before) == [(before + 1, event_id, "event.updated")]
    assert await _left_pending(app) == 0
