"""webhook deliveries created_at: an index for the deliveries log's retention

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 00:00:00+00:00

The deliveries log was never pruned: one row per change and matching webhook, kept for ever
(537,089 rows, 121 MB in 40 minutes of an outside attack, 2026-12-06). A periodic job now
deletes what is older than `WEBHOOK_RETENTION_DAYS` and no longer owed
(`webhooks/retention.py`), oldest first, through this index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_created_at", "webhook_deliveries", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_created_at", table_name="webhook_deliveries")
