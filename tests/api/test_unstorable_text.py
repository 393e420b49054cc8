"""Every text input of the API, body field or query parameter, refuses what no database column
can store: a NUL (PostgreSQL text cannot hold U+0000) and a lone surrogate (which a JSON escape
such as `"\\ud800"` can name, and no UTF-8 can encode). A 422 `validation_error`, nothing
written, on every backend (an outside attack found feed-token and app-password names stored
with a NUL on SQLite)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from neo_events.db import Base
from tests.helpers import Account, assert_problem, count_rows, create_event, event_body

pytestmark = pytest.mark.anyio

NUL = "a\x00b"
LONE = "a\ud800b"

RECURRING = {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY"}
OCCURRENCE = "2026-03-31T07:00:00Z"  # the daily series' second occurrence, in UTC
WINDOW = {"start_time": "2026-03-30T00:00:00Z", "end_time": "2026-04-06T00:00:00Z"}
WEBHOOK = {"url": "https://example.com/hook", "events": ["*"]}

# (method, path, body) and the dotted path of the text field in the body; `{event}` and
# `{webhook}` are filled in with alice's recurring event and her webhook.
BODY_FIELDS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/api/v1/auth/register", {"email": "c@example.com", "password": "x" * 10}, "username"),
    ("POST", "/api/v1/auth/register", {"username": "carol", "password": "x" * 10}, "email"),
    ("POST", "/api/v1/auth/register", {"username": "carol", "email": "c@example.com"}, "password"),
    ("POST", "/api/v1/auth/login", {"password": "x" * 10}, "username"),
    ("POST", "/api/v1/auth/login", {"username": "alice"}, "password"),
    ("POST", "/api/v1/auth/refresh", {}, "refresh_token"),
    ("POST", "/api/v1/auth/logout", {}, "refresh_token"),
    ("POST", "/api/v1/feed-tokens", {}, "name"),
    ("POST", "/api/v1/app-passwords", {}, "name"),
    *[("POST", "/api/v1/events", event_body(), f) for f in ("title", "description", "location")],
    ("POST", "/api/v1/events", event_body(), "timezone"),
    ("POST", "/api/v1/events", event_body(is_recurring=True), "recurrence_pattern"),
    (
        "POST",
        "/api/v1/events",
        event_body(**RECURRING, overrides=[{"recurrence_id": OCCURRENCE}]),
        "overrides.0.title",
    ),
    ("POST", "/api/v1/events/batch", {"events": [event_body()]}, "events.0.title"),
    ("POST", "/api/v1/events/batch", {"events": [event_body()]}, "events.0.location"),
    ("PUT", "/api/v1/events/{event}", event_body(**RECURRING), "description"),
    ("PATCH", "/api/v1/events/{event}", {}, "title"),
    ("PATCH", "/api/v1/events/{event}", {}, "location"),
    ("PATCH", "/api/v1/events/{event}", {}, "timezone"),
    ("PUT", "/api/v1/events/{event}/instances/" + OCCURRENCE, {}, "title"),
    ("PUT", "/api/v1/events/{event}/instances/" + OCCURRENCE, {}, "location"),
    ("PUT", "/api/v1/events/{event}/rsvp", {"response": "accepted"}, "comment"),
    (
        "PUT",
        "/api/v1/events/{event}/instances/" + OCCURRENCE + "/rsvp",
        {"response": "accepted"},
        "comment",
    ),
    (
        "POST",
        "/api/v1/scheduling/find-time",
        {
            "user_ids": [1],
            "duration_minutes": 30,
            "start_time": "2026-03-30T00:00:00Z",
            "end_time": "2026-03-31T00:00:00Z",
        },
        "timezone",
    ),
    ("POST", "/api/v1/webhooks", {"events": ["*"]}, "url"),
    ("POST", "/api/v1/webhooks", WEBHOOK, "events.0"),
    ("POST", "/api/v1/webhooks", WEBHOOK, "description"),
    ("PATCH", "/api/v1/webhooks/{webhook}", {}, "url"),
    ("PATCH", "/api/v1/webhooks/{webhook}", {}, "description"),
]

# (method, path, other parameters, the parameter under test)
QUERY_PARAMETERS: list[tuple[str, str, dict[str, str], str]] = [
    ("GET", "/api/v1/users", {}, "q"),
    ("GET", "/api/v1/calendar.ics", {}, "token"),
    ("GET", "/api/v1/events", {}, "q"),
    ("GET", "/api/v1/events", {}, "location"),
    ("GET", "/api/v1/events", {}, "cursor"),
    ("GET", "/api/v1/events", {}, "timezone"),
    ("GET", "/api/v1/events/{event}/instances", WINDOW, "cursor"),
    ("GET", "/api/v1/events/{event}/instances", WINDOW, "timezone"),
    ("GET", "/api/v1/events/{event}/conflicts", {}, "timezone"),
    ("GET", "/api/v1/events/{event}/history", {}, "cursor"),
    ("GET", "/api/v1/events/{event}/changelog", {}, "cursor"),
    ("GET", "/api/v1/freebusy", WINDOW, "user_ids"),
    ("GET", "/api/v1/freebusy", WINDOW | {"user_ids": "1"}, "timezone"),
    ("GET", "/api/v1/invitations", {}, "cursor"),
    ("GET", "/api/v1/audit", {}, "action"),
    ("GET", "/api/v1/audit", {}, "cursor"),
    ("GET", "/api/v1/webhooks/{webhook}/deliveries", {}, "cursor"),
    ("GET", "/api/v1/sync", {}, "token"),
    ("POST", "/api/v1/events/import", {}, "timezone"),
]

# Every table but the job queue, which the app's worker drains in the background.
WRITTEN = sorted(set(Base.metadata.tables) - {"jobs"})


def _with(body: dict[str, Any], dotted: str, value: str) -> dict[str, Any]:
    """A copy of `body` with `value` at the dotted path (list indexes as numbers)."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    keys = dotted.split(".")
    node: Any = copy
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value
    return copy


