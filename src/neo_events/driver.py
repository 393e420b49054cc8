"""Statements on the database driver itself, for the hottest paths on PostgreSQL (#16).

SQLAlchemy costs a statement 0.1-0.3 ms of CPU beyond asyncpg's own (building the cache
key, processing the parameters and the result, the greenlet bridge, the session's
bookkeeping: BENCHMARKS.md), as much as the rest of an edit's Python together. Here a Core
statement is compiled once by SQLAlchemy for the engine's dialect (`Compiled`: its SQL, its
parameters in order with each column type's bind processor, its result columns with their
result processors) and run with asyncpg's own `fetch`, in autocommit, on a connection from
the engine's pool (`connection`) or on a session's own when it runs in autocommit
(`connection_of`): each statement is its own transaction, for reads and for a write that
is one statement (`events.statements`).

What SQLAlchemy would do around it is kept: the pool's checkout and checkin events (the
ping of an idle connection), the engine's `before_cursor_execute` listeners (called with no
connection, cursor or context: the statement and its parameters), and its errors: asyncpg's
are translated as SQLAlchemy's dialect translates them and raised as `DBAPIError`, a lost
connection is invalidated in the pool and says so (`connection_invalidated`, a 503 in
`errors`), and a statement cut short (a cancelled request) ends its connection rather than
return it to the pool mid-protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from neo_events import db, db_outage


class Row(SimpleNamespace):
    """A result row read by attribute and by `_mapping`, as SQLAlchemy's `Row` is."""

    @property
    def _mapping(self) -> dict[str, Any]:
        return vars(self)


class Compiled:
    """A Core statement compiled once for a dialect, to run on the driver."""

    def __init__(self, statement: ClauseElement | Executable, dialect: Dialect) -> None:
        assert isinstance(statement, ClauseElement)  # an Executable to mypy: a Core statement
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("a statement with parameters expanded per call (IN lists)")
        self._compiled = compiled
        self.sql = compiled.string
        self._positions = tuple(compiled.positiontup or ())
        self._binds: Mapping[str, Any] = compiled._bind_processors
        columns = compiled._result_columns or []  # (key, name, objects, type) of each
        self._keys = tuple(column[0] for column in columns)
        if len(set(self._keys)) < len(self._keys):
            raise ValueError(f"columns of one name: {self._keys}")
        self._results = tuple(
            column[3]._cached_result_processor(dialect, None) for column in columns
        )

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The statement's parameters in order, each as its column type binds it."""
        bound: Any = self._compiled.construct_params(dict(params))
        binds = self._binds
        return [binds[k](bound[k]) if k in binds else bound[k] for k in self._positions]

    def rows(self, records: Sequence[Any]) -> list[Row]:
        """The driver's records as rows, each value as its column type reads it (a textual
        statement's columns are untyped: as the driver reads them)."""
        keys, results = self._keys, self._results
        if not keys:
            return [Row(**dict(record.items())) for record in records]
        return [
            Row(
                **{
                    key: (value if process is None else process(value))
                    for key, process, value in zip(keys, results, record, strict=True)
                }
            )
            for record in records
        ]


class Result:
    """A statement's rows, read as a `sqlalchemy.Result` is by the code that shares them.
    The driver's records become rows when first read, or a part at a time (`partitions`:
    a caller of many rows lets the event loop run between parts, `calendar_keys.read`)."""

    def __init__(self, records: Sequence[Any], found: Compiled) -> None:
        self._records: Sequence[Any] | None = records
        self._found = found
        self._built: list[Row] = []

    @property
    def _rows(self) -> list[Row]:
        if self._records is not None:
            self._built, self._records = self._found.rows(self._records), None
        return self._built

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows)

    def partitions(self, size: int) -> Iterator[list[Row]]:
        if self._records is None:
            rows = self._built
            yield from (rows[i : i + size] for i in range(0, len(rows), size))
            return
        records, self._records = self._records, []
        for first in range(0, len(records), size):
            yield self._found.rows(records[first : first + size])

    def all(self) -> list[Row]:
        return self._rows

    def one_or_none(self) -> Row | None:
        rows = self._rows
        if len(rows) > 1:
            raise ValueError("more than one row")
        return rows[0] if rows else None

    def scalar(self) -> Any:
        rows = self._rows
        return next(iter(vars(rows[0]).values())) if rows else None

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else next(iter(vars(row).values()))


# Keyed by the statement's identity (the statement is kept, so its id is not reused): the
# statements run here are module-level constants, built once. The bound keeps a caller that
# builds one per call from growing it without end.
_COMPILED: dict[tuple[int, int], tuple[Any, Dialect, Compiled]] = {}
_COMPILED_MAX = 256


def compiled(statement: ClauseElement | Executable, dialect: Dialect) -> Compiled:
    """`statement` compiled for `dialect` (an engine's: its serializers, its server's
    version), once. Both are kept with it, so neither id is reused while it is cached."""
    key = (id(statement), id(dialect))
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        found = _COMPILED[key] = (statement, dialect, Compiled(statement, dialect))
    return found[2]


