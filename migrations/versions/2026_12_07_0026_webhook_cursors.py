"""webhook cursors: each webhook follows the change feed on its own

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 00:10:00+00:00

The fan-out kept one cursor for every webhook (the `webhook.fanout` job's payload `after`),
strictly in feed order: one user's backlog of 10,000 delivery rows held every other user's
messages back for tens of seconds (an outside attack, 2026-12-06). Each webhook's
`after_seq` is now its own cursor (`webhooks/fanout.py`). Here every webhook's moves up to the
old shared one, so nothing already written (or skipped while disabled) is written again, and
the old job goes: the next probe makes the new one.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    payload = bind.scalar(sa.text("SELECT payload FROM jobs WHERE key = 'webhook.fanout'"))
    if payload is None:
        return
    if isinstance(payload, str):  # SQLite's JSON comes back as text
        payload = json.loads(payload)
    after = int(payload.get("after", 0))
    bind.execute(
        sa.text("UPDATE webhooks SET after_seq = :after WHERE after_seq < :after"),
        {"after": after},
    )
    op.execute("DELETE FROM jobs WHERE key = 'webhook.fanout'")


def downgrade() -> None:
    # The old shared cursor restarts from the slowest webhook's (rows already written are
    # unique per webhook and seq: not written twice).
    op.execute("DELETE FROM jobs WHERE key = 'webhook.fanout'")
