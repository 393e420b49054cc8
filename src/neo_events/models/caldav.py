"""What CalDAV clients (SPEC §15) name and send that the event model does not hold: each
event's resource name, UID and last text, and each user's calendar display name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from neo_events.db import Base, UTCDateTime, utcnow

MAX_NAME = 255  # characters of a resource's name, and of its UID


class CalendarResource(Base):
    """An event as a CalDAV resource: the name and UID a client gave it, and the text it last
    sent: served as it is while the event has not changed since, and afterwards the source of
    the properties the event model does not hold (X-*, VALARM, …), written back into what GET
    serves (caldav/resources.py). Events made elsewhere have no row: their name
    and UID derive from their id."""

    __tablename__ = "calendar_resources"
    __table_args__ = (
        Index("ix_calendar_resources_name", "name"),
        Index("ix_calendar_resources_uid", "uid"),
    )

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    uid: Mapped[str] = mapped_column(String(MAX_NAME))
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
