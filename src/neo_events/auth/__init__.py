"""Auth feature package."""
