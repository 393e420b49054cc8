"""Reminders (SPEC §14): each user's own, one `reminder.due` per occurrence."""
