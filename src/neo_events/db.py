"""Engine, declarative base and the one-transaction-per-request unit of work."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, any_, bindparam, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from neo_events import db_outage, db_sqlite
from neo_events.settings import Settings, private_sqlite_file

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
IdType = BigInteger().with_variant(Integer(), "sqlite")

# A pooled connection idle for longer than this is pinged before it is handed out.
PING_IF_IDLE_S = 10.0


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: timestamptz on PostgreSQL, naive UTC text on SQLite; always aware in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    # Written as arithmetic from an epoch, not `replace(tzinfo=…)`, which costs ten times as
    # much on CPython 3.11 (keyword arguments): a listing converts thousands of these.

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone")
        if dialect.name == "sqlite":
            return _EPOCH + (value - _EPOCH_UTC)  # naive UTC
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return _EPOCH_UTC + (value - _EPOCH)
        return value if value.tzinfo is UTC else value.astimezone(UTC)


_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def one_of(dialect: str, column: Any, name: str) -> Any:
    """`column` is one of the list bound as `:name`, in a statement built once: on PostgreSQL
    `= ANY` of one array parameter, one prepared statement whatever the count (an expanding
    IN is rendered again, and prepared again by the server, for each new count: 0.2 ms a
    read); elsewhere an expanding IN. (`jobs.queue.among` binds its values in place.)"""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def json_text(value: Any) -> str:
    """A JSON column's text, by orjson in a tenth of the standard library's time: the same
    value read back (keys that are not strings written as strings, as `json` writes them),
    though not the same text (no spaces, UTF-8 unescaped; no code compares stored JSON as
    text). Stricter on what no column holds (integers beyond 64 bits, lone surrogates: a
    TypeError), and NaN is written as null."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def json_size(value: Any) -> int:
    """The bytes of a JSON column's text (`json_text`, UTF-8: a CJK character is three)."""
    return len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))


def create_engine(settings: Settings) -> AsyncEngine:
    """The engine for the configured database, tuned for the dialect."""
    url = settings.database_url
    if settings.is_sqlite:
        private_sqlite_file(url)  # (settings.py: the data folder's files are private)
        engine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout_s,
            json_serializer=json_text,
            json_deserializer=orjson.loads,
        )
        db_sqlite.configure(engine, write_wait_s=settings.sqlite_write_wait_s)
        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql+asyncpg"):
        connect_args = db_outage.asyncpg_args(settings)
    engine = create_async_engine(
        url,
        connect_args=connect_args,
        pool_size=settings.db_pool_size,
        max_overflow=0,  # see Settings.db_pool_size
        pool_timeout=settings.db_pool_timeout_s,
        pool_recycle=1800,
        # JSON columns (exdates, overrides, snapshots, audit details) are read with every
        # event row and written with every change: orjson in a tenth of the standard
        # library's time either way.
        json_serializer=json_text,
        json_deserializer=orjson.loads,
    )
    _ping_idle_connections(engine)
    db_outage.install(engine)
    return engine


# The migration whose tables this code reads and writes (`migrations/versions`; revisions are
# numbered): `tests/test_migrations.py` holds it to alembic's head, so no migration lands
# without it.
SCHEMA_REVISION = "0029"


class SchemaNotCurrent(RuntimeError):
    """The database is not at the revision this code needs: serving it would answer 500s."""


