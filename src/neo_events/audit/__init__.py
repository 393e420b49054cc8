"""Audit feature package."""
