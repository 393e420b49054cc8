"""The `neo-events` command: serve | worker | migrate | create-admin | import.

Imports stay inside the commands: every worker `serve --workers N` starts is a fresh
interpreter that imports this module (as multiprocessing's spawn re-imports `__main__`)
before it can answer the supervisor's health check, which kills a worker that is silent for
5 s. Without cached bytecode on a busy machine, alembic, SQLAlchemy and pydantic took longer
than that, and the workers were killed and restarted forever.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import getpass
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from alembic.config import Config

    from neo_events.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    """Alembic's config for the repository's migrations, pointed at `database_url`."""
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


class DatabaseUnreachable(RuntimeError):
    """The database refused or did not answer the first connection; the message says why."""


async def _reach_database(settings: Settings, *, check_schema: bool) -> None:
    """Connect once (and check the schema's revision) before starting: an unreachable or
    unmigrated database stops the command with one line that says why, not a traceback."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from neo_events import db

    engine = db.create_engine(settings)
    try:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (OSError, DBAPIError) as exc:  # never the URL: it may hold a password
            reason = exc.orig if isinstance(exc, DBAPIError) else exc
            lines = str(reason).strip().splitlines()
            raise DatabaseUnreachable(
                f"cannot reach the database: {lines[0] if lines else type(reason).__name__}"
            ) from None
        if check_schema:
            await db.check_schema(engine)
    finally:
        await engine.dispose()


def migrate(settings: Settings) -> None:
    """Bring the schema to the newest revision (creating SQLite's folder and file first)."""
    from alembic import command

    asyncio.run(_reach_database(settings, check_schema=False))
    with _one_migration_at_a_time(settings):
        command.upgrade(alembic_config(settings.database_url), "head")


@contextmanager
def _one_migration_at_a_time(settings: Settings) -> Iterator[None]:
    """Two `migrate` at once on SQLite (non-transactional DDL): the second waits for the
    first on a lock file beside the database, then finds nothing to do (it failed half-way
    with a traceback). PostgreSQL's is an advisory lock (migrations/env.py)."""
    from sqlalchemy.engine import make_url

    database = make_url(settings.database_url).database
    if not settings.is_sqlite or not database:
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:  # (settings: never in-memory)
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# The largest WebSocket message a client may send (the live stream takes none: live/router.py);
# uvicorn's default is 16 MiB, inflated on the event loop.
WS_MAX_SIZE = 4096


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    reload: bool,
    server: str = "uvicorn",
) -> None:
    from neo_events.logs import configure_logging, logging_config

    settings.resolved_secret_key()  # fail before binding the port, with the reason
    asyncio.run(_reach_database(settings, check_schema=True))  # each worker checks it again
    configure_logging(json_logs=settings.log_json)
    # Handed to the server, which applies it in every worker it starts: workers are fresh
    # interpreters (multiprocessing's spawn), and configure_logging above reaches only this one.
    log_config = logging_config(json_logs=settings.log_json)
    from neo_events.http_limits import HttpLimits

    # The bounds on a request's head and a chunked body (http_server.py), before the app runs.
    limits = HttpLimits.from_settings(settings)
    if server == "granian":
        from granian import Granian
        from granian.constants import Interfaces

        Granian(
            "neo_events.asgi:app",
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            reload=reload,
            log_access=False,
            log_dictconfig=log_config,
            http1_settings=limits.granian_http1_settings(),
        ).serve()
        return
    import uvicorn

    uvicorn.run(
        "neo_events.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        access_log=False,
        proxy_headers=True,
        log_config=log_config,
        ws_max_size=WS_MAX_SIZE,
        # At SIGTERM: what still runs past this is cancelled (live streams end at once:
        # stopping.py), so a stop takes seconds, not as long as a client stays connected.
        timeout_graceful_shutdown=settings.http_stop_grace_s,
        # Each worker builds it, and reads the same limits from the environment.
        http="neo_events.http_server:BoundedHttpToolsProtocol",
    )


def worker(settings: Settings) -> None:
    from neo_events.jobs.worker import run_worker
    from neo_events.logs import configure_logging

    settings.resolved_secret_key()  # webhook secrets are sealed with it
    asyncio.run(_reach_database(settings, check_schema=True))
    configure_logging(json_logs=settings.log_json)
    asyncio.run(run_worker(settings))


