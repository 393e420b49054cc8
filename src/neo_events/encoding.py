"""Body encodings the API speaks; one place decides the media type and the bytes.

JSON by default; MessagePack (SPEC §2) when `Accept` prefers `application/msgpack` or its alias
`application/x-msgpack`. Both carry the same document: times stay RFC 3339 strings.

A request body holds at most MAX_CONTAINERS arrays and objects (`json_containers`,
`loads_msgpack`), told before it is decoded: within the 1 MiB size limit, 1,000,000 empty
MessagePack arrays (one byte each) took 1.6 s of the event loop to decode, and 340,000 JSON ones
0.5 s, before sign-in or validation (an outside attack). No body the API takes comes near it: a
500-event batch with 20 overrides each holds ~11,000.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import msgpack
import orjson

JSON = "application/json"
MSGPACK = "application/msgpack"
MSGPACK_TYPES = frozenset({MSGPACK, "application/x-msgpack"})


MAX_CONTAINERS = 50_000  # arrays and objects in one request body: ~15 ms to decode


class UndecodableBody(ValueError):
    """A request body that is not MessagePack, or not a document JSON can carry."""


class BodyTooComplex(ValueError):
    """A request body of more than MAX_CONTAINERS arrays and objects (a 413)."""

    detail = (
        f"The body holds more than {MAX_CONTAINERS:,} arrays and objects; "
        "no request this API takes needs as many."
    )


def json_containers(chunk: bytes) -> int:
    """The arrays and objects a piece of a JSON body may open: every `[` and `{` counts (those
    inside strings too, an overcount no real body comes near), at C speed, before a parser
    allocates any (`BodyLimitMiddleware` adds them up as the body streams in)."""
    return chunk.count(b"[") + chunk.count(b"{")


def loads_msgpack(raw: bytes) -> Any:
    """A MessagePack document, decoding no more than MAX_CONTAINERS arrays and maps (each is
    counted as it is completed: a bomb stops after that many, in ~7 ms). Strings are text,
    keys strings (else ValueError)."""
    count = 0

    def counted(value: Any) -> Any:
        nonlocal count
        count += 1
        if count > MAX_CONTAINERS:
            raise BodyTooComplex()
        return value

    return msgpack.unpackb(raw, raw=False, list_hook=counted, object_hook=counted)


def media_type_of(content_type: str) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def first_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of a field in ASGI headers (as Starlette's `Headers.get` reads it), by
    one walk that stops there, without building a dict of them all."""
    for key, value in headers:
        if key == name:
            return value
    return None


def body_media_type(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The media type of a request's body from its ASGI headers: the first Content-Type, as
    Starlette and FastAPI read it (a second one must not hide a JSON body from a check)."""
    value = first_header(headers, b"content-type")
    return "" if value is None else media_type_of(value.decode("latin-1"))


def is_json_type(media_type: str) -> bool:
    """Whether a body of this media type (`media_type_of`) is JSON, as FastAPI's body reader
    decides it: `application/json` or `application/…+json`, with exactly one `/` (the
    standard library's `email` parser, which FastAPI asks, reads any other as `text/plain`:
    `application/vnd.a/b+json` or two types joined by a comma are not JSON)."""
    return media_type.count("/") == 1 and (
        media_type == JSON
        or (media_type.startswith("application/") and media_type.endswith("+json"))
    )


def _accepted(accept: str) -> dict[str, float]:
    """Media range → quality, for the ranges listed explicitly (RFC 9110 §12.5.1)."""
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media_range, *params = part.split(";")
        media_range = media_range.strip().lower()
        if not media_range:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        ranges[media_range] = max(quality, ranges.get(media_range, 0.0))
    return ranges


def wanted_msgpack(accept: str) -> str | None:
    """The MessagePack media type the client named, if it prefers it to JSON; else None.

    Only an explicit msgpack range counts (`*/*` keeps JSON); JSON's quality is that of its
    most specific range (`application/json`, else `application/*`, else `*/*`: RFC 9110
    §12.5.1), and a tie goes to MessagePack: a client that lists it wants it."""
    if "msgpack" not in accept.lower():  # media types are case-insensitive (RFC 9110 §8.3.1)
        return None
    ranges = _accepted(accept)
    best = max(MSGPACK_TYPES, key=lambda media_type: ranges.get(media_type, 0.0))
    quality = ranges.get(best, 0.0)
    json = next((ranges[r] for r in (JSON, "application/*", "*/*") if r in ranges), 0.0)
    if quality <= 0.0 or quality < json:
        return None
    return best


def negotiated_media_type(accept: str, *, default: str = JSON) -> str:
    """The response media type for an Accept header (JSON family unless msgpack is preferred)."""
    return wanted_msgpack(accept) or default


def encode_body(body: Any, media_type: str) -> bytes:
    if media_type in MSGPACK_TYPES:
        return bytes(msgpack.packb(body, default=_as_json))
    return orjson.dumps(body)


def _as_json(value: Any) -> Any:
    """What JSON would carry for a value MessagePack has no type for (a datetime: its RFC
    3339 text, as in the JSON body; a UUID, a dataclass), so both encodings say the same."""
    return orjson.loads(orjson.dumps(value))


def json_to_msgpack(raw: bytes) -> bytes:
    """A JSON document re-encoded as MessagePack (raises ValueError if it is not JSON)."""
    return bytes(msgpack.packb(orjson.loads(raw)))


def _finite(document: Any) -> bool:
    """Whether no float in a decoded document is NaN or infinite (a walk of its values, as
    many as MAX_CONTAINERS bounds, without recursion)."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return False
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return True


def msgpack_to_json(raw: bytes) -> bytes:
    """A MessagePack request body as the JSON bytes the endpoints parse (BodyTooComplex past
    MAX_CONTAINERS)."""
    try:
        document = loads_msgpack(raw)
        # JSON has no NaN or infinity (orjson would write null, erasing a field): only a
        # body with a float in it (its type bytes 0xca, 0xcb somewhere) is walked for one
        if (b"\xca" in raw or b"\xcb" in raw) and not _finite(document):
            raise ValueError("NaN and infinity are not numbers JSON can carry")
        return orjson.dumps(document)
    except BodyTooComplex:
        raise
    except (ValueError, TypeError) as exc:  # bad bytes; or binary data, non-string keys
        raise UndecodableBody(str(exc)) from None
