"""The console commands, run as a user would: migrate a fresh database, make an admin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from neo_events.main import create_app
from neo_events.models import User
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "neo_events.cli", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_migrate_then_create_admin(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'neo.db'}"
    env = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "ARGON2_MEMORY_KIB": "1024"}
    migrated = _cli("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    made = _cli(
        "create-admin",
        "--username",
        "root",
        "--email",
        "root@example.com",
        "--password",
        "admin password",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    assert "admin 'root'" in made.stdout
    short = _cli(
        "create-admin",
        "--username",
        "x",
        "--email",
        "x@example.com",
        "--password",
        "short",
        env=env,
    )
    assert short.returncode == 2 and "8 characters" in short.stderr

    app = create_app(make_settings(url, tmp_path))
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session:
            admin = (
                await session.execute(select(User).where(User.username == "root"))
            ).scalar_one()
        assert admin.is_admin
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            login = await client.post(
                "/api/v1/auth/login", json={"username": "root", "password": "admin password"}
            )
            assert login.status_code == 200


def test_serve_refuses_production_without_a_key(tmp_path: Path) -> None:
    result = _cli(
        "serve", env={"ENVIRONMENT": "production", "SECRET_KEY": "", "DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr
