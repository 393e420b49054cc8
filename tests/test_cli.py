"""The console commands, run as a user would: migrate a fresh database, make an admin."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alembic.command import downgrade
from sqlalchemy import select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

from neo_events.cli import alembic_config
from neo_events.db import SCHEMA_REVISION
from neo_events.main import create_app
from neo_events.models import User
from tests.conftest import _create_database, make_settings
from tests.helpers import register
from tests.live import free_port, live_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # each test runs commands as processes


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
        env=env | {"PYTHONPROFILEIMPORTTIME": "1"},  # each module imported, on stderr
    )
    assert made.returncode == 0, made.stderr
    assert "admin 'root'" in made.stdout
    # what the command needs, not the whole app (importing `main` cost it 0.8 s of CPU)
    imported = set(re.findall(r"\|\s+(neo_events[.\w]*)$", made.stderr, re.MULTILINE))
    assert "neo_events.auth.configured" in imported and "neo_events.main" not in imported
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
            # Starlette decodes a parameter's name: `%74oken` and `tok%65n` are `token` to it
            for name in ("token", "%74oken", "tok%65n"):
                async with connect(f"{ws_url}?{name}={alice.access_token}") as ws:
                    await ws.ping()
            made = await client.post(
                "/api/v1/feed-tokens", json={"name": "phone"}, headers=alice.headers
            )
            feed = await client.get(made.json()["url"])
            assert feed.status_code == 200
        log = server.log()
    messages = [json.loads(line)["message"] for line in log.splitlines() if line.strip()]
    for name in ("token", "%74oken", "tok%65n"):
        assert f'"WebSocket /api/v1/ws?{name}=[redacted]" [accepted]' in "\n".join(messages)
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
    for command in (["serve", "--port", str(free_port())], ["worker"]):
        result = _cli(*command, env=env)
        assert result.returncode == 3, result.stderr
        assert "the database has no schema: run `neo-events migrate` first" in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert _cli("migrate", env=env).returncode == 0
    downgrade(alembic_config(url), "-1")
    result = _cli("worker", env=env)
    assert result.returncode != 0
    assert f"this release needs {SCHEMA_REVISION}: run `neo-events migrate`" in result.stderr


def test_a_text_log_line_cannot_be_forged_by_a_path(tmp_path: Path) -> None:
    """With LOG_JSON=false the access line wrote the decoded path as it came: a request for
    `/x%0a2026-12-06 14:00:00,000 ERROR …` wrote a second line that read as the server's own."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'neo.db'}"
    assert _cli("migrate", env={"DATABASE_URL": url, "DATA_DIR": str(tmp_path)}).returncode == 0
    forged = "2026-12-06 14:00:00,000 ERROR neo_events forged"
    with live_server(
        database_url=url, data_dir=tmp_path, extra_env={"LOG_JSON": "false"}
    ) as server:
        response = httpx.get(f"{server.base}/x%0a{forged.replace(' ', '%20')}%1b[2K")
        assert response.status_code == 404
    log = server.log()  # once it has stopped: the access line is written after the answer
    assert not [line for line in log.splitlines() if line.startswith(forged)]
    assert "GET /x\\n" + forged + "\\x1b[2K 404" in log


def test_bad_settings_are_named_one_line_each(tmp_path: Path) -> None:
    """A setting that cannot work stops every command with one line per variable (never its
    value: it may be a key) and exit 2, not a pydantic traceback; a database that cannot be
    reached, or is not migrated, with one line and exit 3."""
    bad = {
        "ACCESS_TOKEN_EXPIRE_MINUTES": "abc",
        "ENVIRONMENT": "prod",
        "RATE_LIMIT_DEFAULT": "lots",
        "SECRET_KEY_PREVIOUS": "hushhush-short",
        "CORS_ORIGINS": "[bad",
        "DB_POOL_SIZE": "0",
        "LOG_JSON": "maybe",
        "MAX_BODY_BYTES": "-5",
        "DATABASE_URL": "garbage",
    }
    for command in (["migrate"], ["worker"], ["serve", "--port", str(free_port())]):
        result = _cli(*command, env=bad | {"DATA_DIR": str(tmp_path)})
        assert result.returncode == 2, result.stderr
        lines = result.stderr.splitlines()
        assert sorted(line.split(":")[1].strip() for line in lines) == sorted(bad), lines
        assert "hushhush" not in result.stderr
    mysql = _cli("migrate", env={"DATABASE_URL": "mysql://u:pw@x/y", "DATA_DIR": str(tmp_path)})
    assert mysql.returncode == 2 and mysql.stderr.startswith("neo-events: DATABASE_URL:")
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        refused = _cli(
            "migrate",
            env={"DATABASE_URL": f"postgresql+asyncpg://neo:pw1234@127.0.0.1:{port}/neo"},
        )
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.startswith("neo-events: cannot reach the database: ")
    assert len(refused.stderr.splitlines()) == 1 and "pw1234" not in refused.stderr


