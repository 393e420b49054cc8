"""Rate limits: per-user and per-IP budgets, the stricter login/register budgets, headers, 429,
the Redis backend shared by processes, and the memory fallback when Redis is away."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import ormsgpack
import pytest
import redis
from fastapi import FastAPI

from neo_events.infra.ratelimit import KEY_PREFIX
from neo_events.main import create_app
from neo_events.settings import Settings
from tests.conftest import make_settings
from tests.helpers import PASSWORD, assert_problem, register
from tests.live import running_server

pytestmark = pytest.mark.anyio

DEFAULT = 5
AUTH = 3


@pytest.fixture(params=["memory", "redis"])
def limiter_backend(request: pytest.FixtureRequest) -> str | None:
    """None for the in-process limiter, else the Redis URL (skipped without TEST_REDIS_URL)."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
def settings(database_url: str, data_dir: Path, limiter_backend: str | None) -> Settings:
    return make_settings(
        database_url,
        data_dir,
        rate_limit_enabled=True,
        rate_limit_default=f"{DEFAULT}/minute",
        rate_limit_auth=f"{AUTH}/minute",
        redis_url=limiter_backend,
    )


@pytest.fixture
async def fresh_budgets(app: FastAPI) -> None:
    await app.state.rate_limiter.reset()  # Redis outlives the app: start every test at zero


fresh = pytest.mark.usefixtures("fresh_budgets")


