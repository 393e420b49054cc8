"""Who uses the service and how they prove it: accounts, sign-in sessions and the refresh
tokens they rotate through, and the narrow secrets that read one calendar feed or sign
in to CalDAV and nothing else."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from neo_events.db import Base, IdType, UTCDateTime, utcnow
from neo_events.models.types import ZoneName


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
    # Where the account's floating dates fall when a write names no zone (auth/preferences.py);
    # None: not set, UTC.
    timezone: Mapped[str | None] = mapped_column(ZoneName)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def new_session_id() -> int:
    """A random id, within what JSON numbers hold exactly (2**53): access tokens name their
    sign-in by it alone, so it must be one a database restored from a backup cannot hand out
    again, as a sequence it rewinds would (a token issued after the backup then signed in as
    whoever got its numbers next)."""
    return secrets.randbelow(2**53 - 1) + 1


class AuthSession(Base):
    """One sign-in: the family of refresh tokens it rotates through, revoked as a whole."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(
        IdType, primary_key=True, autoincrement=False, default=new_session_id
    )
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
