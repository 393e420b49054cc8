"""Every table of the service, in one place."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from neo_events.db import Base, IdType, UTCDateTime, utcnow

JsonType = JSON().with_variant(JSONB(), "postgresql")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    # Lower-cased copies carry the case-insensitive uniqueness, portably across dialects.
    username_key: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthSession(Base):
    """One sign-in: the family of refresh tokens it rotates through, revoked as a whole."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(Base):
    """A refresh token's id; spent once, then presenting it again revokes its session."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One security-relevant or state-changing action (SPEC §9), written in its transaction."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_actor_id_id", "actor_id", "id"),
        Index("ix_audit_log_target", "target_type", "target_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(48))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(IdType)
    outcome: Mapped[str] = mapped_column(String(16), default="success")
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


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
        # A calendar read's keys (schedule.calendar): PostgreSQL probes this by id from the
        # roles and answers from the index alone, never visiting the rows.
        Index(
            "ix_events_id_calendar",
            "id",
            postgresql_include=["version", "span_start", "span_end", "deleted_at", "transparency"],
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(500))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
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
        # "Who can see event X" is the primary key; "what can user U see" is this index. On
        # PostgreSQL it carries `live`, so a calendar read passes over a deleted event's grants
        # in the index, without probing the event (`events.calendars`).
        Index(
            "ix_event_permissions_user_id_event_id",
            "user_id",
            "event_id",
            "role",
            postgresql_include=["live"],
        ),
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
    __table_args__ = (UniqueConstraint("event_id", "version"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    change_type: Mapped[str] = mapped_column(String(24))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JsonType)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rolled_back_to: Mapped[int | None] = mapped_column(Integer)


class IdempotencyKey(Base):
    """A create's first response, kept 24 h so a retry with the same key replays it."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of method, path, query and (canonical) body: the same key on another request is a 422.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_headers: Mapped[dict[str, str]] = mapped_column(JsonType, default=dict)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedState(Base):
    """One row holding the last change number handed out.

    Taking it with an UPDATE is the last thing a writing transaction does, so its row lock
    orders commits: a change numbered n is never visible before every change below n is.
    On PostgreSQL the UPDATE runs inside COMMIT (FeedPending), so no client round trip is
    made while the lock is held.
    """

    __tablename__ = "feed_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(IdType, default=0)


class FeedPending(Base):
    """PostgreSQL only: a transaction's changes waiting for their numbers, as one JSON row.

    A deferred constraint trigger (migration 0011, `feed_number()`) numbers them at COMMIT:
    it takes the `feed_state` lock, inserts the `changes` and `change_recipients` rows and
    deletes this row, so the row never outlives its transaction and the lock that orders
    commits is held only while PostgreSQL commits. On SQLite (one writer at a time) the
    table stays empty.
    """

    __tablename__ = "feed_pending"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    payload: Mapped[Any] = mapped_column(JsonType)


class Change(Base):
    """The durable change feed (SPEC §8): one row per change to an event or its roles. Like
    its recipients, a log derived from rows already checked, without foreign keys (migration
    0013): whatever one day deletes users, events or changes deletes their feed rows too."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[int] = mapped_column(IdType, index=True)
    version: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(IdType)
    # Changed field names for content changes; {user_id, role, old_role} for role changes.
    changes: Mapped[Any] = mapped_column(JsonType, default=list)


class ChangeRecipient(Base):
    """Who a change is for: every holder of a role then, and whoever just lost one (no
    foreign keys: see Change)."""

    __tablename__ = "change_recipients"

    user_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    seq: Mapped[int] = mapped_column(IdType, primary_key=True)


class FeedToken(Base):
    """A secret that reads one user's calendar feed (SPEC §10) and nothing else.

    Only a SHA-256 of the secret is kept; revoking a token deletes its row.
    """

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """Work due later (SPEC §14): claimed by one worker at a time under a lease.

    `run_at` is when the row may next be claimed: its due time, a retry's time, or — while
    claimed — the end of the lease, so a claim a crashed worker never finished becomes due
    again by itself. `due_at` keeps the time the work was meant for (reminder lateness).
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_run_at", "run_at"),)

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


class Webhook(Base):
    """A user's endpoint for the messages they would get live, signed with its own secret.

    The secret is kept encrypted (AES-GCM, key derived from SECRET_KEY), never in clear.
    """

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JsonType, default=list)
    description: Mapped[str | None] = mapped_column(String(500))
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # Changes numbered up to this one happened before the webhook existed: not sent.
    after_seq: Mapped[int] = mapped_column(IdType, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One message for one webhook: sent in `seq` order, retried until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "seq"),
        Index("ix_webhook_deliveries_webhook_id_status_seq", "webhook_id", "status", "seq"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(IdType)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    )

    event_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    recurrence_id: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    response: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(String(500))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppPassword(Base):
    """A secret that signs one user in to CalDAV (SPEC §15) and nowhere else.

    Only a SHA-256 of the secret is kept (it is 190 random bits: a slow hash adds nothing but
    cost to every CalDAV request); revoking one deletes its row.
    """

    __tablename__ = "app_passwords"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarResource(Base):
    """An event as a CalDAV resource: the name and UID a client gave it, and the text it last
    sent: served as it is while the event has not changed since, and afterwards the source of
    the properties the event model does not hold (X-*, VALARM, …), written back into what GET
    serves (caldav/resources.py). Events made elsewhere have no row: their name
    and UID derive from their id."""

    __tablename__ = "calendar_resources"
    __table_args__ = (Index("ix_calendar_resources_name", "name"),)

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255))
    uid: Mapped[str] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
    # The event version `body` describes: while the event is still at it, GET serves `body`
    # as the client sent it (RFC 4791 §5.3.4: then the ETag a PUT returned stays true).
    body_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarSettings(Base):
    """A user's CalDAV calendar as their apps name it (PROPPATCH of DAV:displayname)."""

    __tablename__ = "calendar_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    display_name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
