"""RFC 9110 §9.1/§9.3.2: every GET route answers HEAD as its GET without the body (same
status, same header fields, Content-Length and ETag included, conditional requests too),
and `Allow` lists HEAD wherever it lists GET."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import truncate_all
from tests.helpers import Account, assert_problem, count_rows, create_event, register
from tests.live import running_server

pytestmark = pytest.mark.anyio

API = "/api/v1"
# differ between any two requests
VOLATILE = {"date", "x-request-id", "ratelimit", "ratelimit-remaining", "ratelimit-reset"}


async def _same_as_get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    get = await client.get(url, params=params, headers=headers)
    head = await client.head(url, params=params, headers=headers)
    assert head.status_code == get.status_code, (url, head.status_code, head.text)
    assert head.content == b"", url

    def kept(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k not in VOLATILE}

    assert kept(head) == kept(get), url
    if get.content:
        assert head.headers["content-length"] == str(len(get.content)), url
    return get


async def test_head_of_the_api_routes_is_their_get_without_a_body(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    event = await create_event(client, alice)
    url = f"{API}/events/{event['id']}"
    versions = await count_rows(app, "event_versions")
    got = await _same_as_get(client, url, alice.headers)
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    for path in (
        f"{API}/events",
        f"{url}.ics",
        f"{url}/history",
        f"{url}/permissions",
        f"{API}/freebusy",
        "/healthz",
    ):
        await _same_as_get(client, path, alice.headers)
    metrics = await client.head("/metrics")  # the figures move with each request
    assert metrics.status_code == 200 and metrics.content == b""
    assert metrics.headers["content-type"].startswith("text/plain")
    assert int(metrics.headers["content-length"]) > 100
    counted = (await client.get("/metrics")).text  # a HEAD is counted as one, by route
    assert 'method="HEAD",route="/api/v1/events/{event_id}",status="200"' in counted
    token = (await client.post(f"{API}/feed-tokens", headers=alice.headers)).json()["token"]
    feed = await _same_as_get(client, f"{API}/calendar.ics", token=token)
    assert feed.status_code == 200 and feed.headers["etag"]
    # the /api alias, and a HEAD is no write
    await _same_as_get(client, f"/api/events/{event['id']}", alice.headers)
    packed = await _same_as_get(client, url, alice.headers | {"Accept": "application/msgpack"})
    assert packed.headers["content-type"] == "application/msgpack"
    assert await count_rows(app, "event_versions") == versions


async def test_head_of_the_web_client(client: httpx.AsyncClient) -> None:
    for path in ("/", "/app/main.js", "/app/app.css", "/app/nope.js"):
        await _same_as_get(client, path)
    assert (await client.head("/app/main.js")).headers["content-type"].startswith("text/javascript")


async def test_head_takes_conditions_and_errors_as_get_does(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice)
    url = f"{API}/events/{event['id']}"
    again = alice.headers | {"If-None-Match": '"1"'}
    not_modified = await client.head(url, headers=again)
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == '"1"'
    await _same_as_get(client, url, again)
    await _same_as_get(client, f"{url}.ics", alice.headers)
    await _same_as_get(client, f"{API}/events/{event['id'] + 100}", alice.headers)  # 404
    await _same_as_get(client, url)  # 401
    await _same_as_get(client, f"{API}/events/nope", alice.headers)  # 422


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", f"{API}/events/7.ics", "GET, HEAD"),
        ("POST", f"{API}/events/7", "GET, HEAD, PUT, PATCH, DELETE"),
        ("DELETE", f"{API}/events", "GET, HEAD, POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("POST", "/app/main.js", "GET, HEAD"),
        ("HEAD", f"{API}/auth/login", "POST"),  # no GET: no HEAD either
        ("HEAD", f"{API}/events/7/rollback/1", "POST"),
    ],
)
async def test_allow_lists_head_wherever_it_lists_get(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert_problem(response, 405, "method_not_allowed")


async def test_head_of_a_stream_ends_with_its_head(database_url: str, tmp_path: Path) -> None:
    """On a real server: HEAD of the SSE stream answers its head and ends (the stream's
    connection is released: one allowed, taken again at once), as HEAD of a page does."""
    env = {"LIVE_MAX_CONNECTIONS": "1", "LIVE_POLL_S": "0.5"}
    try:
        with running_server(database_url=database_url, data_dir=tmp_path, extra_env=env) as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                alice = await register(client, "alice")
                url = f"{API}/notifications/stream"
                for _ in range(3):
                    head = await client.head(url, params={"token": alice.access_token})
                    assert head.status_code == 200, head.text
                    assert head.headers["content-type"].startswith("text/event-stream")
                    assert head.content == b""
                page = await client.head("/")
                assert page.status_code == 200 and int(page.headers["content-length"]) > 0
    finally:
        await truncate_all(database_url)
