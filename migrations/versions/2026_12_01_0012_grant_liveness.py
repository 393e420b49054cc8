"""grant liveness: a deleted event's grants say so, and the user's index carries it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:10:00+00:00

A deleted event keeps its grants (its history stays readable), and a calendar read (conflict
checks, free/busy, find-time) walked every grant its users ever held, probing each event to
find it deleted: a check cost what its user ever held. `event_permissions.live` is false
once the event is deleted, and on PostgreSQL the index by user includes it, so the read
passes over those grants in the index itself. Existing deleted events' grants are marked
here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_event_permissions_user_id_event_id"
COLUMNS = ["user_id", "event_id", "role"]


def upgrade() -> None:
    with op.batch_alter_table("event_permissions") as batch:
        batch.add_column(sa.Column("live", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute(
        "UPDATE event_permissions SET live = false WHERE event_id IN"
        " (SELECT id FROM events WHERE deleted_at IS NOT NULL)"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="event_permissions")
        op.create_index(INDEX, "event_permissions", COLUMNS, postgresql_include=["live"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="event_permissions")
        op.create_index(INDEX, "event_permissions", COLUMNS)
    with op.batch_alter_table("event_permissions") as batch:
        batch.drop_column("live")
