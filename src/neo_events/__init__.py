"""Neo Events: collaborative event scheduling with roles, history and live updates."""

__version__ = "0.1.0"

# Zone rules from the pinned `tzdata` package, never the host's files: before any zone is read.
from neo_events import timezones as _timezones  # noqa: F401
