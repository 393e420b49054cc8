"""grant index covers liveness: the user's grants index holds `live` on SQLite too

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 22:00:00+00:00

A calendar read walks the users' grants by `ix_event_permissions_user_id_event_id` and passes
over a deleted event's (`live` false). On PostgreSQL the index carried `live` as an INCLUDE
column; SQLite has no INCLUDE, so there its index lacked it and every grant read looked its
row up in the table: 100 people holding the same 2,000 events took 0.31 s of SQLite's time
to filter, 0.01 s from the index alone. `live` is now the index's last key column on both
databases (on PostgreSQL the index is rebuilt: a few seconds' lock on writes to
`event_permissions` for millions of grants).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_event_permissions_user_id_event_id"
COLUMNS = ["user_id", "event_id", "role"]


def upgrade() -> None:
    op.drop_index(INDEX, table_name="event_permissions")
    op.create_index(INDEX, "event_permissions", [*COLUMNS, "live"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="event_permissions")
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(INDEX, "event_permissions", COLUMNS, postgresql_include=["live"])
    else:
        op.create_index(INDEX, "event_permissions", COLUMNS)
