"""version start key: each version row keeps its snapshot's start as a sortable text

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 04:30:00+00:00

A listing with `as_of` orders the events the caller holds by where each started at that
instant: its last version by then. It read that start from each version's snapshot, which
PostgreSQL detoasts whole (a 44 KB snapshot read to sort by 20 bytes of it), and it found each
event's last version by grouping every version of every event the caller holds: 10,000 held
events cost 0.4 s of PostgreSQL's time for a page, 30,000 0.8 s (2026-12-05). The start is
now a column, `start_key` (`history.versions.start_key`: UTC, `Z`, always with microseconds,
so that the text sorts as the instants do), filled here from each snapshot by the database.
On SQLite the table is rebuilt so that the snapshot stays its last column (migration 0018).
On PostgreSQL the `(event_id, version)` index carries each version's `changed_at` and `id`,
so that the walk to the last version of an event by an instant stays in the index; on SQLite
the index has the row id but not `changed_at`, so each step of the walk reads its row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The snapshot's `start_time` as the API writes it (`content.iso`: microseconds only when
# not zero), made the key's form: `…:SSZ` (20 characters) becomes `…:SS.000000Z`.
_KEY = "CASE WHEN length({t}) = 20 THEN substr({t}, 1, 19) || '.000000Z' ELSE {t} END"
_START = {
    "postgresql": "snapshot ->> 'start_time'",
    "sqlite": "json_extract(snapshot, '$.start_time')",
}
COLUMNS = ("id", "event_id", "version", "change_type", "changed_by_id", "changed_at",
           "rolled_back_to", "snapshot_bytes", "start_key", "snapshot")  # fmt: skip


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Every writer snapshots `start_time` (`content_of`); a row without one would fail the
    # NOT NULL below part way, and SQLite would keep the column added before it: say so first.
    missing = op.get_bind().scalar(
        sa.text(f"SELECT count(*) FROM event_versions WHERE {_START[dialect]} IS NULL")
    )
    if missing:
        raise RuntimeError(
            f"{missing} event_versions rows have no start_time in their snapshot; nothing was"
            " changed. Give each one its event's start_time, then migrate again."
        )
    op.add_column("event_versions", sa.Column("start_key", sa.String(32), nullable=True))
    op.execute(f"UPDATE event_versions SET start_key = {_KEY.format(t=_START[dialect])}")
    # SQLite: rebuilt with the snapshot last again (0018); either way, never NULL from here on
    with op.batch_alter_table(
        "event_versions",
        recreate="always" if dialect == "sqlite" else "auto",
        partial_reordering=[COLUMNS] if dialect == "sqlite" else None,
    ) as batch:
        batch.alter_column("start_key", existing_type=sa.String(32), nullable=False)
    if dialect == "postgresql":
        _unique(include="INCLUDE (changed_at, id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unique(include="")
    with op.batch_alter_table("event_versions") as batch:
        batch.drop_column("start_key")


def _unique(include: str) -> None:
    op.execute(
        "ALTER TABLE event_versions DROP CONSTRAINT uq_event_versions_event_id_version,"
        " ADD CONSTRAINT uq_event_versions_event_id_version UNIQUE (event_id, version)"
        f" {include}"
    )
