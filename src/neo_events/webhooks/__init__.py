"""Webhooks (SPEC §14): what a user gets live, POSTed to their endpoints, signed."""
