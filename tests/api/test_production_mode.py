"""What ENVIRONMENT=production changes, DOCS_ENABLED, strict CORS, and SECRET_KEY rotation
(SECURITY.md points here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from neo_events.auth.tokens import ALGORITHM, TokenCodec, TokenError
from neo_events.main import create_app
from neo_events.settings import Settings
from tests.conftest import http_client, make_settings, serving, truncate_all
from tests.helpers import PASSWORD

pytestmark = pytest.mark.anyio

OLD_KEY = "old-secret-key-that-is-long-enough-for-hs256"
NEW_KEY = "new-secret-key-that-is-long-enough-for-hs256"
DOCS = ["/docs", "/redoc", "/openapi.json"]


@asynccontextmanager
async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settings) as app, http_client(app, "https://testserver") as client:
        yield client


async def test_production_turns_docs_off_and_hsts_on(database_url: str, data_dir: Path) -> None:
    settings = make_settings(database_url, data_dir, environment="production")
    assert settings.docs_enabled is False
    async with _client(settings) as client:
        for path in DOCS:
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json()["code"] == "not_found"
        health = await client.get("/healthz")
        assert health.headers["strict-transport-security"] == "max-age=63072000"
        assert client._transport.app.debug is False  # type: ignore[attr-defined]


async def test_development_serves_docs_without_hsts(database_url: str, data_dir: Path) -> None:
    async with _client(make_settings(database_url, data_dir)) as client:
        for path in DOCS:
            assert (await client.get(path)).status_code == 200, path
        assert "strict-transport-security" not in (await client.get("/healthz")).headers


async def test_docs_can_be_turned_on_in_production(database_url: str, data_dir: Path) -> None:
    settings = make_settings(database_url, data_dir, environment="production", docs_enabled=True)
    async with _client(settings) as client:
        assert (await client.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_cors_allows_only_configured_origins(
    database_url: str, data_dir: Path, environment: str
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    settings = make_settings(database_url, data_dir, environment=environment)
    async with _client(settings) as client:  # none configured: no cross-origin access at all
        response = await client.options(
            "/api/v1/events", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in response.headers
    settings = make_settings(
        database_url, data_dir, environment=environment, cors_origins=["https://app.example"]
    )
    async with _client(settings) as client:
        good = await client.options(
            "/api/v1/events", headers={"Origin": "https://app.example", **preflight}
        )
        assert good.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-credentials" not in good.headers
        evil = await client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers


def test_list_settings_read_commas_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("SECRET_KEY_PREVIOUS", f'["{OLD_KEY}"]')
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.secret_key_previous == [OLD_KEY]
    with pytest.raises(ValueError, match="at least 32"):
        Settings(secret_key_previous=["short"])


def _codec(key: str, previous: list[str] | None = None) -> TokenCodec:
    return TokenCodec(
        key,
        access_ttl=timedelta(minutes=15),
        refresh_ttl=timedelta(days=7),
        previous_keys=previous or [],
    )


def test_rotation_signs_with_the_new_key_and_verifies_with_both() -> None:
    now = datetime.now(UTC)
    old = _codec(OLD_KEY)
    claims = old.issue("access", user_id=1, session_id=2, now=now)
    old_token = old.encode("access", claims)
    rotated = _codec(NEW_KEY, [OLD_KEY])
    assert rotated.decode(old_token, "access").user_id == 1  # still signed in
    new_token = rotated.encode("access", claims)
    jwt.decode(new_token, NEW_KEY, algorithms=[ALGORITHM], options={"verify_aud": False})
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(new_token, OLD_KEY, algorithms=[ALGORITHM])
    with pytest.raises(TokenError):  # once the old key is dropped, its tokens are dead
        _codec(NEW_KEY).decode(old_token, "access")
    # a previous key never rescues an expired or mistyped token
    expired = old.encode(
        "access", old.issue("access", user_id=1, session_id=2, now=now - timedelta(hours=1))
    )
    with pytest.raises(TokenError, match="expired"):
        rotated.decode(expired, "access")
    with pytest.raises(TokenError):
        rotated.decode(old_token, "refresh")
    forged: dict[str, Any] = jwt.decode(old_token, options={"verify_signature": False})
    with pytest.raises(TokenError):
        rotated.decode(jwt.encode(forged, "an-attackers-own-key-long-enough-xxxxxxx"), "access")


async def test_rotating_the_key_keeps_people_signed_in(database_url: str, data_dir: Path) -> None:
    before = make_settings(database_url, data_dir, secret_key=OLD_KEY)
    app = create_app(before)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            reg = await client.post(
                "/api/v1/auth/register",
                json={"username": "alice", "email": "a@example.com", "password": PASSWORD},
            )
            tokens = reg.json()
    try:
        rotated = make_settings(
            database_url, data_dir, secret_key=NEW_KEY, secret_key_previous=[OLD_KEY]
        )
        app = create_app(rotated)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                headers = {"Authorization": f"Bearer {tokens['access_token']}"}
                assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
                pair = await client.post(
                    "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
                )
                assert pair.status_code == 200, pair.text
                fresh = pair.json()["refresh_token"]
        dropped = make_settings(database_url, data_dir, secret_key=NEW_KEY)
        app = create_app(dropped)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                headers = {"Authorization": f"Bearer {tokens['access_token']}"}
                stale = await client.get("/api/v1/auth/me", headers=headers)
                assert stale.status_code == 401 and stale.json()["code"] == "invalid_token"
                # the pair issued after the rotation was signed with the new key: it lives on
                again = await client.post("/api/v1/auth/refresh", json={"refresh_token": fresh})
                assert again.status_code == 200, again.text
    finally:
        await truncate_all(database_url)
