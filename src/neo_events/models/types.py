"""Column types the tables share beyond `neo_events.db`'s: JSON, stored as JSONB on
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

JsonType = JSON().with_variant(JSONB(), "postgresql")
