"""calendar keys index: a calendar read probes events by id and reads its keys from the index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 20:30:00+00:00

`schedule.calendar` first reads only (id, version) of the events a set of users holds in a
window. On PostgreSQL this index makes that an index-only probe per role (the version, span
and liveness are included), instead of a hash join over a sequential scan of `events`.
On SQLite it is a plain index on the primary key (SQLite has no INCLUDE).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_events_id_calendar",
        "events",
        ["id"],
        unique=False,
        postgresql_include=["version", "span_start", "span_end", "deleted_at", "transparency"],
    )


def downgrade() -> None:
    op.drop_index("ix_events_id_calendar", table_name="events")
