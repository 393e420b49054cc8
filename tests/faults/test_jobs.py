"""The job queue across real processes: `neo-events serve` and `neo-events worker`.

- a reminder reaches a real WebSocket within 5 s of its due time;
- a worker killed (-9) in the middle of a webhook delivery leaves it to another worker once
  the lease ends: delivered afterwards, with the same `webhook-id`, recorded once;
- two workers on PostgreSQL with a few hundred reminders due at the same moment send each
  exactly once;
- a worker stopped (SIGTERM) in the middle of a delivery records it before it exits, and one
  whose receiver holds the request past the stop's grace hands its claim back: the next
  worker sends it at once, not when the lease ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

from neo_events import db
from neo_events.audit.service import Origin
from neo_events.main import create_app
from neo_events.models import Change, User
from neo_events.reminders.service import set_reminders
from tests.conftest import http_client, make_settings, truncate_all
from tests.helpers import register
from tests.live import ROOT, running_server
from tests.receiver import Receiver

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SECRET = "live-test-secret-key-that-is-long-enough-xx"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@contextmanager
def worker(
    database_url: str, data_dir: Path, env: dict[str, str], name: str, niceness: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    """A `neo-events worker` process (its own process group, `nice`d by `niceness`), killed
    afterwards."""
    full = (
        os.environ
        | {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": SECRET,
            "LOG_JSON": "false",
        }
        | env
    )
    full.pop("REDIS_URL", None)
    with (data_dir / f"worker-{name}.log").open("wb") as log:
        process = subprocess.Popen(
            ["nice", "-n", str(niceness), sys.executable, "-m", "neo_events.cli", "worker"],
            cwd=ROOT,
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait(timeout=10)


@pytest.fixture
async def cleanup(database_url: str) -> AsyncIterator[None]:
    yield
    await truncate_all(database_url)


async def reminder_count(database_url: str) -> tuple[int, int]:
    """(reminder.due rows, distinct events among them), straight from the database."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(func.count(), func.count(func.distinct(Change.event_id))).where(
                        Change.type == "reminder.due"
                    )
                )
            ).one()
            return int(row[0]), int(row[1])
    finally:
        await engine.dispose()


async def _first_reminder_on_sse(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[dict[str, Any], datetime]:
    """The first `reminder.due` of an SSE stream, and when it arrived."""
    async with client.stream("GET", "/api/v1/notifications/stream", headers=headers) as response:
        assert response.status_code == 200
        data: dict[str, Any] | None = None
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
            elif line == "" and data is not None:
                if data.get("type") == "reminder.due":
                    return data, datetime.now(UTC)
                data = None
    raise AssertionError("the stream ended before a reminder")


async def test_a_reminder_reaches_a_websocket_and_an_sse_stream_within_five_seconds(
    database_url: str, tmp_path: Path, cleanup: None
) -> None:
    env = {"JOBS_POLL_S": "0.2", "LIVE_POLL_S": "0.5"}
    with running_server(database_url=database_url, data_dir=tmp_path, extra_env=env) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            alice = await register(client, "alice")
            start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=70)
            response = await client.post(
                "/api/v1/events",
                json={
                    "title": "Demo",
                    "start_time": iso(start),
                    "end_time": iso(start + timedelta(hours=1)),
                },
                headers=alice.headers,
            )
            event = response.json()
            ws_url = base.replace("http://", "ws://") + f"/api/v1/ws?token={alice.access_token}"
            sse = asyncio.create_task(_first_reminder_on_sse(client, alice.headers))
            async with connect(ws_url) as ws:
                response = await client.put(
                    f"/api/v1/events/{event['id']}/reminders",
                    json={"reminders": [{"minutes_before": 1}]},
                    headers=alice.headers,
                )
                assert response.status_code == 200
                while True:
                    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if message.get("type") == "reminder.due":
                        break
                arrived = datetime.now(UTC)
            streamed, streamed_at = await asyncio.wait_for(sse, 30)
    due = start - timedelta(minutes=1)
    assert timedelta(0) <= arrived - due < timedelta(seconds=5), arrived - due
    assert timedelta(0) <= streamed_at - due < timedelta(seconds=5), streamed_at - due
    assert streamed == message
    assert message == {
        "type": "reminder.due",
        "event_id": event["id"],
        "occurrence_start": iso(start),
        "title": "Demo",
        "minutes_before": 1,
        "seq": message["seq"],
    }


