"""Sharing feature package."""
