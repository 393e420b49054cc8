"""iCalendar interop (SPEC §10): an event as .ics, the per-user feed, import."""
