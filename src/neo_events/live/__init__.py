"""Live feature package."""
