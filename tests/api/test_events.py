"""SPEC §4 single events through HTTP: create, read, update, delete, batch, validation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import (
    Account,
    assert_problem,
    count_rows,
    create_event,
    event_body,
)

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"


async def test_create_returns_the_event_object(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    response = await client.post(EVENTS, json=event_body(), headers=alice.headers)
    assert response.status_code == 201
    event = response.json()
    assert response.headers["location"] == f"/api/v1/events/{event['id']}"
    assert response.headers["etag"] == '"1"'
    assert event["title"] == "Standup"
    assert event["start_time"] == "2026-03-30T07:00:00Z"  # stored and shown in UTC
    assert event["end_time"] == "2026-03-30T07:15:00Z"
    assert event["timezone"] == "Europe/Berlin"
    assert event["version"] == 1
    assert event["is_recurring"] is False and event["recurrence_pattern"] is None
    assert event["exdates"] == [] and event["overrides"] == []
    assert event["owner"] == {"id": alice.id, "username": "alice"}
    assert event["created_by"] == event["updated_by"] == event["owner"]
    assert event["my_role"] == "owner"
    [permission] = event["permissions"]
    assert permission["user_id"] == alice.id and permission["role"] == "owner"
    assert permission["granted_by"] == {"id": alice.id, "username": "alice"}
    assert await count_rows(app, "event_versions", event_id=event["id"], version=1) == 1
    assert await count_rows(app, "audit_log", action="event.created", target_id=event["id"]) == 1
    # Built without reading it back: exactly what a read of it gives.
    fetched = await client.get(f"{EVENTS}/{event['id']}", headers=alice.headers)
    assert {**event, "conflicts": None} == {**fetched.json(), "conflicts": None}
    batch = await client.post(
        f"{EVENTS}/batch", json={"events": [event_body()]}, headers=alice.headers
    )
    [item] = batch.json()["items"]
    fetched = await client.get(f"{EVENTS}/{item['id']}", headers=alice.headers)
    assert {**item, "conflicts": None} == {**fetched.json(), "conflicts": None}


async def test_read_only_fields_in_a_body_are_ignored(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = event_body(
        id=999,
        version=42,
        owner={"id": 7, "username": "x"},
        created_by={"id": 7},
        my_role="viewer",
        permissions=[{"user_id": 7, "role": "owner"}],
    )
    event = (await client.post(EVENTS, json=body, headers=alice.headers)).json()
    assert event["id"] != 999 and event["version"] == 1
    assert event["owner"]["id"] == alice.id and event["my_role"] == "owner"
    assert [p["user_id"] for p in event["permissions"]] == [alice.id]
    # a client may PUT back what it read
    response = await client.put(f"{EVENTS}/{event['id']}", json=event, headers=alice.headers)
    assert response.status_code == 200
    assert response.json()["version"] == 1  # nothing changed: no new version


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"start_time": "2026-03-30T09:00:00"}, ["start_time"]),
        ({"end_time": "2026-03-30T09:00:00+02:00"}, ["end_time"]),
        ({"end_time": "2026-03-30T08:00:00+02:00"}, ["end_time"]),
        ({"title": ""}, ["title"]),
        ({"title": "   "}, ["title"]),
        ({"title": "\ufeff\r\n"}, ["title"]),  # nothing iCalendar would carry
        ({"title": "x" * 201}, ["title"]),
        ({"description": "x" * 10_001}, ["description"]),
        ({"location": "x" * 501}, ["location"]),
        ({"timezone": "Mars/Olympus"}, ["timezone"]),
        ({"timezone": "../../etc/passwd"}, ["timezone"]),
        ({"start_time": "not a time"}, ["start_time"]),
        (
            {"start_time": "3000-01-01T00:00:00Z", "end_time": "3000-01-01T01:00:00Z"},
            ["start_time"],
        ),
        ({"is_recurring": True}, ["recurrence_pattern"]),
        ({"recurrence_pattern": "FREQ=DAILY"}, ["recurrence_pattern"]),
        ({"exdates": ["2026-03-31T07:00:00Z"]}, ["exdates"]),
    ],
)
async def test_create_validation_names_the_field_and_writes_nothing(
    client: httpx.AsyncClient,
    app: FastAPI,
    alice: Account,
    overrides: dict[str, Any],
    loc: list[str],
) -> None:
    response = await client.post(EVENTS, json=event_body(**overrides), headers=alice.headers)
    problem = assert_problem(response, 422, "validation_error")
    assert loc in [e["loc"] for e in problem["errors"]], problem
    assert await count_rows(app, "events") == 0
    assert await count_rows(app, "event_versions") == 0
    assert await count_rows(app, "audit_log", action="event.created") == 0


async def test_missing_fields_and_bad_json(client: httpx.AsyncClient, alice: Account) -> None:
    problem = assert_problem(
        await client.post(EVENTS, json={}, headers=alice.headers), 422, "validation_error"
    )
    assert {("title",), ("start_time",), ("end_time",)} <= {
        tuple(e["loc"]) for e in problem["errors"]
    }
    assert_problem(
        await client.post(EVENTS, json=[1, 2], headers=alice.headers), 422, "validation_error"
    )


async def test_get_with_etag_and_304(client: httpx.AsyncClient, alice: Account) -> None:
    event = await create_event(client, alice)
    url = f"{EVENTS}/{event['id']}"
    response = await client.get(url, headers=alice.headers)
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert event.pop("conflicts") == []
    assert response.json() == event
    cached = await client.get(url, headers=alice.headers | {"If-None-Match": '"1"'})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == '"1"'
    stale = await client.get(url, headers=alice.headers | {"If-None-Match": '"0", W/"7"'})
    assert stale.status_code == 200


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_partial_update_writes_a_version(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, method: str
) -> None:
    event = await create_event(client, alice)
    response = await client.request(
        method, f"{EVENTS}/{event['id']}", json={"title": "Retro"}, headers=alice.headers
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["title"] == "Retro"
    assert updated["description"] == "Daily sync"  # untouched fields stay
    assert updated["version"] == 2
    assert updated["merged"] is False
    assert response.headers["etag"] == '"2"'
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 2
    assert await count_rows(app, "audit_log", action="event.updated") == 1


async def test_update_can_clear_optional_fields(client: httpx.AsyncClient, alice: Account) -> None:
    event = await create_event(client, alice)
    response = await client.patch(
        f"{EVENTS}/{event['id']}",
        json={"description": None, "location": None},
        headers=alice.headers,
    )
    assert response.json()["description"] is None and response.json()["location"] is None


async def test_update_validates_against_the_merged_state(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    event = await create_event(client, alice)
    response = await client.patch(
        f"{EVENTS}/{event['id']}", json={"end_time": "2026-03-30T06:00:00Z"}, headers=alice.headers
    )
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["end_time"]
    assert_problem(
        await client.patch(f"{EVENTS}/{event['id']}", json={"title": None}, headers=alice.headers),
        422,
        "validation_error",
    )
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 1


async def test_delete_leaves_a_tombstone(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    event = await create_event(client, alice)
    url = f"{EVENTS}/{event['id']}"
    response = await client.delete(url, headers=alice.headers)
    assert response.status_code == 204 and response.content == b""
    assert_problem(await client.get(url, headers=alice.headers), 404, "event_not_found")
    assert_problem(await client.delete(url, headers=alice.headers), 404, "event_not_found")
    assert await count_rows(app, "events", id=event["id"]) == 1  # the tombstone stays
    assert await count_rows(app, "event_versions", event_id=event["id"], change_type="deleted") == 1
    assert await count_rows(app, "audit_log", action="event.deleted") == 1
    listed = (await client.get(EVENTS, headers=alice.headers)).json()["items"]
    assert listed == []


async def test_unknown_and_malformed_ids(client: httpx.AsyncClient, alice: Account) -> None:
    assert_problem(
        await client.get(f"{EVENTS}/12345", headers=alice.headers), 404, "event_not_found"
    )
    assert_problem(await client.get(f"{EVENTS}/0", headers=alice.headers), 422, "validation_error")
    assert_problem(
        await client.get(f"{EVENTS}/abc", headers=alice.headers), 422, "validation_error"
    )
    assert_problem(
        await client.get(f"{EVENTS}/99999999999999999999999", headers=alice.headers),
        422,
        "validation_error",
    )


async def test_events_need_authentication(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(EVENTS), 401, "not_authenticated")
    assert_problem(await client.post(EVENTS, json=event_body()), 401, "not_authenticated")


async def test_batch_creates_all(client: httpx.AsyncClient, app: FastAPI, alice: Account) -> None:
    items = [event_body(title=f"E{i}") for i in range(3)]
    response = await client.post(f"{EVENTS}/batch", json={"events": items}, headers=alice.headers)
    assert response.status_code == 201
    created = response.json()["items"]
    assert [e["title"] for e in created] == ["E0", "E1", "E2"]
    assert all(e["version"] == 1 and e["my_role"] == "owner" for e in created)
    assert await count_rows(app, "events") == 3
    assert await count_rows(app, "event_versions") == 3
    assert await count_rows(app, "audit_log", action="event.batch_created") == 1


@pytest.mark.parametrize(
    ("bad", "loc"),
    [
        ({"end_time": "2026-03-30T06:00:00Z"}, ["events", 3, "end_time"]),
        ({"title": ""}, ["events", 3, "title"]),
        ({"start_time": "2026-03-30T09:00:00"}, ["events", 3, "start_time"]),
    ],
)
async def test_batch_is_all_or_nothing(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, bad: dict[str, Any], loc: list[Any]
) -> None:
    items = [event_body(title=f"E{i}") for i in range(5)]
    items[3].update(bad)
    response = await client.post(f"{EVENTS}/batch", json={"events": items}, headers=alice.headers)
    problem = assert_problem(response, 422, "validation_error")
    assert loc in [e["loc"] for e in problem["errors"]]
    assert await count_rows(app, "events") == 0
    assert await count_rows(app, "event_versions") == 0
    assert await count_rows(app, "audit_log", action="event.created") == 0


async def test_batch_limits(client: httpx.AsyncClient, alice: Account) -> None:
    assert_problem(
        await client.post(f"{EVENTS}/batch", json={"events": []}, headers=alice.headers),
        422,
        "validation_error",
    )
    too_many = {"events": [event_body(description=None, location=None)] * 501}
    assert_problem(
        await client.post(f"{EVENTS}/batch", json=too_many, headers=alice.headers),
        422,
        "validation_error",
    )


async def test_batch_of_500_in_one_transaction(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    items = [event_body(title=f"E{i}", description=None) for i in range(500)]
    response = await client.post(f"{EVENTS}/batch", json={"events": items}, headers=alice.headers)
    assert response.status_code == 201
    assert len(response.json()["items"]) == 500
    assert await count_rows(app, "events") == 500


NOT_ZONES = [
    "localtime",  # the server's own zone, whatever it is
    "Factory",  # tzdata's placeholder for "not set"
    "posixrules",
    "posix/Europe/Berlin",
    "right/UTC",
    "../zoneinfo/UTC",
    "/usr/share/zoneinfo/UTC",
    "Europe/Nowhere",
    "europe/berlin",
]


@pytest.mark.parametrize("name", NOT_ZONES)
async def test_only_iana_zone_names_are_accepted_everywhere(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, name: str
) -> None:
    """Issue #17 (3b): what zoneinfo opens but is no IANA zone is a 422 wherever a zone is
    taken — an event's timezone on create, batch and update, and an import's default zone."""
    created = await create_event(client, alice)
    h = alice.headers
    attempts = [
        await client.post(EVENTS, json=event_body(timezone=name), headers=h),
        await client.post(
            f"{EVENTS}/batch", json={"events": [event_body(timezone=name)]}, headers=h
        ),
        await client.patch(f"{EVENTS}/{created['id']}", json={"timezone": name}, headers=h),
        await client.post(
            f"{EVENTS}/import",
            params={"timezone": name},
            content=b"BEGIN:VCALENDAR\r\n",
            headers={**h, "content-type": "text/calendar"},
        ),
    ]
    for response in attempts:
        problem = assert_problem(response, 422, "validation_error")
        assert "timezone" in problem["errors"][0]["loc"], problem
        assert "time zone" in problem["errors"][0]["msg"], problem
    assert await count_rows(app, "events") == 1
    assert await count_rows(app, "event_versions") == 1


async def test_real_zone_names_of_every_kind_are_accepted(
    client: httpx.AsyncClient, alice: Account
) -> None:
    for name in ["UTC", "Etc/GMT+12", "America/Argentina/Buenos_Aires", "US/Eastern", "EST5EDT"]:
        response = await client.post(EVENTS, json=event_body(timezone=name), headers=alice.headers)
        assert response.status_code == 201, (name, response.text)
