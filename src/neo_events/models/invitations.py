"""Invitations (SPEC §13): who is invited to an event, their answer for the whole series,
and their answers for single occurrences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from neo_events.db import Base, IdType, UTCDateTime, utcnow


class Attendee(Base):
    """Someone invited to an event (SPEC §13) and their answer for the whole series; the
    organizer is a row too (`is_organizer`), added with the first invitation."""

    __tablename__ = "attendees"
    __table_args__ = (
        CheckConstraint(
            "response IN ('needs_action', 'accepted', 'tentative', 'declined')",
            name="known_response",
        ),
        # "My invitations by response" and "whose invitations are in this calendar".
        Index("ix_attendees_user_id_response_event_id", "user_id", "response", "event_id"),
    )

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    response: Mapped[str] = mapped_column(String(16), default="needs_action")
    comment: Mapped[str | None] = mapped_column(String(500))
    optional: Mapped[bool] = mapped_column(Boolean, default=False)
    is_organizer: Mapped[bool] = mapped_column(Boolean, default=False)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OccurrenceResponse(Base):
    """An attendee's answer for one occurrence of a series, overriding their series answer
    there (decline one week of a weekly meeting); `recurrence_id` is its original start."""

    __tablename__ = "occurrence_responses"
    __table_args__ = (
        CheckConstraint(
            "response IN ('needs_action', 'accepted', 'tentative', 'declined')",
            name="known_response",
        ),
        ForeignKeyConstraint(
            ["event_id", "user_id"],
            ["attendees.event_id", "attendees.user_id"],
            ondelete="CASCADE",
        ),
        # An event's answers by occurrence, what each export shows (ical/service.answers_of).
        Index(
            "ix_occurrence_responses_occurrence",
            "event_id",
            "recurrence_id",
            "user_id",
            "response",
        ),
    )

    event_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    recurrence_id: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    response: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(String(500))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
