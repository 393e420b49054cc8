"""The AppError tree and the handlers that render every error as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from neo_events.encoding import encode_body, negotiated_media_type
from neo_events.logs import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    """One field's problem: where (`loc`, as FastAPI reports it) and what."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details: how every error of this API is sent (SPEC §2). Some codes
    add members of their own (a schedule conflict lists the clashes, a broken import its line)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem, one per `code`")
    title: str
    status: int
    detail: str
    code: str = Field(description="stable snake_case reason: `event_not_found`, `edit_conflict`…")
    errors: list[FieldError] | None = Field(
        default=None, description="the fields at fault, for 422s"
    )
    request_id: str | None = Field(default=None, description="finds the request in our logs")


class AppError(Exception):
    """An error a client can act on; subclasses fix status, code and title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"
    # Some refusals are themselves state changes that must be kept (a failed-login audit row,
    # a token family revoked on reuse): the request's transaction commits before the error is sent.
    commit_anyway: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = extra


class BadRequest(AppError):
    pass


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"
    title = "The request is not valid"

    @classmethod
    def field(cls, loc: Sequence[str | int], msg: str) -> ValidationFailed:
        """One field error, with the same shape FastAPI's validation errors take."""
        return cls(f"{'.'.join(map(str, loc))}: {msg}", errors=[{"loc": list(loc), "msg": msg}])


class NotAuthenticated(AppError):
    status = 401
    code = "not_authenticated"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    title = "The token is invalid, expired or revoked"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Your role does not allow this"


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(AppError):
    status = 412
    code = "precondition_failed"
    title = "The resource changed since you read it"


class PreconditionRequired(AppError):
    status = 428
    code = "precondition_required"
    title = "This write needs If-Match or base_version"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    title = "The service is temporarily unavailable"


def problem_body(
    status: int, code: str, *, title: str | None = None, detail: str | None = None
) -> dict[str, Any]:
    """The members every problem has (the HTTP server's own refusals too: http_server.py)."""
    return {
        "type": f"https://neo-events.dev/problems/{code.replace('_', '-')}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or title or HTTPStatus(status).phrase,
        "code": code,
    }


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    *,
    title: str | None = None,
    detail: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """An RFC 9457 body; `type` is a stable URI per code."""
    body = problem_body(status, code, title=title, detail=detail)
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    accept = request.headers.get("accept", "") if request is not None else ""
    media_type = negotiated_media_type(accept, default=PROBLEM_JSON)
    return Response(
        encode_body(body, media_type),
        status_code=status,
        media_type=media_type,
        headers=dict(headers or {}),
    )


_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _field_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    # Never echo the input back: it may be a password.
    out = []
    for err in raw:
        loc = list(err.get("loc", ()))
        if loc and loc[0] == "body":
            loc = loc[1:]
        msg = str(err.get("msg", "invalid"))
        out.append({"loc": loc, "msg": msg, "type": str(err.get("type", "value_error"))})
    return out


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        exc.status,
        exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    first = errors[0] if errors else None
    detail = (
        f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}"
        if first
        else "The request is not valid"
    )
    return problem_response(
        request,
        422,
        "validation_error",
        title="The request is not valid",
        detail=detail,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404:
        detail = "No such resource"
    elif exc.status_code == 400:
        detail = "The request body could not be read."
    return problem_response(
        request, exc.status_code, code, detail=detail, headers=exc.headers or None
    )


# PostgreSQL's refusals of a statement that waited too long for a lock (`lock_timeout`,
# infra/locks.py) or was chosen to end a deadlock: the same request may succeed at once.
_BUSY_STATES = frozenset({"55P03", "40P01"})
# The server going or gone: shut down by an operator (57P01) or after a crash (57P02),
# starting up or shutting down (57P03: it takes no connection now). Every connection
# exception (class 08) too: 08001 is also how `db_outage` reports a connection the network
# refused or that timed out.
_AWAY_STATES = frozenset({"57P01", "57P02", "57P03"})


def database_unavailable(exc: BaseException) -> bool:
    """The database did not answer (a lost connection, one the driver gave up on, one that
    could not be opened, a statement past DB_COMMAND_TIMEOUT_S), the server is starting or
    shutting down, no connection was free within DB_POOL_TIMEOUT_S, or a lock was not had in
    time (or a deadlock ended the statement), which is as unavailable: a 503."""
    if isinstance(exc, PoolTimeout | OperationalError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    state = getattr(exc.orig, "sqlstate", None) or ""
    return (
        exc.connection_invalidated
        or state in _BUSY_STATES
        or state in _AWAY_STATES
        or state.startswith("08")
    )


async def _database_error(request: Request, exc: Exception) -> Response:
    if database_unavailable(exc):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return problem_response(
            request,
            503,
            "database_unavailable",
            title="The database is temporarily unavailable",
            detail="Please retry shortly.",
            headers={"Retry-After": "1"},
        )
    return await _unexpected_error(request, exc)


def internal_error_response(request: Request) -> Response:
    """The bare 500: no exception text, only the request id to find it in the logs."""
    return problem_response(
        request,
        500,
        "internal_error",
        title="Internal server error",
        detail="Something went wrong on our side; the request id identifies it in our logs.",
    )


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up before its body was read (a closed tab, a load generator stopping
    while its login waited for a hash): no server error, and nobody left to answer. Logged,
    like nginx does, as 499."""
    logger.info("client disconnected before its request was read")
    return problem_response(
        request,
        499,
        "client_closed_request",
        title="Client closed the request",
        detail="The connection closed before the request body arrived.",
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error", exc_info=exc)
    return internal_error_response(request)


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure to one problem+json renderer."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected_error)


PROBLEM_DESCRIPTIONS: dict[int | str, str] = {
    400: "The request cannot be read",
    401: "Not signed in, or the token is invalid, expired or revoked",
    403: "Signed in, but your role on this resource is too low",
    404: "No such resource, or one you may not see",
    409: "Conflicts with the current state (the `code` says which conflict)",
    410: "Gone: start over (the `code` says from where)",
    412: "`If-Match` no longer matches: the resource changed since you read it",
    413: "The request body is over the size limit",
    415: "The body's media type is not one this operation takes",
    422: "The request is not valid; `errors` names each field at fault",
    428: "This write needs `If-Match` or `base_version`",
    429: "Over the rate limit: retry after `Retry-After` seconds",
    "default": "Any other error (405 with `Allow`, 406, 500, 503 with `Retry-After`…)",
}
PROBLEM_HEADERS: dict[int | str, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error responses a route declares beyond those `document_problems` gives every
    operation of its kind (401 when signed in, 404 with an id in the path, …)."""
    return {status: {"description": PROBLEM_DESCRIPTIONS[status]} for status in statuses}
