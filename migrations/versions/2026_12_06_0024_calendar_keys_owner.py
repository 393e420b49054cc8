"""calendar keys owner: the calendar keys index carries each event's owner

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 12:00:00+00:00

A conflict check reads the users' own events (those one of them created) and the others
(shared with them or invited to them by anyone) within budgets of their own
(`events.calendar_keys.Budget`): anyone who shared 5,001 events with someone filled the one
budget there was, and that person's `?conflicts=reject` found nothing. The keys' statement
tells them apart by `owner_id`, which `ix_events_id_calendar` now includes on PostgreSQL, so
that the probe of each event stays index-only (migration 0010). On SQLite the index is a
plain one on the primary key (no INCLUDE) and does not change.

The index is built again in the migration's transaction: writes to `events` wait for it
(a few seconds for 100,000 events).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = ["version", "span_start", "span_end", "deleted_at", "transparency"]


def _index(include: list[str]) -> None:
    op.drop_index("ix_events_id_calendar", table_name="events")
    op.create_index(
        "ix_events_id_calendar", "events", ["id"], unique=False, postgresql_include=include
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _index([*_BEFORE, "owner_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _index(_BEFORE)
