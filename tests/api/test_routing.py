"""Routing: each included router is tried only for paths it has (`web.filter_routers_by_path`),
and that must pick the very route FastAPI's own matching picks, for every path of the app."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import _IncludedRouter, iter_route_contexts
from starlette.routing import Match

from neo_events.main import create_app
from neo_events.settings import Settings
from neo_events.web import _PathFilteredRouter

_PARAMETER = re.compile(r"\{[^}]+\}")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "REPORT")


def _paths(app: Any) -> set[str]:
    """A concrete path for every route (its parameters filled in), the paths one slash longer
    or shorter, and paths of no route at all."""
    found = {"/", "/nope", "/api/v1/nope", "/api/v1/events/1/nope", "/dav/", "/api/v1"}
    for context in iter_route_contexts(app.router.routes):
        template = getattr(context, "path_format", None)
        if template is None:
            continue
        for value in ("1", "import", "a/b"):
            path = _PARAMETER.sub(value, template)
            found |= {path, path.rstrip("/") or "/", path + "/"}
    return found


def _selected(routes: list[Any], scope: dict[str, Any], filtered: bool) -> tuple[int, Match]:
    """Which of the top-level routes takes the request, as FastAPI's router loop picks it."""
    partial = None
    for index, route in enumerate(routes):
        if isinstance(route, _IncludedRouter) and not filtered:
            match, _ = _IncludedRouter.matches(route, scope)  # FastAPI's own, no filter
        else:
            match, _ = route.matches(scope)
        if match is Match.FULL:
            return index, match
        if match is Match.PARTIAL and partial is None:
            partial = index
    return (partial, Match.PARTIAL) if partial is not None else (-1, Match.NONE)


def test_every_path_is_routed_as_fastapi_routes_it(settings: Settings) -> None:
    app = create_app(settings)
    routes = list(app.router.routes)
    filtered = [r for r in routes if isinstance(r, _PathFilteredRouter)]
    # every included router is filtered, and by its paths (none of ours lacks an expression)
    assert len(filtered) == sum(isinstance(r, _IncludedRouter) for r in routes) >= 15
    paths = _paths(app)
    assert len(paths) > 200
    skipped = 0
    for path in sorted(paths):
        for method in METHODS:
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            mine = _selected(routes, dict(scope), filtered=True)
            assert mine == _selected(routes, dict(scope), filtered=False), (method, path)
            unions = (r.paths() for r in filtered)
            skipped += sum(paths is not None and not paths.match(path) for paths in unions)
    assert skipped > 0  # the filter did turn routers away


def test_a_route_added_to_an_included_router_later_is_found(settings: Settings) -> None:
    app = create_app(settings)
    [router] = [
        r
        for r in app.router.routes
        if isinstance(r, _PathFilteredRouter)
        and r.matches({"type": "http", "method": "GET", "path": "/healthz", "root_path": ""})[0]
        is Match.FULL
    ]
    scope = {"type": "http", "method": "GET", "path": "/added-later", "root_path": ""}
    assert router.matches(dict(scope))[0] is Match.NONE
    # The included router is a module's, shared by every app this process builds: the route
    # is taken out again, or the test's next run in the process (the other database's)
    # finds it there from the start (it failed so once).
    original = router.original_router
    before = list(original.routes)

    @original.get("/added-later")
    async def added() -> dict[str, bool]:
        return {"ok": True}

    try:
        assert router.matches(dict(scope))[0] is Match.FULL
    finally:
        original.routes[:] = before
        original._mark_routes_changed()  # FastAPI's (pinned): the union is built again
    assert router.matches(dict(scope))[0] is Match.NONE
