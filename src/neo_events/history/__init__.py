"""History feature package."""