async def _rows(app: FastAPI) -> dict[str, int]:
    return {table: await count_rows(app, table) for table in WRITTEN}


@pytest.fixture
async def places(client: httpx.AsyncClient, alice: Account) -> dict[str, str]:
    event = await create_event(client, alice, **RECURRING)
    hook = await client.post("/api/v1/webhooks", json=WEBHOOK, headers=alice.headers)
    assert hook.status_code == 201, hook.text
    return {"event": str(event["id"]), "webhook": str(hook.json()["id"])}


@pytest.mark.parametrize("bad", [NUL, LONE], ids=["nul", "surrogate"])
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    BODY_FIELDS,
    ids=[f"{m} {p} {f}" for m, p, _, f in BODY_FIELDS],
)
async def test_body_text(
    client: httpx.AsyncClient,
    app: FastAPI,
    alice: Account,
    places: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    bad: str,
) -> None:
    before = await _rows(app)
    response = await client.request(
        method,
        path.format(**places),
        content=json.dumps(_with(body, field, bad)).encode(),  # escapes a lone surrogate
        headers=alice.headers | {"Content-Type": "application/json"},
    )
    problem = assert_problem(response, 422, "validation_error")
    locs = [".".join(str(p) for p in error["loc"]) for error in problem["errors"]]
    assert any(loc.endswith(field) for loc in locs), problem
    assert await _rows(app) == before


@pytest.mark.parametrize(
    ("method", "path", "params", "name"),
    QUERY_PARAMETERS,
    ids=[f"{m} {p} {n}" for m, p, _, n in QUERY_PARAMETERS],
)
async def test_query_parameter(
    client: httpx.AsyncClient,
    app: FastAPI,
    alice: Account,
    places: dict[str, str],
    method: str,
    path: str,
    params: dict[str, str],
    name: str,
) -> None:
    before = await _rows(app)
    url = path.format(**places)
    response = await client.request(method, url, params=params | {name: NUL}, headers=alice.headers)
    problem = assert_problem(response, 422, "validation_error")
    assert [error["loc"] for error in problem["errors"]] == [["query", name]], problem
    assert await _rows(app) == before


async def test_query_surrogate_bytes_are_read_as_replacement(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A query string cannot carry a lone surrogate: the bytes a lax encoder writes for one
    (ED A0 80) are not UTF-8, and the server reads them as U+FFFD, which is storable text."""
    response = await client.get("/api/v1/audit?action=a%ED%A0%80b", headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
