"""Where the SQLite migration tests start: a database at one revision, with a user (id 1) and
events of theirs in it, written as that revision's tables hold them."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from neo_events.cli import alembic_config

NOW = "2026-11-30 12:00:00"
LATER = "2026-11-30 13:00:00"


def sqlite_at(tmp_path: Path, revision: str) -> tuple[Config, sa.Engine]:
    """A fresh SQLite database migrated to `revision` with user 1 in it: the alembic
    config to migrate it further, and a synchronous engine to look at it."""
    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    command.upgrade(config, revision)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
                " is_admin, created_at) VALUES (1, 'a', 'a', 'a@x', 'a@x', 'h', 0, :now)"
            ),
            {"now": NOW},
        )
    return config, engine


def add_event(conn: sa.Connection, event_id: int, *, deleted_at: str | None = None) -> None:
    """A timed one-hour event of user 1 (deleted if `deleted_at`)."""
    conn.execute(
        sa.text(
            "INSERT INTO events (id, owner_id, title, start_time, end_time, timezone,"
            " is_recurring, exdates, overrides, span_start, version, created_at,"
            " created_by_id, updated_at, updated_by_id, deleted_at) VALUES (:id, 1, 'E', :now,"
            " :later, 'UTC', 0, '[]', '[]', :now, 1, :now, 1, :now, 1, :deleted_at)"
        ),
        {"id": event_id, "now": NOW, "later": LATER, "deleted_at": deleted_at},
    )


def add_versions(conn: sa.Connection, snapshots: dict[int, str]) -> None:
    """Versions of event 1 by user 1 (`add_event`), as revisions 0015 to 0020 hold them: each
    number of `snapshots` the version's id and number, its value the snapshot's JSON text."""
    conn.execute(
        sa.text(
            "INSERT INTO event_versions (id, event_id, version, change_type, snapshot,"
            " changed_by_id, changed_at, snapshot_bytes) VALUES (:id, 1, :id, 'updated',"
            " :snapshot, 1, :now, :size)"
        ),
        [
            {"id": n, "snapshot": snapshot, "now": NOW, "size": len(snapshot)}
            for n, snapshot in snapshots.items()
        ],
    )
