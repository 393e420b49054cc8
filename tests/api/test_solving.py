"""A route's dependencies solved by its plan (`neo_events.solving`) answer exactly as FastAPI's
solver does: every request below is sent twice to the same app, once as it runs and once
with a dependency override set (which sends every request to FastAPI's own handler), and
the two answers must be the same."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import fastapi.routing
import httpx
import pytest
from fastapi import Cookie, FastAPI, Header, Query, Response
from fastapi.dependencies.utils import request_params_to_args
from pydantic import AliasChoices, BaseModel
from starlette.requests import Request

from neo_events import solving
from neo_events.audit.service import Origin
from neo_events.auth.dependencies import get_origin
from neo_events.events.router import router as events_router
from tests.helpers import Account, event_body, hung_up, register

pytestmark = pytest.mark.anyio


def _never_called() -> None:  # pragma: no cover - only its override matters
    raise AssertionError


@contextmanager
def fastapi_solving(app: FastAPI) -> Iterator[None]:
    """Every request of the app solved by FastAPI, as if no route had a plan."""
    app.dependency_overrides[_never_called] = _never_called
    try:
        yield
    finally:
        app.dependency_overrides.pop(_never_called)


def _answer(response: httpx.Response) -> tuple[int, str, Any]:
    media_type = response.headers.get("content-type", "")
    body: Any = response.json() if "json" in media_type else response.text
    if isinstance(body, dict):
        body.pop("request_id", None)  # each request's own
    return response.status_code, media_type, body


async def test_the_event_write_routes_and_the_event_read_have_plans() -> None:
    planned = {
        (method, route.path)
        for route in events_router.routes
        if isinstance(route, fastapi.routing.APIRoute) and solving.Plan.of(route) is not None
        for method in route.methods
    }
    for wanted in (
        ("POST", "/api/v1/events"),
        ("POST", "/api/v1/events/batch"),
        ("PUT", "/api/v1/events/{event_id}"),
        ("PATCH", "/api/v1/events/{event_id}"),
        ("GET", "/api/v1/events/{event_id}"),
    ):
        assert wanted in planned


async def test_refused_requests_are_answered_as_fastapi_answers_them(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    bob = await register(client, "bob")
    created = await client.post("/api/v1/events", json=event_body(), headers=alice.headers)
    assert created.status_code == 201, created.text
    mine = f"/api/v1/events/{created.json()['id']}"
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[str, str, dict[str, str], bytes | None]] = [
        ("POST", "/api/v1/events", {}, b'{"title": "x"}'),  # no token: 401 before the body
        ("POST", "/api/v1/events", {}, b"{"),
        ("POST", "/api/v1/events", alice.headers, b"{"),  # not JSON
        ("POST", "/api/v1/events", alice.headers, b'"a string"'),
        ("POST", "/api/v1/events", alice.headers, b'{"title": 5}'),
        ("POST", "/api/v1/events", alice.headers, b'{"title": "x", "start_time": NaN}'),
        ("POST", "/api/v1/events", alice.headers, b""),
        ("POST", "/api/v1/events?conflicts=nope", alice.headers, None),
        ("POST", "/api/v1/events", {**alice.headers, "Idempotency-Key": "k" * 256}, None),
        ("POST", "/api/v1/events", {**alice.headers, "Idempotency-Key": ""}, None),
        ("POST", "/api/v1/events", {**alice.headers, "Content-Type": "text/plain"}, b"{}"),
        ("POST", "/api/v1/events/batch", alice.headers, b'{"events": "no"}'),
        ("PATCH", "/api/v1/events/0", alice.headers, b'{"title": "y"}'),
        ("PATCH", "/api/v1/events/abc", alice.headers, b'{"title": "y"}'),
        ("PATCH", "/api/v1/events/99999999999999999999", alice.headers, b'{"title": "y"}'),
        ("PATCH", mine, alice.headers, b'{"title": ""}'),
        ("PATCH", mine, alice.headers, b'{"start_time": "yesterday"}'),
        ("PATCH", mine, bob.headers, b'{"title": "y"}'),  # not hers: 404, nothing said
        ("PATCH", mine, {"Authorization": "Bearer nope"}, b'{"title": "y"}'),
        ("PUT", mine, {**alice.headers, "If-Match": '"7"'}, b'{"title": "y"}'),
        ("PUT", mine + "?conflicts=", alice.headers, b'{"title": "y"}'),
        ("PATCH", mine, alice.headers, b'{"base_version": 18446744073709551616}'),
        ("PATCH", mine, alice.headers, b'{"base_version": -9223372036854775809}'),
        ("POST", "/api/v1/events", {**alice.headers, "Content-Type": "application/a/b+json"}, None),
        (
            "POST",
            "/api/v1/events",
            {**alice.headers, "Content-Type": "application/json, a/b"},
            None,
        ),
        ("GET", mine, {}, b""),  # the read: no token
        ("GET", mine, bob.headers, b""),  # not hers: 404, nothing said
        ("GET", "/api/v1/events/abc", alice.headers, b""),
        ("GET", mine + "?as_of=yesterday", alice.headers, b""),
        ("GET", mine + "?as_of=2026-01-01T00:00:00", alice.headers, b""),  # no offset
        ("GET", mine + "?as_of=2000-01-01T00:00:00Z", alice.headers, b""),  # not yet made
    ]
    valid = json_bytes(event_body())
    for method, url, headers, content in cases:
        sent = {**json_type, **headers}
        body = valid if content is None else content
        planned = await client.request(method, url, headers=sent, content=body)
        with fastapi_solving(app):
            solved = await client.request(method, url, headers=sent, content=body)
        assert planned.status_code >= 400, (method, url, content, planned.text)
        assert _answer(planned) == _answer(solved), (method, url, content)
    current = await client.get(mine, headers=alice.headers)
    assert current.json()["version"] == 1  # none of them wrote


def json_bytes(value: Any) -> bytes:
    return httpx.Request("POST", "/", json=value).content


async def test_valid_writes_are_solved_by_their_plans_and_a_refused_one_by_fastapi(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid create or edit is solved by its plan alone; one that must be refused goes to
    FastAPI before anything was called (an idempotency key claimed by a refused request
    would answer its retry as a replay or a clash); with dependency overrides set, every
    request goes to FastAPI (the plan is made from the route as included in the app)."""
    calls: list[str] = []
    solve = fastapi.routing.solve_dependencies

    async def counted(**kwargs: Any) -> Any:
        calls.append(kwargs["dependant"].path)
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    with fastapi_solving(app):  # overrides set: FastAPI's, however valid
        assert (
            await client.post("/api/v1/events", json=event_body(), headers=alice.headers)
        ).is_success
    assert calls == ["/api/v1/events"]
    calls.clear()
    keyed = {**alice.headers, "Idempotency-Key": "once"}
    refused = await client.post("/api/v1/events", json={"title": 5}, headers=keyed)
    assert refused.status_code == 422
    assert calls == ["/api/v1/events"]
    created = await client.post("/api/v1/events", json=event_body(), headers=keyed)
    assert created.status_code == 201, created.text
    again = await client.post("/api/v1/events", json=event_body(), headers=keyed)
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    edited = await client.patch(
        f"/api/v1/events/{created.json()['id']}", json={"title": "Renamed"}, headers=alice.headers
    )
    assert edited.status_code == 200 and edited.json()["title"] == "Renamed"
    url = f"/api/v1/events/{created.json()['id']}"
    read = await client.get(url, headers=alice.headers)
    assert read.status_code == 200 and read.json()["title"] == "Renamed"
    same = await client.get(url, headers={**alice.headers, "If-None-Match": read.headers["etag"]})
    assert same.status_code == 304
    now = datetime.now(UTC).isoformat()
    past = await client.get(url, params={"as_of": now}, headers=alice.headers)
    assert past.json() == read.json() and past.headers["etag"] == read.headers["etag"]
    assert calls == ["/api/v1/events"]  # the valid requests: their plans only


