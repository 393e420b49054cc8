"""Shared HTTP glue: the transactional route class, content negotiation, cursors, ETags."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, params
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from neo_events import db
from neo_events.errors import UnsupportedMediaType, ValidationFailed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TransactionalRoute(APIRoute):
    """Runs each request in one transaction, committed before the response leaves.

    FastAPI tears down `yield` dependencies after the response is sent, too late to report a
    failed commit, so the commit lives here, around the endpoint.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form
        )

        async def run_in_transaction(request: Request) -> Response:
            if takes_json and has_body(request) and not is_json(request):
                raise UnsupportedMediaType("Send the body as application/json.")
            token = db.write_intent.set(request.method not in SAFE_METHODS)
            try:
                try:
                    response = await handler(request)
                except Exception as exc:
                    session = request.scope.get("neo.session")
                    if session is not None:
                        if getattr(exc, "commit_anyway", False):
                            await db.commit(session)
                        else:
                            await db.rollback(session)
                    raise
                session = request.scope.get("neo.session")
                if session is not None:
                    await db.commit(session)
                return response
            finally:
                session = request.scope.pop("neo.session", None)
                if session is not None:
                    await session.close()
                db.write_intent.reset(token)

        return run_in_transaction


def has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return (length is not None and length != "0") or "transfer-encoding" in request.headers


def is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def get_session(request: Request) -> AsyncSession:
    """The request's session; the route class commits or rolls it back."""
    session: AsyncSession | None = request.scope.get("neo.session")
    if session is None:
        session = request.app.state.sessionmaker()
        request.scope["neo.session"] = session
    return session


Session = Annotated[AsyncSession, Depends(get_session)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


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


def etag_for(version: int | str) -> str:
    return f'"{version}"'


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison over a list of entity tags (or *)."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False