def client_from(app: FastAPI, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def login(client: httpx.AsyncClient, username: str, password: str = "wrong password") -> int:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    return response.status_code


@fresh
async def test_every_response_carries_the_fields(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/auth/me")  # 401, and still counted
    assert response.status_code == 401
    assert response.headers["ratelimit-limit"] == str(DEFAULT)
    assert response.headers["ratelimit-remaining"] == str(DEFAULT - 1)
    reset = int(response.headers["ratelimit-reset"])
    assert 0 < reset <= 60
    assert response.headers["ratelimit-policy"] == f'"default";q={DEFAULT};w=60'
    assert response.headers["ratelimit"] == f'"default";r={DEFAULT - 1};t={reset}'
    second = await client.get("/api/v1/nope")
    assert second.status_code == 404
    assert second.headers["ratelimit-remaining"] == str(DEFAULT - 2)


@fresh
async def test_over_the_budget_is_a_429_problem(client: httpx.AsyncClient) -> None:
    for _ in range(DEFAULT):
        assert (await client.get("/api/v1/auth/me")).status_code == 401
    refused = await client.get("/api/v1/auth/me")
    body = assert_problem(refused, 429, "rate_limited")
    assert "default" in body["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert re.fullmatch(r'"default";r=0;t=\d+', refused.headers["ratelimit"])
    assert refused.headers["x-request-id"]  # refused inside the usual envelope
    assert refused.headers["x-content-type-options"] == "nosniff"
    as_msgpack = await client.get("/api/v1/auth/me", headers={"Accept": "application/msgpack"})
    assert as_msgpack.status_code == 429
    assert as_msgpack.headers["content-type"] == "application/msgpack"
    assert ormsgpack.unpackb(as_msgpack.content)["code"] == "rate_limited"


@fresh
async def test_the_budget_is_per_user_then_per_ip(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    for _ in range(DEFAULT):
        assert (await client.get("/api/v1/auth/me", headers=alice.headers)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=alice.headers)).status_code == 429
    # Another user, and anonymous callers from the same address, have budgets of their own.
    mine = await client.get("/api/v1/auth/me", headers=bob.headers)
    assert mine.status_code == 200
    assert mine.headers["ratelimit-remaining"] == str(DEFAULT - 1)
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    # Alice's budget follows her token to any address; a forged token counts as anonymous.
    async with client_from(app, "10.0.0.7") as elsewhere:
        assert (await elsewhere.get("/api/v1/auth/me", headers=alice.headers)).status_code == 429
        forged = {"Authorization": "Bearer " + alice.access_token[:-4] + "AAAA"}
        response = await elsewhere.get("/api/v1/auth/me", headers=forged)
        assert response.status_code == 401
        assert response.headers["ratelimit-remaining"] == str(DEFAULT - 1)


@fresh
async def test_login_is_limited_per_ip(app: FastAPI) -> None:
    async with client_from(app, "10.0.0.1") as client:
        for name in ("carol", "dave", "erin"):
            assert await login(client, name) == 401
        refused = await client.post(
            "/api/v1/auth/login", json={"username": "frank", "password": "whatever1"}
        )
        assert_problem(refused, 429, "rate_limited")
        assert refused.headers["ratelimit-limit"] == str(AUTH)
        assert '"auth-ip"' in refused.headers["ratelimit-policy"]
        # The general budget is separate: other endpoints still answer.
        assert (await client.get("/api/v1/auth/me")).status_code == 401


@fresh
async def test_login_is_limited_per_account_whatever_the_address_or_case(app: FastAPI) -> None:
    attempts = [
        ("10.0.1.1", {"json": {"username": "Grace", "password": "wrong password"}}),
        ("10.0.1.2", {"data": {"username": " grace ", "password": "wrong password"}}),
        (
            "10.0.1.3",
            {
                "content": ormsgpack.packb({"username": "GRACE", "password": "wrong password"}),
                "headers": {"Content-Type": "application/msgpack"},
            },
        ),
    ]
    for ip, request in attempts:
        async with client_from(app, ip) as client:
            response = await client.post("/api/v1/auth/login", **request)  # type: ignore[arg-type]
            assert response.status_code == 401, response.text
    async with client_from(app, "10.0.1.4") as client:
        refused = await client.post(
            "/api/v1/auth/login", files={"username": (None, "grace"), "password": (None, "x")}
        )
        assert_problem(refused, 429, "rate_limited")
        assert '"auth-account";r=0' in refused.headers["ratelimit"]
        assert await login(client, "heidi") == 401  # another account is not affected


@fresh
async def test_an_accounts_username_and_email_share_one_login_budget(app: FastAPI) -> None:
    """Issue #17: keyed by the name sent, an account's username and email were two budgets,
    twice the guesses. Keyed by the account they resolve to, they are one."""
    async with client_from(app, "10.0.6.1") as client:
        await register(client, "olivia")
    names = ["olivia", "olivia@example.com", "OLIVIA@Example.com"]
    for n, name in enumerate(names):
        async with client_from(app, f"10.0.6.{n + 2}") as client:
            assert await login(client, name) == 401
    async with client_from(app, "10.0.6.9") as client:
        for name in ("olivia@example.com", "Olivia"):
            refused = await client.post(
                "/api/v1/auth/login", json={"username": name, "password": "wrong password"}
            )
            assert_problem(refused, 429, "rate_limited")
            assert '"auth-account";r=0' in refused.headers["ratelimit"]
    # a name no account has still has a budget of its own, spent the same way
    for n in range(AUTH):
        async with client_from(app, f"10.0.7.{n + 1}") as client:
            assert await login(client, "nobody@example.com") == 401
    async with client_from(app, "10.0.7.9") as client:
        assert await login(client, "nobody@example.com") == 429
        assert await login(client, "nobody") == 401  # another unknown name is another budget


@fresh
async def test_register_is_limited_per_ip_and_bodies_still_reach_the_app(app: FastAPI) -> None:
    async with client_from(app, "10.0.2.1") as client:
        ivan = await register(client, "ivan")
        response = await client.post(
            "/api/v1/auth/login", data={"username": "ivan", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text  # the form was replayed to the app
        assert response.json()["user"]["id"] == ivan.id
        assert response.headers["ratelimit-policy"] == (
            f'"auth-ip";q={AUTH};w=60, "auth-account";q={AUTH};w=60'
        )
        assert response.headers["ratelimit-remaining"] == str(AUTH - 2)
        await register(client, "judy")
        refused = await client.post(
            "/api/v1/auth/register",
            json={"username": "kim", "email": "kim@example.com", "password": PASSWORD},
        )
        assert_problem(refused, 429, "rate_limited")
    async with client_from(app, "10.0.2.2") as client:
        await register(client, "kim")  # another address still may


async def test_a_spent_account_budget_comes_back_when_the_window_passes(
    database_url: str, data_dir: Path, limiter_backend: str | None
) -> None:
    """An attacker can hold a victim's login budget only while attacking: nothing accumulates."""
    settings = make_settings(
        database_url,
        data_dir,
        rate_limit_enabled=True,
        # A window of 4 s, not 1: on a busy machine two logins (each a password hash) took
        # over a second, the budget came back before the victim asked, and the test failed.
        rate_limit_auth="2 per 4 seconds",
        redis_url=limiter_backend,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.rate_limiter.reset()
        async with client_from(app, "10.0.3.1") as attacker, client_from(app, "10.0.3.2") as victim:
            assert await login(attacker, "mallory-target") == 401
            assert await login(attacker, "mallory-target") == 401
            refused = await victim.post(
                "/api/v1/auth/login", json={"username": "mallory-target", "password": "x" * 8}
            )
            assert refused.status_code == 429
            retry_after = int(refused.headers["retry-after"])
            assert 1 <= retry_after <= 4
            await asyncio.sleep(retry_after + 0.05)  # the window itself is what is under test
            assert await login(victim, "mallory-target") == 401  # heard again, not locked out


@fresh
async def test_probes_are_exempt(client: httpx.AsyncClient) -> None:
    for _ in range(DEFAULT):
        await client.get("/api/v1/auth/me")
    assert (await client.get("/api/v1/auth/me")).status_code == 429
    for path in ("/healthz", "/readyz", "/metrics"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "ratelimit-limit" not in response.headers


@fresh
async def test_readyz_reports_the_limiter(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["rate_limiter"] == "ok"


async def test_off_means_no_limits_and_no_fields(database_url: str, data_dir: Path) -> None:
    app = create_app(make_settings(database_url, data_dir, rate_limit_default="1/minute"))
    async with (
        app.router.lifespan_context(app),
        client_from(app, "10.0.4.1") as client,
    ):
        for _ in range(3):
            response = await client.get("/api/v1/auth/me")
            assert response.status_code == 401
            assert "ratelimit-limit" not in response.headers
        assert "rate_limiter" not in (await client.get("/readyz")).json()["checks"]


@pytest.fixture
async def unreachable_redis_app(database_url: str, data_dir: Path) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        database_url,
        data_dir,
        rate_limit_enabled=True,
        rate_limit_default=f"{DEFAULT}/minute",
        redis_url="redis://127.0.0.1:1/0",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_an_unreachable_redis_falls_back_to_memory(unreachable_redis_app: FastAPI) -> None:
    async with client_from(unreachable_redis_app, "10.0.5.1") as client:
        for remaining in range(DEFAULT - 1, -1, -1):
            response = await client.get("/api/v1/auth/me")
            assert response.status_code == 401
            assert response.headers["ratelimit-remaining"] == str(remaining)
        assert_problem(await client.get("/api/v1/auth/me"), 429, "rate_limited")
        ready = await client.get("/readyz")
    assert ready.status_code == 503  # SPEC §11: Redis is configured and not reachable
    checks = ready.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"].startswith("unavailable")
    assert checks["rate_limiter"] == "degraded (memory fallback)"


def forget_budgets(redis_url: str) -> None:
    """Every rate-limit budget kept in Redis dropped (a test's servers start with fresh ones)."""
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(f"{KEY_PREFIX}:*"):
            client.delete(key)
    finally:
        client.close()


def test_two_servers_share_one_budget_through_redis(
    database_url: str, data_dir: Path, redis_url: str
) -> None:
    forget_budgets(redis_url)
    env = {"REDIS_URL": redis_url, "RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_DEFAULT": "5/minute"}
    with (
        running_server(database_url=database_url, data_dir=data_dir, extra_env=env) as first,
        running_server(database_url=database_url, data_dir=data_dir, extra_env=env) as second,
        httpx.Client(timeout=10) as http,
    ):
        remaining = []
        for base in (first, second, first, second, first):
            response = http.get(f"{base}/api/v1/auth/me")
            assert response.status_code == 401
            remaining.append(int(response.headers["ratelimit-remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        refused = http.get(f"{second}/api/v1/auth/me")
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
