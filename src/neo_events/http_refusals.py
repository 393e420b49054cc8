"""The answers the HTTP server writes itself, without the app (`http_server`): a problem+json
body with a request id of its own, logged with the refusal, the headers the app's answers
carry, and `Connection: close`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from neo_events.errors import PROBLEM_JSON, PayloadTooLarge, problem_body
from neo_events.logs import request_id_var
from neo_events.middleware import API_CSP

logger = logging.getLogger("neo_events.http")

TITLES = {
    "uri_too_long": "The request target is too long",
    "header_fields_too_large": "The request's header fields are too large",
    "request_timeout": "The request took too long to arrive",
    "payload_too_large": PayloadTooLarge.title,
}
# Those the app's answers carry (`SecurityHeadersMiddleware`).
_SECURITY_HEADERS = (
    b"x-content-type-options: nosniff\r\nx-frame-options: DENY\r\n"
    b"referrer-policy: no-referrer\r\ncross-origin-opener-policy: same-origin\r\n"
    b"content-security-policy: " + API_CSP.encode() + b"\r\n"
)


def refusal(
    status: int,
    code: str,
    detail: str,
    *,
    client: tuple[str, int] | None,
    default_headers: Iterable[tuple[bytes, bytes]],
) -> bytes:
    """The answer's bytes, logged with the request id it carries."""
    request_id = uuid.uuid4().hex
    body = orjson.dumps(
        problem_body(status, code, title=TITLES[code], detail=detail) | {"request_id": request_id}
    )
    token = request_id_var.set(request_id)
    try:
        logger.warning(
            "%d %s, refused by the server: %s",
            status,
            code,
            detail,
            extra={"status": status, "client": f"{client[0]}:{client[1]}" if client else None},
        )
    finally:
        request_id_var.reset(token)
    content = [STATUS_LINE[status]]
    for name, value in default_headers:
        content.extend([name, b": ", value, b"\r\n"])
    content.extend(
        [
            b"content-type: ", PROBLEM_JSON.encode(), b"\r\n",
            b"content-length: ", str(len(body)).encode(), b"\r\n",
            b"x-request-id: ", request_id.encode(), b"\r\n",
            _SECURITY_HEADERS,
            b"connection: close\r\n\r\n",
            body,
        ]
    )  # fmt: skip
    return b"".join(content)
