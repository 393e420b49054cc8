"""Migration 0008 (invitations) from the previous head (0007) with data in it, and back."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from neo_events.cli import alembic_config

NOW = "2026-11-30 12:00:00"


def test_invitations_migration_keeps_existing_data_and_downgrades(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0007")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
                " is_admin, created_at) VALUES (1, 'a', 'a', 'a@x', 'a@x', 'h', 0, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO events (id, owner_id, title, start_time, end_time, timezone,"
                " is_recurring, exdates, overrides, span_start, version, created_at,"
                " created_by_id, updated_at, updated_by_id) VALUES (1, 1, 'E', :now, :later,"
                " 'UTC', 0, '[]', '[]', :now, 1, :now, 1, :now, 1)"
            ),
            {"now": NOW, "later": "2026-11-30 13:00:00"},
        )
    command.upgrade(config, "0008")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT title FROM events")).scalar_one() == "E"
        conn.execute(
            sa.text(
                "INSERT INTO attendees (event_id, user_id, response, optional, is_organizer,"
                " invited_at) VALUES (1, 1, 'accepted', 0, 1, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO occurrence_responses (event_id, user_id, recurrence_id, response,"
                " responded_at) VALUES (1, 1, :now, 'declined', :now)"
            ),
            {"now": NOW},
        )
    command.downgrade(config, "0007")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 1
        tables = set(sa.inspect(conn).get_table_names())
        assert "attendees" not in tables and "occurrence_responses" not in tables
    command.upgrade(config, "0008")
    engine.dispose()
