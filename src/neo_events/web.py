"""Shared HTTP glue: the transactional route class, content negotiation, cursors, ETags."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, params
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from neo_events import db
from neo_events.errors import UnsupportedMediaType

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
                    # Work that needs the finished response joins its transaction (idempotency).
                    for before_commit in request.scope.pop("neo.before_commit", ()):
                        await before_commit(session, response)
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
        # the change feed wakes every worker's hub once this request has committed
        session.info["publish_change"] = request.app.state.hub.changed
        request.scope["neo.session"] = session
    return session


Session = Annotated[AsyncSession, Depends(get_session)]
