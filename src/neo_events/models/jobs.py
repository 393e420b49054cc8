"""Work due later (SPEC §14): the leased job queue, and users' reminders on events, which
it fires."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from neo_events.db import Base, IdType, UTCDateTime, utcnow
from neo_events.models.types import JsonType


class Job(Base):
    """Work due later (SPEC §14): claimed by one worker at a time under a lease.

    `run_at` is when the row may next be claimed: its due time, a retry's time, or — while
    claimed — the end of the lease, so a claim a crashed worker never finished becomes due
    again by itself. `due_at` keeps the time the work was meant for (reminder lateness).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_run_at", "run_at"),
        # one kind's due and claimed jobs, without walking every reminder (fair claims)
        Index("ix_jobs_kind_run_at", "kind", "run_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # At most one job per key: one per reminder, one per webhook, one fan-out.
    key: Mapped[str] = mapped_column(String(100), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The user the job works for, where its kind is shared fairly between users (a
    # webhook's sending: `queue.claim(per_owner=...)`); no foreign key, the job checks its
    # webhook still exists when it runs.
    owner_id: Mapped[int | None] = mapped_column(IdType)


class Reminder(Base):
    """One user's reminder on one event: `minutes_before` each occurrence's start."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id", "minutes_before"),
        CheckConstraint(
            "minutes_before >= 0 AND minutes_before <= 40320", name="minutes_before_range"
        ),
        Index("ix_reminders_event_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    minutes_before: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last day of an all-day event it reminded of, as its holder's zone placed that day
    # then: it never reminds of that day, or one before it, again, where the holder or the
    # event moved to a zone in which the day begins later (`due.reminded_skipper`).
    reminded_day: Mapped[date | None] = mapped_column(Date, nullable=True)
