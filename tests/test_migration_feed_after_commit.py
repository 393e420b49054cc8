"""Migration 0022 (the feed numbered after commit) from 0021 with data in it, and back, on
SQLite, where it only adds the columns PostgreSQL uses (`feed_pending.txid`,
`feed_state.horizon`); on PostgreSQL every test database is migrated through it, and
tests/api/test_feed_numbering.py covers what it does there."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.migrating import sqlite_at


def _columns(conn: sa.Connection, table: str) -> list[str]:
    return [str(c["name"]) for c in sa.inspect(conn).get_columns(table)]


def test_the_feed_keeps_its_counter_across_the_migration(tmp_path: Path) -> None:
    config, engine = sqlite_at(tmp_path, "0021")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE feed_state SET last_seq = 41 WHERE id = 1"))
    command.upgrade(config, "0022")
    engine.dispose()  # a pooled SQLite connection would answer PRAGMAs from the old schema
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT last_seq, horizon FROM feed_state")).all() == [(41, 0)]
        assert _columns(conn, "feed_pending") == ["id", "payload", "txid"]
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("feed_pending")}
        assert indexes == {"ix_feed_pending_txid"}
    command.downgrade(config, "0021")
    engine.dispose()
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT * FROM feed_state")).all() == [(1, 41)]
        assert _columns(conn, "feed_pending") == ["id", "payload"]
    command.upgrade(config, "0022")
    engine.dispose()
