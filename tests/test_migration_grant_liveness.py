"""Migration 0012 (grant liveness) from 0011 with data in it, and back."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from neo_events.cli import alembic_config

NOW = "2026-12-01 12:00:00"


def test_deleted_events_grants_become_not_live_and_the_column_downgrades(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0011")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, username_key, email, email_key, password_hash,"
                " is_admin, created_at) VALUES (1, 'a', 'a', 'a@x', 'a@x', 'h', 0, :now)"
            ),
            {"now": NOW},
        )
        for event_id, deleted in ((1, None), (2, NOW)):
            conn.execute(
                sa.text(
                    "INSERT INTO events (id, owner_id, title, start_time, end_time, timezone,"
                    " is_recurring, exdates, overrides, span_start, version, created_at,"
                    " created_by_id, updated_at, updated_by_id, deleted_at) VALUES (:id, 1, 'E',"
                    " :now, :later, 'UTC', 0, '[]', '[]', :now, 1, :now, 1, :now, 1, :deleted)"
                ),
                {"id": event_id, "now": NOW, "later": "2026-12-01 13:00:00", "deleted": deleted},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO event_permissions (event_id, user_id, role, granted_by_id,"
                    " granted_at) VALUES (:id, 1, 'owner', 1, :now)"
                ),
                {"id": event_id, "now": NOW},
            )
    command.upgrade(config, "0012")
    with engine.begin() as conn:
        live = dict(conn.execute(sa.text("SELECT event_id, live FROM event_permissions")).all())
        assert live == {1: 1, 2: 0}
    command.downgrade(config, "0011")
    with engine.begin() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("event_permissions")}
        assert "live" not in columns
        assert conn.execute(sa.text("SELECT count(*) FROM event_permissions")).scalar_one() == 2
    command.upgrade(config, "0012")
    engine.dispose()