async def test_valid_writes_answer_alike_either_way(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    def shape(response: httpx.Response) -> tuple[int, list[str], str]:
        volatile = {"id", "created_at", "updated_at", "etag"}
        body = response.json()
        return response.status_code, sorted(set(body) - volatile), response.headers["etag"][:2]

    planned = await client.post("/api/v1/events", json=event_body(), headers=alice.headers)
    with fastapi_solving(app):
        solved = await client.post("/api/v1/events", json=event_body(), headers=alice.headers)
    assert shape(planned) == shape(solved)
    assert planned.json()["conflicts"] == []
    assert [c["event_id"] for c in solved.json()["conflicts"]] == [planned.json()["id"]]


async def test_a_client_gone_mid_body_is_answered_as_fastapi_answers_it(
    app: FastAPI, alice: Account
) -> None:
    """A body that never arrives (the client disconnected): the route reads every body whole
    before the plan or FastAPI's solver runs, so both answer the same: 499, the client gone
    (FastAPI's reader answered 400, and the plan did as it did), not a failure."""

    async def send_without_body() -> list[dict[str, Any]]:
        return await hung_up(
            app,
            "/api/v1/events",
            [
                (b"content-type", b"application/json"),
                (b"content-length", b"100"),
                (b"authorization", f"Bearer {alice.access_token}".encode()),
            ],
        )

    planned = await send_without_body()
    with fastapi_solving(app):
        solved = await send_without_body()
    assert planned[0]["status"] == solved[0]["status"] == 499
    assert planned[1]["body"] != b"" and solved[1]["body"] != b""


async def test_an_override_of_a_dependency_is_honoured_on_a_planned_route(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """The plan is made from the route as the app includes it, whose dependency overrides
    FastAPI applies: an overridden request origin is the one the audit log records."""

    async def elsewhere() -> Origin:
        return Origin(ip="203.0.113.9", user_agent="overridden")

    app.dependency_overrides[get_origin] = elsewhere
    try:
        created = await client.post("/api/v1/events", json=event_body(), headers=alice.headers)
    finally:
        app.dependency_overrides.pop(get_origin)
    assert created.status_code == 201, created.text
    audit = await client.get("/api/v1/audit", headers=alice.headers)
    entries = [e for e in audit.json()["items"] if e["action"] == "event.created"]
    assert [(e["ip"], e["user_agent"]) for e in entries] == [("203.0.113.9", "overridden")]


class _Page(BaseModel):
    limit: int = 10
    cursor: str | None = None


def _kinds_of_parameters() -> fastapi.APIRouter:
    """Parameters of every kind a plan reads, whether or not a route of the app has one
    today: lists from a query and a header, aliases, an underscored header, a cookie, a
    parameter model."""
    router = fastapi.APIRouter()

    async def listed(
        tag: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        n: Annotated[list[int] | None, Query()] = None,
        q: Annotated[str | None, Query(alias="Q")] = None,
        day: Annotated[date | None, Query(validation_alias=AliasChoices("day", "d"))] = None,
        x_ids: Annotated[list[int], Header()] = [],  # noqa: B006
        x_token: Annotated[str | None, Header(convert_underscores=False)] = None,
        session: Annotated[str | None, Cookie()] = None,
    ) -> Response:
        return Response()

    async def paged(page: Annotated[_Page, Query()], item_id: int) -> Response:
        return Response()

    router.add_api_route("/kinds", listed, methods=["GET"])
    router.add_api_route("/kinds/{item_id}", paged, methods=["GET"])
    return router


def _nodes(node: Any) -> Iterator[Any]:
    for child in node.children:
        yield from _nodes(child)
    yield node


async def test_every_planned_routes_parameters_are_read_as_fastapi_reads_them(
    app: FastAPI,
) -> None:
    """A plan reads each parameter with what FastAPI works out per request worked out once
    (`solving._Param`): for every planned route of the app and a range of requests (lists,
    repeats, empty values, a header's other spellings, cookies), each node's values and
    validity are those of FastAPI's own `request_params_to_args` on the same request."""
    queries = [
        b"",
        b"conflicts=reject",
        b"conflicts=suggest&conflicts=warn",
        b"conflicts=",
        b"conflicts=nope",
        b"as_of=2026-01-01T00:00:00Z",
        b"as_of=yesterday",
        b"limit=5&cursor=abc&start=2026-01-01T00:00:00Z&end=2026-02-01T00:00:00Z",
        b"limit=0",
        b"timezone=Europe/Paris&timezone=UTC",
        b"fields=a&fields=b",
        b"tag=a&tag=b&Q=x&n=3&n=4&day=2026-01-01",
        b"tag=&Q=&n=x&limit=2&cursor=c",
        b"d=2026-01-02&limit=3",
    ]
    headers = [
        [],
        [(b"if-match", b'"3"'), (b"if-none-match", b'"3"'), (b"idempotency-key", b"k1")],
        [(b"if-match", b'"1"'), (b"if-match", b'"2"')],
        [(b"idempotency-key", b"")],
        [(b"idempotency-key", b"k" * 300)],
        [(b"cookie", b"refresh_token=abc; other=1")],
        [(b"x-request-id", b"r1"), (b"user-agent", b"test")],
        [(b"x-ids", b"1"), (b"x-ids", b"2"), (b"x_token", b"t"), (b"cookie", b"session=s")],
        [(b"x-ids", b"one"), (b"x-token", b"t")],
    ]
    included = [getattr(r, "original_router", None) for r in app.routes]  # each router's
    routes = [
        route
        for router in included
        if router is not None
        for route in router.routes
        if isinstance(route, fastapi.routing.APIRoute) and solving.Plan.of(route) is not None
    ]
    assert len(routes) >= 5
    routes += [r for r in _kinds_of_parameters().routes if isinstance(r, fastapi.routing.APIRoute)]
    compared = 0
    for route in routes:
        plan = solving.Plan.of(route)
        assert plan is not None
        path_params = {name: "7" for name in route.param_convertors}
        for query in queries:
            for extra in headers:
                scope = {
                    "type": "http",
                    "method": "GET",
                    "path": route.path,
                    "query_string": query,
                    "headers": [(b"host", b"test"), *extra],
                    "path_params": path_params,
                }
                request = Request(scope)
                validated: dict[int, dict[str, Any]] = {}
                valid = plan.root.validate(request, validated)
                expected_valid = True
                for node in _nodes(plan.root):
                    values: dict[str, Any] = {}
                    for fields, source in (
                        (node.path, request.path_params),
                        (node.query, request.query_params),
                        (node.header, request.headers),
                        (node.cookie, request.cookies),
                    ):
                        found, errors = request_params_to_args([p.field for p in fields], source)
                        expected_valid = expected_valid and not errors
                        values.update(found)
                    if not expected_valid:
                        break
                    assert validated[id(node)] == values, (route.path, query, extra)
                    compared += 1
                assert valid == expected_valid, (route.path, query, extra)
    assert compared > 100
