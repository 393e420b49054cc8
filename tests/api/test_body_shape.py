"""Request bodies of too many arrays and objects (an outside attack, 2026-12-04): within the
1 MiB size limit, a MessagePack body of 1,000,000 empty arrays (one byte each) held the event
loop 1.6 s while it was decoded, before sign-in or validation, and 340,000 JSON ones 0.5 s;
anonymous, at 600 a minute per address. Now a body of more than `encoding.MAX_CONTAINERS`
arrays and objects is a 413 `payload_too_large`, told from JSON's bytes as they stream in and
by MessagePack's decoder after that many (`encoding.loads_msgpack`), and nothing is written."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import ormsgpack
import pytest
from fastapi import FastAPI

from neo_events.encoding import MAX_CONTAINERS
from tests.conftest import http_client, make_settings, serving
from tests.helpers import assert_problem, count_rows, cpu_bound, event_body, loop_pauses, register
from tests.timing import budget

pytestmark = pytest.mark.anyio

MSGPACK = {"Content-Type": "application/msgpack"}
JSON = {"Content-Type": "application/json"}


def _bombs(body: dict[str, Any]) -> list[tuple[bytes, dict[str, str]]]:
    """The body with an ignored field of empty arrays, as MessagePack (1,000,000 of them in
    1 MB) and as JSON (340,000 in 1 MB)."""
    packed = ormsgpack.packb(body | {"z": [[] for _ in range(999_900)]})
    text = orjson.dumps(body | {"z": [[] for _ in range(340_000)]})
    return [(packed, MSGPACK), (text, JSON)]


async def _warm(client: httpx.AsyncClient) -> None:
    """A first request of each encoding and a first refusal (an app's first answers cost
    ~0.3 s of setting up, whatever their input)."""
    login = {"username": "nobody", "password": "x" * 12}
    await client.post("/api/v1/auth/login", content=ormsgpack.packb(login), headers=MSGPACK)
    await client.post("/api/v1/auth/login", content=orjson.dumps(login), headers=JSON)
    await client.post("/api/v1/auth/login", content=b"[" * 60_000, headers=JSON)


async def _refused_quickly(
    client: httpx.AsyncClient, path: str, content: bytes, headers: Any
) -> None:
    async def streamed() -> AsyncIterator[bytes]:  # as a client sends it: in pieces
        for start in range(0, len(content), 65536):
            yield content[start : start + 65536]

    for sent in (content, streamed()):
        # The collector off meanwhile: a full pass over a long-lived test worker's heap cost
        # this block 0.3 s once in a full run, whatever the request (the server freezes its
        # heap at start, `gc.freeze`); decoding a bomb whole is what this bounds.
        gc.collect()
        gc.disable()
        try:
            async with loop_pauses() as pauses:
                with cpu_bound(0.3, path):  # before: 1.5-1.7 s (MessagePack), 0.5 s (JSON)
                    response = await client.post(path, content=sent, headers=headers)
        finally:
            gc.enable()
        assert_problem(response, 413, "payload_too_large")
        assert f"{MAX_CONTAINERS:,} arrays and objects" in response.json()["detail"]
        assert pauses.worst_held < budget(0.3), pauses


async def test_a_body_of_too_many_arrays_is_refused_before_it_is_decoded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    await _warm(client)
    login = {"username": "alice", "password": "x" * 12}
    for content, headers in _bombs(login):
        await _refused_quickly(client, "/api/v1/auth/login", content, headers)
    for content, headers in _bombs(event_body()):
        for who in ({}, {"Authorization": "Bearer x"}, alice.headers):
            await _refused_quickly(client, "/api/v1/events", content, headers | who)
        batch = _bombs({"events": [event_body()]})
        await _refused_quickly(
            client, "/api/v1/events/batch", batch[0][0], batch[0][1] | alice.headers
        )
        await _refused_quickly(
            client, "/api/v1/events/batch", batch[1][0], batch[1][1] | alice.headers
        )
    assert await count_rows(app, "events") == 0


async def test_a_second_content_type_does_not_hide_a_json_body(client: httpx.AsyncClient) -> None:
    """Starlette and FastAPI read the first Content-Type: so does the count (a review found a
    JSON bomb followed by `Content-Type: text/plain` decoded uncounted)."""
    [_, (text, _)] = _bombs({"username": "alice", "password": "x" * 12})
    for path in ("/api/v1/auth/login", "/api/v1/events"):
        response = await client.post(
            path,
            content=text,
            headers=[("Content-Type", "application/json"), ("Content-Type", "text/plain")],
        )
        assert_problem(response, 413, "payload_too_large")


async def test_the_login_budget_reads_a_bomb_no_further_than_the_app(
    database_url: str, data_dir: Path
) -> None:
    """With rate limits on, the per-account budget reads a login's name from its body
    (`ratelimit._peek_account`) before the app does: bounded the same way."""
    settings = make_settings(database_url, data_dir, rate_limit_enabled=True)
    async with serving(settings) as app, http_client(app) as client:
        await app.state.rate_limiter.reset()
        await _warm(client)
        for content, headers in _bombs({"username": "bob", "password": "x" * 12}):
            await _refused_quickly(client, "/api/v1/auth/login", content, headers)


async def test_the_largest_real_bodies_are_far_from_the_bound(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A batch of 200 series of 20 overrides each (~4,400 arrays and objects), in both
    encodings, and the longest description there is, all brackets (they count too), are
    taken as before."""
    alice = await register(client, "alice")
    series = event_body(is_recurring=True, recurrence_pattern="FREQ=DAILY")
    first = datetime.fromisoformat(series["start_time"])
    overrides = [
        {"recurrence_id": (first + timedelta(days=d)).isoformat(), "title": f"o{d}"}
        for d in range(20)
    ]
    items = [series | {"title": f"s{i}", "overrides": overrides} for i in range(200)]
    for content, headers in (
        (orjson.dumps({"events": items}), JSON),
        (ormsgpack.packb({"events": items}), MSGPACK),
    ):
        response = await client.post(
            "/api/v1/events/batch?conflicts=ignore",
            content=content,
            headers=headers | alice.headers,
        )
        assert response.status_code == 201, response.text[:500]
    brackets = event_body(description="[{" * 5_000)  # the longest description there is
    response = await client.post(
        "/api/v1/events", content=orjson.dumps(brackets), headers=JSON | alice.headers
    )
    assert response.status_code == 201, response.text[:500]
    assert await count_rows(app, "events") == 401
