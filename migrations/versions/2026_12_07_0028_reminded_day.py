"""reminders.reminded_day: the last all-day day a reminder reminded of

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 18:00:00+00:00

A reminder on an all-day event fires before its holder's own midnight. When the holder (or
the event) moved to a zone further west, that day began later there: a write that moved
the reminder afterwards pointed it from now at the same day, and it reminded of it again.
Each reminder now keeps the last day it reminded of, and is never pointed at that day, or one
before it, again.
Null for every existing reminder (as for one that never fired).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reminders", sa.Column("reminded_day", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.drop_column("reminded_day")
