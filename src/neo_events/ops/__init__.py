"""Ops feature package."""