async def test_a_worker_killed_mid_delivery_is_taken_over_after_its_lease(
    database_url: str, tmp_path: Path, cleanup: None
) -> None:
    receiver = Receiver()
    receiver.hang = True  # holds the first request: the worker is "mid-delivery"
    await receiver.start()
    jobs = {
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_TIMEOUT_S": "4",
        "JOBS_LEASE_S": "10",
        "JOBS_POLL_S": "0.2",
    }
    try:
        with running_server(
            database_url=database_url,
            data_dir=tmp_path,
            extra_env={"JOBS_IN_SERVE": "false", "WEBHOOK_ALLOW_PRIVATE": "true"},
        ) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                alice = await register(client, "alice")
                hook = (
                    await client.post(
                        "/api/v1/webhooks",
                        json={"url": receiver.url, "events": ["*"]},
                        headers=alice.headers,
                    )
                ).json()
                await client.post(
                    "/api/v1/events",
                    json={
                        "title": "X",
                        "start_time": "2027-01-01T10:00:00Z",
                        "end_time": "2027-01-01T11:00:00Z",
                    },
                    headers=alice.headers,
                )
                with worker(database_url, tmp_path, jobs, "a") as first:
                    try:
                        await receiver.wait_for(1, within=60)
                    except TimeoutError:
                        raise AssertionError((tmp_path / "worker-a.log").read_text()) from None
                    os.killpg(first.pid, 9)  # kill -9 while the POST is in flight
                    first.wait(timeout=10)
                killed_at = datetime.now(UTC)
                receiver.hang = False
                with worker(database_url, tmp_path, jobs, "b"):
                    await receiver.wait_for(2, within=40)
                    for _ in range(50):
                        log = (
                            await client.get(
                                f"/api/v1/webhooks/{hook['id']}/deliveries", headers=alice.headers
                            )
                        ).json()["items"]
                        if log and log[0]["status"] == "delivered":
                            break
                        await asyncio.sleep(0.2)
                    retaken_after = datetime.now(UTC) - killed_at
                    await asyncio.sleep(1)
    finally:
        await receiver.stop()
    assert len(receiver.got) == 2
    first_try, second_try = receiver.got
    assert first_try.headers["webhook-id"] == second_try.headers["webhook-id"]
    assert first_try.body == second_try.body
    [delivery] = log
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert retaken_after > timedelta(seconds=3)  # not before the lease ran out


async def _reminders_due_soon(database_url: str, tmp_path: Path, count: int) -> datetime:
    """`count` events of alice's, each with a reminder due at one instant about 30 s from now
    (returned). Set up through the app in-process (a batch create, then the reminders service
    in one transaction: 300 HTTP PUTs take longer than a loaded CI box leaves before the due
    time); the workers are the tests' own processes."""
    settings = make_settings(database_url, tmp_path, jobs_in_serve=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app), http_client(app) as client:
        alice = await register(client, "alice")
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=90)
        body = {
            "events": [
                {
                    "title": f"E{i}",
                    "start_time": iso(start),
                    "end_time": iso(start + timedelta(minutes=30)),
                }
                for i in range(count)
            ]
        }
        response = await client.post(
            "/api/v1/events/batch?conflicts=ignore", json=body, headers=alice.headers
        )
        assert response.status_code == 201, response.text
        ids = [item["id"] for item in response.json()["items"]]
        async with app.state.sessionmaker() as session:
            user = await session.get(User, alice.id)
            assert user is not None
            for event_id in ids:
                await set_reminders(
                    session, actor=user, event_id=event_id, minutes=[1], origin=Origin()
                )
            await db.commit(session)
    due = start - timedelta(minutes=1)
    assert datetime.now(UTC) < due - timedelta(seconds=5), "setup too slow"
    return due


async def _until_sent(database_url: str, count: int) -> tuple[int, int]:
    """(sent, distinct) once `count` are sent (30 s at most), and 2 s more for duplicates."""
    for _ in range(300):
        sent, _ = await reminder_count(database_url)
        if sent >= count:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    return await reminder_count(database_url)


@pytest.mark.postgres  # several workers on one database: PostgreSQL
async def test_two_workers_send_each_of_hundreds_of_due_reminders_once(
    database_url: str, tmp_path: Path, cleanup: None
) -> None:
    """Two `neo-events worker` processes race for the due jobs."""
    count = 300
    due = await _reminders_due_soon(database_url, tmp_path, count)
    env = {"JOBS_POLL_S": "0.2", "JOBS_BATCH": "50"}
    with worker(database_url, tmp_path, env, "a"), worker(database_url, tmp_path, env, "b"):
        await asyncio.sleep((due - datetime.now(UTC)).total_seconds())
        sent, distinct = await _until_sent(database_url, count)
    assert (sent, distinct) == (count, count)
    logs = [(tmp_path / f"worker-{n}.log").read_text() for n in ("a", "b")]
    assert not any("Traceback" in log for log in logs), logs


