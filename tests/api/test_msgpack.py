"""MessagePack (SPEC §2): responses equal to the JSON ones, errors included; request bodies on
every endpoint that takes JSON; undecodable bodies are a 400; other media types pass untouched."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import ormsgpack
import pytest
from fastapi import FastAPI

from neo_events.encoding import encode_body
from tests.helpers import assert_problem, count_rows, create_event, event_body, register

pytestmark = pytest.mark.anyio

MSGPACK = {"Accept": "application/msgpack"}


def packed(body: Any) -> dict[str, Any]:
    return {"content": ormsgpack.packb(body), "headers": {"Content-Type": "application/msgpack"}}


def unpacked(response: httpx.Response, media_type: str = "application/msgpack") -> Any:
    assert response.headers["content-type"] == media_type, response.headers
    assert int(response.headers["content-length"]) == len(response.content)
    return ormsgpack.unpackb(response.content)


async def test_responses_equal_the_json_ones(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    event = await create_event(client, alice)
    for path in (f"/api/v1/events/{event['id']}", "/api/v1/events", "/api/v1/auth/me"):
        as_json = await client.get(path, headers=alice.headers)
        as_msgpack = await client.get(path, headers=alice.headers | MSGPACK)
        assert as_msgpack.status_code == as_json.status_code == 200
        assert unpacked(as_msgpack) == as_json.json()
        assert "accept" in as_msgpack.headers["vary"].lower()
        assert "accept" in as_json.headers["vary"].lower()
    single = unpacked(
        await client.get(f"/api/v1/events/{event['id']}", headers=alice.headers | MSGPACK)
    )
    assert isinstance(single["start_time"], str) and single["start_time"].endswith("Z")


async def test_the_alias_and_quality_values(client: httpx.AsyncClient) -> None:
    alias = await client.get("/healthz", headers={"Accept": "application/x-msgpack"})
    assert unpacked(alias, "application/x-msgpack") == {"status": "ok"}
    json_preferred = await client.get(
        "/healthz", headers={"Accept": "application/json, application/msgpack;q=0.5"}
    )
    assert json_preferred.json() == {"status": "ok"}
    refused = await client.get("/healthz", headers={"Accept": "application/msgpack;q=0"})
    assert refused.json() == {"status": "ok"}
    # JSON's quality through */* (or application/*) when it is not named
    for header in (
        "*/*;q=0.1, application/msgpack;q=0.05",
        "application/*, application/msgpack;q=0.5",
    ):
        assert (await client.get("/healthz", headers={"Accept": header})).json() == {"status": "ok"}
    tie = await client.get("/healthz", headers={"Accept": "*/*, application/msgpack"})
    assert unpacked(tie) == {"status": "ok"}
    capitals = await client.get("/healthz", headers={"Accept": "APPLICATION/MSGPACK"})
    assert unpacked(capitals) == {"status": "ok"}  # media types are case-insensitive
    anything = await client.get("/healthz", headers={"Accept": "*/*"})
    assert anything.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/events/424242", 404, "event_not_found"),
        ("GET", "/api/v1/no-such-thing", 404, "not_found"),
        ("DELETE", "/api/v1/auth/me", 405, "method_not_allowed"),
        ("GET", "/api/v1/events?limit=0", 422, "validation_error"),
    ],
)
async def test_problems_come_as_msgpack_too(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    alice = await register(client, "alice")
    as_json = await client.request(method, path, headers=alice.headers)
    response = await client.request(method, path, headers=alice.headers | MSGPACK)
    assert response.status_code == status
    body = unpacked(response)
    assert body["code"] == code and body["status"] == status
    assert {k: v for k, v in body.items() if k != "request_id"} == {
        k: v for k, v in as_json.json().items() if k != "request_id"
    }


async def test_msgpack_bodies_are_accepted(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        **packed({"username": "alice", "email": "alice@example.com", "password": "long enough"}),
    )
    assert response.status_code == 201, response.text
    token = {"Authorization": f"Bearer {response.json()['access_token']}"}
    login = await client.post(
        "/api/v1/auth/login", **packed({"username": "alice", "password": "long enough"})
    )
    assert login.status_code == 200, login.text
    request = packed(event_body(title="Packed"))
    created = await client.post(
        "/api/v1/events", content=request["content"], headers=request["headers"] | token | MSGPACK
    )
    assert created.status_code == 201
    event = unpacked(created)
    assert event["title"] == "Packed" and event["start_time"] == "2026-03-30T07:00:00Z"
    patch = packed({"title": "Still packed"})
    patched = await client.patch(
        f"/api/v1/events/{event['id']}", content=patch["content"], headers=patch["headers"] | token
    )
    assert patched.status_code == 200 and patched.json()["title"] == "Still packed"
    batch = packed({"events": [event_body(title="One"), event_body(title="Two")]})
    made = await client.post(
        "/api/v1/events/batch", content=batch["content"], headers=batch["headers"] | token
    )
    assert made.status_code == 201 and [e["title"] for e in made.json()["items"]] == ["One", "Two"]
    assert await count_rows(app, "events") == 3


@pytest.mark.parametrize(
    "content",
    [
        b"\xc1",  # a byte MessagePack never uses
        b"\x92\x01",  # an array cut short
        ormsgpack.packb({"title": b"binary"}),  # no JSON for binary data
        ormsgpack.packb({1: "x"}, option=ormsgpack.OPT_NON_STR_KEYS),  # no JSON for int keys
        # no JSON for NaN or infinity (they were written null: a field erased, an attack)
        ormsgpack.packb({"title": "t", "description": float("nan")}),
        ormsgpack.packb({"title": "t", "location": [{"x": float("-inf")}]}),
        b"\x81\xa5title\xca\x7f\x80\x00\x00",  # a float32 infinity
    ],
)
async def test_undecodable_msgpack_is_a_400(
    app: FastAPI, client: httpx.AsyncClient, content: bytes
) -> None:
    alice = await register(client, "alice")
    response = await client.post(
        "/api/v1/events",
        content=content,
        headers=alice.headers | {"Content-Type": "application/msgpack"},
    )
    assert_problem(response, 400, "invalid_msgpack")
    assert await count_rows(app, "events") == 0


async def test_other_media_types_stay_415(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    response = await client.post(
        "/api/v1/events",
        content=b"title=x",
        headers=alice.headers | {"Content-Type": "text/plain"},
    )
    assert_problem(response, 415, "unsupported_media_type")


async def test_non_json_responses_pass_untouched(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    event = await create_event(client, alice)
    await client.patch(
        f"/api/v1/events/{event['id']}", json={"title": "Renamed"}, headers=alice.headers
    )
    page = await client.get(
        f"/api/v1/events/{event['id']}/diff/1/2",
        headers=alice.headers | {"Accept": "text/html, application/msgpack"},
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Renamed" in page.text
    assert int(page.headers["content-length"]) == len(page.content)


async def test_openapi_documents_msgpack(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "MessagePack" in schema["info"]["description"]
    create = schema["paths"]["/api/v1/events"]["post"]
    assert "application/msgpack" in create["requestBody"]["content"]
    assert "application/msgpack" in create["responses"]["201"]["content"]
    assert (
        create["responses"]["201"]["content"]["application/msgpack"]
        == (create["responses"]["201"]["content"]["application/json"])
    )


async def test_the_body_limit_bounds_what_is_decoded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    big = ormsgpack.packb(event_body(description="x" * (app.state.settings.max_body_bytes + 1)))

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: only counting can stop it
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    response = await client.post(
        "/api/v1/events",
        content=streamed(),
        headers=alice.headers | {"Content-Type": "application/msgpack"},
    )
    assert_problem(response, 413, "payload_too_large")
    assert await count_rows(app, "events") == 0


def test_a_value_messagepack_has_no_type_for_is_written_as_json_writes_it() -> None:
    """`encode_body`: a datetime or UUID in a body (a problem's extra member, say) is its JSON
    text in MessagePack too, not an error (msgpack, unlike ormsgpack, has no such types)."""
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    key = uuid.UUID(int=7)
    body = {"at": at, "key": key, "n": [1, 2.5, None]}
    packed = encode_body(body, "application/msgpack")
    assert ormsgpack.unpackb(packed) == orjson.loads(encode_body(body, "application/json"))