class Connection:
    """A pooled connection's driver, in autocommit. `execute` and `scalar` as an
    `AsyncConnection` has them, for the statements the hot paths share with it."""

    def __init__(
        self,
        fairy: PoolProxiedConnection,
        engine: AsyncEngine,
        owner: AsyncConnection | None = None,
    ) -> None:
        self._fairy = fairy
        self._driver: Any = fairy.driver_connection
        self._engine = engine
        self._owner = owner  # the session's connection this one is, if it is
        self.dialect = engine.dialect

    async def execute(
        self, statement: ClauseElement | Executable, params: Mapping[str, Any]
    ) -> Result:
        found = compiled(statement, self.dialect)
        args = found.args(params)
        listeners = self._engine.sync_engine.dispatch.before_cursor_execute
        if listeners:
            # as SQLAlchemy calls them, in its greenlet (a listener may await: the tests')
            await greenlet_spawn(_notify, listeners, found.sql, args)
        try:
            records = await self._driver.fetch(found.sql, *args)
        except BaseException as exc:
            translated = await self._failed(exc, found.sql, args)
            if translated is exc:
                raise
            raise translated from exc
        return Result(records, found)

    async def scalar(self, statement: ClauseElement | Executable, params: Mapping[str, Any]) -> Any:
        return (await self.execute(statement, params)).scalar()

    async def _failed(self, exc: BaseException, sql: str, args: list[Any]) -> BaseException:
        """What a failed statement raises, as SQLAlchemy's connection would raise it; a lost
        connection, or one left mid-statement, is dropped from the pool."""
        adapted: Any = self._fairy.dbapi_connection
        dbapi_error = self.dialect.loaded_dbapi.Error
        if not isinstance(exc, Exception):  # cancelled mid-statement: its state is unknown
            await self._invalidate(exc)  # this connection only, as SQLAlchemy does
            return exc
        if isinstance(exc, TimeoutError):  # past DB_COMMAND_TIMEOUT_S: as `db_outage` does
            await self._invalidate(exc)
            return db_outage.timed_out(sql, args, exc)
        try:
            adapted._handle_exception(exc)  # raises the dialect's translation
        except dbapi_error as translated:
            lost = self.dialect.is_disconnect(translated, adapted, None)
            if lost:
                # As SQLAlchemy does: every connection of the pool as old as this one is
                # replaced at its next checkout (a restarted database ended them all), and
                # this one now.
                self._engine.sync_engine.pool._invalidate(self._fairy, translated, _checkin=False)
                await self._invalidate(translated)
            return DBAPIError.instance(
                sql,
                args,
                translated,
                dbapi_error,
                connection_invalidated=lost,
                dialect=self.dialect,
            )
        except Exception as other:  # not the driver's: as it came
            return other
        raise AssertionError("unreachable: _handle_exception always raises")

    async def _invalidate(self, exc: BaseException) -> None:
        if self._owner is not None:  # through the session's connection, which then knows
            await self._owner.invalidate(exc)
        else:
            await greenlet_spawn(self._fairy.invalidate, exc)


def _notify(listeners: Any, sql: str, args: list[Any]) -> None:
    for listener in listeners:
        listener(None, None, sql, args, None, False)


def serves(dialect: Dialect) -> bool:
    """Whether statements of this dialect can run here: PostgreSQL through asyncpg."""
    return dialect.name == "postgresql" and dialect.driver == "asyncpg"


def usable(session: AsyncSession) -> bool:
    """Whether a write of the session's request may run on the driver instead: PostgreSQL
    (asyncpg), and the session has not begun (an `Idempotency-Key` begins it, to store the
    answer with the change, which the write must then join)."""
    return serves(session.get_bind().dialect) and not session.in_transaction()


_AUTOCOMMIT_FIRST = "neo.autocommit_first"


def autocommit_first(session: AsyncSession) -> None:
    """Have the session's first statement sent through `connection_of` put it in autocommit
    (`db.one_statement_write`) if it has not begun by then: a write that is one statement
    (a create's) writes on a connection of its own (`connection`), and its request's
    session takes one of the pool only if something reads through it afterwards (a check
    that lacks what the worker keeps), without a BEGIN and a COMMIT for those reads."""
    session.info[_AUTOCOMMIT_FIRST] = True


async def connection_of(session: AsyncSession) -> Connection | AsyncConnection:
    """Where a Core statement of the session's request goes: the session's own connection
    on the driver if it runs in autocommit on PostgreSQL (a safe-method request's session,
    `db.create_read_sessionmaker`; a one-statement write's, `db.one_statement_write`,
    `autocommit_first`), where a statement is its own transaction whichever way it is sent;
    else the session's connection (`db.core`), since SQLAlchemy begins a transaction when it
    sends its first statement and one sent past it would not be in it. The session's pending
    objects are flushed first either way, as its own `execute` would."""
    if session.info.get(_AUTOCOMMIT_FIRST) and not session.in_transaction():
        await db.one_statement_write(session)
    owner = await db.core(session)
    if not serves(owner.dialect):
        return owner
    fairy = await owner.get_raw_connection()
    if not getattr(fairy.dbapi_connection, "autocommit", False):
        return owner
    return Connection(fairy, engine_of(session), owner)


def engine_of(session: AsyncSession) -> AsyncEngine:
    engine = session.bind
    assert isinstance(engine, AsyncEngine)
    return engine


@asynccontextmanager
async def connection(engine: AsyncEngine) -> AsyncIterator[Connection]:
    """A connection of the engine's pool, on the driver, for as long as the block runs. One
    that cannot be opened raises `DBAPIError`, as through a session (a 503 in `errors`)."""
    dialect = engine.dialect
    try:
        fairy = await engine.raw_connection()
    except dialect.loaded_dbapi.Error as exc:  # (the pool's own raises it unwrapped)
        raise DBAPIError.instance(
            None, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    try:
        yield Connection(fairy, engine)
    finally:
        await greenlet_spawn(fairy.close)
