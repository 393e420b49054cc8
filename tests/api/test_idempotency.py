"""Idempotency-Key on creates: a retry replays the first response and writes nothing twice; the
same key on another request is a 422; a retry while the first is in flight is a 409."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import ormsgpack
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from neo_events.db import utcnow
from neo_events.infra import idempotency
from neo_events.models import IdempotencyKey
from tests.helpers import assert_problem, audit_actions, count_rows, event_body, register

pytestmark = pytest.mark.anyio


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return headers | {"Idempotency-Key": key}


async def test_a_retried_create_replays_the_first_response(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    first = await client.post(
        "/api/v1/events", json=event_body(), headers=keyed(alice.headers, "k-1")
    )
    assert first.status_code == 201
    retry = await client.post(
        "/api/v1/events", json=event_body(), headers=keyed(alice.headers, "k-1")
    )
    assert retry.status_code == 201
    assert retry.json() == first.json()
    for header in ("location", "etag", "content-type"):
        assert retry.headers[header] == first.headers[header]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_rows(app, "events") == 1
    assert await count_rows(app, "event_versions") == 1
    assert [a for a in await audit_actions(app) if a[0] == "event.created"] == [
        ("event.created", "success")
    ]


async def test_a_retried_batch_replays_too(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    body = {"events": [event_body(title="One"), event_body(title="Two")]}
    first = await client.post("/api/v1/events/batch", json=body, headers=keyed(alice.headers, "b"))
    retry = await client.post("/api/v1/events/batch", json=body, headers=keyed(alice.headers, "b"))
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert await count_rows(app, "events") == 2


async def test_a_large_answer_is_kept_compressed_and_replayed_as_it_was(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """An answer past COMPRESS_FROM is kept compressed (a batch's 5 MB of clashes was kept whole
    for a day: an eighth outside attack), and a retry gets it back byte for byte."""
    alice = await register(client, "alice")
    events = [event_body(title=f"E{n}", description="agenda " * 150) for n in range(100)]
    url, body = "/api/v1/events/batch?conflicts=ignore", {"events": events}
    first = await client.post(url, json=body, headers=keyed(alice.headers, "big"))
    assert first.status_code == 201, first.text
    assert len(first.content) > idempotency.COMPRESS_FROM
    async with app.state.sessionmaker() as session:
        kept = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "big"))
        assert kept is not None
        assert len(kept.response_body) < len(first.content) / 5
    retry = await client.post(url, json=body, headers=keyed(alice.headers, "big"))
    assert retry.status_code == 201 and retry.headers[idempotency.REPLAYED_HEADER] == "true"
    assert retry.content == first.content
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert not any(name.startswith(":") for name in retry.headers)
    assert await count_rows(app, "events") == 100


async def test_the_same_content_in_another_layout_or_encoding_is_the_same_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    body = event_body()
    first = await client.post("/api/v1/events", json=body, headers=keyed(alice.headers, "same"))
    reordered = dict(reversed(list(body.items())))
    again = await client.post(
        "/api/v1/events", json=reordered, headers=keyed(alice.headers, "same")
    )
    packed = await client.post(
        "/api/v1/events",
        content=ormsgpack.packb(body),
        headers=keyed(alice.headers, "same") | {"Content-Type": "application/msgpack"},
    )
    assert again.json() == packed.json() == first.json()
    assert await count_rows(app, "events") == 1


async def test_the_same_key_on_another_request_is_a_422(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    headers = keyed(alice.headers, "reused")
    assert (
        await client.post("/api/v1/events", json=event_body(), headers=headers)
    ).status_code == 201
    other_body = await client.post(
        "/api/v1/events", json=event_body(title="Other"), headers=headers
    )
    assert_problem(other_body, 422, "idempotency_key_reused")
    other_path = await client.post(
        "/api/v1/events/batch", json={"events": [event_body()]}, headers=headers
    )
    assert_problem(other_path, 422, "idempotency_key_reused")
    other_query = await client.post(
        "/api/v1/events?conflicts=ignore", json=event_body(), headers=headers
    )
    assert_problem(other_query, 422, "idempotency_key_reused")
    assert await count_rows(app, "events") == 1


async def test_keys_belong_to_one_user(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    mine = await client.post("/api/v1/events", json=event_body(), headers=keyed(alice.headers, "k"))
    theirs = await client.post("/api/v1/events", json=event_body(), headers=keyed(bob.headers, "k"))
    assert mine.status_code == theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["owner"]["username"] == "bob"
    assert "idempotent-replayed" not in theirs.headers


async def test_a_refused_request_keeps_nothing_so_its_retry_runs(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    headers = keyed(alice.headers, "after-a-422")
    bad = await client.post(
        "/api/v1/events", json=event_body(end_time="2026-03-30T08:00:00+02:00"), headers=headers
    )
    assert_problem(bad, 422, "validation_error")
    assert await count_rows(app, "idempotency_keys") == 0
    fixed = await client.post("/api/v1/events", json=event_body(), headers=headers)
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


async def test_without_a_key_every_post_creates(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    for _ in range(2):
        response = await client.post("/api/v1/events", json=event_body(), headers=alice.headers)
        assert response.status_code == 201
    assert await count_rows(app, "events") == 2
    assert await count_rows(app, "idempotency_keys") == 0


async def test_keys_expire_after_24_hours(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    headers = keyed(alice.headers, "yesterday")
    first = await client.post("/api/v1/events", json=event_body(), headers=headers)
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=24, minutes=1))
        )
        await session.commit()
    later = await client.post("/api/v1/events", json=event_body(), headers=headers)
    assert later.status_code == 201
    assert later.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in later.headers
    assert await count_rows(app, "idempotency_keys") == 1  # the stale row made way


async def test_keys_are_bounded(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    response = await client.post(
        "/api/v1/events", json=event_body(), headers=keyed(alice.headers, "k" * 256)
    )
    assert_problem(response, 422, "validation_error")


async def test_concurrent_retries_write_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Whatever the timing, one event; each retry gets the first response or a 409."""
    alice = await register(client, "alice")
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/events", json=event_body(), headers=keyed(alice.headers, "c"))
            for _ in range(5)
        )
    )
    created = [r for r in responses if r.status_code == 201]
    assert created and all(r.status_code in (201, 409) for r in responses)
    assert all(r.json() == created[0].json() for r in created)
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "idempotency_in_progress")
    assert await count_rows(app, "events") == 1


