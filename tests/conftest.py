"""Fixtures: the app on a real, migrated database — SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import asyncio
import compileall
import os
import sysconfig
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import URL, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from neo_events.cli import alembic_config
from neo_events.db import Base
from neo_events.main import create_app
from neo_events.settings import Settings
from tests import timing
from tests.helpers import Account, register
from tests.live import SERVERS, forget_stopped, running_server


def _own_services() -> None:
    """Under pytest-xdist (`make test` runs the suite in several processes), each worker has
    a PostgreSQL database and a Redis database of its own: `test` becomes `test_gw1`,
    Redis db 0 becomes db 2 (worker n uses base + n + 1, modulo Redis' 16). Rewritten in the
    environment before any test module reads it, so every test sees its worker's services."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    number = int(worker.removeprefix("gw"))
    if database := os.environ.get("TEST_DATABASE_URL"):
        base = make_url(database)
        own = base.set(database=f"{base.database}_{worker}")
        _create_database(base, own.database or "")
        os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)
    if redis_url := os.environ.get("TEST_REDIS_URL"):
        parts = urlsplit(redis_url)
        db = int(parts.path.strip("/") or 0)
        os.environ["TEST_REDIS_URL"] = parts._replace(path=f"/{(db + number + 1) % 16}").geturl()


def _create_database(base: URL, name: str) -> None:
    """CREATE DATABASE `name` unless it exists, from a connection to `base`'s database."""

    async def create() -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                found = await conn.scalar(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                )
                if not found:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await engine.dispose()

    try:
        asyncio.run(create())
    except Exception as exc:  # configured but unreachable is a failure, never a skip
        message = f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}"
        raise RuntimeError(message) from exc


_own_services()


def pytest_configure(config: pytest.Config) -> None:
    """Compile the bytecode of the environment, src/, migrations/ and tests/ once, before the
    xdist workers start. The suite starts hundreds of Python processes (`neo-events` commands,
    server processes, their workers); with `PYTHONDONTWRITEBYTECODE=1` (set where CI runs) and a
    fresh `.venv` (uv installs no bytecode) each compiled some 650 modules from source again:
    3-4 s of CPU per process, three quarters of tests/test_cli.py's time. `compileall` writes
    whatever that variable says and is a check of timestamps (under a second) once done."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    root = Path(__file__).resolve().parents[1]
    paths = [Path(p) for p in sysconfig.get_paths().values() if "site-packages" in p]
    for path in dict.fromkeys([*paths, root / "src", root / "migrations", root / "tests"]):
        if path.is_dir():
            with suppress(OSError):  # a read-only environment runs as before, only slower
                compileall.compile_dir(path, quiet=2, workers=0)


def pytest_report_header() -> str:
    """What the time bounds are multiplied by on this machine (tests/timing.py), in the log."""
    return f"time bounds: this machine runs the reference work {timing.measure():.2f}x slower"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test's report ends with the log of every server process it ran, or that ran
    for it (a browser test that times out says nothing else of what its server did)."""
    report = yield
    if report.failed:
        for server in sorted(SERVERS, key=lambda s: s.port):
            report.sections.append((f"server {server.base}", server.report()))
    if call.when == "teardown":
        forget_stopped()
    return report


