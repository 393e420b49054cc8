"""Migration 0008 (invitations) from the previous head (0007) with data in it, and back."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.migrating import NOW, add_event, sqlite_at


def test_invitations_migration_keeps_existing_data_and_downgrades(tmp_path: Path) -> None:
    config, engine = sqlite_at(tmp_path, "0007")
    with engine.begin() as conn:
        add_event(conn, 1)
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
