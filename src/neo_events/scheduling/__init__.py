"""Finding a time (SPEC §7): other people's free/busy, common free slots, suggestions."""
