"""users.timezone: an account's own time zone

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 06:00:00+00:00

Where an account's floating dates fall when what it writes names no zone: an all-day event a
calendar app PUTs over CalDAV (a `VALUE=DATE` names none), an import without X-WR-TIMEZONE or
`?timezone=` (`auth/preferences.py`). Null until the account sets it (the web client sets the
browser's on first sign-in): then UTC, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("timezone")
