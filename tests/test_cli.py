"""The console commands, run as a user would: migrate a fresh database, make an admin."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alembic.command import downgrade
from sqlalchemy import select
from websockets.asyncio.client import connect

from neo_events.cli import alembic_config
from neo_events.db import SCHEMA_REVISION
from neo_events.main import create_app
from neo_events.models import User
from tests.conftest import make_settings
from tests.helpers import register
from tests.live import live_server

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


def test_every_worker_logs_json_with_request_ids(tmp_path: Path) -> None:
    """Issue #17: with `--workers 2` the workers (spawned afresh by uvicorn's supervisor)
    lost the logging set up in the parent: no access lines at all, and warnings and errors as
    plain text without a request id. Every worker must log as a single one does."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'neo.db'}"
    assert _cli("migrate", env={"DATABASE_URL": url, "DATA_DIR": str(tmp_path)}).returncode == 0
    sent: list[str] = []
    with live_server(
        database_url=url, data_dir=tmp_path, workers=2, extra_env={"LOG_JSON": "true"}
    ) as server:
        for n in range(200):  # a new connection each: the kernel spreads them over the workers
            sent.append(f"probe-{n}")
            response = httpx.get(f"{server.base}/healthz", headers={"X-Request-ID": sent[-1]})
            assert response.status_code == 200
            if n >= 20 and len(_worker_pids(server.log(), sent)) == 2:
                break
        for _ in range(4):  # uvicorn itself logs a warning for a request it cannot parse
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n")
                assert sock.recv(1024).startswith(b"HTTP/1.1 400")
        log = server.log()
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]  # all JSON
    access = [e for e in entries if e["logger"] == "neo_events.access"]
    logged = [e["request_id"] for e in access if e["request_id"].startswith("probe-")]
    assert sorted(logged) == sorted(sent)  # every request, once
    assert all(e["status"] == 200 and e["method"] == "GET" for e in access)
    assert len(_worker_pids(log, sent)) == 2  # both workers answered, and both logged
    invalid = [e for e in entries if e["message"] == "Invalid HTTP request received."]
    assert invalid and all(e["level"] == "warning" for e in invalid)


async def test_no_credential_in_a_url_reaches_the_log(tmp_path: Path) -> None:
    """uvicorn logs a WebSocket's path with its query string, and a browser can only send its
    access token there (SPEC §8): the log said `"WebSocket /api/v1/ws?token=eyJ…" [accepted]`,
    a working credential for whoever reads the logs. A feed URL carries its token likewise."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'neo.db'}"
    assert _cli("migrate", env={"DATABASE_URL": url, "DATA_DIR": str(tmp_path)}).returncode == 0
    env = {"LOG_JSON": "true"}  # the default outside the tests
    with live_server(database_url=url, data_dir=tmp_path, extra_env=env) as server:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            alice = await register(client, "alice")
            ws_url = server.base.replace("http://", "ws://", 1) + "/api/v1/ws"
            async with connect(f"{ws_url}?token={alice.access_token}") as ws:
                await ws.ping()
            made = await client.post(
                "/api/v1/feed-tokens", json={"name": "phone"}, headers=alice.headers
            )
            feed = await client.get(made.json()["url"])
            assert feed.status_code == 200
        log = server.log()
    messages = [json.loads(line)["message"] for line in log.splitlines() if line.strip()]
    assert '"WebSocket /api/v1/ws?token=[redacted]" [accepted]' in "\n".join(messages)
    assert alice.access_token.split(".")[2] not in log
    assert made.json()["token"] not in log


def _worker_pids(log: str, request_ids: list[str]) -> set[int]:
    """The processes that logged an access line for one of `request_ids`."""
    wanted = set(request_ids)
    pids = set()
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("logger") == "neo_events.access" and entry.get("request_id") in wanted:
            pids.add(entry["pid"])
    return pids


def test_serve_and_worker_refuse_a_database_not_at_this_release(tmp_path: Path) -> None:
    """A server or job worker started on a database that was never migrated, or is a
    migration behind, stops at once with the reason instead of serving 500s."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'neo_events.db'}"
    env = {
        "DATABASE_URL": url,
        "DATA_DIR": str(tmp_path),
        "LOG_JSON": "false",
        "SECRET_KEY": "k" * 40,
    }
    for command in (["serve", "--port", "0"], ["worker"]):
        result = _cli(*command, env=env)
        assert result.returncode != 0
        assert "the database has no schema: run `neo-events migrate` first" in result.stderr
    assert _cli("migrate", env=env).returncode == 0
    downgrade(alembic_config(url), "-1")
    result = _cli("worker", env=env)
    assert result.returncode != 0
    assert f"this release needs {SCHEMA_REVISION}: run `neo-events migrate`" in result.stderr
