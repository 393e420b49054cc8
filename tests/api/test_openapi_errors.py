"""The OpenAPI document declares the problems each operation can answer, and a method a path
does not take is a 405 whose `Allow` lists every method of that path (issue #17, item 6)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from neo_events.errors import PROBLEM_JSON
from neo_events.infra.ratelimit import EXEMPT_PATHS
from tests.helpers import assert_problem

pytestmark = pytest.mark.anyio

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM_REF = "#/components/schemas/Problem"


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_every_operation_declares_the_problems_it_can_return(
    client: httpx.AsyncClient,
) -> None:
    document = await _document(client)
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {
        "type", "title", "status", "detail", "code"
    }  # fmt: skip
    assert "HTTPValidationError" not in document["components"]["schemas"]  # never sent
    missing = []
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        wanted = {"429"} if path not in EXEMPT_PATHS else set()
        if operation.get("security"):
            wanted.add("401")
        if "{" in path:
            wanted.add("404")
        if operation.get("parameters") or "requestBody" in operation:
            wanted.add("422")
        if "requestBody" in operation:
            wanted |= {"413", "415"}
        if (
            method in ("put", "patch", "delete")
            and path.startswith("/api/v1/events/{event_id}")
            and not path.endswith("/reminders")  # one's own reminders: any role, never a 403
        ):
            wanted.add("403")  # editors and viewers may not do everything
        if method in ("put", "patch") and path == "/api/v1/events/{event_id}":
            wanted |= {"409", "412", "428"}
        lacking = wanted - set(responses)
        if lacking:
            missing.append((method.upper(), path, sorted(lacking)))
        for status, response in responses.items():
            if status == "default" or int(status) >= 400:
                schema = response["content"][PROBLEM_JSON]["schema"]
                assert schema == {"$ref": PROBLEM_REF}, (method, path, status)
        assert "default" in responses, (method, path)
    assert not missing, missing


async def test_every_authenticated_operation_really_answers_401_without_a_token(
    client: httpx.AsyncClient,
) -> None:
    """What the document says is what the service does: each operation that declares a
    security requirement answers 401 (with `WWW-Authenticate`) when called without a token."""
    document = await _document(client)
    checked = 0
    for method, path, operation in _operations(document):
        if not operation.get("security"):
            continue
        assert "401" in operation["responses"], (method, path)
        concrete = path.replace("{recurrence_id}", "2026-03-02T09:00:00Z")
        for name in ("event_id", "token_id", "user_id", "version", "v1", "v2"):
            concrete = concrete.replace("{" + name + "}", "1")
        response = await client.request(method.upper(), concrete, json={})
        assert_problem(response, 401, "not_authenticated")
        assert response.headers["www-authenticate"] == "Bearer"
        checked += 1
    assert checked > 25


async def test_every_path_answers_other_methods_with_405_and_its_full_allow(
    client: httpx.AsyncClient,
) -> None:
    """Walk the document: a method no route of a path takes is a 405 problem whose `Allow`
    lists every documented method of the path, and HEAD with GET (RFC 9110 §9.1: OpenAPI
    documents no HEAD), under /api/v1 and the /api alias."""
    document = await _document(client)
    for path, item in document["paths"].items():
        documented = {m.upper() for m in item if m in METHODS}
        concrete = path.replace("{recurrence_id}", "2026-03-02T09:00:00Z")
        for name in ("event_id", "token_id", "user_id", "version", "v1", "v2"):
            concrete = concrete.replace("{" + name + "}", "1")
        other = next(m for m in ("DELETE", "PATCH", "PUT", "POST") if m not in documented)
        urls = [concrete]
        if concrete.startswith("/api/v1/"):
            urls.append("/api/" + concrete.removeprefix("/api/v1/"))
        for url in urls:
            response = await client.request(other, url)
            assert_problem(response, 405, "method_not_allowed")
            allowed = {m.strip() for m in response.headers["allow"].split(",")}
            expected = documented | ({"HEAD"} if "GET" in documented else set())
            assert allowed == expected, (other, url, allowed)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # a fixed path another route owns is not an event id: no 422 for event "import"
        ("GET", "/api/v1/events/import", "POST"),
        ("GET", "/api/events/import", "POST"),
        ("PUT", "/api/v1/events/batch", "POST"),
        ("PATCH", "/api/v1/events/7.ics", "GET, HEAD"),
        # several routes on one path: all their methods, not the first route's
        ("POST", "/api/v1/events/7", "GET, HEAD, PUT, PATCH, DELETE"),
        ("POST", "/api/events/7", "GET, HEAD, PUT, PATCH, DELETE"),
        ("GET", "/api/v1/events/7/instances/2026-03-02T09:00:00Z", "PUT, DELETE"),
        ("POST", "/api/v1/events/7/permissions/2", "PUT, DELETE"),
        ("DELETE", "/api/v1/feed-tokens", "GET, HEAD, POST"),
        ("DELETE", "/api/v1/auth/login", "POST"),
    ],
)
async def test_405_carries_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow
