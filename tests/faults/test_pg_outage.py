"""PostgreSQL away under a running server (outside attack Z1): stopped or restarting (its
connections refused), starting up (FATAL 57P03 at each connect), or hung (SIGSTOP: nothing
answers). Every kind of route answers 503 problem+json `database_unavailable` with
Retry-After, never a 500, and a hung database within DB_COMMAND_TIMEOUT_S rather than as long
as it hangs; a WebSocket handshake is accepted and closed with 1013. Then, the database back,
the same server process answers again without a restart.

The database's absence is played by a proxy (`pgproxy.py`) between the server process and
the test PostgreSQL, which other tests share and which is never stopped.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.caldav.dav import app_password, basic, propfind
from tests.conftest import truncate_all
from tests.faults.pgproxy import pg_proxy
from tests.helpers import PASSWORD, event_body, register
from tests.live import LiveServer, live_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.postgres]

COMMAND_TIMEOUT_S = 2.0


async def _every_kind_of_route(server: LiveServer, ready: dict[str, Any]) -> dict[str, str]:
    """Each route class's answer, as `<status> <code>` (a 503 checked whole)."""
    headers = {"Authorization": f"Bearer {ready['token']}"}
    event = f"/api/v1/events/{ready['event']}"
    calls: dict[str, tuple[str, str, dict[str, Any]]] = {
        "me": ("GET", "/api/v1/auth/me", {"headers": headers}),
        "list": ("GET", "/api/v1/events", {"headers": headers}),
        "read": ("GET", event, {"headers": headers}),
        "edit": ("PATCH", event, {"headers": headers, "json": {"title": "while away"}}),
        "create": ("POST", "/api/v1/events", {"headers": headers, "json": event_body()}),
        "login": (
            "POST",
            "/api/v1/auth/login",
            {"json": {"username": "outage", "password": PASSWORD}},
        ),
        "feed": ("GET", "/api/v1/calendar.ics", {"params": {"token": ready["feed"]}}),
        "caldav": (
            "PROPFIND",
            "/dav/",
            {
                "headers": {"Depth": "1", **basic("outage", ready["dav"])},
                "content": propfind("d:displayname"),
            },
        ),
        "sse": ("GET", "/api/v1/notifications/stream", {"headers": headers}),
    }
    answers: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:

        async def call(name: str, method: str, url: str, kwargs: dict[str, Any]) -> None:
            response = await client.request(method, url, **kwargs)
            answer = f"{response.status_code}"
            if response.status_code == 503:
                assert response.headers["content-type"].startswith("application/problem+json")
                body = response.json()
                assert body["status"] == 503, body
                assert response.headers["retry-after"], response.headers
                answer += f" {body['code']}"
            else:
                answer += f" {response.text[:200]}"
            answers[name] = answer

        await asyncio.gather(*(call(name, *spec) for name, spec in calls.items()))
    ws = f"ws://127.0.0.1:{server.port}/api/v1/ws?token={ready['token']}"
    try:
        async with connect(ws, open_timeout=30) as socket:
            await asyncio.wait_for(socket.recv(), timeout=30)
        answers["websocket"] = "open"
    except ConnectionClosed as closed:
        received = closed.rcvd
        answers["websocket"] = f"closed {received.code} {received.reason}" if received else "?"
    except Exception as exc:  # a refused handshake (HTTP 500) and the like
        answers["websocket"] = f"{exc.__class__.__name__}: {str(exc)[:200]}"
    return answers


async def _prepare(server: LiveServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        account = await register(client, "outage")
        created = await client.post("/api/v1/events", json=event_body(), headers=account.headers)
        assert created.status_code == 201, created.text
        feed = await client.post("/api/v1/feed-tokens", json={}, headers=account.headers)
        assert feed.status_code == 201, feed.text
        return {
            "token": account.access_token,
            "event": created.json()["id"],
            "feed": feed.json()["token"],
            "dav": await app_password(client, account),
        }


UNAVAILABLE = "503 database_unavailable"
REFUSED_SOCKET = "closed 1013 database unavailable; retry shortly"


async def test_every_route_answers_503_while_postgresql_is_away_then_recovers(
    database_url: str, tmp_path: Path
) -> None:
    await truncate_all(database_url)
    env = {
        "DB_POOL_SIZE": "4",
        "DB_COMMAND_TIMEOUT_S": str(COMMAND_TIMEOUT_S),
        "DB_CONNECT_TIMEOUT_S": str(COMMAND_TIMEOUT_S),
        "JOBS_IN_SERVE": "false",
    }
    try:
        with (
            pg_proxy(database_url) as proxy,
            live_server(database_url=proxy.url, data_dir=tmp_path, extra_env=env) as server,
        ):
            ready = await _prepare(server)
            expected = dict.fromkeys(
                ("me", "list", "read", "edit", "create", "login", "feed", "caldav", "sse"),
                UNAVAILABLE,
            ) | {"websocket": REFUSED_SOCKET}
            for mode in ("refuse", "starting", "hang"):
                proxy.set_mode(mode)
                began = time.monotonic()
                answers = await _every_kind_of_route(server, ready)
                took = time.monotonic() - began
                assert answers == expected, (mode, answers, server.report())
                if mode == "hang":  # each bounded by the timeouts, not the hang
                    assert took < 6 * COMMAND_TIMEOUT_S + 10, took
                proxy.set_mode("forward")
                async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
                    headers = {"Authorization": f"Bearer {ready['token']}"}
                    for _ in range(30):  # a connection or two may still be the old ones
                        back = await client.get("/api/v1/auth/me", headers=headers)
                        if back.status_code == 200:
                            break
                        await asyncio.sleep(0.2)
                    assert back.status_code == 200, (mode, back.text)
                    edit = await client.patch(
                        f"/api/v1/events/{ready['event']}", json={"title": mode}, headers=headers
                    )
                    assert edit.status_code == 200, (mode, edit.text)
        assert not re.search(r"neo_events\.access \S+ \S+ 500$", server.log(), re.M)
        assert "Traceback" not in server.log(), server.log()[-4000:]
    finally:
        await truncate_all(database_url)
