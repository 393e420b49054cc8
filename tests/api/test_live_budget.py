"""WebSocket handshakes are charged to the request budgets (an outside attack, 2026-12-04).

The rate limiter looked at HTTP requests only: one signed-in user reconnected 1,750 times a
minute with `since=0`, each replaying 200 messages (~28 ms of CPU), her HTTP budget untouched;
one address opened 11,975 anonymous handshakes a minute, each reading the feed's position from
the database before the token was looked at. Now a handshake is charged like a request (per
user from its token, per IP without one) and, over budget, accepted and closed with 1013 and
`rate limited; retry in <n> s`; and a token is checked for signature and expiry before any
query. The in-process tests drive the app's ASGI interface (httpx's transport has no
WebSocket); the last one talks to two server processes sharing Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.api.test_ratelimit import forget_budgets
from tests.conftest import http_client, make_settings, serving, truncate_all
from tests.helpers import register, statements
from tests.live import running_server

pytestmark = pytest.mark.anyio

DEFAULT = 5
WS = "/api/v1/ws"


@pytest.fixture(params=["memory", "redis"])
async def limited(
    request: pytest.FixtureRequest, database_url: str, data_dir: Path
) -> AsyncIterator[FastAPI]:
    """The app with a budget of DEFAULT requests a minute, in memory or in Redis."""
    redis_url = None if request.param == "memory" else request.getfixturevalue("redis_url")
    settings = make_settings(
        database_url,
        data_dir,
        rate_limit_enabled=True,
        rate_limit_default=f"{DEFAULT}/minute",
        redis_url=redis_url,
        live_heartbeat_s=0.1,
    )
    async with serving(settings) as app:
        await app.state.rate_limiter.reset()
        yield app


async def handshake(app: FastAPI, ip: str, **query: Any) -> list[dict[str, Any]]:
    """What the app sends a WebSocket client at `ip` that connects with `query`, then leaves
    (at once if accepted: the app's task then ends)."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": WS,
        "raw_path": WS.encode(),
        "query_string": urlencode(query).encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": (ip, 50000),
        "server": ("testserver", 80),
        "subprotocols": [],
    }
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.accept":
            inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})

    async with asyncio.timeout(10):  # in this task: `statements` sees its queries
        await app(scope, inbox.get, send)
    return sent


def closed_with(sent: list[dict[str, Any]]) -> tuple[int, str] | None:
    """The close code and reason the app sent, if it closed the socket."""
    for message in sent:
        if message["type"] == "websocket.close":
            return message.get("code", 1000), message.get("reason", "")
    return None


def accept_fields(sent: list[dict[str, Any]]) -> dict[str, str]:
    accept = next(m for m in sent if m["type"] == "websocket.accept")
    return {name.decode(): value.decode() for name, value in accept.get("headers", [])}


def assert_rate_limited(sent: list[dict[str, Any]]) -> None:
    closed = closed_with(sent)
    assert closed is not None, sent
    code, reason = closed
    assert code == 1013, closed
    assert reason.startswith("rate limited; retry in ") and reason.endswith(" s"), reason
    fields = accept_fields(sent)
    assert fields["ratelimit-remaining"] == "0"
    assert 1 <= int(fields["retry-after"]) <= 60