@pytest.mark.postgres  # SQLite serialises write transactions: the retry waits, then replays
async def test_a_retry_while_the_first_is_in_flight_is_a_409(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    alice = await register(client, "alice")
    headers = keyed(alice.headers, "slow")
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as blocker, engine.connect() as observer:
            # Hold the first request inside its transaction: it takes the key, then waits here.
            await blocker.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
            first = asyncio.create_task(
                client.post("/api/v1/events", json=event_body(), headers=headers)
            )
            for _ in range(1000):  # until the first request holds the key (an advisory lock)
                held = await observer.scalar(
                    text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
                )
                await observer.rollback()
                if held:
                    break
                await asyncio.sleep(0.01)
            # Bounded: without the in-flight check the retry would queue behind the lock.
            retry = await asyncio.wait_for(
                client.post("/api/v1/events", json=event_body(), headers=headers), 10
            )
            body = assert_problem(retry, 409, "idempotency_in_progress")
            assert retry.headers["retry-after"] == "1" and body["detail"]
            await blocker.rollback()
            done = await first
    finally:
        await engine.dispose()
    assert done.status_code == 201
    replay = await client.post("/api/v1/events", json=event_body(), headers=headers)
    assert replay.json() == done.json()
    assert await count_rows(app, "events") == 1
