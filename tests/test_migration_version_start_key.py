"""Migration 0021 (version start key) from 0020 with versions in it, and back: each version
keeps its snapshot's start as a text that sorts as the instants do, the snapshot stays the
last column on SQLite (0018), and no version is without the key afterwards."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from alembic import command

from tests.migrating import NOW, add_event, add_versions, sqlite_at

STARTS = {
    1: ("2026-03-02T09:00:00Z", "2026-03-02T09:00:00.000000Z"),
    2: ("2026-03-02T09:00:00.250000Z", "2026-03-02T09:00:00.250000Z"),
    3: ("2026-03-02T08:59:59.999999Z", "2026-03-02T08:59:59.999999Z"),
}


def _columns(conn: sa.Connection) -> list[str]:
    return [c["name"] for c in sa.inspect(conn).get_columns("event_versions")]


def test_versions_get_their_snapshots_start_as_a_sortable_key(tmp_path: Path) -> None:
    config, engine = sqlite_at(tmp_path, "0020")
    with engine.begin() as conn:
        add_event(conn, 1)
        snapshots = {n: orjson.dumps({"start_time": start}) for n, (start, _) in STARTS.items()}
        add_versions(conn, {n: snapshot.decode() for n, snapshot in snapshots.items()})
    command.upgrade(config, "0021")
    with engine.begin() as conn:
        assert _columns(conn)[-1] == "snapshot"
        keys = dict(conn.execute(sa.text("SELECT id, start_key FROM event_versions")).all())
        assert keys == {n: key for n, (_, key) in STARTS.items()}
        # as text, in the instants' order (unnormalised, 1 would sort after 2: 'Z' > '.')
        assert sorted(keys, key=keys.__getitem__) == [3, 1, 2]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO event_versions (id, event_id, version, change_type, snapshot,"
                " changed_by_id, changed_at, snapshot_bytes) VALUES (9, 1, 9, 'updated', '{}',"
                " 1, :now, 2)"
            ),
            {"now": NOW},
        )
    command.downgrade(config, "0020")
    with engine.begin() as conn:
        assert "start_key" not in _columns(conn)
        assert conn.execute(sa.text("SELECT count(*) FROM event_versions")).scalar_one() == 3
    command.upgrade(config, "0021")
    engine.dispose()


def test_a_version_without_a_start_stops_the_migration_before_it_changes_anything(
    tmp_path: Path,
) -> None:
    """No writer makes one (`content_of` always has `start_time`), but a row without it would
    fail the NOT NULL part way, and SQLite would keep the column added before it (a retry then
    failed on the duplicate column: an outside review). It is refused first, and said why."""
    config, engine = sqlite_at(tmp_path, "0020")
    with engine.begin() as conn:
        add_event(conn, 1)
        add_versions(conn, {1: "{}"})
    with pytest.raises(RuntimeError, match="1 event_versions rows have no start_time"):
        command.upgrade(config, "0021")
    with engine.begin() as conn:
        assert "start_key" not in _columns(conn)
        conn.execute(
            sa.text("UPDATE event_versions SET snapshot = :snapshot"),
            {"snapshot": orjson.dumps({"start_time": "2026-03-02T09:00:00Z"}).decode()},
        )
    command.upgrade(config, "0021")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT start_key FROM event_versions")).scalar_one() == (
            "2026-03-02T09:00:00.000000Z"
        )
    engine.dispose()
