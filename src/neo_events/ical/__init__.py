"""Ical feature package."""
