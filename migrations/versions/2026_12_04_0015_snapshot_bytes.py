"""snapshot bytes: each version row says how large its snapshot's JSON is

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 10:00:00+00:00

History and changelog pages decode snapshots (each row's, and the one before it, to say what
changed), and listing and sync pages serialise events as large as their latest snapshot. A
snapshot may weigh megabytes, so pages stop at a byte budget (`neo_events.pages`), read here
before anything is decoded. Existing rows are measured once, by the database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_versions") as batch:
        batch.add_column(
            sa.Column("snapshot_bytes", sa.Integer(), server_default="0", nullable=False)
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE event_versions SET snapshot_bytes = octet_length(snapshot::text)")
    else:
        op.execute("UPDATE event_versions SET snapshot_bytes = length(CAST(snapshot AS BLOB))")


def downgrade() -> None:
    with op.batch_alter_table("event_versions") as batch:
        batch.drop_column("snapshot_bytes")
