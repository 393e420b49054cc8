"""SPEC §13 through HTTP: invite, answer (series and occurrence), remove, my invitations;
answers outside versions but in the changelog, audit, feed and sync; answers reset by a
move; declined invitations are free time; the role matrix of the new endpoints."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import truncate_all
from tests.helpers import (
    Account,
    assert_problem,
    audit_actions,
    count_rows,
    create_event,
    created,
    register,
    share,
)
from tests.live import running_server

pytestmark = pytest.mark.anyio

WEEKLY = {
    "start_time": "2026-03-02T09:00:00Z",
    "end_time": "2026-03-02T10:00:00Z",
    "timezone": "UTC",
    "is_recurring": True,
    "recurrence_pattern": "FREQ=WEEKLY;COUNT=6",
}


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, Account]:
    names = ("alice", "bob", "carol", "dave", "eve")
    return {name: await register(client, name) for name in names}


def _url(event: dict[str, Any], tail: str = "") -> str:
    return f"/api/v1/events/{event['id']}{tail}"


async def invite(
    client: httpx.AsyncClient, who: Account, event: dict[str, Any], *users: Account, **query: str
) -> httpx.Response:
    return await client.post(
        _url(event, "/attendees"),
        params=query,
        json={"users": [{"user_id": u.id} for u in users]},
        headers=who.headers,
    )


async def rsvp(
    client: httpx.AsyncClient,
    who: Account,
    event: dict[str, Any],
    response: str,
    occurrence: str | None = None,
    **extra: Any,
) -> httpx.Response:
    tail = f"/instances/{occurrence}/rsvp" if occurrence else "/rsvp"
    return await client.put(
        _url(event, tail), json={"response": response, **extra}, headers=who.headers
    )


async def test_invite_gives_viewer_lists_organizer_and_answers_keep_the_etag(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = await create_event(client, alice)
    assert event["attendees"] == [] and event["my_response"] is None
    response = await client.post(
        _url(event, "/attendees"),
        json={"users": [{"user_id": bob.id}, {"user_id": carol.id, "optional": True}]},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(a["username"], a["response"], a["optional"], a["organizer"]) for a in items] == [
        ("alice", "accepted", False, True),
        ("bob", "needs_action", False, False),
        ("carol", "needs_action", True, False),
    ]
    assert items[1]["invited_by"] == {"id": alice.id, "username": "alice"}
    seen = await client.get(_url(event), headers=bob.headers)
    assert seen.json()["my_role"] == "viewer" and seen.json()["my_response"] == "needs_action"
    etag = seen.headers["ETag"]

    answered = await rsvp(client, bob, event, "accepted", comment="  see you  ")
    assert answered.status_code == 200, answered.text
    assert answered.json() == {
        "event_id": event["id"],
        "user_id": bob.id,
        "response": "accepted",
        "comment": "see you",
        "recurrence_id": None,
    }
    after = await client.get(_url(event), headers=bob.headers)
    assert after.headers["ETag"] == etag and after.json()["version"] == 1
    assert after.json()["my_response"] == "accepted"
    [bob_row] = [a for a in after.json()["attendees"] if a["user_id"] == bob.id]
    assert bob_row["comment"] == "see you" and bob_row["responded_at"] is not None
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 1
    # the organizer sees bob's answer, and their own
    mine = (await client.get(_url(event), headers=alice.headers)).json()
    assert mine["my_response"] == "accepted"
    # in listings too, without a stale cache after an answer
    listed = await client.get(
        "/api/v1/events",
        params={"start_time": "2026-03-30T00:00:00Z", "end_time": "2026-03-31T00:00:00Z"},
        headers=carol.headers,
    )
    [item] = listed.json()["items"]
    assert item["my_response"] == "needs_action"
    assert [a["response"] for a in item["attendees"]] == ["accepted", "accepted", "needs_action"]


async def test_answers_are_in_changelog_audit_feed_and_sync(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice)
    token = (await client.get("/api/v1/sync", headers=bob.headers)).json()["next_token"]
    assert (await invite(client, alice, event, bob)).status_code == 200
    delta = (await client.get("/api/v1/sync", params={"token": token}, headers=bob.headers)).json()
    assert [(c["op"], c["event_id"]) for c in delta["changes"]] == [("upsert", event["id"])]
    token = delta["next_token"]
    assert (await rsvp(client, bob, event, "declined")).status_code == 200
    delta = (await client.get("/api/v1/sync", params={"token": token}, headers=bob.headers)).json()
    [change] = delta["changes"]
    assert change["event"]["my_response"] == "declined"

    log = (await client.get(_url(event, "/changelog"), headers=alice.headers)).json()["items"]
    assert [e["change_type"] for e in log] == ["created", "invited", "responded"]
    assert log[2]["changes"] == [
        {"field": "response", "old": "needs_action", "new": "declined", "diff": None}
    ]
    assert log[2]["summary"] == "bob answered declined"
    assert log[2]["changed_by"]["username"] == "bob"
    actions = [a for a, _ in await audit_actions(app)]
    assert actions.count("event.invited") == 1 and actions.count("event.responded") == 1
    # one feed entry per change, each for every holder
    assert await count_rows(app, "changes", type="attendee.invited") == 1
    assert await count_rows(app, "changes", type="attendee.responded") == 1
    # the same answer again writes nothing
    assert (await rsvp(client, bob, event, "declined")).status_code == 200
    assert await count_rows(app, "changes", type="attendee.responded") == 1


async def test_bad_inputs_write_nothing(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = await create_event(client, alice, **WEEKLY)
    assert (await invite(client, alice, event, bob)).status_code == 200
    before = await count_rows(app, "audit_log")

    assert_problem(await invite(client, alice, event, bob), 409, "already_invited")
    assert_problem(await invite(client, alice, event, alice), 409, "already_invited")
    body = assert_problem(
        await client.post(
            _url(event, "/attendees"),
            json={"users": [{"user_id": carol.id}, {"user_id": 999_999}]},
            headers=alice.headers,
        ),
        422,
        "validation_error",
    )
    assert body["errors"][0]["loc"] == ["users", 1, "user_id"]
    assert_problem(
        await client.post(
            _url(event, "/attendees"),
            json={"users": [{"user_id": carol.id}, {"user_id": carol.id}]},
            headers=alice.headers,
        ),
        422,
        "validation_error",
    )
    assert_problem(
        await client.post(_url(event, "/attendees"), json={"users": []}, headers=alice.headers),
        422,
        "validation_error",
    )
    # an unknown answer, a comment too long
    assert_problem(await rsvp(client, bob, event, "maybe"), 422, "validation_error")
    assert_problem(
        await rsvp(client, bob, event, "accepted", comment="x" * 501), 422, "validation_error"
    )
    # carol holds a role but was not invited: she cannot answer
    await share(client, alice, event["id"], carol, "editor")
    before = await count_rows(app, "audit_log")
    assert_problem(await rsvp(client, carol, event, "accepted"), 403, "not_an_attendee")
    # no such occurrence
    assert_problem(
        await rsvp(client, bob, event, "declined", "2026-03-03T09:00:00Z"),
        404,
        "occurrence_not_found",
    )
    # not an attendee to remove
    assert_problem(
        await client.delete(_url(event, f"/attendees/{carol.id}"), headers=alice.headers),
        404,
        "attendee_not_found",
    )
    # the organizer stays while others are invited: off the list, or without a role (carol,
    # made an owner, taking alice's role away left bob's invitation with no organizer)
    assert_problem(
        await client.delete(_url(event, f"/attendees/{alice.id}"), headers=alice.headers),
        409,
        "organizer_stays",
    )
    await share(client, alice, event["id"], carol, "owner")
    before = await count_rows(app, "audit_log")
    assert_problem(
        await client.delete(_url(event, f"/permissions/{alice.id}"), headers=carol.headers),
        409,
        "organizer_stays",
    )
    assert await count_rows(app, "audit_log") == before
    assert await count_rows(app, "attendees", event_id=event["id"]) == 2
    assert await count_rows(app, "event_permissions", event_id=event["id"]) == 3


async def test_removing_attendees(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = await create_event(client, alice, **WEEKLY)
    assert (await invite(client, alice, event, bob, carol)).status_code == 200
    assert (await rsvp(client, bob, event, "declined", "2026-03-09T09:00:00Z")).status_code == 200
    # bob takes himself off; his role stays
    assert (
        await client.delete(_url(event, f"/attendees/{bob.id}"), headers=bob.headers)
    ).status_code == 204
    seen = (await client.get(_url(event), headers=bob.headers)).json()
    assert seen["my_role"] == "viewer" and seen["my_response"] is None
    assert await count_rows(app, "occurrence_responses") == 0
    assert await count_rows(app, "changes", type="attendee.removed") == 1
    # the last guest removed: no attendees at all, the organizer included
    assert (
        await client.delete(_url(event, f"/attendees/{carol.id}"), headers=alice.headers)
    ).status_code == 204
    assert (await client.get(_url(event), headers=alice.headers)).json()["attendees"] == []
    log = (await client.get(_url(event, "/changelog"), headers=alice.headers)).json()["items"]
    assert [e["change_type"] for e in log][-2:] == ["uninvited", "uninvited"]


async def test_role_matrix_of_the_new_endpoints(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """invite: editor+ (viewer 403, stranger 404); remove someone: editor+ (a viewer may
    remove only themselves); answer: the attendee only; strangers 404 everywhere."""
    alice, bob, carol, dave, eve = (people[n] for n in ("alice", "bob", "carol", "dave", "eve"))
    event = await create_event(client, alice, **WEEKLY)
    await share(client, alice, event["id"], bob, "editor")
    await share(client, alice, event["id"], carol, "viewer")
    rid = "2026-03-09T09:00:00Z"

    assert_problem(await invite(client, carol, event, dave), 403, "role_too_low")
    assert_problem(await invite(client, eve, event, dave), 404, "event_not_found")
    assert (await invite(client, bob, event, dave)).status_code == 200  # editor
    assert (await invite(client, alice, event, carol)).status_code == 200  # owner

    # answers: the attendee only
    assert_problem(await rsvp(client, eve, event, "accepted"), 404, "event_not_found")
    assert_problem(await rsvp(client, eve, event, "accepted", rid), 404, "event_not_found")
    assert_problem(await rsvp(client, bob, event, "accepted"), 403, "not_an_attendee")
    assert_problem(await rsvp(client, bob, event, "accepted", rid), 403, "not_an_attendee")
    for who in (carol, dave):
        assert (await rsvp(client, who, event, "tentative")).status_code == 200
        assert (await rsvp(client, who, event, "declined", rid)).status_code == 200

    # removing: a viewer cannot remove someone else, a stranger gets 404
    assert_problem(
        await client.delete(_url(event, f"/attendees/{dave.id}"), headers=carol.headers),
        403,
        "role_too_low",
    )
    assert_problem(
        await client.delete(_url(event, f"/attendees/{dave.id}"), headers=eve.headers),
        404,
        "event_not_found",
    )
    assert (
        await client.delete(_url(event, f"/attendees/{dave.id}"), headers=bob.headers)
    ).status_code == 204
    assert (
        await client.delete(_url(event, f"/attendees/{carol.id}"), headers=carol.headers)
    ).status_code == 204
    # my invitations: any user, only their own
    assert (await client.get("/api/v1/invitations", headers=eve.headers)).json()["items"] == []


async def test_my_invitations_by_response_paginated(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    events = [
        await create_event(
            client,
            alice,
            title=f"E{day}",
            start_time=f"2026-04-{day:02d}T09:00:00Z",
            end_time=f"2026-04-{day:02d}T10:00:00Z",
        )
        for day in (3, 1, 2)
    ]
    for event in events:
        assert (await invite(client, alice, event, bob)).status_code == 200
    assert (await rsvp(client, bob, events[2], "accepted")).status_code == 200
    titles, cursor = [], None
    while True:
        params = {"response": "needs_action", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/invitations", params=params, headers=bob.headers)).json()
        titles += [(e["title"], e["my_response"]) for e in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert titles == [("E1", "needs_action"), ("E3", "needs_action")]
    everything = (await client.get("/api/v1/invitations", headers=bob.headers)).json()
    assert [e["title"] for e in everything["items"]] == ["E1", "E2", "E3"]
    # the organizer's own events are not invitations to them
    assert (await client.get("/api/v1/invitations", headers=alice.headers)).json()["items"] == []
    assert_problem(
        await client.get("/api/v1/invitations", params={"response": "maybe"}, headers=bob.headers),
        422,
        "validation_error",
    )
    assert_problem(
        await client.get("/api/v1/invitations", params={"cursor": "nope"}, headers=bob.headers),
        422,
        "validation_error",
    )
    # a deleted event is no longer an invitation
    assert (await client.delete(_url(events[1]), headers=alice.headers)).status_code == 204
    left = (await client.get("/api/v1/invitations", headers=bob.headers)).json()["items"]
    assert [e["title"] for e in left] == ["E2", "E3"]


async def _responses(
    client: httpx.AsyncClient, who: Account, event: dict[str, Any]
) -> dict[str, str]:
    body = (await client.get(_url(event), headers=who.headers)).json()
    return {a["username"]: a["response"] for a in body["attendees"]}


async def test_a_move_asks_everyone_else_again_a_title_edit_does_not(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = await create_event(client, alice, **WEEKLY)
    await invite(client, alice, event, bob, carol)
    await share(client, alice, event["id"], bob, "editor")
    await rsvp(client, bob, event, "accepted")
    await rsvp(client, carol, event, "tentative")
    assert (
        await client.patch(_url(event), json={"title": "Renamed"}, headers=alice.headers)
    ).status_code == 200
    assert await _responses(client, alice, event) == {
        "alice": "accepted",
        "bob": "accepted",
        "carol": "tentative",
    }

    # bob (an editor and attendee) moves the series: everyone but bob and the organizer is
    # asked again (the event is alice's: her answer is hers, as calendar apps keep it)
    moved = await client.patch(
        _url(event),
        json={"start_time": "2026-03-02T11:00:00Z", "end_time": "2026-03-02T12:00:00Z"},
        headers=bob.headers,
    )
    assert moved.status_code == 200, moved.text
    assert await _responses(client, alice, event) == {
        "alice": "accepted",
        "bob": "accepted",
        "carol": "needs_action",
    }


async def test_the_same_rule_written_otherwise_or_ending_elsewhere_asks_nobody_again(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """A calendar app rewrites a rule (`INTERVAL=1`, `WKST=MO`, days in another order, lower
    case) and a series ends sooner or later: no occurrence moves, so no answer is reset. A
    rule that moves occurrences (`INTERVAL=2`) asks again."""
    alice, bob = people["alice"], people["bob"]
    event = await create_event(
        client, alice, **(WEEKLY | {"recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO,TU;COUNT=6"})
    )
    await invite(client, alice, event, bob)
    await rsvp(client, bob, event, "accepted")
    for rule in (
        "freq=weekly;interval=1;byday=tu,mo;wkst=MO;count=6",
        "FREQ=WEEKLY;BYDAY=TU,MO;UNTIL=20260401T000000Z",
        "FREQ=WEEKLY;BYDAY=MO,TU",
    ):
        changed = await client.patch(
            _url(event), json={"recurrence_pattern": rule}, headers=alice.headers
        )
        assert changed.status_code == 200, changed.text
        assert (await _responses(client, alice, event))["bob"] == "accepted", rule
    changed = await client.patch(
        _url(event),
        json={"recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO,TU;INTERVAL=2"},
        headers=alice.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (await _responses(client, alice, event))["bob"] == "needs_action"


async def test_moving_one_occurrence_asks_again_for_that_occurrence_only(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice, **WEEKLY)
    await invite(client, alice, event, bob)
    await rsvp(client, bob, event, "declined")
    week2, week3 = "2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z"
    assert (await rsvp(client, bob, event, "accepted", week3)).status_code == 200
    edited = await client.put(
        _url(event, f"/instances/{week2}"),
        json={"start_time": "2026-03-09T13:00:00Z", "end_time": "2026-03-09T14:00:00Z"},
        headers=alice.headers,
    )
    assert edited.status_code == 200, edited.text
    # the series answer stays declined; week 2 is open again, so bob is busy then
    assert (await _responses(client, bob, event))["bob"] == "declined"
    busy = await _busy(client, bob, "2026-03-02T00:00:00Z", "2026-03-23T00:00:00Z")
    assert busy == [
        ("2026-03-09T13:00:00Z", "2026-03-09T14:00:00Z"),
        ("2026-03-16T09:00:00Z", "2026-03-16T10:00:00Z"),
    ]


async def test_renaming_one_occurrence_or_its_place_asks_nobody_again(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """An override of texts only moves nothing (an outside attack: a new title or place for
    one occurrence reset every attendee's answer for it, a decline lost and its time busy)."""
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice, **WEEKLY)
    await invite(client, alice, event, bob)
    await rsvp(client, bob, event, "accepted")
    week2, week3 = "2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z"
    assert (await rsvp(client, bob, event, "declined", week3)).status_code == 200
    own_times = {"start_time": week2, "end_time": "2026-03-09T10:00:00Z"}  # as apps write it
    for rid, text in (
        (week2, {"title": "Week 2"}),
        (week3, {"location": "Room 3"}),
        (week2, {"title": "Week 2 again"} | own_times),
    ):
        edited = await client.put(
            _url(event, f"/instances/{rid}"), json=text, headers=alice.headers
        )
        assert edited.status_code == 200, edited.text
    window = ("2026-03-02T00:00:00Z", "2026-03-17T00:00:00Z")
    page = await client.get(
        "/api/v1/events",
        params={"start_time": window[0], "end_time": window[1]},
        headers=bob.headers,
    )
    answers = {str(i["recurrence_id"]): i["my_response"] for i in page.json()["items"]}
    assert answers == {
        "2026-03-02T09:00:00Z": "accepted",
        week2: "accepted",
        week3: "declined",
    }
    assert (await _busy(client, bob, *window))[-1] == (
        "2026-03-09T09:00:00Z",
        "2026-03-09T10:00:00Z",
    )
    # and moving one of them still asks again, for that one only
    moved = await client.put(
        _url(event, f"/instances/{week3}"),
        json={"start_time": "2026-03-16T15:00:00Z", "end_time": "2026-03-16T16:00:00Z"},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    page = await client.get(
        "/api/v1/events",
        params={"start_time": window[0], "end_time": "2026-03-17T00:00:00Z"},
        headers=bob.headers,
    )
    answers = {str(i["recurrence_id"]): i["my_response"] for i in page.json()["items"]}
    assert answers[week3] == "needs_action" and answers[week2] == "accepted"


async def _busy(
    client: httpx.AsyncClient, who: Account, start: str, end: str
) -> list[tuple[str, str]]:
    response = await client.get(
        "/api/v1/freebusy", params={"start_time": start, "end_time": end}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    return [(b["start"], b["end"]) for b in response.json()["busy"]]


async def test_declined_invitations_are_free_per_occurrence_too(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice, **WEEKLY)
    window = ("2026-03-02T00:00:00Z", "2026-03-17T00:00:00Z")
    await invite(client, alice, event, bob)
    weeks = [
        ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
        ("2026-03-09T09:00:00Z", "2026-03-09T10:00:00Z"),
        ("2026-03-16T09:00:00Z", "2026-03-16T10:00:00Z"),
    ]
    assert await _busy(client, bob, *window) == weeks  # invited, not yet answered: busy
    # one week declined: free that week, and bob's own event then does not clash
    assert (await rsvp(client, bob, event, "declined", weeks[1][0])).status_code == 200
    assert await _busy(client, bob, *window) == [weeks[0], weeks[2]]
    own = await client.post(
        "/api/v1/events",
        params={"conflicts": "reject"},
        json={"title": "Dentist", "start_time": weeks[1][0], "end_time": weeks[1][1]},
        headers=bob.headers,
    )
    assert own.status_code == 201, own.text
    clash = await client.post(
        "/api/v1/events",
        params={"conflicts": "reject"},
        json={"title": "Gym", "start_time": weeks[2][0], "end_time": weeks[2][1]},
        headers=bob.headers,
    )
    assert_problem(clash, 409, "schedule_conflict")
    # the whole series declined: free everywhere but his own event; alice stays busy
    assert (await rsvp(client, bob, event, "declined")).status_code == 200
    assert await _busy(client, bob, *window) == [weeks[1]]
    assert await _busy(client, alice, *window) == weeks
    # accepting one occurrence of a declined series makes that one busy again
    assert (await rsvp(client, bob, event, "accepted", weeks[0][0])).status_code == 200
    assert await _busy(client, bob, *window) == [weeks[0], weeks[1]]


async def test_an_all_day_series_in_berlin_is_answered_and_moved_by_date(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """An all-day series names its occurrences by date; its answers are kept by date while
    its occurrences are placed at the midnights of its zone. An outside attack found, in
    any zone but UTC, a declined day still busy (free/busy, a conflict check) and shown
    unanswered by /instances, the RSVP echoing an instant, and a moved occurrence a 500."""
    alice, bob = people["alice"], people["bob"]
    event = await created(
        client,
        alice,
        {
            "title": "Offsite",
            "all_day": True,
            "start_date": "2027-03-01",
            "timezone": "Europe/Berlin",
            "transparency": "opaque",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=WEEKLY;COUNT=4",
        },
    )
    await invite(client, alice, event, bob)
    window = ("2027-02-28T00:00:00Z", "2027-03-20T00:00:00Z")
    days = [
        ("2027-02-28T23:00:00Z", "2027-03-01T23:00:00Z"),
        ("2027-03-07T23:00:00Z", "2027-03-08T23:00:00Z"),
        ("2027-03-14T23:00:00Z", "2027-03-15T23:00:00Z"),
    ]
    assert (await _busy(client, bob, *window))[:3] == days
    declined = await rsvp(client, bob, event, "declined", "2027-03-08")
    assert declined.status_code == 200, declined.text
    assert declined.json()["recurrence_id"] == "2027-03-08"
    # an instant in the path names the date it falls on in Berlin; the answer names the date
    again = await rsvp(client, bob, event, "declined", "2027-03-08T10:00:00Z")
    assert again.json()["recurrence_id"] == "2027-03-08"
    busy = await _busy(client, bob, *window)
    assert days[1] not in busy and days[0] in busy and days[2] in busy
    own = await client.post(
        "/api/v1/events",
        params={"conflicts": "reject"},
        json={
            "title": "Dentist",
            "start_time": "2027-03-08T09:00:00Z",
            "end_time": "2027-03-08T10:00:00Z",
        },
        headers=bob.headers,
    )
    assert own.status_code == 201, own.text
    for path in (_url(event, "/instances"), "/api/v1/events"):
        listed = await client.get(
            path, params={"start_time": window[0], "end_time": window[1]}, headers=bob.headers
        )
        answers = {
            i["recurrence_id"]: i["my_response"]
            for i in listed.json()["items"]
            if i["id"] == event["id"]
        }
        assert answers["2027-03-08"] == "declined", path
        assert answers["2027-03-01"] == "needs_action", path
    # the organizer moves one day: bob is asked again for that day only (his series answer
    # replaced his answer for the 8th)
    await rsvp(client, bob, event, "accepted")
    moved = await client.put(
        _url(event, "/instances/2027-03-15"),
        params={"conflicts": "ignore"},
        json={"start_date": "2027-03-17", "end_date": "2027-03-18"},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    listed = await client.get(
        _url(event, "/instances"),
        params={"start_time": window[0], "end_time": window[1]},
        headers=bob.headers,
    )
    answers = {i["recurrence_id"]: i["my_response"] for i in listed.json()["items"]}
    assert answers == {
        "2027-03-01": "accepted",
        "2027-03-08": "accepted",
        "2027-03-15": "needs_action",
    }


async def test_one_read_of_several_calendars_keeps_each_persons_answers(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """Free/busy of several people reads their calendars at once, a row an event with its
    holders and their answers gathered (`calendar_keys`): each person's answers stay theirs."""
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    event = await create_event(client, alice, **WEEKLY)
    await create_event(
        client,
        carol,
        title="Own",
        start_time="2026-03-10T09:00:00Z",
        end_time="2026-03-10T10:00:00Z",
    )
    assert (await invite(client, alice, event, bob, carol)).status_code == 200
    await share(client, alice, event["id"], dave, "viewer")  # holds it, never invited
    weeks = [(f"2026-03-{d:02d}T09:00:00Z", f"2026-03-{d:02d}T10:00:00Z") for d in (2, 9, 16)]
    assert (await rsvp(client, bob, event, "declined")).status_code == 200
    assert (await rsvp(client, carol, event, "declined", weeks[1][0])).status_code == 200
    assert (await rsvp(client, bob, event, "accepted", weeks[2][0])).status_code == 200
    response = await client.get(
        "/api/v1/freebusy",
        params={
            "start_time": "2026-03-02T00:00:00Z",
            "end_time": "2026-03-17T00:00:00Z",
            "user_ids": f"{bob.id},{carol.id},{dave.id},{alice.id}",
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    busy = {
        int(user): [(b["start"], b["end"]) for b in calendar["busy"]]
        for user, calendar in response.json()["calendars"].items()
    }
    assert busy == {
        bob.id: [weeks[2]],  # the series declined, its third week accepted
        carol.id: [weeks[0], ("2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z"), weeks[2]],
        dave.id: weeks,
        alice.id: weeks,
    }


async def test_the_window_listing_shows_my_answer_for_each_occurrence(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    timed = await create_event(client, alice, **WEEKLY)
    all_day = await create_event(
        client,
        alice,
        title="Away day",
        all_day=True,
        start_date="2026-03-03",
        end_date="2026-03-04",
        start_time=None,
        end_time=None,
        timezone="Europe/Berlin",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;COUNT=3",
    )
    for event in (timed, all_day):
        assert (await invite(client, alice, event, bob)).status_code == 200
        assert (await rsvp(client, bob, event, "accepted")).status_code == 200
    assert (await rsvp(client, bob, timed, "declined", "2026-03-09T09:00:00Z")).status_code == 200
    assert (await rsvp(client, bob, all_day, "tentative", "2026-03-10")).status_code == 200

    async def answers(who: Account, zone: str | None = None) -> list[tuple[str, str | None]]:
        params = {"start_time": "2026-03-01T00:00:00Z", "end_time": "2026-03-22T00:00:00Z"}
        if zone:
            params["timezone"] = zone
        page = await client.get("/api/v1/events", params=params, headers=who.headers)
        assert page.status_code == 200, page.text
        return [(str(i["recurrence_id"]), i["my_response"]) for i in page.json()["items"]]

    mine = await answers(bob)
    assert ("2026-03-09T09:00:00Z", "declined") in mine
    assert ("2026-03-02T09:00:00Z", "accepted") in mine
    assert ("2026-03-10", "tentative") in mine and ("2026-03-03", "accepted") in mine
    assert ("2026-03-10", "tentative") in await answers(bob, "Pacific/Auckland")
    # alice, the organizer, sees her own answer everywhere, never bob's
    assert {r for _, r in await answers(alice)} == {"accepted"}


async def test_inviting_checks_the_newcomers_calendars(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    await create_event(client, bob, title="Bob's private")
    event = await create_event(client, alice)
    before = await count_rows(app, "attendees")
    body = assert_problem(
        await invite(client, alice, event, bob, conflicts="reject"), 409, "schedule_conflict"
    )
    # bob is not alice's contact yet: that he is busy, nothing more
    assert body["conflicts"] == [{"user_id": bob.id, "busy": True}]
    assert "Bob's private" not in str(body)
    assert await count_rows(app, "attendees") == before
    warned = await invite(client, alice, event, bob)
    assert warned.status_code == 200
    assert warned.json()["conflicts"] == [{"user_id": bob.id, "busy": True}]


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    with running_server(
        database_url=database_url,
        data_dir=tmp_path,
        extra_env={"LIVE_HEARTBEAT_S": "0.2", "LIVE_POLL_S": "0.5"},
    ) as base:
        yield base
    asyncio.run(truncate_all(database_url))


async def _next_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] == kind:
            return message


async def test_two_people_plan_a_meeting_with_a_third_through_the_api_alone(server: str) -> None:
    """Find a time when all three are free, invite, see the answers come in live, and a
    declined occurrence stops blocking the decliner's calendar."""
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        alice, bob, carol = [await register(client, n) for n in ("alice", "bob", "carol")]
        # they know each other from an earlier event
        kickoff = await create_event(client, alice, title="Kick-off", **_day("2026-01-05", 8))
        for who in (bob, carol):
            await share(client, alice, kickoff["id"], who, "viewer")
        await share(client, alice, kickoff["id"], bob, "editor")
        await create_event(client, bob, title="Bob busy", **_day("2026-03-02", 9))
        await create_event(client, carol, title="Carol busy", **_day("2026-03-02", 10))
        found = await client.post(
            "/api/v1/scheduling/find-time",
            json={
                "user_ids": [bob.id, carol.id],
                "duration_minutes": 60,
                "start_time": "2026-03-02T00:00:00Z",
                "end_time": "2026-03-07T00:00:00Z",
                "timezone": "UTC",
                "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
                "granularity_minutes": 60,
                "limit": 1,
            },
            headers=alice.headers,
        )
        [slot] = found.json()["slots"]
        assert slot == {"start_time": "2026-03-02T11:00:00Z", "end_time": "2026-03-02T12:00:00Z"}
        weekly = await create_event(
            client,
            bob,  # bob, the co-planner, makes the weekly meeting at that time
            title="Weekly",
            timezone="UTC",
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;COUNT=4",
            **slot,
        )
        async with (
            connect(_ws(server, alice)) as alice_ws,
            connect(_ws(server, bob)) as bob_ws,
        ):
            invited = await invite(client, bob, weekly, alice, carol)
            assert invited.status_code == 200 and invited.json()["conflicts"] == []
            told = await _next_of(bob_ws, "attendee.invited")  # one message for the request
            assert [c["username"] for c in told["changes"]] == ["alice", "carol"]
            assert (await rsvp(client, alice, weekly, "accepted")).status_code == 200
            heard = await _next_of(bob_ws, "attendee.responded")
            assert [c["response"] for c in heard["changes"]] == ["accepted"]
            assert heard["actor"]["username"] == "alice"
            week2 = "2026-03-09T11:00:00Z"
            assert (await rsvp(client, carol, weekly, "accepted")).status_code == 200
            assert (await rsvp(client, carol, weekly, "declined", week2)).status_code == 200
            for ws in (alice_ws, bob_ws):  # everyone on the event hears carol's answers
                count = 3 if ws is alice_ws else 2  # alice hears her own answer first
                answers = [await _next_of(ws, "attendee.responded") for _ in range(count)]
                carols = [
                    c for a in answers if a["actor"]["username"] == "carol" for c in a["changes"]
                ]
                assert [(c["response"], c["recurrence_id"]) for c in carols] == [
                    ("accepted", None),
                    ("declined", week2),
                ]
        busy = await _busy(client, carol, "2026-03-02T00:00:00Z", "2026-03-17T00:00:00Z")
        assert busy == [  # her own 10:00 and the meeting; the declined week is free
            ("2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z"),
            ("2026-03-16T11:00:00Z", "2026-03-16T12:00:00Z"),
        ]


def _day(date: str, hour: int) -> dict[str, str]:
    return {
        "start_time": f"{date}T{hour:02d}:00:00Z",
        "end_time": f"{date}T{hour + 1:02d}:00:00Z",
        "timezone": "UTC",
    }


def _ws(server: str, who: Account) -> str:
    return server.replace("http://", "ws://") + f"/api/v1/ws?token={who.access_token}"


async def test_a_split_series_keeps_its_attendees_and_their_answers(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice, **WEEKLY)
    await invite(client, alice, event, bob)
    await rsvp(client, bob, event, "accepted")
    await rsvp(client, bob, event, "declined", "2026-03-02T09:00:00Z")
    await rsvp(client, bob, event, "declined", "2026-03-23T09:00:00Z")
    split = await client.put(
        _url(event, "/instances/2026-03-16T09:00:00Z"),
        params={"scope": "following"},
        json={"title": "Weekly, part two"},
        headers=alice.headers,
    )
    assert split.status_code == 200, split.text
    tail = split.json()
    assert tail["id"] != event["id"]
    # ending the first series earlier asks nobody again; the second continues the invitation
    assert await _responses(client, bob, event) == {"alice": "accepted", "bob": "accepted"}
    assert await _responses(client, bob, tail) == {"alice": "accepted", "bob": "accepted"}
    busy = await _busy(client, bob, "2026-03-01T00:00:00Z", "2026-04-07T00:00:00Z")
    assert [s for s, _ in busy] == [
        "2026-03-09T09:00:00Z",
        "2026-03-16T09:00:00Z",
        "2026-03-30T09:00:00Z",
        "2026-04-06T09:00:00Z",
    ]
    # a split that moves the time asks again
    moved = await client.put(
        _url(tail, "/instances/2026-03-30T09:00:00Z"),
        params={"scope": "following"},
        json={"start_time": "2026-03-30T14:00:00Z", "end_time": "2026-03-30T15:00:00Z"},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    assert await _responses(client, bob, moved.json()) == {
        "alice": "accepted",
        "bob": "needs_action",
    }


async def test_answers_one_occurrence_at_a_time_are_bounded(
    client: httpx.AsyncClient,
    app: FastAPI,
    people: dict[str, Account],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MAX_OCCURRENCE_ANSWERS (1,000) per attendee and series bounds what a calendar read
    loads; lowered here to 2 so that the limit is reached in a few requests."""
    from neo_events.invitations import answers

    monkeypatch.setattr(answers, "MAX_OCCURRENCE_ANSWERS", 2)
    alice, bob = people["alice"], people["bob"]
    event = await create_event(client, alice, **WEEKLY)
    await invite(client, alice, event, bob)
    weeks = ["2026-03-02T09:00:00Z", "2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z"]
    for week in weeks[:2]:
        assert (await rsvp(client, bob, event, "declined", week)).status_code == 200
    assert (await rsvp(client, bob, event, "accepted", weeks[1])).status_code == 200  # a change
    body = assert_problem(
        await rsvp(client, bob, event, "declined", weeks[2]), 422, "validation_error"
    )
    assert "answer for the series" in body["detail"]
    assert await count_rows(app, "occurrence_responses") == 2
    # answering for the series replaces them, and the limit starts again
    assert (await rsvp(client, bob, event, "tentative")).status_code == 200
    assert await count_rows(app, "occurrence_responses") == 0


async def test_losing_the_role_ends_the_invitation(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = await create_event(client, alice, **WEEKLY)
    await invite(client, alice, event, bob, carol)
    await rsvp(client, bob, event, "declined", "2026-03-09T09:00:00Z")
    removed = await client.delete(_url(event, f"/permissions/{bob.id}"), headers=alice.headers)
    assert removed.status_code == 204
    assert await _responses(client, alice, event) == {"alice": "accepted", "carol": "needs_action"}
    assert await count_rows(app, "occurrence_responses") == 0
    assert (await client.get("/api/v1/invitations", headers=bob.headers)).json()["items"] == []
    # the last guest's role gone: no list at all
    await client.delete(_url(event, f"/permissions/{carol.id}"), headers=alice.headers)
    assert (await client.get(_url(event), headers=alice.headers)).json()["attendees"] == []
