"""Migration 0009 with data in it (made at 0006, through 0007 and 0008), and back to 0008."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from neo_events.cli import alembic_config


def test_0009_upgrades_a_populated_database_and_downgrades(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0006")
    sync = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with sync.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
                " is_admin, created_at) VALUES (1, 'a', 'a', 'a@x.org', 'a@x.org', 'h', 0,"
                " '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO events (id, owner_id, title, start_time, end_time, timezone,"
                " is_recurring, exdates, overrides, span_start, version, created_at,"
                " created_by_id, updated_at, updated_by_id) VALUES (1, 1, 't',"
                " '2026-01-01 09:00:00', '2026-01-01 10:00:00', 'UTC', 0, '[]', '[]',"
                " '2026-01-01 09:00:00', 1, '2026-01-01 00:00:00', 1, '2026-01-01 00:00:00', 1)"
            )
        )
    command.upgrade(config, "0009")
    with sync.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO app_passwords (user_id, secret_hash, name, created_at)"
                " VALUES (1, 'x', 'phone', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO calendar_resources (event_id, name, uid, body, updated_at)"
                " VALUES (1, 'e.ics', 'u', 'BEGIN:VCALENDAR', '2026-01-01 00:00:00')"
            )
        )
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 1
    command.downgrade(config, "0008")
    tables = set(inspect(sync).get_table_names())
    assert not tables & {"app_passwords", "calendar_resources", "calendar_settings"}
    with sync.connect() as conn:
        assert conn.execute(text("SELECT title FROM events")).scalar_one() == "t"
    sync.dispose()
