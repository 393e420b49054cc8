"""Health, readiness, request ids, security headers, docs."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from neo_events.db import SCHEMA_REVISION
from neo_events.main import create_app
from neo_events.settings import Settings, SettingsError
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_readyz_says_a_database_behind_this_release_is_not_ready(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A backup of an older release restored under this one: the database answers, but
    requests would be 500s for what it misses, so the replica is not ready (an outside
    attack found /readyz 200 there). A newer revision (a rolling upgrade) stays ready."""
    async with app.state.sessionmaker() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '0015'"))
        await session.commit()
    try:
        behind = await client.get("/readyz")
        assert behind.status_code == 503
        assert "0015" in behind.json()["checks"]["database"]
        async with app.state.sessionmaker() as session:
            await session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
            await session.commit()
        assert (await client.get("/readyz")).status_code == 200
    finally:
        async with app.state.sessionmaker() as session:
            await session.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": SCHEMA_REVISION}
            )
            await session.commit()
    assert (await client.get("/readyz")).status_code == 200


async def test_readyz_reports_an_unreachable_redis(database_url: str, data_dir: object) -> None:
    settings = make_settings(database_url, data_dir, redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unavailable")


async def test_readyz_with_real_redis(database_url: str, data_dir: object, redis_url: str) -> None:
    app = create_app(make_settings(database_url, data_dir, redis_url=redis_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_request_id_is_echoed_or_minted(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    minted = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert len(minted.headers["x-request-id"]) == 32


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/healthz"), await client.get("/api/v1/nope")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
async def test_docs_are_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


def test_production_refuses_to_start_without_secret_key(tmp_path: object) -> None:
    settings = Settings(environment="production", secret_key=None, data_dir=tmp_path)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        create_app(settings)


def test_development_keeps_a_generated_key(tmp_path: object) -> None:
    first = Settings(secret_key=None, data_dir=tmp_path).resolved_secret_key()
    second = Settings(secret_key=None, data_dir=tmp_path).resolved_secret_key()
    assert first == second and len(first) >= 32
