"""SPEC §6–7 through HTTP: a rollback writes content as an edit does, so it is checked as one
(schedule conflicts under `?conflicts=`, the iCalendar size bound) — an outside tester rolled
back past both."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.api.test_render_bound import overrides, series
from tests.helpers import Account, assert_problem, count_rows, created, people, register

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
NINE = {"start_time": "2027-03-01T09:00:00Z", "end_time": "2027-03-01T10:00:00Z"}
ELEVEN = {"start_time": "2027-03-01T11:00:00Z", "end_time": "2027-03-01T12:00:00Z"}


async def _moved_away(client: httpx.AsyncClient, alice: Account, bob: Account) -> int:
    """ "Sync" at 09:00 (version 1), bob invited, moved to 11:00 (version 2); then bob and
    alice each take 09:00 for something else."""
    event = await created(client, alice, {"title": "Sync", **NINE})
    url = f"{EVENTS}/{event['id']}"
    invited = await client.post(
        f"{url}/attendees", json={"users": [{"user_id": bob.id}]}, headers=alice.headers
    )
    assert invited.status_code == 200, invited.text
    moved = await client.patch(url, json=ELEVEN, headers=alice.headers)
    assert moved.status_code == 200 and moved.json()["version"] == 2, moved.text
    await created(client, bob, {"title": "Dentist", **NINE})
    await created(
        client,
        alice,
        {
            "title": "Other",
            "start_time": "2027-03-01T09:30:00Z",
            "end_time": "2027-03-01T10:30:00Z",
        },
        conflicts="ignore",
    )
    return int(event["id"])


async def test_a_rollback_that_moves_the_event_is_checked_as_a_move(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    bob = await register(client, "bob")
    event_id = await _moved_away(client, alice, bob)
    url = f"{EVENTS}/{event_id}"
    edit = await client.patch(f"{url}?conflicts=reject", json=NINE, headers=alice.headers)
    expected = assert_problem(edit, 409, "schedule_conflict")["conflicts"]
    assert sorted(c["title"] for c in expected) == ["Other", "busy"]
    for policy in ("reject", "suggest"):
        refused = await client.post(f"{url}/rollback/1?conflicts={policy}", headers=alice.headers)
        problem = assert_problem(refused, 409, "schedule_conflict")
        assert problem["conflicts"] == expected  # the clashes the same edit finds
        assert ("suggestions" in problem) is (policy == "suggest")
    assert await count_rows(app, "event_versions", event_id=event_id) == 2
    assert (await client.get(url, headers=alice.headers)).json()["start_time"] == ELEVEN[
        "start_time"
    ]
    # `warn`, the default: done, and the answer lists them as a PATCH's does
    warned = await client.post(f"{url}/rollback/1", headers=alice.headers)
    assert warned.status_code == 200, warned.text
    body = warned.json()
    assert (body["version"], body["start_time"]) == (3, NINE["start_time"])
    assert body["conflicts"] == expected
    assert warned.headers["etag"] == '"3"'
    ignored = await client.post(f"{url}/rollback/2?conflicts=ignore", headers=alice.headers)
    assert ignored.status_code == 200 and ignored.json()["conflicts"] == [], ignored.text


async def test_a_rollback_reports_only_what_it_adds(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A rollback that changes no time checks nothing, and a clash the event already had
    is not the rollback's own (SPEC §7)."""
    bob = await register(client, "bob")
    event_id = await _moved_away(client, alice, bob)
    url = f"{EVENTS}/{event_id}"
    back = await client.post(f"{url}/rollback/1?conflicts=ignore", headers=alice.headers)
    assert back.status_code == 200, back.text  # version 3: at 09:00 again, over both
    titled = await client.patch(url, json={"title": "Sync!"}, headers=alice.headers)
    assert titled.status_code == 200 and titled.json()["version"] == 4, titled.text
    untitled = await client.post(f"{url}/rollback/3?conflicts=reject", headers=alice.headers)
    assert untitled.status_code == 200, untitled.text
    assert untitled.json()["conflicts"] == []
    longer = await client.patch(
        url, json={"end_time": "2027-03-01T11:00:00Z"}, headers=alice.headers
    )
    assert longer.status_code == 200, longer.text
    # back to 09:00-10:00: it overlapped both before, and meets nothing anew
    shorter = await client.post(f"{url}/rollback/5?conflicts=reject", headers=alice.headers)
    assert shorter.status_code == 200, shorter.text
    assert shorter.json()["conflicts"] == []


async def test_a_rolled_back_split_that_overlaps_its_successor_is_a_clash(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    """Rolling the first part of a "this and following" split back to its version before the
    split makes it run on over its successor: a clash like any other."""
    series = await created(
        client,
        alice,
        {
            "title": "Weekly",
            **NINE,
            "is_recurring": True,
            "recurrence_pattern": "FREQ=WEEKLY;COUNT=6",
        },
    )
    url = f"{EVENTS}/{series['id']}"
    split = await client.put(
        f"{url}/instances/2027-03-22T09:00:00Z?scope=following",
        json={"location": "Room 9"},
        headers=alice.headers,
    )
    assert split.status_code == 200, split.text
    successor = split.json()["id"]
    versions = await count_rows(app, "event_versions", event_id=series["id"])
    refused = await client.post(f"{url}/rollback/1?conflicts=reject", headers=alice.headers)
    problem = assert_problem(refused, 409, "schedule_conflict")
    assert [(c["event_id"], c["start_time"]) for c in problem["conflicts"]] == [
        (successor, "2027-03-22T09:00:00Z"),
        (successor, "2027-03-29T09:00:00Z"),
        (successor, "2027-04-05T09:00:00Z"),
    ]
    assert await count_rows(app, "event_versions", event_id=series["id"]) == versions
    warned = await client.post(f"{url}/rollback/1", headers=alice.headers)
    assert warned.status_code == 200, warned.text
    assert {c["event_id"] for c in warned.json()["conflicts"]} == {successor}


async def test_a_rollback_is_held_to_the_icalendar_size_bound(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    """Overrides written before anyone was invited, dropped, then the people invited: a
    rollback to them would pass `sizes.MAX_RENDERED_BYTES` with the people, as the edit that
    restores them would (422, nothing written)."""
    # 380 VEVENTs of a 10,000-character description: within the bound alone, past it with 11
    made = await client.post(EVENTS, json=series(overrides=overrides(380)), headers=alice.headers)
    assert made.status_code == 201, made.text
    url = f"{EVENTS}/{made.json()['id']}"
    dropped = await client.patch(url, json={"overrides": []}, headers=alice.headers)
    assert dropped.status_code == 200, dropped.text
    invited = await client.post(
        f"{url}/attendees",
        json={"users": [{"user_id": user} for user in await people(app, 10)]},
        headers=alice.headers,
    )
    assert invited.status_code == 200, invited.text
    edit = await client.patch(url, json={"overrides": overrides(380)}, headers=alice.headers)
    expected = assert_problem(edit, 422, "validation_error")["errors"]
    refused = await client.post(f"{url}/rollback/1", headers=alice.headers)
    problem = assert_problem(refused, 422, "validation_error")
    assert problem["errors"] == expected and "as iCalendar" in expected[0]["msg"]
    assert await count_rows(app, "event_versions", event_id=made.json()["id"]) == 2
    assert (await client.get(url, headers=alice.headers)).json()["overrides"] == []
    # a version within the bound is rolled back to as before
    assert (await client.post(f"{url}/rollback/2", headers=alice.headers)).status_code == 200
