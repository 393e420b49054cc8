"""Migration 0012 (grant liveness) from 0011 with data in it, and back."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.migrating import NOW, add_event, sqlite_at


def test_deleted_events_grants_become_not_live_and_the_column_downgrades(tmp_path: Path) -> None:
    config, engine = sqlite_at(tmp_path, "0011")
    with engine.begin() as conn:
        for event_id, deleted_at in ((1, None), (2, NOW)):
            add_event(conn, event_id, deleted_at=deleted_at)
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
