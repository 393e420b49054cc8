"""The login form (SPEC §3, OAuth2 password style), read once a request and within bounds.

A login form carries a handful of fields (`grant_type`, `username`, `password`, perhaps `scope`,
`client_id`, `client_secret`). Starlette's form parser (python-multipart) walks an urlencoded
body byte by byte in Python: `&` × 1,000,000 cost 0.27-0.34 s of CPU and held the event loop
0.25-0.86 s a parse, anonymously, and with rate limits on it was parsed twice, once for the
login budget's account name and once for the route (an outside attack, 2026-12-04).

Now a form is at most MAX_FORM_BYTES and MAX_FORM_FIELDS, told by `len` and `bytes.count`
before anything is parsed (else a 413 `payload_too_large`), and an urlencoded one is split by
`urllib.parse.parse_qsl` (C-speed splitting; its percent-decoding is per field, so the byte
bound is what bounds it: 8 KiB of `%` costs ~3 ms). The outcome, the fields or the refusal, is
kept in the request's scope: the rate limiter's peek parses the form and the route reuses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import Message, Scope

from neo_events.encoding import body_media_type
from neo_events.errors import PayloadTooLarge

URLENCODED = "application/x-www-form-urlencoded"
FORM_TYPES = frozenset({URLENCODED, "multipart/form-data"})
# 254 characters of username and 256 of password, each a 4-byte UTF-8 character written as
# three `%XX`, are 6,120 bytes: a real login form is far below both bounds.
MAX_FORM_BYTES = 8192
MAX_FORM_FIELDS = 16
FIELDS = ("username", "password")
_OUTCOME = "neo.login_form"  # the scope key the parsed form (or its refusal) is kept under


class FormTooLarge(PayloadTooLarge):
    def __init__(self) -> None:
        super().__init__(
            f"A login form holds at most {MAX_FORM_FIELDS} fields and {MAX_FORM_BYTES:,} "
            "bytes; send username and password."
        )


async def login_form(scope: Scope, read_body: Callable[[], Awaitable[bytes]]) -> dict[str, Any]:
    """The `username` and `password` of a login form (those present; a file part's value is
    None), parsed the first time a request asks: FormTooLarge past the bounds, a 400
    HTTPException for a multipart body that cannot be read; a second ask gets the same."""
    outcome = scope.get(_OUTCOME)
    if outcome is None:
        try:
            outcome = await _parse(scope, await read_body())
        except (FormTooLarge, StarletteHTTPException) as exc:
            outcome = exc
        scope[_OUTCOME] = outcome
    if isinstance(outcome, Exception):
        raise outcome
    fields: dict[str, Any] = outcome
    return fields


async def _parse(scope: Scope, body: bytes) -> dict[str, Any]:
    if len(body) > MAX_FORM_BYTES:
        raise FormTooLarge()
    if body_media_type(scope["headers"]) == URLENCODED:
        if body.count(b"&") >= MAX_FORM_FIELDS:
            raise FormTooLarge()
        # As browsers read a form (WHATWG URL, application/x-www-form-urlencoded): percent
        # escapes and raw bytes alike are UTF-8; the last of a repeated field counts.
        pairs = parse_qsl(
            body.decode("utf-8", "replace"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="replace",
        )
        return {name: value for name, value in pairs if name in FIELDS}
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def from_buffer() -> Message:
        return messages.pop() if messages else {"type": "http.disconnect"}

    # Multipart: python-multipart within the byte bound (8 KiB of tiny parts, ~1 ms).
    async with Request(scope, from_buffer).form(
        max_files=MAX_FORM_FIELDS, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_BYTES
    ) as form:
        return {
            name: value if isinstance(value, str) else None
            for name in FIELDS
            if (value := form.get(name)) is not None
        }
