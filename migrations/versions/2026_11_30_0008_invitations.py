"""invitations: attendees and per-occurrence responses

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 13:43:03.041793+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import neo_events.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "attendees",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("response", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("optional", sa.Boolean(), nullable=False),
        sa.Column("is_organizer", sa.Boolean(), nullable=False),
        sa.Column(
            "invited_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("invited_at", neo_events.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("responded_at", neo_events.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "response IN ('needs_action', 'accepted', 'tentative', 'declined')",
            name=op.f("ck_attendees_known_response"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_attendees_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_attendees_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_attendees_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "user_id", name=op.f("pk_attendees")),
    )
    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attendees_user_id_response_event_id",
            ["user_id", "response", "event_id"],
            unique=False,
        )

    op.create_table(
        "occurrence_responses",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recurrence_id", neo_events.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("response", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("responded_at", neo_events.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "response IN ('needs_action', 'accepted', 'tentative', 'declined')",
            name=op.f("ck_occurrence_responses_known_response"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id", "user_id"],
            ["attendees.event_id", "attendees.user_id"],
            name=op.f("fk_occurrence_responses_event_id_attendees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "event_id", "user_id", "recurrence_id", name=op.f("pk_occurrence_responses")
        ),
    )


def downgrade() -> None:

    op.drop_table("occurrence_responses")
    with op.batch_alter_table("attendees", schema=None) as batch_op:
        batch_op.drop_index("ix_attendees_user_id_response_event_id")

    op.drop_table("attendees")
