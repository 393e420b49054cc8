"""Migration 0026 (webhook cursors) from 0025 with the old shared fan-out cursor in it: every
webhook's own cursor starts at least there (nothing already written, or skipped while
disabled, is written again) and the old job goes; back again, only the job goes."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.migrating import NOW, sqlite_at


def test_each_webhook_starts_from_the_old_shared_cursor(tmp_path: Path) -> None:
    config, engine = sqlite_at(tmp_path, "0025")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO webhooks (id, user_id, url, events, secret_encrypted, after_seq,"
                " created_at, updated_at) VALUES (:id, 1, 'http://x.example/', '[\"*\"]',"
                " x'00', :after, :now, :now)"
            ),
            [{"id": 1, "after": 10, "now": NOW}, {"id": 2, "after": 90, "now": NOW}],
        )
        conn.execute(
            sa.text(
                "INSERT INTO jobs (id, kind, key, payload, due_at, run_at, attempts, created_at)"
                " VALUES (1, 'webhook.fanout', 'webhook.fanout', '{\"after\": 50}', :now, :now,"
                " 0, :now)"
            ),
            {"now": NOW},
        )
    command.upgrade(config, "0026")
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, after_seq FROM webhooks ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(1, 50), (2, 90)]
        assert conn.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one() == 0
    command.downgrade(config, "0025")
    command.upgrade(config, "0026")
    engine.dispose()
