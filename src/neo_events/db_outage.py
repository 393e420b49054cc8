"""How a database that is away shows: as errors `errors.database_unavailable` answers 503.

asyncpg reports a connection it could not open with the socket's own error (a refused
connection while PostgreSQL restarts, `socket.gaierror` when a container's name no longer
resolves, `TimeoutError` past DB_CONNECT_TIMEOUT_S), which SQLAlchemy passes on as it came,
to be answered 500. Here it becomes the driver's `OperationalError` with SQLSTATE 08001 (the
client could not connect). A statement past DB_COMMAND_TIMEOUT_S (asyncpg's
`command_timeout`: PostgreSQL stopped, or a network gone silent) raises `TimeoutError`, also
passed on as it came; here it ends its connection (it is mid-statement: its state is
unknown) and becomes an `OperationalError`. Requests then fail at these bounds, not after
however long the database is away. (`driver.py` does the same for its own statements.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from neo_events.settings import Settings

# SQLSTATE sqlclient_unable_to_establish_sqlconnection
CANNOT_CONNECT = "08001"


def asyncpg_args(settings: Settings) -> dict[str, Any]:
    """asyncpg's arguments for the service's connections: their name in
    `pg_stat_activity`, its bounds on opening one and on each statement, and PostgreSQL's on
    a session left idle inside a transaction (DB_IDLE_IN_TRANSACTION_TIMEOUT_S, a backstop:
    its locks and the vacuum horizon released)."""
    server_settings = {"application_name": settings.db_application_name}
    if settings.db_idle_in_transaction_timeout_s > 0:
        server_settings["idle_in_transaction_session_timeout"] = str(
            max(1, round(settings.db_idle_in_transaction_timeout_s * 1000))
        )
    return {
        "server_settings": server_settings,
        "timeout": settings.db_connect_timeout_s,
        "command_timeout": settings.db_command_timeout_s,
    }


def cannot_connect(dialect: Dialect, exc: OSError) -> Exception:
    """The driver's OperationalError for a connection the network refused or timed out."""
    error: Any = dialect.loaded_dbapi.OperationalError(str(exc) or repr(exc), exc)
    error.sqlstate = error.pgcode = CANNOT_CONNECT
    return error  # type: ignore[no-any-return]


def timed_out(statement: str | None, params: Any, exc: TimeoutError) -> OperationalError:
    """What a statement past DB_COMMAND_TIMEOUT_S raises; its connection is ended."""
    return OperationalError(statement, params, exc, connection_invalidated=True)


def install(engine: AsyncEngine) -> None:
    """Translate the engine's connect errors and statement timeouts (see above)."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Dialect, _record: Any, cargs: Sequence[Any], cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:
            raise cannot_connect(dialect, exc) from exc

    @event.listens_for(engine.sync_engine, "handle_error")
    def _timed_out(context: ExceptionContext) -> Exception | None:
        exc = context.original_exception
        if not isinstance(exc, TimeoutError) or context.connection is None:
            return None
        context.is_disconnect = True  # this connection only: the others may be fine
        context.invalidate_pool_on_disconnect = False
        return timed_out(context.statement, context.parameters, exc)
