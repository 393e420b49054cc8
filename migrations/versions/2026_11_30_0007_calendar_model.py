"""calendar model: all-day events, transparency, rdates

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 14:00:00+00:00

Existing rows keep working as they are: timed (all_day false, no dates), opaque, no rdates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("all_day", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("transparency", sa.String(length=12), server_default="opaque", nullable=False)
        )
        batch_op.add_column(sa.Column("rdates", JSON, server_default="[]", nullable=False))
        batch_op.create_check_constraint(
            "known_transparency", "transparency IN ('opaque', 'transparent')"
        )
        batch_op.create_check_constraint(
            "all_day_dates",
            "(all_day AND start_date IS NOT NULL AND end_date > start_date)"
            " OR (NOT all_day AND start_date IS NULL AND end_date IS NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_events_all_day_dates"), type_="check")
        batch_op.drop_constraint(op.f("ck_events_known_transparency"), type_="check")
        batch_op.drop_column("rdates")
        batch_op.drop_column("transparency")
        batch_op.drop_column("end_date")
        batch_op.drop_column("start_date")
        batch_op.drop_column("all_day")