async def create_checked_engine(settings: Settings) -> AsyncEngine:
    """`create_engine`, for a server or job worker starting: its database must be at this
    code's revision (`check_schema`), else the engine is closed and SchemaNotCurrent raised."""
    engine = create_engine(settings)
    try:
        await check_schema(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def check_schema(engine: AsyncEngine, *, warn: bool = True) -> None:
    """Refuse a database that `neo-events migrate` has not brought to SCHEMA_REVISION: a
    worker fails its start-up with the reason rather than answer 500s for the tables or
    columns it misses, and `/readyz` says so (a backup of an older release restored under
    this one). A newer revision passes (with a warning, if `warn`): a rolling upgrade
    migrates before the old workers stop (docs/operations.md)."""
    async with engine.connect() as connection:
        try:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            found = sorted(result.scalars())
        except DBAPIError:  # no such table: never migrated
            found = []
    if SCHEMA_REVISION in found:
        return
    if not found:
        raise SchemaNotCurrent(
            f"the database has no schema: run `neo-events migrate` first "
            f"(this release needs revision {SCHEMA_REVISION})"
        )
    if all(r.isdigit() and int(r) < int(SCHEMA_REVISION) for r in found):
        raise SchemaNotCurrent(
            f"the database is at revision {', '.join(found)}; this release needs "
            f"{SCHEMA_REVISION}: run `neo-events migrate` first"
        )
    if not warn:
        return
    logger.warning(
        "the database is at revision %s, newer than this release's %s",
        ", ".join(found),
        SCHEMA_REVISION,
    )


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling where it pays: a connection that sat in the pool for
    PING_IF_IDLE_S (long enough for a database restart or a dropped idle connection to go
    unnoticed) is pinged at checkout and replaced if dead. A busy pool is not pinged:
    SQLAlchemy's `pool_pre_ping` pings every checkout, three round trips on asyncpg (BEGIN,
    a query, ROLLBACK), a third of a simple GET's. A connection that dies while busy fails
    its request with a 503 and SQLAlchemy then replaces every pooled connection."""
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IF_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:  # the pool retries with a new connection
            raise DisconnectionError(f"idle connection failed its ping: {exc}") from exc


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class WriteInReadOnlyRequest(RuntimeError):
    """A GET (or HEAD/OPTIONS) tried to write: it runs without a transaction (see below)."""


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession] | None:
    """Sessions for safe-method requests on PostgreSQL: no BEGIN and no COMMIT, two round
    trips of a simple GET's five. At READ COMMITTED every statement sees its own snapshot
    inside a transaction too, so a read loses nothing by running without one. A write
    statement on such a session fails loudly (WriteInReadOnlyRequest): it would commit
    statement by statement. SQLite keeps its (in-process, cheap) deferred transaction."""
    if engine.dialect.name != "postgresql":
        return None
    reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    @event.listens_for(reads.sync_engine, "before_cursor_execute")
    def _refuse_writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # No connection: a statement on the driver (`neo_events.driver`), in autocommit.
        if not statement.lstrip()[:6].upper().startswith(("SELECT", "WITH")) and (
            conn is None or conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        ):
            raise WriteInReadOnlyRequest(f"a safe-method request wrote: {statement[:80]}")

    return async_sessionmaker(reads, expire_on_commit=False)


AfterCommit = Callable[[], Awaitable[None]]
BeforeCommit = Callable[[], Awaitable[None]]


@dataclass
class UnitOfWork:
    """Work a request queues for just before its commit (numbering the change feed) and for
    after it (notifications); all of it dropped on rollback."""

    before_commit: list[BeforeCommit] = field(default_factory=list)
    after_commit: list[AfterCommit] = field(default_factory=list)
    # What is queued once a transaction however often it is asked for (`after_commit_once`).
    once: set[str] = field(default_factory=set)


async def core(session: AsyncSession) -> AsyncConnection:
    """The session's connection, for a Core statement that loads no ORM objects: the flush
    the session's own `execute` would make first (autoflush) if anything is pending, then
    none of the ORM's execution step, about 0.07 ms of CPU a statement (BENCHMARKS.md). The
    same transaction, errors and statement events as through the session."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        await session.flush()
    return await session.connection()


async def one_statement_write(session: AsyncSession) -> bool:
    """On PostgreSQL, put a session that has not begun in autocommit, for a request whose
    write is one statement (`events.statements`), atomic by itself (a create's reads after
    it: `driver.autocommit_first`): no `BEGIN` and no `COMMIT`, two round trips and their
    parsing saved. Its reads lock nothing and, at READ COMMITTED, see no less than inside a
    transaction. True if it did; False on SQLite, or if the session had begun (an
    `Idempotency-Key` begins it, to store the answer with the change), which the write then
    joins. Ended by `commit` or `rollback`; its isolation reset on return to the pool."""
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return False
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True


def unit_of_work(session: AsyncSession) -> UnitOfWork:
    uow = session.info.get("uow")
    if uow is None:
        uow = session.info["uow"] = UnitOfWork()
    return uow


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the request's transaction has committed; never if it rolls back."""
    unit_of_work(session).after_commit.append(callback)


def after_commit_once(session: AsyncSession, key: str, callback: AfterCommit) -> None:
    """`after_commit`, unless something was queued under `key` in this transaction already.
    The key goes with the queue: a rolled-back attempt leaves nothing behind for the next."""
    uow = unit_of_work(session)
    if key not in uow.once:
        uow.once.add(key)
        uow.after_commit.append(callback)


def begun(session: AsyncSession) -> bool:
    """Whether the session has a transaction (perhaps a pooled connection) or objects to
    flush; if not (a text edit written on the driver), committing and closing it would cost
    two greenlet hops, 0.1 ms of CPU, for nothing (issue #16)."""
    return session.in_transaction() or bool(session.new or session.dirty or session.deleted)


async def commit(session: AsyncSession) -> None:
    """Run the transaction's last steps, commit it, then run what waited for it."""
    queued = session.info.get("uow")
    if queued is not None:
        for last_step in queued.before_commit:
            await last_step()
    if begun(session):
        await session.commit()
    uow = session.info.pop("uow", None)
    if uow is not None:
        for callback in uow.after_commit:
            try:
                await callback()
            except Exception:
                # The change is committed; a failed side effect must not turn it into an error.
                logger.exception("after-commit callback failed")


async def rollback(session: AsyncSession) -> None:
    session.info.pop("uow", None)
    await session.rollback()
