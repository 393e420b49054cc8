"""Events and who holds them: the event or series itself, every role on it, and the
immutable snapshots its history, diffs and rollbacks are read from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from neo_events.db import Base, IdType, UTCDateTime, utcnow
from neo_events.models.types import JsonType, ZoneName


class Event(Base):
    """An event or a recurring series; soft-deleted rows stay as tombstones."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="end_after_start"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("transparency IN ('opaque', 'transparent')", name="known_transparency"),
        CheckConstraint(
            "(all_day AND start_date IS NOT NULL AND end_date > start_date)"
            " OR (NOT all_day AND start_date IS NULL AND end_date IS NULL)",
            name="all_day_dates",
        ),
        # "Events in a window": series whose occurrences cannot reach it are pruned here.
        Index("ix_events_span", "span_start", "span_end"),
        Index("ix_events_start_time_id", "start_time", "id"),
        # A calendar read's keys (events.key_rows): PostgreSQL probes this by id from the
        # roles and answers from the index alone, never visiting the rows (the owner tells
        # the users' own events from the others').
        Index(
            "ix_events_id_calendar",
            "id",
            postgresql_include=[
                "version",
                "span_start",
                "span_end",
                "deleted_at",
                "transparency",
                "owner_id",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(500))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(ZoneName, default="UTC")
    # An all-day event is its dates (end exclusive), the same days for every viewer; its
    # start_time/end_time are those dates' midnights in `timezone` (see events/days.py).
    all_day: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    transparency: Mapped[str] = mapped_column(String(12), default="opaque", server_default="opaque")
    is_recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    recurrence_pattern: Mapped[str | None] = mapped_column(String(500))
    exdates: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # Extra occurrence starts (RFC 5545 RDATE): instants, or dates for an all-day series.
    rdates: Mapped[list[str]] = mapped_column(JsonType, default=list, server_default="[]")
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, default=list)
    # The instants every occurrence (moved overrides included) lies within; span_end is
    # NULL for a series without end. Maintained on every write from the recurrence rules.
    span_start: Mapped[datetime] = mapped_column(UTCDateTime)
    span_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A COUNT rule's last wall time (`plans.count_end_text`), worked out when written: a
    # read builds the rule's plan without scanning for it. NULL without COUNT.
    count_end: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EventPermission(Base):
    """A user's role on an event; every role, the owner's included, is a row here."""

    __tablename__ = "event_permissions"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'editor', 'viewer')", name="known_role"),
        # "Who can see event X" is the primary key; "what can user U see" is this index. It
        # carries `live` (a key column: SQLite has no INCLUDE), so a calendar read passes over
        # a deleted event's grants in the index, without reading the grant's row or probing
        # the event (`events.calendar_keys`).
        Index("ix_event_permissions_user_id_event_id", "user_id", "event_id", "role", "live"),
    )

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(8))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # False once the event is deleted (`events.service.delete_event`, the one place an event
    # is deleted; a tombstone is never restored). The grant stays, so its history stays
    # readable. Only ever an optimisation: a calendar read still checks the event itself.
    live: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class EventVersion(Base):
    """An immutable snapshot of an event's content after one change."""

    __tablename__ = "event_versions"
    # With the time and id of each version: a listing with `as_of` finds a held event's last
    # version by then in this index alone (`past_listing`, migration 0021).
    __table_args__ = (
        UniqueConstraint("event_id", "version", postgresql_include=["changed_at", "id"]),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    change_type: Mapped[str] = mapped_column(String(24))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rolled_back_to: Mapped[int | None] = mapped_column(Integer)
    # The snapshot's JSON in bytes, read before it is: pages stop at a budget (`pages`).
    snapshot_bytes: Mapped[int] = mapped_column(Integer, server_default="0")
    # The snapshot's start_time as a text that sorts as the instants do
    # (`history.versions.start_key`): a listing with `as_of` orders by it without reading
    # any snapshot (migration 0021).
    start_key: Mapped[str] = mapped_column(String(32))
    # Last: on SQLite a column after a large value is reached through its overflow pages
    # (migration 0018).
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonType)
