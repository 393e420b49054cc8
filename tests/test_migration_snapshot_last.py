"""Migration 0018 (snapshot last) from 0017 with versions in it, and back; and what it is for:
on SQLite, reading the columns of big versions' rows no longer walks their snapshots."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import sqlalchemy as sa
from alembic import command

from tests.migrating import add_event, add_versions, sqlite_at

VERSIONS = 40
BIG = 1_000_000  # characters of each snapshot: overflow pages, as an event of many overrides


def _columns(conn: sa.Connection) -> list[str]:
    return [c["name"] for c in sa.inspect(conn).get_columns("event_versions")]


def _heads(conn: sa.Connection) -> float:
    """CPU seconds to read every version's columns but its snapshot, as a history page does."""
    started = time.process_time()
    for _ in range(5):
        conn.execute(
            sa.text("SELECT version, changed_at, changed_by_id, snapshot_bytes FROM event_versions")
        ).all()
    return time.process_time() - started


def test_the_snapshot_becomes_the_last_column_and_reading_around_it_is_cheap(
    tmp_path: Path,
) -> None:
    config, engine = sqlite_at(tmp_path, "0017")
    with engine.begin() as conn:
        add_event(conn, 1)
        add_versions(
            conn,
            {
                n: orjson.dumps({"description": f"{n}" * BIG}).decode()
                for n in range(1, VERSIONS + 1)
            },
        )
        assert _columns(conn)[-1] == "snapshot_bytes"
        before = _heads(conn)
    command.upgrade(config, "0018")
    with engine.begin() as conn:
        assert _columns(conn)[-1] == "snapshot"
        after = _heads(conn)
        rows = conn.execute(
            sa.text("SELECT id, version, changed_by_id, snapshot FROM event_versions ORDER BY id")
        ).all()
        assert [(r.id, r.version, r.changed_by_id) for r in rows] == [
            (n, n, 1) for n in range(1, VERSIONS + 1)
        ]
        assert orjson.loads(rows[-1].snapshot) == {"description": f"{VERSIONS}" * BIG}
    # each row's snapshot walked before (40 MB, ~tens of ms here), none after
    assert after < before / 4, (before, after)
    command.downgrade(config, "0017")
    with engine.begin() as conn:
        assert _columns(conn)[4] == "snapshot"
        assert conn.execute(sa.text("SELECT count(*) FROM event_versions")).scalar_one() == VERSIONS
    command.upgrade(config, "0018")
    engine.dispose()
