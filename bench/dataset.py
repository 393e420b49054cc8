"""Dataset generator: users, events, shares, versions, audit and change feed, in bulk.

Writes straight through the real schema (`neo-events migrate` first): PostgreSQL with
`COPY` (asyncpg `copy_records_to_table`, secondary indexes and foreign keys dropped during the
load and rebuilt after it), SQLite with batched `executemany`. Every row is what the app itself
would have written: event content comes from the app's own `build_content` (normalised rules,
spans, exceptions on real occurrences), version snapshots are that content, the feed has one
change per version or grant with the holders of that moment as recipients, and
`feed_state.last_seq` is the last change number.

Shape (per 10 events: 1 user): 20% of events recur, 10% of those with an exdate and a moved,
renamed occurrence; 0–6 shares per event (3 on average), 1–9 versions per event (5 on
average). User 1 (`user1`) owns exactly 2,000 events (20% recurring) and sees nothing else:
the week-window listing's user, identical at every size so sizes compare.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from alembic import command

from neo_events.auth.passwords import PasswordHasher
from neo_events.cli import alembic_config
from neo_events.db import json_size
from neo_events.events import recurrence
from neo_events.events.content import Content, count_end_of, iso, series_of, span_of
from neo_events.events.validation import build_content
from neo_events.history.versions import start_key
from neo_events.settings import Settings

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
PASSWORD = "bench-password"
HEAVY_USER = 1
HEAVY_EVENTS = 2_000
RECURRING_SHARE = 0.2
EXCEPTION_SHARE = 0.1  # of the recurring ones
CHUNK = 5_000  # events per batch
HEAVY_RULES = [  # the same mix as bench/window_listing.py
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,WE",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    "FREQ=MONTHLY;BYDAY=1MO",
]
RULES = [*HEAVY_RULES, "FREQ=DAILY;COUNT=10", "FREQ=WEEKLY;COUNT=20", "FREQ=MONTHLY;COUNT=12"]
ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo"]
TABLES = (
    "change_recipients",
    "changes",
    "audit_log",
    "event_versions",
    "event_permissions",
    "refresh_tokens",
    "auth_sessions",
    "idempotency_keys",
    "feed_tokens",
    "events",
    "users",
)
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "id",
        "username",
        "username_key",
        "email",
        "email_key",
        "password_hash",
        "is_admin",
        "created_at",
    ),
    "events": (
        "id",
        "owner_id",
        "title",
        "description",
        "location",
        "start_time",
        "end_time",
        "timezone",
        "is_recurring",
        "recurrence_pattern",
        "exdates",
        "overrides",
        "span_start",
        "span_end",
        "version",
        "split_from_id",
        "created_at",
        "created_by_id",
        "updated_at",
        "updated_by_id",
        "deleted_at",
        "count_end",
    ),
    "event_permissions": ("event_id", "user_id", "role", "granted_by_id", "granted_at"),
    "event_versions": (
        "id",
        "event_id",
        "version",
        "change_type",
        "snapshot",
        "changed_by_id",
        "changed_at",
        "rolled_back_to",
        "snapshot_bytes",
        "start_key",
    ),
    "audit_log": (
        "id",
        "at",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "outcome",
        "ip",
        "user_agent",
        "details",
    ),
    "changes": ("seq", "at", "type", "event_id", "version", "actor_id", "changes"),
    "change_recipients": ("user_id", "seq"),
}
JSON_COLUMNS = {("events", 10), ("events", 11), ("event_versions", 4), ("audit_log", 9)}
JSON_COLUMNS |= {("changes", 6)}
LOAD_ORDER = (
    "users",
    "events",
    "event_permissions",
    "event_versions",
    "audit_log",
    "changes",
    "change_recipients",
)


def pg_url(size: str, base: str) -> str:
    """The SQLAlchemy URL of the PostgreSQL database holding `size` (`bench_<size>`)."""
    return f"{base.rstrip('/')}/bench_{size}"


def sqlite_url(size: str, folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder / f'bench_{size}.db'}"


def raw_pg(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class Counters:
    version_id: int = 0
    audit_id: int = 0
    seq: int = 0


class Generator:
    """Produces the rows of `events` events, chunk by chunk, deterministically (seeded)."""

    def __init__(self, events: int, *, seed: int = 7) -> None:
        self.events = events
        self.users = max(events // 10, 100)
        self.rng = random.Random(seed)
        self.heavy_rng = random.Random(7)  # user 1's calendar: the same at every size
        self.ids = Counters()
        self.t0 = datetime.now(UTC) - timedelta(days=60)
        # Changes are spread over the last 60 days, about 8 per event.
        self.step = timedelta(days=59) / (events * 9)
        self.password_hash = PasswordHasher(
            time_cost=Settings.model_fields["argon2_time_cost"].default,
            memory_kib=Settings.model_fields["argon2_memory_kib"].default,
            parallelism=Settings.model_fields["argon2_parallelism"].default,
            concurrency=1,
        )._hasher.hash(PASSWORD)

    def user_rows(self) -> list[tuple[Any, ...]]:
        created = self.t0 - timedelta(days=30)
        return [
            (
                i,
                f"user{i}",
                f"user{i}",
                f"user{i}@bench.example",
                f"user{i}@bench.example",
                self.password_hash,
                False,
                created,
            )
            for i in range(1, self.users + 1)
        ]

    def _now(self) -> datetime:
        return self.t0 + self.step * self.ids.seq

    def _body(self, event_id: int) -> tuple[dict[str, Any], bool]:
        heavy = event_id <= HEAVY_EVENTS
        rng = self.heavy_rng if heavy else self.rng
        if heavy:  # as bench/window_listing.py
            day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 3 * 365))
            recurring = event_id <= HEAVY_EVENTS * RECURRING_SHARE
            rules = HEAVY_RULES
            zones = ZONES[:3]
        else:
            day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 4 * 365))
            recurring = rng.random() < RECURRING_SHARE
            rules, zones = RULES, ZONES
        start = day.replace(hour=rng.randrange(7, 19), minute=rng.choice([0, 15, 30, 45]))
        body: dict[str, Any] = {
            "title": f"Event {event_id}",
            "description": rng.choice([None, "Weekly sync on the roadmap", "Bring the numbers"]),
            "location": rng.choice([None, "Room 1", "Berlin office", "Video call"]),
            "start_time": start,
            "end_time": start + timedelta(minutes=rng.choice([30, 45, 60, 90])),
            "timezone": rng.choice(zones),
        }
        if recurring:
            body |= {"is_recurring": True, "recurrence_pattern": rng.choice(rules)}
        exceptions = recurring and rng.random() < EXCEPTION_SHARE
        return body, exceptions

    @staticmethod
    def _exceptions(content: Content) -> dict[str, Any]:
        series = series_of(content)
        found = recurrence.expand(series, series.start, series.start + timedelta(days=400))
        if len(found) < 3:
            return {}
        cancelled, moved = found[1], found[2]
        return {
            "exdates": [iso(cancelled.recurrence_id)],
            "overrides": [
                {
                    "recurrence_id": iso(moved.recurrence_id),
                    "start_time": iso(moved.start + timedelta(hours=1)),
                    "end_time": iso(moved.end + timedelta(hours=1)),
                    "title": f"{content['title']} (moved)",
                }
            ],
        }

    def chunk(self, first: int, last: int) -> dict[str, list[tuple[Any, ...]]]:
        """The rows of events first..last (inclusive)."""
        rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in LOAD_ORDER[1:]}
        rng = self.rng
        for event_id in range(first, last + 1):
            owner = HEAVY_USER if event_id <= HEAVY_EVENTS else rng.randrange(2, self.users + 1)
            body, with_exceptions = self._body(event_id)
            content = build_content(None, body)
            holders = [owner]
            self._version(rows, event_id, owner, 1, "created", content, None, holders)
            created_at = self._now()
            for grantee in rng.sample(range(2, self.users + 1), rng.randrange(0, 7)):
                if grantee == owner:
                    continue
                role = rng.choice(("viewer", "viewer", "editor"))
                holders.append(grantee)
                rows["event_permissions"].append((event_id, grantee, role, owner, self._now()))
                details = {
                    "user_id": grantee,
                    "username": f"user{grantee}",
                    "role": role,
                    "old_role": None,
                }
                self._audit(rows, owner, "event.shared", event_id, details)
                self._change(rows, "event.shared", event_id, 1, owner, details, holders)
            versions = rng.randrange(1, 10)
            if with_exceptions:
                versions = max(versions, 2)
            for version in range(2, versions + 1):
                previous = content
                if version == 2 and with_exceptions:
                    content = build_content(content, self._exceptions(content))
                else:  # a title edit: what build_content would return, without re-checking
                    content = {**content, "title": f"Event {event_id} (rev {version})"}
                self._version(rows, event_id, owner, version, "updated", content, previous, holders)
            series = series_of(content)
            span_start, span_end = span_of(series)
            rows["event_permissions"].append((event_id, owner, "owner", owner, created_at))
            updated_at = self._now()
            rows["events"].append(
                (
                    event_id,
                    owner,
                    content["title"],
                    content["description"],
                    content["location"],
                    datetime.fromisoformat(content["start_time"]),
                    datetime.fromisoformat(content["end_time"]),
                    content["timezone"],
                    content["is_recurring"],
                    content["recurrence_pattern"],
                    content["exdates"],
                    content["overrides"],
                    span_start,
                    span_end,
                    versions,
                    None,
                    created_at,
                    owner,
                    updated_at,
                    owner,
                    None,
                    count_end_of(series),
                )
            )
        return rows

    def _version(
        self,
        rows: dict[str, list[tuple[Any, ...]]],
        event_id: int,
        actor: int,
        version: int,
        change_type: str,
        content: Content,
        previous: Content | None,
        holders: Sequence[int],
    ) -> None:
        self.ids.version_id += 1
        at = self._now()
        rows["event_versions"].append(
            (
                *(self.ids.version_id, event_id, version, change_type, content, actor, at, None),
                json_size(content),  # as every version writer sets it (`pages` reads it)
                start_key(content["start_time"]),  # ...and `past_listing` sorts by
            )
        )
        if change_type == "created":
            self._audit(rows, actor, "event.created", event_id, {"version": 1})
            fields: list[str] = []
        else:
            assert previous is not None
            fields = [k for k in content if content[k] != previous[k]]
            details = {"version": version, "fields": fields, "merged": False}
            self._audit(rows, actor, "event.updated", event_id, details)
        self._change(rows, f"event.{change_type}", event_id, version, actor, fields, holders)

    def _audit(
        self,
        rows: dict[str, list[tuple[Any, ...]]],
        actor: int,
        action: str,
        event_id: int,
        details: dict[str, Any],
    ) -> None:
        self.ids.audit_id += 1
        rows["audit_log"].append(
            (
                self.ids.audit_id,
                self._now(),
                actor,
                action,
                "event",
                event_id,
                "success",
                "127.0.0.1",
                "bench-dataset",
                details,
            )
        )

    def _change(
        self,
        rows: dict[str, list[tuple[Any, ...]]],
        kind: str,
        event_id: int,
        version: int,
        actor: int,
        changes: Any,
        holders: Sequence[int],
    ) -> None:
        self.ids.seq += 1
        seq = self.ids.seq
        rows["changes"].append((seq, self._now(), kind, event_id, version, actor, changes))
        rows["change_recipients"].extend((user_id, seq) for user_id in holders)

    def chunks(self) -> Iterator[tuple[int, dict[str, list[tuple[Any, ...]]]]]:
        for first in range(1, self.events + 1, CHUNK):
            last = min(first + CHUNK - 1, self.events)
            yield last - first + 1, self.chunk(first, last)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _progress(label: str, done: int, total: int, began: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    elapsed = time.perf_counter() - began
    rate = done / elapsed if elapsed else 0.0
    eta = (total - done) / rate if rate else 0.0
    sys.stderr.write(
        f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} events "
        f"{rate:,.0f}/s, {elapsed:.0f}s elapsed, ~{eta:.0f}s left "
    )
    sys.stderr.flush()
    if done >= total:
        sys.stderr.write("\n")


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


# ----------------------------------------------------------------------------- PostgreSQL


async def _pg_exists(url: str, size: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(raw_pg(url))
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        comment = await conn.fetchval("SELECT obj_description('public.events'::regclass)")
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()
    return bool(comment == f"bench dataset {size}")


async def prepare_pg_database(url: str) -> None:
    """The database of `url`, created if missing, with an empty public schema."""
    import asyncpg

    dsn = raw_pg(url)
    server, name = dsn.rsplit("/", 1)
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def _pg_load(url: str, size: str, gen: Generator) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(raw_pg(url))
    counts = dict.fromkeys(LOAD_ORDER, 0)
    try:
        await conn.execute("SET synchronous_commit = off")
        # Secondary indexes and constraints are rebuilt after the load: much faster than
        # maintaining them row by row.
        constraints = await conn.fetch(
            """SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def,
                      contype::text AS contype
               FROM pg_constraint
               WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'f')"""
        )
        names = {c["conname"] for c in constraints}
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        )
        indexes = [i for i in indexes if i["indexname"] not in names]
        for c in sorted(constraints, key=lambda c: c["contype"] != "f"):  # foreign keys first
            await conn.execute(f'ALTER TABLE {c["tbl"]} DROP CONSTRAINT "{c["conname"]}"')
        for i in indexes:
            await conn.execute(f'DROP INDEX "{i["indexname"]}"')

        async def copy(table: str, records: list[tuple[Any, ...]]) -> None:
            json_at = [i for (t, i) in JSON_COLUMNS if t == table]
            if json_at:
                records = [
                    tuple(_json(v) if i in json_at else v for i, v in enumerate(r)) for r in records
                ]
            await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table])
            counts[table] += len(records)

        await copy("users", gen.user_rows())
        began, done = time.perf_counter(), 0
        for n, rows in gen.chunks():
            for table in LOAD_ORDER[1:]:
                await copy(table, rows[table])
            done += n
            _progress(f"bench_{size}", done, gen.events, began)
        sys.stderr.write("rebuilding indexes and constraints…\n")
        rebuilt = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for c in sorted(constraints, key=lambda c: c["contype"] == "f"):  # keys before FKs
            await conn.execute(f'ALTER TABLE {c["tbl"]} ADD CONSTRAINT "{c["conname"]}" {c["def"]}')
        for i in indexes:
            await conn.execute(i["indexdef"])
        for table in ("users", "events", "event_versions", "audit_log", "auth_sessions"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        await conn.execute("UPDATE feed_state SET last_seq = $1 WHERE id = 1", gen.ids.seq)
        await conn.execute(DEAD_GRANTS)
        # VACUUM as autovacuum would have by now in a database that grew to this size: rows
        # loaded by COPY are not yet marked all-visible, so every index-only scan (a calendar
        # read's keys, `ix_events_id_calendar`) would visit the table for each row.
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute(f"COMMENT ON TABLE events IS 'bench dataset {size}'")
        sys.stderr.write(f"indexes, constraints, vacuum: {time.perf_counter() - rebuilt:.0f}s\n")
    finally:
        await conn.close()
    return counts


# ----------------------------------------------------------------------------- SQLite


# What `events.service.delete_event` does to a deleted event's grants, for the rows loaded
# without it (`models.EventPermission.live`, migration 0012).
DEAD_GRANTS = (
    "UPDATE event_permissions SET live = false"
    " WHERE event_id IN (SELECT id FROM events WHERE deleted_at IS NOT NULL)"
)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, dict | list):
        return _json(value)
    return value


def _sqlite_load(path: Path, size: str, gen: Generator) -> dict[str, int]:
    counts = dict.fromkeys(LOAD_ORDER, 0)
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA foreign_keys=OFF")

        def insert(table: str, records: list[tuple[Any, ...]]) -> None:
            cols = COLUMNS[table]
            db.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [tuple(_sqlite_value(v) for v in r) for r in records],
            )
            counts[table] += len(records)

        insert("users", gen.user_rows())
        began, done = time.perf_counter(), 0
        for n, rows in gen.chunks():
            for table in LOAD_ORDER[1:]:
                insert(table, rows[table])
            db.commit()
            done += n
            _progress(f"bench_{size}.db", done, gen.events, began)
        db.execute("UPDATE feed_state SET last_seq = ? WHERE id = 1", (gen.ids.seq,))
        db.execute(DEAD_GRANTS)
        db.execute("ANALYZE")
        db.execute("CREATE TABLE IF NOT EXISTS bench_marker (size TEXT)")
        db.execute("DELETE FROM bench_marker")
        db.execute("INSERT INTO bench_marker VALUES (?)", (size,))
        db.commit()
    finally:
        db.close()
    return counts


def _sqlite_exists(path: Path, size: str) -> bool:
    if not path.exists():
        return False
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT size FROM bench_marker").fetchone()
    except sqlite3.Error:
        return False
    finally:
        db.close()
    return row is not None and row[0] == size


def generate(url: str, size: str, *, reuse: bool = True) -> str:
    """Make (or, with `reuse`, keep) the dataset of `size` at `url`; returns a summary line."""
    events = SIZES[size]
    began = time.perf_counter()
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        if reuse and _sqlite_exists(path, size):
            migrate(url)  # a kept dataset follows the code's schema
            return f"{url}: dataset {size} present (reused, migrated to head)"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        migrate(url)
        counts = _sqlite_load(path, size, Generator(events))
    else:
        if reuse and asyncio.run(_pg_exists(url, size)):
            migrate(url)  # a kept dataset follows the code's schema
            return f"{url}: dataset {size} present (reused, migrated to head)"
        asyncio.run(prepare_pg_database(url))
        migrate(url)
        counts = asyncio.run(_pg_load(url, size, Generator(events)))
    total = sum(counts.values())
    detail = ", ".join(f"{t} {n:,}" for t, n in counts.items())
    return f"{url}: {total:,} rows in {time.perf_counter() - began:.0f}s ({detail})"
