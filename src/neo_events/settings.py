"""Typed settings from the environment (and an optional .env), validated once at start-up."""

from __future__ import annotations

import json
import os
import secrets
from contextlib import suppress
from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError
from sqlalchemy.engine import make_url

DEFAULT_DATA_DIR = Path("data")
# The drivers the service runs on (an async engine each): `DATABASE_URL` names one of them.
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
MIN_SECRET_KEY_CHARS = 32


class SettingsError(RuntimeError):
    """Settings that cannot work; the message tells the operator what to set."""


def load_settings() -> Settings:
    """The settings from the environment, or SettingsError naming every variable that is
    wrong, one line each, without its value (it may be a key or a password)."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            lines.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
        raise SettingsError("\n".join(lines)) from None
    except SourceError as exc:  # a value the environment source could not parse
        raise SettingsError(str(exc)) from None


class Settings(BaseSettings):
    """Everything the service can be configured with (SPEC §1)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str | None = None
    # Rotation: the keys SECRET_KEY replaced (comma-separated) still verify tokens, never sign.
    secret_key_previous: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_expire_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_expire_days: int = Field(default=7, ge=1, le=365)
    rate_limit_enabled: bool = True
    rate_limit_default: str = "600/minute"
    rate_limit_auth: str = "10/minute"
    # Swagger UI, ReDoc and /openapi.json; unset: on in development, off in production.
    docs_enabled: bool | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # What the HTTP server takes before the app runs (http_server.py, SECURITY.md): the request
    # target, header lines and their bytes, the time a request's head may take from its first
    # byte, and the chunks of a chunked body (more only while they average 512 bytes).
    # A body must arrive within HTTP_BODY_TIMEOUT_S of its head, plus a second for every
    # HTTP_MIN_BYTES_PER_S bytes that came (else 408); an answer its client leaves untaken, or
    # takes fewer than HTTP_MIN_BYTES_PER_S a second of, for HTTP_SEND_TIMEOUT_S is dropped and
    # its connection closed (a worker holds no body, answer or connection for a slow client).
    http_max_url_bytes: int = Field(default=8 * 1024, ge=256)
    http_max_headers: int = Field(default=100, ge=8)
    http_max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    http_head_timeout_s: float = Field(default=10.0, gt=0)
    http_max_body_chunks: int = Field(default=1024, ge=1)
    http_body_timeout_s: float = Field(default=10.0, gt=0)
    http_send_timeout_s: float = Field(default=30.0, gt=0)
    http_min_bytes_per_s: int = Field(default=4096, ge=1)
    # At a stop (SIGTERM), how long the requests under way may take to finish before they
    # are cancelled (uvicorn's timeout_graceful_shutdown): within Docker's 10 s to SIGKILL.
    http_stop_grace_s: int = Field(default=5, ge=0, le=60)
    require_if_match: bool = False
    # Live notifications: heartbeat (and re-check of the token) on idle connections, the
    # per-connection queue past which a slow client is cut off, the feed poll safety net.
    live_heartbeat_s: float = Field(default=15.0, gt=0)
    live_queue_size: int = Field(default=1000, ge=1)
    live_poll_s: float = Field(default=2.0, gt=0)
    live_max_connections: int = Field(default=20, ge=1)  # per user, per worker
    # Occurrence expansions kept per worker, by (event, version, window): at most this many,
    # and at most this many bytes (as estimated by expansions.expansion_bytes).
    expansion_cache_size: int = Field(default=100_000, ge=0)
    expansion_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # Event objects (all but my_role and permissions) kept per worker, by (id, version, owner):
    # at most this many, and at most this many bytes (as estimated by views.object_bytes).
    event_object_cache_size: int = Field(default=5_000, ge=0)
    event_object_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # PostgreSQL connections each worker keeps open, and never more: a request past them
    # waits for one (DB_POOL_TIMEOUT_S, then 503). No overflow: a connection opened for a
    # burst and closed after it costs a PostgreSQL backend's start-up (a process forked,
    # authentication, catalog caches) on each side, and under steady load above the pool
    # that was every few requests (BENCHMARKS.md, "Connection churn").
    db_pool_size: int = Field(default=20, ge=1)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    # PostgreSQL ends a session of this service's left idle inside a transaction this long
    # (`idle_in_transaction_session_timeout`; 0: never): a backstop for a request or job that
    # stalls holding a transaction, its locks and the vacuum horizon. Requests do well under a
    # second of work in one; a job sets its own lease (jobs/queue.py).
    db_idle_in_transaction_timeout_s: float = Field(default=120.0, ge=0)
    # PostgreSQL: how long opening a connection, and one statement, may take before the
    # request is refused (503 database_unavailable): a stopped or unreachable server fails
    # requests at these bounds rather than holding them as long as it is away (db_outage.py).
    db_connect_timeout_s: float = Field(default=10.0, gt=0)
    db_command_timeout_s: float = Field(default=30.0, gt=0)
    # SQLite: how long a write may wait for its turn behind this process's other writers
    # before it is refused (503 database_unavailable); a stuck queue then shows, a busy one
    # drains.
    sqlite_write_wait_s: float = Field(default=120.0, gt=0)
    # How this service's connections show in pg_stat_activity (operators can find, and
    # terminate, exactly them).
    db_application_name: str = Field(default="neo-events", min_length=1, max_length=63)
    log_json: bool = True
    # Argon2id cost: OWASP's second recommended profile (t=2, m=19 MiB, p=1).
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19 * 1024, ge=1024)
    argon2_parallelism: int = Field(default=1, ge=1)
    hash_concurrency: int = Field(default=4, ge=1)
    # The durable job queue (SPEC §14): run it inside `serve` (off: run `neo-events worker`),
    # how often an idle runner looks for due work, its pause after a round that found some
    # (work due in a trickle is batched, a few jobs per transaction), how long a claim lasts
    # before another worker may take it again, and how many jobs one claim takes (by default
    # 200 on SQLite, where a batch holds the one write lock, 1,000 on PostgreSQL, where a
    # burst of reminders due at one instant goes faster in larger transactions).
    jobs_in_serve: bool = True
    jobs_poll_s: float = Field(default=0.5, gt=0, le=60)
    jobs_gap_s: float = Field(default=0.1, ge=0, le=60)
    jobs_lease_s: float = Field(default=60.0, gt=0)
    # At a stop, how long the jobs under way may take to finish before they are cancelled
    # and handed back (due at once): within Docker's 10 s between SIGTERM and SIGKILL.
    jobs_stop_grace_s: float = Field(default=5.0, ge=0, le=60)
    jobs_batch: int | None = Field(default=None, ge=1, le=5000)
    # A reminder delivered more than this after its due time says `late: true`; one missed by
    # more than the drop limit (everything was down) is skipped.
    reminder_late_after_s: float = Field(default=60.0, ge=0)
    reminder_drop_after_s: float = Field(default=3600.0, gt=0)
    # Webhooks: private/loopback destinations (tests, intranets), the per-attempt timeout,
    # exponential backoff (base doubling up to max), and how long to retry before disabling.
    webhook_allow_private: bool = False
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_backoff_base_s: float = Field(default=5.0, gt=0)
    webhook_backoff_max_s: float = Field(default=3600.0, gt=0)
    webhook_retry_for_s: float = Field(default=24 * 3600.0, gt=0)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)
    # The most of one user's webhooks sent to at once, by every worker together: one user's
    # slow receivers leave the other slots to everyone else (jobs/queue.py `claim`).
    webhook_concurrency_per_user: int = Field(default=4, ge=1, le=256)
    # Delivery rows one fan-out round writes, shared between the users with new messages:
    # another user's message waits at most one round behind one user's backlog.
    webhook_fanout_rows: int = Field(default=2000, ge=1, le=100_000)
    # Sends at once per process for webhooks with nothing waiting whose next message is a
    # `reminder.due` (one of a user's at a time): others' hanging receivers cannot hold them.
    webhook_due_concurrency: int = Field(default=8, ge=1, le=256)
    # How long the deliveries log keeps a message that is not still owed (webhooks/retention.py).
    webhook_retention_days: float = Field(default=7.0, gt=0)

    @field_validator("cors_origins", "secret_key_previous", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):  # a JSON list, or comma-separated
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(tuple(f"{driver}://" for driver in DATABASE_DRIVERS)):
            raise ValueError(
                "give a sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db URL"
            )
        return usable_database_url(value) if value else value

    @field_validator("rate_limit_default", "rate_limit_auth")
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        if len(parse_many(value)) != 1:  # ValueError names a bad notation; "600/minute" is good
            raise ValueError("give one limit, such as '600/minute'")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'neo_events.db'}"
        if self.redis_url == "":
            self.redis_url = None
        if self.docs_enabled is None:
            self.docs_enabled = self.environment != "production"
        if self.jobs_batch is None:
            self.jobs_batch = 200 if self.is_sqlite else 1000
        return self

    @field_validator("secret_key_previous")
    @classmethod
    def _previous_keys_are_long(cls, value: list[str]) -> list[str]:
        if any(len(key) < 32 for key in value):
            raise ValueError("each previous key must be at least 32 characters long")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        """The signing key: configured, or (in development) generated once into the data folder."""
        if self.secret_key:
            if len(self.secret_key) < MIN_SECRET_KEY_CHARS:
                raise SettingsError("SECRET_KEY must be at least 32 characters long.")
            return self.secret_key
        if self.environment == "production":
            raise SettingsError(
                "SECRET_KEY is not set. In production the signing key must come from the "
                "environment: set SECRET_KEY to a random string of at least 32 characters "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            _write_new_key(key_file)
        key = key_file.read_text().strip()
        if len(key) < MIN_SECRET_KEY_CHARS:
            raise SettingsError(
                f"{key_file} holds {'no key' if not key else 'a key that is too short'} "
                f"(at least {MIN_SECRET_KEY_CHARS} characters): put a key in it or set "
                "SECRET_KEY, or delete the file to generate a new one (everyone signs in "
                "again, and webhooks' signing secrets must be set again)."
            )
        return key


def _write_new_key(key_file: Path) -> None:
    """A new random key into `key_file`, private from its first byte (created 0600) and whole
    or absent (written beside it, then linked in): a crash half-way leaves no empty key file,
    and of two processes starting at once the first to link wins and both read its key."""
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
            file.flush()
            os.fsync(file.fileno())
        with suppress(FileExistsError):  # another process's key came first: all use it
            os.link(temporary, key_file)
    finally:
        temporary.unlink()


# libpq's `sslmode`, which asyncpg takes as `ssl` (the same values).
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def usable_database_url(value: str) -> str:
    """`value`, checked for what would otherwise fail later with a traceback (an in-memory
    SQLite database, a port past 65535, an asyncpg URL with libpq's `sslmode`) or quietly
    use libpq's defaults (a PostgreSQL URL without host or database): ValueError says what
    to give instead. `sslmode` becomes asyncpg's `ssl`."""
    try:
        url = make_url(value)
        port = url.port
    except Exception:  # an unreadable URL; its text may hold a password: not repeated
        raise ValueError("not a database URL this service can read") from None
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ValueError(
                "give a SQLite file (sqlite+aiosqlite:///path/to/file.db): an in-memory "
                "database is not one the service's connections could share"
            )
        return value
    if not url.host or not url.database:
        raise ValueError("give the host and the database: postgresql+asyncpg://user@host/db")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{port} is not a port (1-65535)")
    if "sslmode" not in url.query:
        return value
    mode = url.query["sslmode"]
    if "ssl" in url.query or not isinstance(mode, str) or mode not in SSL_MODES:
        raise ValueError(f"give sslmode (or ssl) once, one of {', '.join(SSL_MODES)}")
    url = url.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})
    return url.render_as_string(hide_password=False)


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database's folder (0700) and file (0600) before SQLite does: SQLite
    makes the file but not its folder, and would make them readable by every local user
    (0755, 0644); its -wal and -shm files take the database file's mode. Folders and files
    that exist keep theirs."""
    database = make_url(url).database
    if not url.startswith("sqlite") or not database or database == ":memory:":
        return
    path = Path(database)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
