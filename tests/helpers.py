"""Small helpers the API tests share: sign-up, auth headers, counting rows."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select

from neo_events.db import Base
from neo_events.models import Change, ChangeRecipient, User
from tests.timing import budget

PASSWORD = "correct horse battery"


@dataclass
class Account:
    id: int
    username: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register(client: httpx.AsyncClient, username: str, **extra: Any) -> Account:
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    body.update(extra)
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    return Account(
        id=data["user"]["id"],
        username=data["user"]["username"],
        email=data["user"]["email"],
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
    )


async def count_rows(app: FastAPI, table: str, **where: Any) -> int:
    """Rows in a table (optionally filtered by column equality), read straight from the database."""
    model_table = Base.metadata.tables[table]
    query = select(func.count()).select_from(model_table)
    for column, value in where.items():
        query = query.where(model_table.c[column] == value)
    async with app.state.sessionmaker() as session:
        return int((await session.execute(query)).scalar_one())


async def audit_actions(app: FastAPI) -> list[tuple[str, str]]:
    """(action, outcome) of every audit row, oldest first."""
    table = Base.metadata.tables["audit_log"]
    async with app.state.sessionmaker() as session:
        rows = await session.execute(select(table.c.action, table.c.outcome).order_by(table.c.id))
        return [(row.action, row.outcome) for row in rows]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    for key in ("type", "title", "detail"):
        assert isinstance(body[key], str) and body[key]
    return body


async def hung_up(
    app: FastAPI, path: str, headers: list[tuple[bytes, bytes]]
) -> list[dict[str, Any]]:
    """The ASGI messages the app sends for a POST whose body never arrives: the client hangs
    up (`http.disconnect`) after its head. Raw ASGI, since an HTTP client cannot be made to
    hang up mid-request on cue."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return sent


def event_body(**overrides: Any) -> dict[str, Any]:
    """A valid event body; keyword arguments replace fields."""
    body: dict[str, Any] = {
        "title": "Standup",
        "description": "Daily sync",
        "start_time": "2026-03-30T09:00:00+02:00",
        "end_time": "2026-03-30T09:15:00+02:00",
        "timezone": "Europe/Berlin",
        "location": "Room 1",
    }
    body.update(overrides)
    return body


async def create_event(
    client: httpx.AsyncClient, owner: Account, **overrides: Any
) -> dict[str, Any]:
    return await created(client, owner, event_body(**overrides))


async def created(
    client: httpx.AsyncClient, owner: Account, body: dict[str, Any], **params: str
) -> dict[str, Any]:
    """The event `body` makes, sent as it is (no default times added: an all-day body must
    carry none), with the query `params` (`conflicts="ignore"`); a 201 is expected."""
    response = await client.post("/api/v1/events", params=params, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def created_many(
    client: httpx.AsyncClient, owner: Account, bodies: list[dict[str, Any]]
) -> list[int]:
    """The events `bodies` make, 500 to a batch request, without conflict checks: their ids
    (a big calendar's setup)."""
    ids: list[int] = []
    for first in range(0, len(bodies), 500):
        response = await client.post(
            "/api/v1/events/batch",
            params={"conflicts": "ignore"},
            json={"events": bodies[first : first + 500]},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
        ids += [event["id"] for event in response.json()["items"]]
    return ids


async def share(
    client: httpx.AsyncClient, owner: Account, event_id: int, user: Account, role: str
) -> None:
    response = await client.post(
        f"/api/v1/events/{event_id}/share",
        json={"users": [{"user_id": user.id, "role": role}]},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every statement the app's engine runs meanwhile for this task: the requests the test
    sends (the ASGI transport runs them in the test's task), not the job and webhook
    pollers' own."""
    seen: list[str] = []
    engine = app.state.engine.sync_engine
    task = asyncio.current_task()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if asyncio.current_task() is task:
            seen.append(" ".join(statement.split()))

    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)


async def cache_lookups(
    client: httpx.AsyncClient, cache: str = "expansions"
) -> tuple[float, float]:
    """The app's look-ups in one of its caches so far, (hits, misses), as /metrics counts
    them: how many events a request expanded (or read), whatever the machine's speed."""
    text = (await client.get("/metrics")).text

    def value(result: str) -> float:
        found = re.search(
            rf'neo_cache_requests_total\{{cache="{cache}",result="{result}"\}} ([0-9.e+]+)', text
        )
        return float(found.group(1)) if found else 0.0

    return value("hit"), value("miss")


@contextmanager
def cpu_bound(seconds: float, what: str = "") -> Iterator[None]:
    """The block costs this process (the in-process app and the test's client) less than
    `seconds` of CPU on a quick machine (`budget`): a generous bound proving a worst input is
    not seconds or minutes (the exact figures belong in BENCHMARKS.md)."""
    started = time.process_time()
    yield
    spent = time.process_time() - started
    bound = budget(seconds)
    assert spent < bound, f"{what or 'the block'} took {spent:.2f} s of CPU (bound {bound:.2f} s)"


@dataclass
class LoopPauses:
    """The event loop's longest pause while the block ran (`worst`, wall seconds late), and
    the longest stretch of the loop's own thread's CPU within one pause (`worst_held`): the
    latter is what code on the loop held it for, whatever else the machine was doing."""

    worst: float = 0.0
    worst_held: float = 0.0


@asynccontextmanager
async def loop_pauses(tick: float = 0.01) -> AsyncIterator[LoopPauses]:
    """Measure the pauses of the running event loop, from a task that sleeps `tick` in a loop
    (the app runs in this process and loop, behind httpx's ASGI transport)."""
    found = LoopPauses()
    loop = asyncio.get_running_loop()

    async def watch() -> None:
        while True:
            asked, held_from = loop.time(), time.thread_time()
            await asyncio.sleep(tick)
            found.worst = max(found.worst, loop.time() - asked - tick)
            found.worst_held = max(found.worst_held, time.thread_time() - held_from)

    task = loop.create_task(watch())
    try:
        yield found
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def people(app: FastAPI, count: int) -> list[int]:
    """`count` users written straight to the database (signing up hashes a password each)."""
    rows = [
        {
            "username": f"p{n}",
            "username_key": f"p{n}",
            "email": f"p{n}@example.com",
            "email_key": f"p{n}@example.com",
            "password_hash": "x",
        }
        for n in range(count)
    ]
    async with app.state.sessionmaker() as session:
        ids = list((await session.execute(insert(User).returning(User.id), rows)).scalars())
        await session.commit()
    return ids


async def change_recipients(app: FastAPI, event_id: int, version: int) -> list[int]:
    """Whom the change-feed row of one version of an event is for."""
    query = (
        select(ChangeRecipient.user_id)
        .join(Change, Change.seq == ChangeRecipient.seq)
        .where(Change.event_id == event_id, Change.version == version)
        .order_by(ChangeRecipient.user_id)
    )
    async with app.state.sessionmaker() as session:
        return list((await session.execute(query)).scalars())


@contextmanager
def trickling(socks: list[socket.socket], every_s: float) -> Iterator[None]:
    """A byte to each of `socks` every `every_s` (slow clients' bodies), from a thread, until
    the block ends; the sockets are closed then."""
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(every_s):
            for sock in socks:
                with suppress(OSError):
                    sock.sendall(b" ")

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        yield
    finally:
        stop.set()
        sender.join(10)
        for sock in socks:
            sock.close()
