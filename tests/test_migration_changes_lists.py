"""Migration 0029 (changes as lists) from 0028 with changes of both shapes in the feed: a
change of who is on an event held one person's details as an object, and now lists them;
content changes and `reminder.due` are untouched; back and forth again, nothing moves."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.migrating import NOW, sqlite_at

BEFORE = {
    1: ("event.updated", ["title"]),
    2: ("event.shared", {"user_id": 2, "username": "b", "role": "viewer", "old_role": None}),
    3: ("permission.changed", {"user_id": 2, "role": "editor", "old_role": "viewer"}),
    4: ("attendee.responded", {"user_id": 2, "username": "b", "response": "accepted"}),
    5: ("reminder.due", {"occurrence_start": "2026-12-01T09:00:00Z", "minutes_before": 10}),
    6: ("event.unshared", [{"user_id": 2, "username": "b", "role": None, "old_role": "editor"}]),
}  # fmt: skip


def _changes(engine: sa.Engine) -> dict[int, object]:
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT seq, changes FROM changes ORDER BY seq")).all()
    return {seq: json.loads(text) for seq, text in rows}


def test_a_change_of_people_lists_them(tmp_path: Path) -> None:
    config, engine = sqlite_at(tmp_path, "0028")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO changes (seq, at, type, event_id, version, actor_id, changes)"
                " VALUES (:seq, :now, :type, 1, 1, 1, :changes)"
            ),
            [
                {"seq": seq, "now": NOW, "type": kind, "changes": json.dumps(changes)}
                for seq, (kind, changes) in BEFORE.items()
            ],
        )
    command.upgrade(config, "0029")
    after = _changes(engine)
    assert after == {
        seq: [changes] if isinstance(changes, dict) and kind != "reminder.due" else changes
        for seq, (kind, changes) in BEFORE.items()
    }
    command.downgrade(config, "0028")
    command.upgrade(config, "0029")
    assert _changes(engine) == after
    engine.dispose()
