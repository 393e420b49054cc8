"""Credentials in URLs never reach a log line (logs.RedactSecrets), whatever the record."""

from __future__ import annotations

import logging

from neo_events.logs import RedactSecrets


def _logged(msg: str, *args: object) -> str:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args or None, None)
    if len(args) == 1 and isinstance(args[0], dict):
        record.args = args[0]  # what logging does with one mapping argument
    assert RedactSecrets().filter(record)
    return record.getMessage()


def test_a_token_is_redacted_wherever_it_comes_from() -> None:
    assert _logged('%s - "WebSocket %s" [accepted]', "1.2.3.4:5", "/api/v1/ws?token=eyJ.a.b") == (
        '1.2.3.4:5 - "WebSocket /api/v1/ws?token=[redacted]" [accepted]'
    )
    assert _logged("%(path)s", {"path": "/calendar.ics?token=abc&x=1"}) == (
        "/calendar.ics?token=[redacted]&x=1"
    )
    assert _logged("GET %s", "/feed?access_token=abc") == "GET /feed?access_token=[redacted]"
    # a template naming the parameter itself: its placeholders and arguments stay together
    assert _logged("token=%s for %s", "abc", "alice") == "token=[redacted] for alice"
    assert _logged("no secret here: %d", 5) == "no secret here: 5"


def test_a_parameter_is_known_by_its_decoded_name() -> None:
    """Starlette decodes a query parameter's name: `?%74oken=` signed a WebSocket in as
    `?token=` does, and its token was logged because only the raw text `token=` was matched."""
    for name in ("%74oken", "tok%65n", "TOKEN", "refresh%5Ftoken", "password", "client_secret"):
        assert _logged("GET %s", f"/ws?a=1&{name}=s3cr3t&b=2") == (
            f"GET /ws?a=1&{name}=[redacted]&b=2"
        )
    assert _logged("GET %s", "/ws?tokens=1&tok=2") == "GET /ws?tokens=1&tok=2"
