"""The durable change feed (SPEC §8): the numbered changes, who each one is for, and the
counter and pending rows that number them in commit order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from neo_events.db import Base, IdType, UTCDateTime, utcnow
from neo_events.models.types import JsonType


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
