"""Migration 0023 (a feed run keeps its snapshot, sets bad rows aside) from 0022 and back, on
SQLite, where it only adds what PostgreSQL uses (`feed_state.snapshot`, `feed_rejected`); on
PostgreSQL every test database is migrated through it, and tests/api/test_feed_numbering.py
covers what it does there."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.migrating import sqlite_at


def test_the_feed_keeps_its_counter_gains_a_runs_snapshot_and_a_place_for_bad_rows(
    tmp_path: Path,
) -> None:
    config, engine = sqlite_at(tmp_path, "0022")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE feed_state SET last_seq = 41, horizon = 7 WHERE id = 1"))
    command.upgrade(config, "0023")
    engine.dispose()  # a pooled SQLite connection would answer PRAGMAs from the old schema
    with engine.begin() as conn:
        state = conn.execute(sa.text("SELECT last_seq, horizon, snapshot FROM feed_state"))
        assert state.all() == [(41, 7, None)]
        assert "feed_rejected" in sa.inspect(conn).get_table_names()
    command.downgrade(config, "0022")
    engine.dispose()
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT * FROM feed_state")).all() == [(1, 41, 7)]
        assert "feed_rejected" not in sa.inspect(conn).get_table_names()


def test_the_downgrade_keeps_rows_set_aside(tmp_path: Path) -> None:
    """Rows no run could number are the only copy of their changes: the downgrade past 0023
    refuses while `feed_rejected` holds any."""
    config, engine = sqlite_at(tmp_path, "0023")
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO feed_rejected (id, payload, txid, error) VALUES (1, '{}', 0, 'x')")
        )
    with pytest.raises(RuntimeError, match="feed_rejected holds 1"):
        command.downgrade(config, "0022")
    engine.dispose()
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM feed_rejected")).scalar() == 1
