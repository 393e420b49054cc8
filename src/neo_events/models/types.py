"""Column types the tables share beyond `neo_events.db`'s: JSON, stored as JSONB on
PostgreSQL; a time zone's name, read as the zone rules know it."""

from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from neo_events.timezones import stored_zone

JsonType = JSON().with_variant(JSONB(), "postgresql")


class ZoneName(TypeDecorator[str]):
    """An IANA zone's name (an event's zone, an account's), written as given (every name
    written was checked, `rrule.zone_named`) and read through `timezones.stored_zone`: a
    name a newer release of the zone rules dropped is read as UTC, so that no code past
    the read meets a zone it cannot open."""

    impl = String(64)
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return value if value is None else stored_zone(value)
