"""Body encodings the API speaks; one place decides the media type and the bytes."""

from __future__ import annotations

from typing import Any

import orjson

JSON = "application/json"


def negotiated_media_type(accept: str, *, default: str = JSON) -> str:
    """The response media type for an Accept header (JSON family unless asked otherwise)."""
    return default


def encode_body(body: Any, media_type: str) -> bytes:
    return orjson.dumps(body)