async def _create_admin(settings: Settings, username: str, email: str, password: str) -> int:
    from pydantic import ValidationError

    from neo_events import db
    from neo_events.auth.configured import build_authenticator
    from neo_events.auth.schemas import RegisterRequest
    from neo_events.auth.service import create_admin
    from neo_events.errors import AppError

    try:  # the rules a registration through the API follows
        wanted = RegisterRequest(username=username, email=email, password=password)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            print(f"neo-events: --{error['loc'][0]}: {error['msg']}", file=sys.stderr)
        return 2
    await _reach_database(settings, check_schema=True)
    engine = db.create_engine(settings)
    try:
        async with db.create_sessionmaker(engine)() as session:
            try:
                user, created = await create_admin(
                    session, build_authenticator(settings), **wanted.model_dump()
                )
            except AppError as exc:
                print(f"neo-events: {exc.detail}", file=sys.stderr)
                return 2
            await session.commit()
    finally:
        await engine.dispose()
    if created:
        print(f"admin {user.username!r} (id {user.id}) is ready: a new account")
    else:
        print(
            f"admin {user.username!r} (id {user.id}) is ready: the existing account is now an "
            "administrator; its email and password are unchanged (--email and the password "
            "given were not used)"
        )
    return 0


def _number(low: int, high: int | None, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"{number} is not {what}")
        return number

    return parse


def _asked() -> str:
    """The password typed at the terminal, or the first line piped in; none (input closed)
    is no password, which the command then refuses in one line, not an EOFError's
    traceback (an outside attack)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    try:
        return getpass.getpass()
    except (EOFError, KeyboardInterrupt):
        return ""


def main(argv: list[str] | None = None) -> int:
    from neo_events.db import SchemaNotCurrent
    from neo_events.settings import SettingsError, load_settings

    parser = argparse.ArgumentParser(prog="neo-events", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="serve the API")
    serve_p.add_argument("--host", default="127.0.0.1")
    # 1-65535: a larger number was bound silently as another port (99999 as 34463)
    serve_p.add_argument("--port", type=_number(1, 65535, "a port (1-65535)"), default=8000)
    serve_p.add_argument("--workers", type=_number(1, None, "1 or more"), default=1)
    serve_p.add_argument("--reload", action="store_true", help="restart on code changes (dev)")
    serve_p.add_argument(
        "--server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        help="the ASGI server (BENCHMARKS.md compares them)",
    )
    sub.add_parser(
        "worker",
        help="run the job queue alone: reminders and webhooks (serve runs it too unless "
        "JOBS_IN_SERVE=false)",
    )
    sub.add_parser("migrate", help="apply database migrations")
    admin_p = sub.add_parser("create-admin", help="create (or promote) an administrator")
    admin_p.add_argument("--username", required=True)
    admin_p.add_argument("--email", required=True)
    admin_p.add_argument(
        "--password", help="default: $NEO_ADMIN_PASSWORD, else asked interactively"
    )
    import_p = sub.add_parser("import", help="import an iCalendar file's events for a user")
    import_p.add_argument("file", type=Path, help="the .ics file")
    import_p.add_argument("--user", required=True, help="username or email of the new owner")
    import_p.add_argument(
        "--timezone",
        help="zone of floating times without X-WR-TIMEZONE (default: the user's own, else UTC)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "serve":
            serve(
                settings,
                host=args.host,
                port=args.port,
                workers=args.workers,
                reload=args.reload,
                server=args.server,
            )
        elif args.command == "worker":
            worker(settings)
        elif args.command == "migrate":
            migrate(settings)
        elif args.command == "create-admin":
            password = args.password or os.environ.get("NEO_ADMIN_PASSWORD") or _asked()
            return asyncio.run(_create_admin(settings, args.username, args.email, password))
        elif args.command == "import":
            from neo_events.ical.console import run_import

            try:
                data = args.file.read_bytes()
            except OSError as exc:
                print(f"neo-events: {exc}", file=sys.stderr)
                return 2
            asyncio.run(_reach_database(settings, check_schema=True))
            return asyncio.run(
                run_import(settings, data, username=args.user, timezone=args.timezone)
            )
    except SettingsError as exc:  # configuration: exit 2, one line per problem
        for line in str(exc).splitlines():
            print(f"neo-events: {line}", file=sys.stderr)
        return 2
    except (DatabaseUnreachable, SchemaNotCurrent) as exc:  # the database: exit 3
        print(f"neo-events: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
