"""HTTP semantics the services need without importing the web framework: cursors, entity tags."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from neo_events.errors import ValidationFailed
from neo_events.fields import supported_instant


def encode_cursor(values: dict[str, Any]) -> str:
    """An opaque cursor: clients pass it back, never build it."""
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise ValidationFailed.field(["query", "cursor"], "not a cursor from this API") from None
    if not isinstance(values, dict):
        raise ValidationFailed.field(["query", "cursor"], "not a cursor from this API")
    return values


def cursor_fields(cursor: str, *fields: tuple[str, Callable[[Any], Any]]) -> tuple[Any, ...]:
    """The named values of a cursor, each parsed; 422 if any is missing or malformed."""
    values = decode_cursor(cursor)
    try:
        parsed = tuple(parse(values[name]) for name, parse in fields)
        # A forged cursor is a time input like any other: within the supported range.
        return tuple(supported_instant(v) if isinstance(v, datetime) else v for v in parsed)
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed.field(["query", "cursor"], "not a cursor from this API") from None


def etag_for(version: int | str) -> str:
    return f'"{version}"'


def content_etag(representation: bytes) -> str:
    """The ETag of a resource with no version to name (a user, a webhook): a strong hash of
    its encoded representation, so anything its GET shows changes it, whoever wrote it."""
    return etag_for(hashlib.sha256(representation).hexdigest()[:32])


def event_etag(version: int, reminders: Sequence[int] = ()) -> str:
    """An event object's ETag: its content version (SPEC §7), and the caller's own reminders
    when they have some. Reminders are part of the object each holder reads (`my_reminders`)
    but change no version, so without them a 304 would keep a stale list."""
    if not reminders:
        return etag_for(version)
    return etag_for(f"{version}-r" + ".".join(str(m) for m in reminders))


def version_matches(header: str | None, version: int) -> bool:
    """If-Match on an event: strong comparison of the content version an ETag names, the
    caller's reminders part aside (it is not content: setting reminders must not make
    another device's edit fail)."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        strong = len(candidate) > 1 and candidate[0] == candidate[-1] == '"'
        if strong and candidate[1:-1].split("-r", 1)[0] == str(version):
            return True
    return False


def etag_matches(header: str | None, etag: str, *, weak: bool = True) -> bool:
    """Does a list of entity tags (or *) match? Weak comparison for If-None-Match, strong
    for If-Match (RFC 9110 §13.1)."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate == etag:
            return True
        if weak and candidate.removeprefix("W/") == etag:
            return True
    return False
