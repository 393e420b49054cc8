"""Infra feature package."""
