"""Neo Events: collaborative event scheduling with roles, history and live updates."""

__version__ = "0.1.0"
