"""Pure ASGI middleware: request ids and access logs, security headers, body limit, /api alias,
MessagePack bodies."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neo_events.encoding import (
    JSON,
    MAX_CONTAINERS,
    MSGPACK,
    MSGPACK_TYPES,
    BodyTooComplex,
    UndecodableBody,
    body_media_type,
    first_header,
    is_json_type,
    json_containers,
    json_to_msgpack,
    media_type_of,
    msgpack_to_json,
    wanted_msgpack,
)
from neo_events.errors import PayloadTooLarge, internal_error_response, problem_response
from neo_events.logs import request_id_var
from neo_events.problem_docs import rewrite_openapi

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("neo_events.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Echo or mint `X-Request-ID`, keep it in the logging context, log one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = (first_header(scope["headers"], b"x-request-id") or b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        began = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if scope["type"] != "http" or started:
                raise
            # Rendered here, not by Starlette's outermost handler, so that the log line and
            # the problem body both carry this request's id.
            logger.exception("unexpected error")
            await internal_error_response(Request(scope))(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                access_logger.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - began) * 1000, 2),
                    },
                )
            request_id_var.reset(token)


API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc load their bundles from a CDN and run inline bootstrap scripts.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    """Headers that make browsers treat API responses defensively."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else API_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Content-Security-Policy", csp)
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=63072000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` mid-stream; an HTTPException so FastAPI's body reader lets it pass."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


# A body in more parts than its bound goes on only while they average this much (here and in
# the HTTP server's count of chunks, http_server.py).
MIN_AVERAGE_PART = 512


class BodyLimitMiddleware:
    """413 for bodies over the limit, whether declared by Content-Length or streamed, for
    JSON bodies of more than MAX_CONTAINERS arrays and objects, counted as they stream in
    (`encoding.json_containers`; MessagePack's are counted as it is decoded), and for bodies
    that come in more than `max_parts` messages averaging under MIN_AVERAGE_PART bytes: each
    message costs the app's stack a round (granian hands the app one a chunk, ~50 µs each:
    100,000 one-byte chunks were 5 s of CPU; uvicorn's protocol counts chunks itself and
    hands on what arrived in one read)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_parts: int = 1024) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_parts = max_parts
        self.too_large = f"Request bodies are limited to {max_bytes} bytes."
        self.too_many_parts = (
            f"A request body comes in at most {max_parts} parts unless they average "
            f"{MIN_AVERAGE_PART} bytes or more."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = first_header(scope["headers"], b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send, self.too_large)
            return
        json_body = is_json_type(body_media_type(scope["headers"]))
        received = containers = parts = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received, containers, parts
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_bytes:
                    raise BodyTooLarge(self.too_large)
                if chunk:
                    parts += 1
                    if parts > self.max_parts and parts * MIN_AVERAGE_PART > received:
                        raise BodyTooLarge(self.too_many_parts)
                if json_body:
                    containers += json_containers(chunk)
                    if containers > MAX_CONTAINERS:
                        raise BodyTooLarge(BodyTooComplex.detail)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await self._reject(scope, receive, send, exc.detail)

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        response = problem_response(
            Request(scope), 413, "payload_too_large", title=PayloadTooLarge.title, detail=detail
        )
        await response(scope, receive, send)


class ApiAliasMiddleware:
    """Serve `/api/...` as `/api/v1/...` (the original challenge's paths), with one OpenAPI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            if (path == "/api" or path.startswith("/api/")) and not (
                path == "/api/v1" or path.startswith("/api/v1/")
            ):
                scope = dict(scope)
                new_path = "/api/v1" + path[len("/api") :]
                scope["path"] = new_path
                scope["raw_path"] = new_path.encode()
        await self.app(scope, receive, send)


class MsgpackMiddleware:
    """MessagePack on the wire, JSON inside (SPEC §2).

    A `Content-Type: application/msgpack` body is turned into JSON bytes before the app sees
    it, so every endpoint that takes JSON takes MessagePack; a JSON (or problem+json) response
    is re-encoded when `Accept` prefers MessagePack. Streams (SSE) and other media types (the
    HTML diff page, text/calendar) pass untouched. It must sit inside the body limit, which then
    bounds what it buffers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = body_media_type(scope["headers"])
        if content_type in MSGPACK_TYPES:
            try:
                scope, receive = await self._as_json_request(scope, receive)
            except BodyTooComplex as exc:
                response = problem_response(
                    Request(scope),
                    413,
                    "payload_too_large",
                    title=PayloadTooLarge.title,
                    detail=exc.detail,
                )
                await response(scope, receive, send)
                return
            except UndecodableBody:
                response = problem_response(
                    Request(scope),
                    400,
                    "invalid_msgpack",
                    title="The body is not valid MessagePack",
                    detail="The request body could not be decoded as a MessagePack document "
                    "that JSON can represent (string keys, no binary or extension types).",
                )
                await response(scope, receive, send)
                return
        wanted = wanted_msgpack(
            (first_header(scope["headers"], b"accept") or b"").decode("latin-1")
        )
        await self.app(scope, receive, _MsgpackSender(send, wanted))

    @staticmethod
    async def _as_json_request(scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                raise UndecodableBody("no body")
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        body = msgpack_to_json(raw) if raw else b""
        # In place, not on a copy: the router records the matched route in this scope, and the
        # metrics middleware outside reads it from there.
        scope["headers"] = [
            (name, value)
            for name, value in scope["headers"]
            if name not in (b"content-type", b"content-length", b"transfer-encoding")
        ] + [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: disconnect notices, as usual

        return scope, replay


class _MsgpackSender:
    """Marks JSON responses `Vary: Accept`; when MessagePack was asked for, buffers them and
    sends them re-encoded, with the right length."""

    def __init__(self, send: Send, media_type: str | None) -> None:
        self.send = send
        self.media_type = media_type
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            media_type = media_type_of(headers.get("content-type", ""))
            # a 304 says what its 200 would (RFC 9110 §15.4.5), and has no content type
            if media_type in MSGPACK_TYPES or is_json_type(media_type) or message["status"] == 304:
                headers.add_vary_header("Accept")
            if (
                self.media_type is not None
                and is_json_type(media_type)
                and "content-encoding" not in headers
            ):
                self.start = message
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._flush()
            return
        await self.send(message)

    async def _flush(self) -> None:
        assert self.start is not None
        raw = b"".join(self.chunks)
        start, self.start = self.start, None
        headers = MutableHeaders(scope=start)
        if raw and self.media_type is not None:
            try:
                body = json_to_msgpack(raw)
            except ValueError:  # not really JSON: send it as it came
                body = raw
            else:
                headers["content-type"] = self.media_type
        else:
            body = raw
        headers["content-length"] = str(len(body))
        await self.send(start)
        await self.send({"type": "http.response.body", "body": body, "more_body": False})


def document_msgpack(app: FastAPI) -> None:
    """Offer `application/msgpack` next to every JSON body in the app's OpenAPI document."""
    rewrite_openapi(app, add_msgpack_alternatives)


def add_msgpack_alternatives(schema: dict[str, Any]) -> dict[str, Any]:
    """Next to every JSON request and response body in an OpenAPI document, the same schema as
    `application/msgpack` (SPEC §2)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody", {})] + list(
                operation.get("responses", {}).values()
            )
            for body in bodies:
                content = body.get("content") if isinstance(body, dict) else None
                if not content:
                    continue
                for media_type in list(content):
                    if is_json_type(media_type):
                        content.setdefault(MSGPACK, content[media_type])
                        break
    return schema
