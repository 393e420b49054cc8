"""Migration 0020 (job owner) from 0019 with webhook delivery jobs in it, and back: each
delivery job gets its webhook's user, any other job none."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from tests.migrating import NOW, sqlite_at


def test_delivery_jobs_get_their_webhooks_owner(tmp_path: Path) -> None:
    config, engine = sqlite_at(tmp_path, "0019")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO webhooks (id, user_id, url, events, secret_encrypted, after_seq,"
                " created_at, updated_at) VALUES (7, 1, 'http://x.example/', '[\"*\"]', x'00',"
                " 0, :now, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO jobs (id, kind, key, payload, due_at, run_at, attempts, created_at)"
                " VALUES (:id, :kind, :key, '{}', :now, :now, 0, :now)"
            ),
            [
                {"id": 1, "kind": "webhook.deliver", "key": "webhook:7", "now": NOW},
                {"id": 2, "kind": "webhook.deliver", "key": "webhook:70", "now": NOW},  # gone
                {"id": 3, "kind": "reminder", "key": "reminder:7", "now": NOW},
            ],
        )
    command.upgrade(config, "0020")
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT id, owner_id FROM jobs ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(1, 1), (2, None), (3, None)]
    command.downgrade(config, "0019")
    with engine.begin() as conn:
        columns = [c["name"] for c in sa.inspect(conn).get_columns("jobs")]
        assert "owner_id" not in columns
        assert conn.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one() == 3
    command.upgrade(config, "0020")
    engine.dispose()
