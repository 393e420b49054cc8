"""CalDAV (SPEC §15, RFC 4791, RFC 6578, RFC 6764) over the same events, roles and history."""
