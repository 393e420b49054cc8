"""job owner: whose webhook a delivery job sends for, so claims share slots fairly

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 12:00:00+00:00

Webhook deliveries were claimed oldest due first: one user's 20 slow (but successful)
webhooks held every slot and delayed everyone else's by 43 s (an outside attack,
2026-12-04). A claim now counts each owner's sends in flight (`queue.claim(per_owner=...)`),
which needs the owner on the job: `owner_id`, filled here for the delivery jobs that exist
(`webhook:{id}` → that webhook's user). The index on (kind, run_at) counts one kind's
claimed jobs without walking every future reminder.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("owner_id", ID, nullable=True))
    op.create_index("ix_jobs_kind_run_at", "jobs", ["kind", "run_at"])
    op.execute(
        "UPDATE jobs SET owner_id = (SELECT webhooks.user_id FROM webhooks"
        " WHERE jobs.key = 'webhook:' || CAST(webhooks.id AS VARCHAR(20)))"
        " WHERE kind = 'webhook.deliver'"
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_kind_run_at", table_name="jobs")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("owner_id")
