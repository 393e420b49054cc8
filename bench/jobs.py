"""The job queue under load: reminder lateness and webhook throughput (issue #20).

`python -m bench.jobs [--database-url URL] [--reminders 10000] [--workers 2] [--gap S]
[--burst] [--skip-webhooks]`

1. Reminders: REMINDERS single events whose one-minute reminders fall due within the same
   minute (spread evenly over it, or all at one instant with --burst), then WORKERS
   `neo-events worker` processes. Lateness is measured twice: the reminder.due feed row's
   time (stamped before its transaction commits) minus its due time, and the time this
   process first saw the committed row (it looks every 20 ms) minus its due time — what a
   connected client sees, but for the hub's wake-up (milliseconds).
2. Webhooks: webhooks of that user on a receiver in this process (127.0.0.1), each sent
   the last MESSAGES reminder.due messages; throughput is messages received per second.

The database is emptied and migrated first: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events import db
from neo_events.audit.service import Origin
from neo_events.cli import alembic_config
from neo_events.jobs.worker import secret_box
from neo_events.models import (
    Change,
    Event,
    EventPermission,
    FeedState,
    Job,
    Reminder,
    User,
    Webhook,
)
from neo_events.reminders.firing import KIND, job_key
from neo_events.settings import Settings
from neo_events.webhooks.schemas import WebhookCreate
from neo_events.webhooks.service import create_webhook

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"
SEEN_POLL_S = 0.02


def _reset(url: str) -> None:
    async def drop() -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    if url.startswith("postgresql"):
        asyncio.run(drop())
    command.upgrade(alembic_config(url), "head")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _workers(
    url: str, n: int, data_dir: Path, env: dict[str, str]
) -> list[subprocess.Popen[bytes]]:
    full = os.environ | {"DATABASE_URL": url, "SECRET_KEY": SECRET, "DATA_DIR": str(data_dir)}
    full |= {"LOG_JSON": "false"} | env
    full.pop("REDIS_URL", None)
    return [
        subprocess.Popen(
            [sys.executable, "-m", "neo_events.cli", "worker"],
            cwd=ROOT,
            env=full,
            stdout=(data_dir / f"worker-{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in range(n)
    ]


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
    for process in processes:
        process.wait(timeout=30)


async def _setup(settings: Settings, count: int, first_due: datetime, burst: bool) -> int:
    """One user, `count` single events and a one-minute reminder on each, due from
    `first_due` over one minute (or all at it): rows as the API would write them (event,
    owner role, reminder, its job), inserted in bulk so that set-up takes seconds."""
    spread = timedelta(0) if burst else timedelta(minutes=1) / count
    engine = db.create_engine(settings)
    now = db.utcnow()
    async with db.create_sessionmaker(engine)() as session:
        user = User(
            username="bench",
            username_key="bench",
            email="b@example.com",
            email_key="b@example.com",
            password_hash="x",
        )
        session.add(user)
        await session.flush()
        starts = [first_due + timedelta(minutes=1) + spread * i for i in range(count)]
        event_rows = [
            {
                "owner_id": user.id,
                "title": f"R{i}",
                "start_time": start,
                "end_time": start + timedelta(minutes=30),
                "timezone": "UTC",
                "is_recurring": False,
                "exdates": [],
                "overrides": [],
                "span_start": start,
                "span_end": start + timedelta(minutes=30),
                "version": 1,
                "created_at": now,
                "created_by_id": user.id,
                "updated_at": now,
                "updated_by_id": user.id,
            }
            for i, start in enumerate(starts)
        ]
        ids = list(await session.scalars(insert(Event).returning(Event.id), event_rows))
        await session.execute(
            insert(EventPermission),
            [{"event_id": i, "user_id": user.id, "role": "owner"} for i in ids],
        )
        reminder_ids = list(
            await session.scalars(
                insert(Reminder).returning(Reminder.id),
                [{"user_id": user.id, "event_id": i, "minutes_before": 1} for i in ids],
            )
        )
        await session.execute(
            insert(Job),
            [
                {
                    "kind": KIND,
                    "key": job_key(rid),
                    "payload": {"reminder_id": rid, "occurrence_start": None},
                    "due_at": start - timedelta(minutes=1),
                    "run_at": start - timedelta(minutes=1),
                    "attempts": 0,
                }
                for rid, start in zip(reminder_ids, starts, strict=True)
            ],
        )
        await session.commit()
        user_id = user.id
    await engine.dispose()
    return user_id


async def _lateness(
    settings: Settings, count: int, within: float
) -> tuple[list[float], list[float]]:
    """Each reminder's lateness twice: by its feed row's `at` (stamped when the worker wrote
    it, before its transaction committed) and as a reader of the feed saw it (the commit,
    looked for every SEEN_POLL_S: at most that much later than a woken client)."""
    engine = db.create_engine(settings)
    deadline = time.monotonic() + within
    stamped: list[float] = []
    seen: list[float] = []
    last = 0
    async with db.create_sessionmaker(engine)() as session:
        while time.monotonic() < deadline and len(seen) < count:
            rows = (
                await session.execute(
                    select(Change.seq, Change.at, Change.changes)
                    .where(Change.type == "reminder.due", Change.seq > last)
                    .order_by(Change.seq)
                )
            ).all()
            now = datetime.now(UTC)
            await session.rollback()
            for seq, at, details in rows:
                due = datetime.fromisoformat(details["occurrence_start"]) - timedelta(
                    minutes=details["minutes_before"]
                )
                stamped.append((at - due).total_seconds())
                seen.append((now - due).total_seconds())
                last = max(last, seq)
            await asyncio.sleep(SEEN_POLL_S)
    await engine.dispose()
    return stamped, seen


async def _webhooks(
    settings: Settings,
    user_id: int,
    hooks: int,
    messages: int,
    url: str,
    data_dir: Path,
    workers: int,
) -> str:
    from tests.receiver import Receiver

    receiver = Receiver()
    receiver.url = url.replace("PORT", str(receiver.port))
    await receiver.start()
    engine = db.create_engine(settings)
    async with db.create_sessionmaker(engine)() as session:
        user = await session.get(User, user_id)
        assert user is not None
        head = int(await session.scalar(select(FeedState.last_seq)) or 0)
        for _ in range(hooks):
            hook, _ = await create_webhook(
                session,
                actor=user,
                data=WebhookCreate(url=receiver.url, events=["reminder.due"]),
                box=secret_box(settings),
                production=False,
                allow_private=True,
                origin=Origin(),
            )
            await session.execute(
                update(Webhook).where(Webhook.id == hook.id).values(after_seq=head - messages)
            )
        await session.commit()
    await engine.dispose()
    procs = _workers(settings.database_url, workers, data_dir, {"WEBHOOK_ALLOW_PRIVATE": "true"})
    try:
        await receiver.wait_for(hooks * messages, within=600)
    finally:
        _stop(procs)
        await receiver.stop()
    total = hooks * messages
    elapsed = receiver.times[-1] - receiver.times[0]
    return (
        f"webhooks: {hooks} × {messages} messages, {workers} workers: {total} received in "
        f"{elapsed:.1f} s (first to last) = {total / elapsed:.0f}/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"),
    )
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--burst", action="store_true", help="all due at one instant")
    parser.add_argument(
        "--lead", type=float, default=40.0, help="seconds from now to the first due time"
    )
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument(
        "--gap", type=float, default=None, help="JOBS_GAP_S for the workers (default: theirs)"
    )
    parser.add_argument("--skip-webhooks", action="store_true", help="reminders only")
    args = parser.parse_args()
    url = args.database_url
    if not url:
        raise SystemExit("give --database-url (a scratch PostgreSQL database)")
    data_dir = Path("/tmp/bench-jobs")
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=url, secret_key=SECRET, data_dir=data_dir)
    _reset(url)
    began = time.monotonic()
    first_due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=args.lead)
    user_id = asyncio.run(_setup(settings, args.reminders, first_due, args.burst))
    print(f"setup: {args.reminders} events and reminders in {time.monotonic() - began:.1f} s")
    env = {"JOBS_GAP_S": str(args.gap)} if args.gap is not None else {}
    procs = _workers(url, args.workers, data_dir, env)
    try:
        stamped, seen = asyncio.run(
            _lateness(
                settings, args.reminders, (first_due - datetime.now(UTC)).total_seconds() + 300
            )
        )
    finally:
        _stop(procs)
    shape = "at one instant" if args.burst else "spread over one minute"
    gap = f", JOBS_GAP_S={args.gap}" if args.gap is not None else ""
    print(f"reminders: {len(seen)}/{args.reminders} due {shape}, {args.workers} workers{gap}")
    for name, late in (("stamped", stamped), ("committed", seen)):
        if late:
            print(
                f"  lateness s, {name}: p50 {statistics.median(late):.3f}  "
                f"p95 {_percentile(late, 95):.3f}  p99 {_percentile(late, 99):.3f}  "
                f"max {max(late):.3f}  min {min(late):.3f}"
            )
    if args.skip_webhooks:
        return
    for hooks, messages in ((1, args.messages), (4, args.messages // 2)):
        _reset_webhooks(url)
        print(
            asyncio.run(
                _webhooks(
                    settings,
                    user_id,
                    hooks,
                    messages,
                    "http://127.0.0.1:PORT/hook",
                    data_dir,
                    args.workers,
                )
            )
        )


def _reset_webhooks(url: str) -> None:
    async def clear() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM webhooks"))
            await conn.execute(text("DELETE FROM jobs"))
        await engine.dispose()

    asyncio.run(clear())


if __name__ == "__main__":
    main()
