"""Migration 0013 (the change feed without foreign keys) from 0012 with data in it, and back."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.migrating import NOW, add_event, sqlite_at

FEED = ("changes", "change_recipients")
KEYS = {  # at 0012
    "changes": ["fk_changes_actor_id_users", "fk_changes_event_id_events"],
    "change_recipients": ["fk_change_recipients_seq_changes", "fk_change_recipients_user_id_users"],
}


def _keys(conn: sa.Connection) -> dict[str, list[str]]:
    inspector = sa.inspect(conn)
    return {
        table: sorted(str(k["name"]) for k in inspector.get_foreign_keys(table)) for table in FEED
    }


def _rows(conn: sa.Connection) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for table in FEED
        for row in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY 1, 2"))
    ]


def test_the_feed_loses_its_foreign_keys_and_keeps_its_rows(tmp_path: Path) -> None:
    config, engine = sqlite_at(tmp_path, "0012")
    with engine.begin() as conn:
        add_event(conn, 1)
        conn.execute(
            sa.text(
                "INSERT INTO changes (seq, at, type, event_id, version, actor_id, changes)"
                " VALUES (1, :now, 'event.created', 1, 1, 1, '[]')"
            ),
            {"now": NOW},
        )
        conn.execute(sa.text("INSERT INTO change_recipients (user_id, seq) VALUES (1, 1)"))
        before = _rows(conn)
        assert _keys(conn) == KEYS
    command.upgrade(config, "0013")
    engine.dispose()  # a pooled SQLite connection would answer PRAGMAs from the old schema
    with engine.begin() as conn:
        assert _keys(conn) == {"changes": [], "change_recipients": []}
        assert _rows(conn) == before
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("changes")}
        assert "ix_changes_event_id" in indexes  # the feed's reads by event keep their index
    command.downgrade(config, "0012")
    engine.dispose()
    with engine.begin() as conn:
        assert _keys(conn) == KEYS
        assert _rows(conn) == before
    command.upgrade(config, "0013")
    engine.dispose()