async def test_anonymous_handshakes_spend_the_addresss_budget(limited: FastAPI) -> None:
    async with http_client(limited) as client:
        transport = httpx.ASGITransport(app=limited, client=("10.8.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as same_ip:
            assert (await same_ip.get("/api/v1/auth/me")).status_code == 401
            for remaining in range(DEFAULT - 2, -1, -1):
                sent = await handshake(limited, "10.8.0.1", token="not-a-token")
                assert closed_with(sent) == (1008, "invalid or revoked token")
                assert accept_fields(sent)["ratelimit-remaining"] == str(remaining)
            assert_rate_limited(await handshake(limited, "10.8.0.1", token="not-a-token"))
            assert_rate_limited(await handshake(limited, "10.8.0.1"))
            refused = await same_ip.get("/api/v1/auth/me")  # one budget for both
            assert refused.status_code == 429
        # another address has a budget of its own
        assert closed_with(await handshake(limited, "10.8.0.2")) == (
            1008,
            "invalid or revoked token",
        )
        assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_a_users_handshakes_spend_her_budget_wherever_she_connects_from(
    limited: FastAPI,
) -> None:
    async with http_client(limited) as client:
        alice = await register(client, "alice")  # the login budget, not the default
        for _ in range(2):
            assert (await client.get("/api/v1/auth/me", headers=alice.headers)).status_code == 200
        for n in range(DEFAULT - 2):
            sent = await handshake(limited, f"10.8.1.{n}", token=alice.access_token, since="0")
            assert closed_with(sent) is None, sent  # accepted; the client left
            assert accept_fields(sent)["ratelimit-remaining"] == str(DEFAULT - 3 - n)
        assert_rate_limited(await handshake(limited, "10.8.1.9", token=alice.access_token))
        assert (await client.get("/api/v1/auth/me", headers=alice.headers)).status_code == 429
        # The event stream reads `?token=` too: spent with hers, from an address of its own.
        transport = httpx.ASGITransport(app=limited, client=("10.8.1.10", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as elsewhere:
            stream = await elsewhere.get(
                "/api/v1/notifications/stream", params={"token": alice.access_token}
            )
            assert stream.status_code == 429
            assert (await elsewhere.get("/api/v1/auth/me")).status_code == 401
        # Her address's anonymous budget was not touched.
        assert closed_with(await handshake(limited, "10.8.1.0")) == (
            1008,
            "invalid or revoked token",
        )


@pytest.mark.parametrize("limits", [False, True])
async def test_a_bad_token_is_refused_before_any_query(
    database_url: str, data_dir: Path, limits: bool
) -> None:
    settings = make_settings(
        database_url, data_dir, rate_limit_enabled=limits, live_heartbeat_s=0.1
    )
    async with serving(settings) as app, http_client(app) as client:
        if limits:
            await app.state.rate_limiter.reset()
        alice = await register(client, "alice")
        forged = alice.access_token[:-4] + ("AAAA" if alice.access_token[-4:] != "AAAA" else "BBBB")
        for query in ({}, {"token": "not-a-token"}, {"token": forged}, {"token": ""}):
            with statements(app) as seen:
                sent = await handshake(app, "10.8.2.1", **query)
            assert closed_with(sent) == (1008, "invalid or revoked token"), query
            assert seen == [], (query, seen)
        sent = await handshake(app, "10.8.2.1", token=alice.access_token)
        assert closed_with(sent) is None, sent  # a good one still gets in


def test_handshakes_and_requests_share_one_budget_across_servers(
    database_url: str, data_dir: Path, redis_url: str
) -> None:
    forget_budgets(redis_url)
    env = {"REDIS_URL": redis_url, "RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_DEFAULT": "5/minute"}
    try:
        with (
            running_server(database_url=database_url, data_dir=data_dir, extra_env=env) as first,
            running_server(database_url=database_url, data_dir=data_dir, extra_env=env) as second,
        ):
            asyncio.run(_spend_across(first, second))
    finally:
        asyncio.run(truncate_all(database_url))


async def _spend_across(first: str, second: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        registered = await http.post(
            f"{first}/api/v1/auth/register",
            json={"username": "alice", "email": "alice@example.com", "password": "x" * 12},
        )
        assert registered.status_code == 201, registered.text
        token = registered.json()["access_token"]
        me = {"Authorization": f"Bearer {token}"}
        assert (await http.get(f"{first}/api/v1/auth/me", headers=me)).status_code == 200
        remaining = []
        for base in (second, first, second):
            url = base.replace("http://", "ws://") + f"{WS}?token={token}&since=0"
            async with connect(url) as ws:
                remaining.append(int(ws.response.headers["ratelimit-remaining"]))
        assert remaining == [3, 2, 1]
        assert (await http.get(f"{second}/api/v1/auth/me", headers=me)).status_code == 200
        url = first.replace("http://", "ws://") + f"{WS}?token={token}"
        async with connect(url) as ws:
            assert ws.response.headers["ratelimit-remaining"] == "0"
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert closed.value.rcvd.reason.startswith("rate limited; retry in ")
        refused = await http.get(f"{second}/api/v1/auth/me", headers=me)
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
