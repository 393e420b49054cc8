"""The durable change feed (SPEC §8): the numbered changes, who each one is for, and the
counter and pending rows that number them in commit order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from neo_events.db import Base, IdType, UTCDateTime, utcnow
from neo_events.models.types import JsonType


class FeedState(Base):
    """One row holding the last change number handed out.

    Whoever numbers changes takes its row lock and numbers only changes already committed,
    so a change numbered n is never visible before every change below n is: on SQLite the
    writing transaction's last statement (one writer at a time), on PostgreSQL a run of
    `feed_number_pending()` after the writers' commits (FeedPending). `snapshot`
    (PostgreSQL): the last run's (`pg_snapshot` as text); the next run looks for pending
    rows of the transactions it saw running and of those begun after it (migration 0023).
    `horizon`: the oldest transaction running then (where migration 0022's runs looked
    from; read only before the first run that keeps a snapshot).
    """

    __tablename__ = "feed_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(IdType, default=0)
    horizon: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    snapshot: Mapped[str | None] = mapped_column(Text)


class FeedPending(Base):
    """PostgreSQL only: a transaction's changes waiting for their numbers, as one JSON row,
    with the id of the transaction that wrote it (`txid`, its default there).

    The writer commits it with everything else it writes, holding no lock of the feed's;
    `feed_number_pending()` (migration 0022), run once its writer has committed
    (`live.sequencer`), takes the `feed_state` lock, numbers every row committed by then
    into `changes` and `change_recipients` and deletes them. On SQLite (one writer at a
    time) the table stays empty.
    """

    __tablename__ = "feed_pending"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    payload: Mapped[Any] = mapped_column(JsonType)
    txid: Mapped[int] = mapped_column(BigInteger, index=True)


class FeedRejected(Base):
    """PostgreSQL only: a pending row no run could number, with the error it met, set aside
    so that the feed goes on (migration 0023). Its changes are in nobody's feed; once the
    row is mended, putting it back in `feed_pending` has the next run number it."""

    __tablename__ = "feed_rejected"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    payload: Mapped[Any] = mapped_column(JsonType)
    txid: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str] = mapped_column(Text)
    rejected_at: Mapped[datetime] = mapped_column(
        UTCDateTime, server_default=text("CURRENT_TIMESTAMP")
    )


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
