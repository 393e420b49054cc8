"""Shared HTTP glue: the transactional route class, content negotiation, cursors, ETags,
which methods a path allows, and the Content-Security-Policy source for an inline style."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import threading
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, _IncludedRouter, iter_route_contexts
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette._utils import get_route_path
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neo_events import db, db_sqlite, solving
from neo_events.encoding import is_json_type, media_type_of
from neo_events.errors import UnsupportedMediaType, problem_response
from neo_events.events import expansions, held_parts
from neo_events.problem_docs import rewrite_openapi

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
M = TypeVar("M", bound=BaseModel)


def inline_style_source(text: str) -> str:
    """The `style-src` source that allows exactly one inline `<style>` element, the one whose
    text is `text` (browsers hash the element's text as UTF-8), and no other inline style."""
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


async def validated_off_loop(model: type[M], body: Any) -> M:
    """A JSON body FastAPI was told to pass through unvalidated (`Annotated[model,
    SkipValidation]`: its schema still documents the operation), validated in a worker
    thread. The largest batch body (18,000 overrides in 1 MiB) costs ~0.1 s of CPU to
    validate, which would otherwise hold the event loop. A failure is the 422 FastAPI's own
    validation gives (its locations start at `body`)."""
    try:
        # as FastAPI validates a body (its errors for a non-object name no model)
        return await asyncio.to_thread(partial(model.model_validate, body, from_attributes=True))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([e | {"loc": ("body", *e["loc"])} for e in errors]) from None


def document_unvalidated_bodies(app: FastAPI, models: Sequence[type[BaseModel]]) -> None:
    """In the app's OpenAPI document, a body FastAPI passes through unvalidated (annotated
    `Annotated[model, SkipValidation, Body(title=model.__name__)]`, for `validated_off_loop`)
    refers to its model's component, as every validated body does; FastAPI writes it inline."""
    named = {model.__name__: model for model in models}

    def refer(schema: dict[str, Any]) -> dict[str, Any]:
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                body = operation.get("requestBody") if isinstance(operation, dict) else None
                for media in (body or {}).get("content", {}).values():
                    model = named.get(media.get("schema", {}).get("title"))
                    if model is None:
                        continue
                    media["schema"] = {"$ref": f"#/components/schemas/{model.__name__}"}
                    if model.__name__ not in components:
                        found = model.model_json_schema(ref_template=_COMPONENT)
                        for name, definition in found.pop("$defs", {}).items():
                            components.setdefault(name, definition)
                        components[model.__name__] = found
        return schema

    rewrite_openapi(app, refer)


_COMPONENT = "#/components/schemas/{model}"


E = TypeVar("E", bound=Callable[..., Any])


def reads_only(endpoint: E) -> E:
    """Marks an endpoint whose unsafe method (a POST that only computes: find-time) writes
    nothing, so its SQLite transaction is a reader's: no BEGIN IMMEDIATE and no turn among the
    process's writers, which a cold find-time held for a second or more while every write
    waited (`TransactionalRoute`)."""
    endpoint.reads_only = True  # type: ignore[attr-defined]
    return endpoint


class TransactionalRoute(APIRoute):
    """Runs each request in one transaction, committed before the response leaves.

    FastAPI tears down `yield` dependencies after the response is sent, too late to report a
    failed commit, so the commit lives here, around the endpoint.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        plan = solving.Plan.of(solving.effective(self))  # None: FastAPI solves every request
        takes_json = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form
        )
        writes = not getattr(self.endpoint, "reads_only", False)

        async def run_in_transaction(request: Request) -> Response:
            if takes_json and has_body(request) and not is_json(request):
                raise UnsupportedMediaType("Send the body as application/json.")
            if has_body(request):
                # Whole before the endpoint and its dependencies run (authentication reads the
                # database): no request holds a connection, or a transaction, while its client
                # trickles the body in (20 slow CalDAV uploads held a worker's pool).
                await solving.whole_body(request)
            with db_sqlite.intending(writes and request.method not in SAFE_METHODS):
                try:
                    try:
                        if plan is not None:
                            response = await plan.run(request, handler)
                        else:
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
                    if session is not None and db.begun(session):
                        await session.close()

        return run_in_transaction


def has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return (length is not None and length != "0") or "transfer-encoding" in request.headers


def is_json(request: Request) -> bool:
    return is_json_type(media_type_of(request.headers.get("content-type", "")))


async def get_session(request: Request) -> AsyncSession:
    """The request's session; the route class commits or rolls it back."""
    session: AsyncSession | None = request.scope.get("neo.session")
    if session is None:
        reads = getattr(request.app.state, "read_sessionmaker", None)
        if reads is not None and request.method in SAFE_METHODS:
            session = reads()  # no BEGIN/COMMIT round trips (db.create_read_sessionmaker)
        else:
            session = request.app.state.sessionmaker()
        # the change feed wakes every worker's hub once this request has committed
        session.info["publish_change"] = request.app.state.hub.changed
        expansions.attach(session, request.app.state.expansions)  # for conflict checks
        held_parts.attach(session, request.app.state.held_parts)  # for an edit's read
        request.scope["neo.session"] = session
    return session


Session = Annotated[AsyncSession, Depends(get_session)]


def resource_path(request: Request, path: str) -> str:
    """A resource's path for `Location`, under the root path a proxy mounts the app at (as
    `url_for` would give it, without searching every route for a name)."""
    return f"{request.scope.get('root_path', '')}{path}"


def read_engine(request: Request) -> AsyncEngine:
    """What a safe-method request that needs no session reads through: on PostgreSQL the
    engine of `db.create_read_sessionmaker` (no BEGIN/COMMIT), else the app's engine."""
    reads = getattr(request.app.state, "read_sessionmaker", None)
    engine: AsyncEngine = reads.kw["bind"] if reads is not None else request.app.state.engine
    return engine


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _resources(routes: Sequence[BaseRoute]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each path template once, in routing order, with every method its routes take."""
    found: dict[str, tuple[re.Pattern[str], set[str]]] = {}
    for context in iter_route_contexts(routes):
        methods = getattr(context, "methods", None)
        regex, template = getattr(context, "path_regex", None), context.path_format
        if not methods or regex is None or template is None:  # WebSockets: no methods
            continue
        found.setdefault(template, (regex, set()))[1].update(methods)
    return [(regex, frozenset(methods)) for regex, methods in found.values()]


def route_table(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """`_resources` of the app's routes, kept on the app and built again only for routes
    added later (tests). The lifespan builds it before the first request: it costs 60-70 ms,
    most of it FastAPI working out each route's context on first use, which the first
    request of every worker held its event loop for."""
    routes = app.router.routes
    key = (id(routes), len(routes))
    kept: tuple[tuple[int, int], list[tuple[re.Pattern[str], frozenset[str]]]] | None
    kept = getattr(app.state, "route_table", None)
    if kept is None or kept[0] != key:
        kept = app.state.route_table = (key, _resources(routes))
    return kept[1]


class AllowedMethodsMiddleware:
    """A path names one resource, whichever routes serve it: a method none of them takes is a
    405 whose `Allow` lists every method of that path (RFC 9110 §15.5.6).

    Starlette answers with the methods of the first route whose path matched, and lets a route
    with a parameter take a fixed path another route owns (`GET /events/import` would be read
    as the event "import", a 422). Here the first path that matches decides, for every method.

    A path that takes GET takes HEAD (RFC 9110 §9.1), served as its GET (`serve_head`,
    `HeadWithoutBody`) where no route takes HEAD itself (CalDAV's do), and listed in `Allow`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "app" in scope:
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            for regex, methods in route_table(scope["app"]):
                if regex.match(path):
                    method = scope["method"]
                    if method == "HEAD" and "GET" in methods and "HEAD" not in methods:
                        await serve_head(self.app, scope, receive, send)
                        return
                    if method not in methods:
                        allowed = methods | {"HEAD"} if "GET" in methods else methods
                        allow = ", ".join(m for m in _METHOD_ORDER if m in allowed)
                        response = problem_response(
                            Request(scope),
                            405,
                            "method_not_allowed",
                            title="Method not allowed",
                            detail=f"{method} is not allowed here; Allow: {allow}.",
                            headers={"Allow": allow},
                        )
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)


async def serve_head(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """HEAD routed and run as the same request's GET (RFC 9110 §9.3.2), a safe method: no
    write transaction. `HeadWithoutBody`, outside every middleware, drops the body."""
    # A copy: the server frames the answer by the method in its own scope (no body, no
    # chunks for HEAD). What routing found (the route, for metrics) goes back to the caller's.
    as_get = {**scope, "method": "GET"}
    try:
        await app(as_get, receive, send)
    finally:
        scope.update((k, v) for k, v in as_get.items() if k != "method")


class HeadWithoutBody:
    """A HEAD's answer is its GET's without the content (RFC 9110 §9.3.2): the same status
    and header fields, `Content-Length` and `ETag` included. The body is dropped here, the
    outermost layer, after every middleware that rewrites one (MessagePack re-encodes it and
    sets its length). A streamed answer (SSE) ends with its head: the server then tells the
    app the client is gone, as it does for any finished response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def head_only(message: Message) -> None:
            nonlocal finished
            if message["type"] != "http.response.body":
                await send(message)
            elif not finished:
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, receive, head_only)


_GROUP_NAME = re.compile(r"\(\?P<[^>]+>")
_PATHS_BUILT = threading.Lock()  # rare: once a router, again when routes are added


class _PathFilteredRouter(_IncludedRouter):
    """An included router that first asks one regular expression, the union of its routes'
    paths, whether the request's path is one of them at all.

    FastAPI (0.165) matches a request against an included router route by route, 5–8 µs a
    route even where the path is another router's (every router here shares `/api/v1`):
    0.1–0.5 ms of a worker's CPU a request before any endpoint ran, the most for the routes
    included last (under load, the bench's PK route spent 0.5 of its 1.7 ms there). A path
    none of the router's routes has is no match whatever the method (a wrong method is a
    partial match of the right path), so skipping the router there changes no answer
    (`tests/api/test_routing.py` compares the two for every route's path). A router with a
    route that has no path expression (none here) is asked as before. FastAPI is pinned by
    the lock file: its next version may change these internals, which that test would show."""

    # (routes version, the union or None), one attribute, so a reader never pairs a version
    # with another version's union
    _paths: tuple[int, re.Pattern[str] | None]

    def paths(self) -> re.Pattern[str] | None:
        """The union of the routes' path expressions (None: some route has none), built once,
        again if routes are added (under a lock of its own: FastAPI's for this router's
        routes is taken again inside, by `iter_route_contexts`)."""
        version = self.original_router._get_routes_version()
        built = getattr(self, "_paths", None)
        if built is None or built[0] != version:
            with _PATHS_BUILT:
                built = getattr(self, "_paths", None)
                if built is None or built[0] != version:
                    contexts = iter_route_contexts([self])
                    regexes = [getattr(c, "path_regex", None) for c in contexts]
                    union = "|".join(_GROUP_NAME.sub("(?:", r.pattern) for r in regexes if r)
                    built = (version, re.compile(union) if regexes and all(regexes) else None)
                    self._paths = built
        return built[1]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        paths = self.paths()
        if paths is not None and not paths.match(get_route_path(scope)):
            return Match.NONE, {}
        return super().matches(scope)

    def _match(self, scope: Scope) -> Any:
        """As FastAPI's, once a request: the router that matched is asked the same again to
        handle it (`_handle_selected`), 40 µs for the events router. Kept in the request's
        scope by router, method and path, so a changed path (a slash redirect) asks again."""
        key = (id(self), scope.get("method"), get_route_path(scope))
        known = scope.get("neo.route_match")
        if known is not None and known[0] == key:
            return known[1]
        found = super()._match(scope)
        if found[0] is Match.FULL:
            scope["neo.route_match"] = (key, found)
        return found


def filter_routers_by_path(routes: Sequence[BaseRoute]) -> None:
    """Every included router of these routes tries its paths' union first
    (`_PathFilteredRouter`)."""
    for route in routes:
        if type(route) is _IncludedRouter:
            route.__class__ = _PathFilteredRouter
