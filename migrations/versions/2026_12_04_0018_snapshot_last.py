"""snapshot last: on SQLite a version's snapshot is the last column of its row

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 23:00:00+00:00

SQLite stores a row's columns in order and a value larger than a page on overflow pages, so a
query that reads a column after the snapshot (`changed_at`, `changed_by_id`,
`snapshot_bytes`: every history page, changelog and `as_of` read) walked each row's snapshot
to reach it: for an event of 738 versions of up to 4 MB, `/history?limit=500` cost 1.26 s of
CPU and an `as_of` before its creation 0.74 s (an outside attack, 2026-12-04), where reading
the columns before it took 3 ms. The table is rebuilt with the snapshot last (SQLite only:
PostgreSQL keeps a large value out of its row, TOAST). Nothing refers to `event_versions`, so
the rebuild (copy, drop, rename) touches no other table; it rewrites every version once.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("id", "event_id", "version", "change_type", "snapshot", "changed_by_id", "changed_at",
          "rolled_back_to", "snapshot_bytes")  # fmt: skip
AFTER = (*[c for c in BEFORE if c != "snapshot"], "snapshot")


def _order(columns: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "event_versions", recreate="always", partial_reordering=[columns]
    ) as batch:
        batch.alter_column("snapshot")  # nothing changes but the order


def upgrade() -> None:
    _order(AFTER)


def downgrade() -> None:
    _order(BEFORE)