def _backend(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("database_url") if callspec else None
    return str(backend) if backend else None


# Scheduling (docs/development.md, "Scheduling the tests over the workers"). Under `-n N` a
# unit of work is a module's tests on one database (`_Modules`), handed out one at a time, in
# the order `_rank` sorts the tests into, to whichever worker is free: the long units go first
# and the many short ones even out the workers' ends. Under xdist's own `--dist load`
# (contiguous chunks of up to a few hundred tests) tests/test_cli.py, a dozen tests of 20-130 s
# that sat among the last thousand, went to one worker in one chunk and ran there alone at the
# end of the run; putting the long tests first in that mode only moved them all into the
# first worker's first chunk.
_PROCESS_FIXTURES = frozenset({"live_server", "browser"})


def _shared_scope(item: pytest.Item) -> bool:
    """Whether `item` uses a fixture wider than a test and narrower than the session (the
    browser tests' module-scoped server and Chromium, a module's one server process)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        defs[-1].scope in ("package", "module", "class")
        for defs in info.name2fixturedefs.values()
        if defs
    )


_BACKENDS = ("sqlite", "postgres")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist load` (what `-n N` means) becomes `_Modules`; another `--dist` is left alone.
    (`--dist loadgroup` with `xdist_group` marks no longer groups anything under pytest 9:
    pytest-xdist#1386.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class _Modules(LoadScopeScheduling):  # type: ignore[misc]
        """A unit of work is a module's tests on one database (a module-scoped fixture is
        set up once), handed out one at a time in collection order (not largest-first by
        count) to whichever worker has at most two tests left."""

        def _split_scope(self, nodeid: str) -> str:
            module, _, rest = nodeid.partition("::")
            params = rest.partition("[")[2].removesuffix("]").split("-")
            return module + "".join(f"[{p}]" for p in params if p in _BACKENDS)

    config.option.loadscopereorder = False
    return _Modules(config, log)


def _rank(item: pytest.Item) -> tuple[int, int]:
    """The sort key. The long tests that need no database first, then SQLite's tests, then
    PostgreSQL's (never mixed: a worker migrates the other database again each time it
    switches), then the rest. Within each: modules whose tests share a fixture (kept
    together, so it is set up once), then tests marked `slow` or starting a server
    process, then the others."""
    if _shared_scope(item):
        rank = 0
    elif item.get_closest_marker("slow") or _PROCESS_FIXTURES & set(
        getattr(item, "fixturenames", ())
    ):
        rank = 1
    else:
        rank = 2
    backend = _backend(item)
    if backend is None:
        return (0, rank) if rank < 2 else (3, rank)
    return {"sqlite": 1, "postgres": 2}[backend], rank


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `postgres` (or `sqlite`) is of what only that database has (a second
    server connection to terminate, a plan cache, one write lock): its variant on the other
    database is no test, so it is deselected, not skipped (`pytest --collect-only` counts
    them). What is kept is sorted by `_rank` (stable: pytest's own order within a rank, which
    keeps a module's tests together)."""
    kept, dropped = [], []
    for item in items:
        backend = _backend(item)
        other = {"sqlite": "postgres", "postgres": "sqlite"}.get(backend or "")
        (dropped if other and item.get_closest_marker(other) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = sorted(kept, key=_rank)


TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
BACKENDS = ["sqlite"] + (["postgres"] if TEST_DATABASE_URL else [])


@pytest.fixture(autouse=True)
def _time_budgets() -> None:
    """The machine's slowness for the test's time bounds, measured again between tests when
    stale (`tests/timing.py`), never inside what a test times."""
    timing.refresh()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


async def _check_reachable(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def _reset_postgres(url: str) -> None:
    async def reset() -> None:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(_check_reachable(url))
    except Exception as exc:  # configured but unreachable is a failure, never a skip
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}", pytrace=False)
    asyncio.run(reset())


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database whose schema was made by running every migration."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        assert TEST_DATABASE_URL
        url = TEST_DATABASE_URL
        _reset_postgres(url)
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Test settings: cheap password hashing, a fixed key, rate limits off unless asked."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "rate_limit_enabled": False,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)


async def truncate_all(database_url: str) -> None:
    """Empty every table of a database some test wrote to outside the `app` fixture."""
    engine = create_async_engine(database_url)
    try:
        await _truncate(engine)
    finally:
        await engine.dispose()


# Every sequence of the schema back to its start, as TRUNCATE's RESTART IDENTITY would.
_RESTART_SEQUENCES = """DO $$ DECLARE s record; BEGIN
  FOR s IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() LOOP
    EXECUTE format('ALTER SEQUENCE %I RESTART', s.sequencename);
  END LOOP;
END $$"""


async def _truncate(engine: AsyncEngine) -> None:
    # feed_state keeps its one row (the migrations seed it); its counter starts over.
    tables = [table.name for table in Base.metadata.sorted_tables if table.name != "feed_state"]
    emptied = [f"DELETE FROM {name}" for name in reversed(tables)]  # children first
    reset = "UPDATE feed_state SET last_seq = 0"
    if engine.dialect.name == "postgresql":
        # DELETEs, not TRUNCATE, in one round trip (a simple query): TRUNCATE makes new files
        # for 22 tables and their indexes, 40 ms after every test; a test leaves a few rows.
        script = "; ".join(["BEGIN", *emptied, _RESTART_SEQUENCES, reset, "COMMIT"])
        async with engine.connect() as conn:
            await (await conn.get_raw_connection()).driver_connection.execute(script)
        return
    async with engine.begin() as conn:
        for statement in [*emptied, reset]:
            await conn.execute(text(statement))


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    return make_settings(database_url, data_dir)


@asynccontextmanager
async def serving(settings: Settings, application: FastAPI | None = None) -> AsyncIterator[FastAPI]:
    """The real application (`application`, else a new one), lifespan running; every table
    emptied afterwards, once its background tasks (the live hub's polling, the job runner)
    have stopped, which could otherwise hold locks the clean-up waits for on PostgreSQL."""
    application = application or create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            yield application
    finally:
        await truncate_all(settings.database_url)


def http_client(app: FastAPI, base_url: str = "http://testserver") -> httpx.AsyncClient:
    """An HTTP client for the app, through its whole ASGI stack (errors become responses)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


# The app objects the `app` fixture served lately in this worker, with their settings.
_SERVED: list[tuple[Settings, FastAPI]] = []
_KEEP_APPS = 4


def _app_for(settings: Settings) -> FastAPI:
    """The app object made for settings equal to these, else a new one (kept, the oldest of
    more than `_KEEP_APPS` forgotten). FastAPI works out each of an app's routes, their
    dependencies and their parameters' validators per app object (160 ms, several times a
    typical test's own work); everything a serving holds (engine, hub, job runner, caches) is
    made by the lifespan, which `serving` runs for each test."""
    for index, (kept, application) in enumerate(_SERVED):
        if kept == settings:
            _SERVED.append(_SERVED.pop(index))
            return application
    _SERVED.append((settings, create_app(settings)))
    del _SERVED[:-_KEEP_APPS]
    return _SERVED[-1][1]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app for this test's settings, served for this test alone. A test that changes the
    app object itself (adds a route) takes `own_app`, a new one, instead."""
    async with serving(settings, _app_for(settings)) as application:
        yield application


@pytest.fixture
async def own_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """A new app object, for a test that changes it (adds a route), served for the test."""
    async with serving(settings) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as c:
        yield c


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    """A registered user, signed in: most API tests act as her."""
    return await register(client, "alice")


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgres" if database_url.startswith("postgresql") else "sqlite"


# Live connections that notice changes quickly: heartbeats every 0.2 s, the feed polled twice
# a second (a real server process's own, for tests of what reaches its clients).
LIVE_FAST = {"LIVE_HEARTBEAT_S": "0.2", "LIVE_POLL_S": "0.5"}


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A real server process (`LIVE_FAST`) on this backend; its tables emptied afterwards."""
    with running_server(database_url=database_url, data_dir=tmp_path, extra_env=LIVE_FAST) as base:
        yield base
    asyncio.run(truncate_all(database_url))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    yield TEST_REDIS_URL
