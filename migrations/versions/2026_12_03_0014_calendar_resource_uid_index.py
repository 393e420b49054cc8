"""calendar resource uid index: a CalDAV create looks up the UID it is given by index

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:10:00+00:00

A CalDAV PUT of a new resource refuses a UID the calendar already holds (RFC 4791
no-uid-conflict). That lookup read every event the user holds, joined with its resource row,
because the UID was compared with an OR across two tables; it is now a lookup of the UID in
`calendar_resources`, then of the events found by primary key (`caldav/writes.py`).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_calendar_resources_uid", "calendar_resources", ["uid"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_calendar_resources_uid", table_name="calendar_resources")
