"""jobs/queue.py on the real database (SQLite and PostgreSQL): claims under a lease, jobs
taken for one transaction, and finishing many of either at once only while still held."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from neo_events import db, db_sqlite
from neo_events.jobs import queue
from neo_events.jobs.runner import Lane, Runner
from neo_events.models import Job
from tests.conftest import make_settings, serving

pytestmark = pytest.mark.anyio

KIND = "test.kind"
LEASE = timedelta(seconds=60)


@pytest.fixture
async def app(database_url: str, data_dir: Path) -> AsyncIterator[FastAPI]:
    """The app without its own runner: these tests are the only ones working the queue."""
    async with serving(make_settings(database_url, data_dir, jobs_in_serve=False)) as served:
        yield served


@pytest.fixture(autouse=True)
def writes() -> Iterator[None]:
    """Transactions here write, as a worker's do (BEGIN IMMEDIATE on SQLite); afterwards as
    before: left set, it made a later test's reads in the same worker take SQLite's write
    turn (a live replay read held it while the test's own create waited: a deadlock)."""
    with db_sqlite.intending(True):
        yield


async def rows(app: FastAPI) -> dict[str, Job]:
    async with app.state.sessionmaker() as session:
        return {job.key: job for job in await session.scalars(select(Job).where(Job.kind == KIND))}


async def make_jobs(app: FastAPI, *keys: str) -> None:
    due = db.utcnow() - timedelta(seconds=5)
    async with app.state.sessionmaker() as session:
        for i, key in enumerate(keys):
            payload = {"n": i}
            due_at = due + timedelta(microseconds=i)
            await queue.schedule(session, kind=KIND, key=key, due_at=due_at, payload=payload)
        await session.commit()


async def test_reschedule_many_moves_the_jobs_still_held_and_only_those(app: FastAPI) -> None:
    await make_jobs(app, "a", "b", "c")
    async with app.state.sessionmaker() as session:
        claimed = await queue.claim(session, now=db.utcnow(), limit=10, lease=LEASE, kinds=[KIND])
        await session.commit()
    assert [job.key for job in claimed] == ["a", "b", "c"]
    later = db.utcnow().replace(microsecond=0) + timedelta(hours=1)
    async with app.state.sessionmaker() as session:  # "c" is rescheduled by a writer: not ours
        await queue.schedule(session, kind=KIND, key="c", due_at=later, payload={"writer": 1})
        await session.commit()
    async with app.state.sessionmaker() as session:
        moves: list[tuple[queue.Claimed, Any, dict[str, Any]]] = [
            (job, later + timedelta(minutes=i), {"moved": job.key}) for i, job in enumerate(claimed)
        ]
        await queue.reschedule_many(session, moves)
        await queue.reschedule_many(session, [])  # nothing to do: no statement, no error
        await session.commit()
    found = await rows(app)
    for i, key in enumerate(["a", "b"]):
        job = found[key]
        assert (job.due_at, job.run_at) == (
            later + timedelta(minutes=i),
            later + timedelta(minutes=i),
        )
        assert job.payload == {"moved": key}
        assert (job.locked_by, job.attempts, job.last_error) == (None, 0, None)
    assert found["c"].payload == {"writer": 1} and found["c"].due_at == later


async def test_schedule_many_makes_new_jobs_and_replaces_held_ones(app: FastAPI) -> None:
    """One statement for many (over arrays on PostgreSQL): new keys made, existing ones
    replaced whatever their state (a claimed one released, its attempts reset), a key given
    twice written as its last, payloads read back as written."""
    await make_jobs(app, "a", "b")
    async with app.state.sessionmaker() as session:
        claimed = await queue.claim(session, now=db.utcnow(), limit=1, lease=LEASE, kinds=[KIND])
        await session.commit()
    assert [job.key for job in claimed] == ["a"]
    later = db.utcnow().replace(microsecond=0) + timedelta(hours=1)
    payload = {"text": "Zoë’s 🎂", "nested": {"list": [1, 2.5, None, True]}}
    async with app.state.sessionmaker() as session:
        await queue.schedule_many(
            session,
            kind=KIND,
            jobs=[
                ("a", later, payload),
                ("new", later + timedelta(minutes=1), {"n": "new"}),
                ("b", later, {"n": "first"}),
                ("b", later + timedelta(minutes=2), {"n": "last"}),
            ],
            owner_id=7,
        )
        await queue.schedule_many(session, kind=KIND, jobs=[])  # no statement, no error
        await session.commit()
    found = await rows(app)
    assert sorted(found) == ["a", "b", "new"]
    assert (found["a"].payload, found["a"].due_at, found["a"].run_at) == (payload, later, later)
    assert (found["a"].locked_by, found["a"].attempts, found["a"].owner_id) == (None, 0, 7)
    assert (found["b"].payload, found["b"].due_at) == ({"n": "last"}, later + timedelta(minutes=2))
    assert (found["new"].payload, found["new"].run_at) == (
        {"n": "new"},
        later + timedelta(minutes=1),
    )
    assert found["new"].created_at is not None and found["new"].kind == KIND


async def test_a_naive_due_time_is_refused_on_either_database(app: FastAPI) -> None:
    """As the column's type refuses one (`db.UTCDateTime`); the arrays PostgreSQL writes many
    jobs with must too (a review: they stored it as the server's local time)."""
    naive = datetime(2030, 1, 1, 12, 0)
    async with app.state.sessionmaker() as session:
        with pytest.raises(Exception, match="naive"):
            await queue.schedule_many(session, kind=KIND, jobs=[("n", naive, {})])
            await session.flush()
    assert await rows(app) == {}


async def test_jobs_taken_in_a_transaction_are_finished_or_moved_with_it(app: FastAPI) -> None:
    await make_jobs(app, "a", "b", "c")
    later = db.utcnow().replace(microsecond=0) + timedelta(hours=1)
    async with app.state.sessionmaker() as session:
        taken = await queue.take(session, now=db.utcnow(), limit=2, lease=LEASE, kinds=[KIND])
        assert [(job.key, job.token) for job in taken] == [("a", None), ("b", None)]
        assert taken[0].payload == {"n": 0}
        await queue.finish_many(session, taken[:1])
        await queue.reschedule_many(session, [(taken[1], later, {"next": True})])
        await session.commit()
    found = await rows(app)
    assert sorted(found) == ["b", "c"]
    assert (found["b"].due_at, found["b"].payload, found["b"].locked_by) == (
        later,
        {"next": True},
        None,
    )
    assert found["c"].locked_by is None and found["c"].attempts == 0  # never touched


async def test_a_taken_batch_rolled_back_is_due_again_at_once_or_postponed(app: FastAPI) -> None:
    await make_jobs(app, "a", "b")
    now = db.utcnow()
    async with app.state.sessionmaker() as session:
        taken = await queue.take(session, now=now, limit=10, lease=LEASE, kinds=[KIND])
        await queue.finish_many(session, taken)
        await session.rollback()  # the worker's transaction failed: nothing happened
    assert sorted(await rows(app)) == ["a", "b"]
    async with app.state.sessionmaker() as session:
        again = await queue.take(session, now=now, limit=10, lease=LEASE, kinds=[KIND])
        await session.rollback()
    assert [job.key for job in again] == ["a", "b"]
    soon = now + timedelta(seconds=10)  # before the postponement would end
    async with app.state.sessionmaker() as session:  # "b" moved on meanwhile: not held back
        await queue.schedule(session, kind=KIND, key="b", due_at=soon, payload={})
        await session.commit()
    async with app.state.sessionmaker() as session:
        await queue.postpone(session, again, until=now + LEASE, error="boom")
        await session.commit()
    found = await rows(app)
    assert (found["a"].run_at, found["a"].attempts, found["a"].last_error) == (
        now + LEASE,
        1,
        "boom",
    )
    assert (found["b"].run_at, found["b"].attempts) == (soon, 0)
    async with app.state.sessionmaker() as session:
        assert await queue.take(session, now=now, limit=10, lease=LEASE, kinds=[KIND]) == []


@pytest.mark.postgres  # concurrent writers: PostgreSQL (SQLite runs one writer at a time)
async def test_two_transactions_never_take_the_same_job(app: FastAPI) -> None:
    await make_jobs(app, "a", "b", "c")
    now = db.utcnow()
    async with app.state.sessionmaker() as first, app.state.sessionmaker() as second:
        mine = await queue.take(first, now=now, limit=2, lease=LEASE, kinds=[KIND])
        theirs = await queue.take(second, now=now, limit=10, lease=LEASE, kinds=[KIND])
        assert [job.key for job in mine] == ["a", "b"]
        assert [job.key for job in theirs] == ["c"]  # skipped what the first holds
        await queue.finish_many(first, mine)
        await first.commit()
        await second.rollback()
    assert sorted(await rows(app)) == ["c"]


async def test_a_burst_in_a_taking_lane_holds_the_lanes_after_it_to_the_poll(
    app: FastAPI,
) -> None:
    """While reminders fill their batch round after round, the webhook lanes claim every
    `poll_s`, not every round (each empty claim walks the burst's due rows); a claiming lane
    that fills its own batch holds nothing back."""
    await make_jobs(app, *(f"k{i}" for i in range(6)))
    claimed: list[str] = []

    async def full(now: Any, limit: int) -> int:
        return limit  # a lane that takes in one transaction, full every round

    async def record(jobs: list[queue.Claimed]) -> None:
        claimed.extend(job.key for job in jobs)
        async with app.state.sessionmaker() as session:
            await queue.finish_many(session, jobs)
            await session.commit()

    poll_s = 0.4
    lanes = [Lane(("other",), take=full, batch=5), Lane((KIND,), record, batch=1)]
    runner = Runner(app.state.sessionmaker, lanes, poll_s=poll_s, lease_s=60)
    assert [await runner.tick() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert claimed == ["k0"]  # the first round looked, the next two did not
    await asyncio.sleep(poll_s)
    await runner.tick()
    assert claimed == ["k0", "k1"]
    # No burst before it: a lane claims every round, full batch or not.
    runner = Runner(
        app.state.sessionmaker, [Lane((KIND,), record, batch=1)], poll_s=poll_s, lease_s=60
    )
    assert [await runner.tick() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert claimed == ["k0", "k1", "k2", "k3", "k4"]


async def test_a_stop_waits_its_grace_then_hands_back_what_still_runs(app: FastAPI) -> None:
    """`Runner.stop`: a job under way that finishes within the grace is done as usual; the
    inline round and the background jobs still running after it are cancelled and their
    claims made due now, attempts kept (only those still ours: one a writer rescheduled
    meanwhile keeps the writer's time)."""
    await make_jobs(app, "quick", "stuck", "moved", "inline")
    started = {key: asyncio.Event() for key in ("quick", "stuck", "moved", "inline")}

    async def background(jobs: list[queue.Claimed]) -> None:
        [job] = jobs
        started[job.key].set()
        if job.key == "quick":
            await asyncio.sleep(0.1)
            async with app.state.sessionmaker() as session:
                await queue.finish(session, job)
                await session.commit()
            return
        await asyncio.sleep(3600)

    async def inline(jobs: list[queue.Claimed]) -> None:
        started[jobs[0].key].set()
        await asyncio.sleep(3600)

    lanes = [
        Lane((KIND,), background, batch=3, background=True, concurrency=3),
        Lane(("test.inline",), inline, batch=1),
    ]
    async with app.state.sessionmaker() as session:  # "inline" to the inline lane
        await session.execute(
            Job.__table__.update().where(Job.key == "inline").values(kind="test.inline")
        )
        await session.commit()
    runner = Runner(app.state.sessionmaker, lanes, poll_s=0.1, lease_s=60, stop_grace_s=0.5)
    await runner.start()
    async with asyncio.timeout(10):
        for event in started.values():
            await event.wait()
    later = db.utcnow().replace(microsecond=0) + timedelta(hours=1)
    async with app.state.sessionmaker() as session:  # a writer moves "moved": no longer ours
        await queue.schedule(session, kind=KIND, key="moved", due_at=later, payload={})
        await session.commit()
    before = db.utcnow()
    await runner.stop()
    found = {key: job for key, job in (await rows(app)).items()}
    async with app.state.sessionmaker() as session:
        found["inline"] = (await session.scalars(select(Job).where(Job.key == "inline"))).one()
    assert "quick" not in found  # finished within the grace
    for key in ("stuck", "inline"):  # handed back: due now, claimed once
        job = found[key]
        assert job.locked_by is None and before <= job.run_at <= db.utcnow(), key
        assert job.attempts == 1, key
    assert (found["moved"].run_at, found["moved"].locked_by) == (later, None)


async def test_a_stop_during_a_round_claims_nothing_more(app: FastAPI) -> None:
    """A stop that comes while a round runs an inline lane: the lanes after it claim nothing
    (a review found them claiming and starting jobs that `stop` then neither waited for nor
    cancelled, their claims handed back while they ran: two workers on one job)."""
    await make_jobs(app, "first")
    async with app.state.sessionmaker() as session:
        await queue.schedule(
            session, kind="test.later", key="later", due_at=db.utcnow(), payload={}
        )
        await session.commit()
    started, ran = asyncio.Event(), []

    async def inline(jobs: list[queue.Claimed]) -> None:
        started.set()
        await asyncio.sleep(0.3)  # within the grace
        async with app.state.sessionmaker() as session:
            await queue.finish_many(session, jobs)
            await session.commit()

    async def background(jobs: list[queue.Claimed]) -> None:
        ran.append(jobs[0].key)
        await asyncio.sleep(2)

    lanes = [
        Lane((KIND,), inline, batch=1),
        Lane(("test.later",), background, batch=1, background=True, concurrency=1),
    ]
    runner = Runner(app.state.sessionmaker, lanes, poll_s=0.1, lease_s=60, stop_grace_s=5)
    await runner.start()
    async with asyncio.timeout(10):
        await started.wait()
    await runner.stop()
    assert ran == [] and not lanes[1].running
    async with app.state.sessionmaker() as session:
        later = (await session.scalars(select(Job).where(Job.key == "later"))).one()
    assert (later.locked_by, later.attempts) == (None, 0)  # never claimed
    assert "first" not in {job.key for job in (await rows(app)).values()}  # finished


async def owned_jobs(app: FastAPI, jobs: list[tuple[str, int]]) -> None:
    """Jobs due in the order given, each (key, owner)."""
    due = db.utcnow() - timedelta(seconds=5)
    async with app.state.sessionmaker() as session:
        for i, (key, owner) in enumerate(jobs):
            await queue.schedule(
                session,
                kind=KIND,
                key=key,
                due_at=due + timedelta(milliseconds=i),
                payload={},
                owner_id=owner,
            )
        await session.commit()


async def claim_in_turns(app: FastAPI, limit: int, *, at: Any = None) -> list[str]:
    async with app.state.sessionmaker() as session:
        claimed = await queue.claim(
            session, now=at or db.utcnow(), limit=limit, lease=LEASE, kinds=[KIND], per_owner=2
        )
        await session.commit()
    return sorted(job.key for job in claimed)


async def test_claims_in_turns_go_to_the_owner_holding_fewest_and_at_most_per_owner(
    app: FastAPI,
) -> None:
    """Owner 1's five jobs came due first, then owner 3's two, then owner 2's one. Oldest
    first would give owner 1 every slot; in turns each owner's first job goes before anyone's
    second, and nobody holds more than two (`per_owner`) at once."""
    await owned_jobs(app, [*((f"a{i}", 1) for i in range(1, 6)), ("c1", 3), ("c2", 3), ("b1", 2)])
    assert await claim_in_turns(app, 4) == ["a1", "a2", "b1", "c1"]
    assert await claim_in_turns(app, 10) == ["c2"]  # owner 1 holds two: a3 waits
    assert await claim_in_turns(app, 10) == []
    async with app.state.sessionmaker() as session:  # a1 is sent: one slot of owner 1's free
        job = await session.scalar(select(Job).where(Job.key == "a1"))
        assert job is not None
        await session.delete(job)
        await session.commit()
    assert await claim_in_turns(app, 10) == ["a3"]
    # Claims whose lease ran out (a worker that died) hold nothing: due again, in turns
    # (owner 1's a4 and a5, waiting since before, go first).
    later = db.utcnow() + LEASE + timedelta(seconds=1)
    assert await claim_in_turns(app, 10, at=later) == ["a4", "a5", "b1", "c1", "c2"]


async def test_claims_in_turns_at_once_never_pass_the_limit(app: FastAPI) -> None:
    """Six claims at the same moment, each in its own transaction (on PostgreSQL they take
    turns on an advisory lock, on SQLite on the write lock): owner 1 still holds two."""
    await owned_jobs(app, [(f"a{i}", 1) for i in range(10)] + [("b", 2)])
    claimed = await asyncio.gather(*(claim_in_turns(app, 3) for _ in range(6)))
    keys = sorted(key for keys in claimed for key in keys)
    assert keys == ["a0", "a1", "b"]