def test_serve_takes_only_a_real_port(tmp_path: Path) -> None:
    """`--port 99999` bound port 34463 (the number wrapped to 16 bits) without a word."""
    for port in ("99999", "-1", "0"):
        result = _cli("serve", "--port", port, env={"DATA_DIR": str(tmp_path)})
        assert result.returncode == 2 and "is not a port (1-65535)" in result.stderr
    workers = _cli("serve", "--workers", "0", env={"DATA_DIR": str(tmp_path)})
    assert workers.returncode == 2 and "is not 1 or more" in workers.stderr


def test_the_development_key_file_is_private_and_checked(tmp_path: Path) -> None:
    """Without SECRET_KEY in development the key is generated into DATA_DIR/secret_key: made
    private from its first byte, with the folder (0700) and the SQLite file (0600) it sits
    beside; a key file left empty or short is refused with the reason, not used (an empty one
    answered every login with a 500)."""
    data = tmp_path / "data"
    env = {"DATA_DIR": str(data), "SECRET_KEY": "", "ARGON2_MEMORY_KIB": "1024"}
    assert _cli("migrate", env=env).returncode == 0
    made = _cli(
        "create-admin", "--username", "root", "--email", "r@example.com", "--password",
        "admin password", env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert (data.stat().st_mode & 0o777) == 0o700
    assert ((data / "neo_events.db").stat().st_mode & 0o777) == 0o600
    assert ((data / "secret_key").stat().st_mode & 0o777) == 0o600
    assert len((data / "secret_key").read_text()) >= 32
    assert [p.name for p in data.iterdir() if p.name.startswith(".")] == []  # no temporary
    for content in ("", "abc\n"):
        (data / "secret_key").write_text(content)
        result = _cli("serve", "--port", str(free_port()), env=env)
        assert result.returncode == 2, result.stderr
        assert "secret_key holds" in result.stderr and "at least 32 characters" in result.stderr


def test_create_admin_reads_a_piped_password_and_refuses_none(tmp_path: Path) -> None:
    """With no --password, no NEO_ADMIN_PASSWORD and no terminal: the first line piped in is
    the password, and an empty input one clear line (it was an EOFError's traceback)."""
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'neo.db'}", "DATA_DIR": str(tmp_path)}
    assert _cli("migrate", env=env).returncode == 0
    command = [sys.executable, "-m", "neo_events.cli", "create-admin", "--username", "root"]
    environment = {k: v for k, v in (os.environ | env).items() if k != "NEO_ADMIN_PASSWORD"}

    def run(typed: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *extra],
            input=typed,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    empty = run("", "--email", "root@example.com")
    assert empty.returncode == 2 and "Traceback" not in empty.stderr, empty.stderr
    assert len(empty.stderr.strip().splitlines()) == 1
    piped = run("long enough pw\n", "--email", "root@example.com")
    assert piped.returncode == 0, piped.stderr