async def test_a_worker_killed_mid_burst_leaves_each_reminder_to_be_sent_once_by_the_next(
    database_url: str, tmp_path: Path, cleanup: None
) -> None:
    """kill -9 of the worker sending a burst of reminders, then a new worker (a crash and a
    restart): every reminder is sent exactly once. What the killed worker took and had not
    committed is rolled back with it and taken again by the next."""
    count = 300
    due = await _reminders_due_soon(database_url, tmp_path, count)
    env = {"JOBS_POLL_S": "0.2", "JOBS_BATCH": "5"}  # 60 transactions: the kill lands mid-burst
    # At a lower priority than this test: on a machine busy with other work (the suite's
    # other processes), the burst then slows before the test's polling does, and the kill
    # still lands in it (once, all 300 were sent before the test ran again).
    with worker(database_url, tmp_path, env, "killed", niceness=15) as first:
        await asyncio.sleep((due - datetime.now(UTC)).total_seconds())
        for _ in range(1_500):
            if (await reminder_count(database_url))[0] > 0:
                break
            await asyncio.sleep(0.02)
        os.killpg(first.pid, 9)
        first.wait(timeout=10)
    killed_at, _ = await reminder_count(database_url)
    assert 0 < killed_at < count, f"the kill came after {killed_at} of {count}"
    with worker(database_url, tmp_path, env, "next"):
        sent, distinct = await _until_sent(database_url, count)
    assert (sent, distinct) == (count, count)
    log = (tmp_path / "worker-next.log").read_text()
    assert "Traceback" not in log, log


@asynccontextmanager
async def _one_delivery(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> AsyncIterator[tuple[httpx.AsyncClient, Any, Any]]:
    """A server without jobs of its own, alice, her webhook to `receiver` (started here) and
    an event created: one delivery for the test's workers to send."""
    await receiver.start()
    serve = {"JOBS_IN_SERVE": "false", "WEBHOOK_ALLOW_PRIVATE": "true"}
    try:
        with running_server(database_url=database_url, data_dir=tmp_path, extra_env=serve) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                alice = await register(client, "alice")
                hook = await client.post(
                    "/api/v1/webhooks",
                    json={"url": receiver.url, "events": ["*"]},
                    headers=alice.headers,
                )
                body = {"title": "X", "start_time": "2027-01-01T10:00:00Z",
                        "end_time": "2027-01-01T11:00:00Z"}  # fmt: skip
                made = await client.post("/api/v1/events", json=body, headers=alice.headers)
                assert made.is_success
                yield client, alice, hook.json()
    finally:
        await receiver.stop()


async def _deliveries(client: httpx.AsyncClient, alice: Any, hook: Any) -> list[dict[str, Any]]:
    path = f"/api/v1/webhooks/{hook['id']}/deliveries"
    items: list[dict[str, Any]] = (await client.get(path, headers=alice.headers)).json()["items"]
    return items


async def _stopped(process: subprocess.Popen[bytes], within: float) -> int:
    """SIGTERM, and the exit code once it has exited (failing if it takes over `within` s);
    the receiver, on this event loop, answers meanwhile."""
    os.killpg(process.pid, 15)
    return await asyncio.to_thread(process.wait, timeout=within)


# A lease far longer than the tests wait: what they see is never a lease that ran out.
STOPPING = {"WEBHOOK_ALLOW_PRIVATE": "true", "JOBS_LEASE_S": "120", "JOBS_POLL_S": "0.2"}


async def test_a_worker_stopped_mid_delivery_records_it_before_it_exits(
    database_url: str, tmp_path: Path, cleanup: None
) -> None:
    receiver = Receiver()
    receiver.delay = 1.5  # the POST is still in flight when the worker is told to stop
    async with _one_delivery(database_url, tmp_path, receiver) as (client, alice, hook):
        with worker(database_url, tmp_path, STOPPING, "a") as process:
            await receiver.wait_for(1, within=60)
            code = await _stopped(process, within=10)
        log = await _deliveries(client, alice, hook)
    assert code == 0, (tmp_path / "worker-a.log").read_text()
    [delivery] = log
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1, delivery
    assert len(receiver.got) == 1


async def test_a_worker_stopped_past_its_grace_hands_the_delivery_back_at_once(
    database_url: str, tmp_path: Path, cleanup: None
) -> None:
    receiver = Receiver()
    receiver.hang = True  # holds the request past the stop's grace
    jobs = STOPPING | {"JOBS_STOP_GRACE_S": "1"}
    async with _one_delivery(database_url, tmp_path, receiver) as (client, alice, hook):
        with worker(database_url, tmp_path, jobs, "a") as first:
            await receiver.wait_for(1, within=60)
            code = await _stopped(first, within=10)
        stopped_at = datetime.now(UTC)
        receiver.hang = False
        with worker(database_url, tmp_path, jobs, "b"):
            await receiver.wait_for(2, within=30)  # the lease has 120 s to go
            retaken_after = datetime.now(UTC) - stopped_at
            for _ in range(50):
                log = await _deliveries(client, alice, hook)
                if log[0]["status"] == "delivered":
                    break
                await asyncio.sleep(0.2)
    assert code == 0, (tmp_path / "worker-a.log").read_text()
    assert "handed back 1 claimed jobs" in (tmp_path / "worker-a.log").read_text()
    assert retaken_after < timedelta(seconds=30)
    first_try, second_try = receiver.got
    assert first_try.headers["webhook-id"] == second_try.headers["webhook-id"]
    [delivery] = log
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1, delivery
