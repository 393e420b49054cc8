"""Body encodings the API speaks; one place decides the media type and the bytes.

JSON by default; MessagePack (SPEC §2) when `Accept` prefers `application/msgpack` or its alias
`application/x-msgpack`. Both carry the same document: times stay RFC 3339 strings.
"""

from __future__ import annotations

from typing import Any

import orjson
import ormsgpack

JSON = "application/json"
MSGPACK = "application/msgpack"
MSGPACK_TYPES = frozenset({MSGPACK, "application/x-msgpack"})


class UndecodableBody(ValueError):
    """A request body that is not MessagePack, or not a document JSON can carry."""


def media_type_of(content_type: str) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def is_json_type(media_type: str) -> bool:
    return media_type == JSON or (
        media_type.startswith("application/") and media_type.endswith("+json")
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

    Only an explicit msgpack range counts (`*/*` keeps JSON), and a tie with an explicit
    `application/json` goes to MessagePack: a client that lists it wants it."""
    if "msgpack" not in accept:
        return None
    ranges = _accepted(accept)
    best = max(MSGPACK_TYPES, key=lambda media_type: ranges.get(media_type, 0.0))
    quality = ranges.get(best, 0.0)
    if quality <= 0.0 or quality < ranges.get(JSON, 0.0):
        return None
    return best


def negotiated_media_type(accept: str, *, default: str = JSON) -> str:
    """The response media type for an Accept header (JSON family unless msgpack is preferred)."""
    return wanted_msgpack(accept) or default


def encode_body(body: Any, media_type: str) -> bytes:
    if media_type in MSGPACK_TYPES:
        return ormsgpack.packb(body)
    return orjson.dumps(body)


def json_to_msgpack(raw: bytes) -> bytes:
    """A JSON document re-encoded as MessagePack (raises ValueError if it is not JSON)."""
    return ormsgpack.packb(orjson.loads(raw))


def msgpack_to_json(raw: bytes) -> bytes:
    """A MessagePack request body as the JSON bytes the endpoints parse."""
    try:
        return orjson.dumps(ormsgpack.unpackb(raw))
    except (ValueError, TypeError) as exc:  # bad bytes; or binary data, non-string keys
        raise UndecodableBody(str(exc)) from None