async def test_create_admin_follows_the_api_rules(tmp_path: Path) -> None:
    """create-admin took what registration refuses (a username with a space, an email that is
    not one, a password past the 256 characters a login takes: that admin could never sign
    in), promoted an account saying nothing of the email and password it ignored, and showed
    a traceback with the SQL parameters (the password's hash too) for a taken email."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'neo.db'}"
    env = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "ARGON2_MEMORY_KIB": "1024"}
    assert _cli("migrate", env=env).returncode == 0

    def admin(username: str, email: str, password: str) -> subprocess.CompletedProcess[str]:
        return _cli(
            "create-admin", "--username", username, "--email", email, "--password", password,
            env=env,
        )  # fmt: skip

    for username, email, password, option in (
        ("bad name!", "a@example.com", "long enough", "--username"),
        ("alice", "notanemail", "long enough", "--email"),
        ("alice", "a@example.com", "p" * 300, "--password"),
    ):
        refused = admin(username, email, password)
        assert refused.returncode == 2 and refused.stderr.startswith(f"neo-events: {option}:")
    made = admin("alice", "alice@example.com", "first password")
    assert made.returncode == 0 and "a new account" in made.stdout
    again = admin("Alice", "other@example.com", "second password")
    assert again.returncode == 0, again.stderr
    assert "its email and password are unchanged" in again.stdout
    taken = admin("bob", "ALICE@example.com", "bob password")
    assert taken.returncode == 2, taken.stderr
    assert taken.stderr == "neo-events: That email address is already registered\n"
    app = create_app(make_settings(url, tmp_path))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for password, status in (("first password", 200), ("second password", 401)):
                login = await client.post(
                    "/api/v1/auth/login", json={"username": "alice", "password": password}
                )
                assert login.status_code == status


def test_database_urls_that_cannot_work_are_refused_in_one_line(tmp_path: Path) -> None:
    """An in-memory SQLite database (a TypeError about pool_size), a port past 65535 (an
    OverflowError), libpq's `sslmode` on an asyncpg URL (a TypeError from connect()) ended
    the command with a traceback; a PostgreSQL URL without host or database was taken, and
    migrated libpq's default database (an outside attack: a schema in the cluster's `root`
    database). Each is now one line: exit 2 for the URL, 3 for a database not reached."""
    refused = {
        "sqlite+aiosqlite://": "give a SQLite file",
        "sqlite+aiosqlite:///:memory:": "give a SQLite file",
        "postgresql+asyncpg://neo:pw1234@127.0.0.1:99999/neo": "99999 is not a port (1-65535)",
        "postgresql+asyncpg://": "give the host and the database",
        "postgresql+asyncpg://neo:pw1234@127.0.0.1": "give the host and the database",
        "postgresql+asyncpg://neo:pw1234@127.0.0.1:abc/neo": "not a database URL",
        "postgresql+asyncpg://neo:pw1234@127.0.0.1/neo?sslmode=maybe": "give sslmode (or ssl)",
    }
    for url, reason in refused.items():
        serve = ["serve", "--port", str(free_port())]
        for command in (["migrate"], serve) if url.endswith("//") else (["migrate"],):
            result = _cli(*command, env={"DATABASE_URL": url, "DATA_DIR": str(tmp_path)})
            assert result.returncode == 2, (url, result.stderr)
            assert result.stderr.startswith(f"neo-events: DATABASE_URL: {reason}"), result.stderr
            assert len(result.stderr.splitlines()) == 1 and "pw1234" not in result.stderr
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        for mode in ("disable", "require"):  # asyncpg's `ssl`, as libpq's `sslmode` says
            url = f"postgresql+asyncpg://neo:pw1234@127.0.0.1:{port}/neo?sslmode={mode}"
            result = _cli("migrate", env={"DATABASE_URL": url, "DATA_DIR": str(tmp_path)})
            assert result.returncode == 3, result.stderr
            assert result.stderr.startswith("neo-events: cannot reach the database: ")
            assert len(result.stderr.splitlines()) == 1 and "pw1234" not in result.stderr


def test_two_migrations_at_once_both_succeed(database_url: str, tmp_path: Path) -> None:
    """Two `neo-events migrate` at once on a fresh database: one failed with a long
    traceback (an outside attack). Now the second waits for the first (PostgreSQL: an
    advisory lock; SQLite: a lock file beside the database), then finds nothing to do."""
    if database_url.startswith("postgresql"):
        base = make_url(database_url)
        fresh = base.set(database=f"{base.database}_migrate_race")
        _create_database(base, fresh.database or "")
        url = fresh.render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    env = os.environ | {"DATABASE_URL": url, "DATA_DIR": str(tmp_path)}
    try:
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "neo_events.cli", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(run.wait(timeout=300), run.communicate()[1]) for run in runs]
        for code, stderr in results:
            assert code == 0 and "Traceback" not in stderr, stderr
        assert _cli("migrate", env={"DATABASE_URL": url}).returncode == 0
    finally:
        if url.startswith("postgresql"):
            _drop_database(base, fresh.database or "")


def _drop_database(base: URL, name: str) -> None:
    async def drop() -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await engine.dispose()

    asyncio.run(drop())
