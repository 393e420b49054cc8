"""Every error is problem+json with a stable code: routing, methods, bodies, crashes."""

from __future__ import annotations

import gc
import time

import httpx
import pytest
from fastapi import FastAPI

from neo_events.main import create_app
from neo_events.settings import Settings
from neo_events.web import _resources
from tests.conftest import http_client
from tests.helpers import assert_problem, hung_up

pytestmark = pytest.mark.anyio


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nope"), 404, "not_found")
    assert_problem(await client.get("/nope"), 404, "not_found")


async def test_wrong_method_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/auth/login")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_a_workers_first_request_does_not_build_the_method_table(
    app: FastAPI, settings: Settings
) -> None:
    """The table of each path's methods (`web.route_table`) costs ~60 ms to build, most of it
    FastAPI working out each route's context on first use: the lifespan builds it, so the
    first request of a worker no longer holds its event loop for that long."""
    unstarted = create_app(settings)  # a worker's app before its lifespan: nothing built
    gc.disable()
    try:
        began = time.process_time()
        _resources(unstarted.router.routes)
        building = time.process_time() - began
        async with http_client(app) as client:
            began = time.process_time()
            response = await client.delete("/api/v1/auth/login")  # the table answers it
            first = time.process_time() - began
    finally:
        gc.enable()
    assert_problem(response, 405, "method_not_allowed")
    assert first < building / 2, (first, building)


async def test_bodies_over_one_mebibyte_are_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    big = b'{"username": "' + b"x" * (1024 * 1024) + b'"}'
    response = await client.post(
        "/api/v1/auth/register", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_streamed_body_without_length_is_limited(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    response = await client.post(
        "/api/v1/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=b"username=a",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "unsupported_media_type")


async def test_malformed_json_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_unexpected_errors_are_bare_500_problems(own_app: FastAPI) -> None:
    app = own_app

    @app.get("/api/v1/_boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/_boom", headers={"X-Request-ID": "req-42"})
    body = assert_problem(response, 500, "internal_error")
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"] == "req-42"


@pytest.mark.parametrize("path", ["/api/auth/me", "/api/v1/auth/me"])
async def test_api_alias_serves_the_same_routes(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path), 401, "not_authenticated")


async def test_alias_is_not_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/v1/auth/login" in paths
    assert not [p for p in paths if p.startswith("/api/") and not p.startswith("/api/v1/")]


async def test_a_client_that_hangs_up_before_its_body_is_no_server_error(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """The body never arrives, the connection closes (a load generator stopping while its
    login waited): logged as 499, not as an unexpected error and a 500."""
    sent = await hung_up(
        app,
        "/api/v1/auth/login",
        [(b"content-type", b"application/json"), (b"content-length", b"40")],
    )
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 499
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
