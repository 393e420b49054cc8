"""SPEC §7's new parts through HTTP: other people's free/busy (contacts only, busy times
only), finding a common free time, and `?conflicts=suggest` on every write that checks."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import ormsgpack
import pytest
from fastapi import FastAPI
from sqlalchemy import event as sa_event

from tests.helpers import (
    Account,
    assert_problem,
    count_rows,
    create_event,
    created,
    register,
    share,
)

pytestmark = pytest.mark.anyio

SECRET = {"title": "Secret merger talk", "location": "Room Zebra", "description": "hush"}


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, Account]:
    return {n: await register(client, n) for n in ("alice", "bob", "carol", "eve")}


async def _meet(client: httpx.AsyncClient, a: Account, *others: Account) -> None:
    """Make the others alice's contacts: they share a live event."""
    event = await create_event(
        client,
        a,
        title="Kick-off",
        start_time="2020-01-01T00:00:00Z",
        end_time="2020-01-01T00:15:00Z",
    )
    for other in others:
        await share(client, a, event["id"], other, "viewer")


def _at(start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"start_time": start, "end_time": end, "timezone": "UTC", **extra}


WINDOW = {"start_time": "2026-03-02T00:00:00Z", "end_time": "2026-03-03T00:00:00Z"}


async def test_freebusy_of_contacts_is_busy_times_only(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob, carol, eve = (people[n] for n in ("alice", "bob", "carol", "eve"))
    await _meet(client, alice, bob)
    await create_event(client, bob, **_at("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"), **SECRET)
    await create_event(client, bob, **_at("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"), **SECRET)
    await create_event(client, eve, **_at("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"), **SECRET)
    ids = f"{bob.id},{eve.id},999999,{alice.id}"
    for accept in ("application/json", "application/msgpack"):
        response = await client.get(
            "/api/v1/freebusy",
            params={**WINDOW, "user_ids": ids},
            headers={**alice.headers, "Accept": accept},
        )
        assert response.status_code == 200, response.text
        body = (
            response.json() if accept == "application/json" else ormsgpack.unpackb(response.content)
        )
        assert body == {
            "calendars": {
                str(bob.id): {
                    "busy": [{"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T11:00:00Z"}]
                },
                # eve is no contact of alice's: she looks like a user who does not exist
                str(eve.id): {"errors": ["not_found"]},
                "999999": {"errors": ["not_found"]},
                str(alice.id): {"busy": []},
            }
        }
        for secret in SECRET.values():
            assert secret.encode() not in response.content
    # without user_ids: the caller's own, as before
    own = await client.get("/api/v1/freebusy", params=WINDOW, headers=bob.headers)
    assert own.json() == {
        "busy": [{"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T11:00:00Z"}]
    }
    # bad lists are 422s that echo nothing of anyone's calendar
    for bad in ("", "x", "1,,2", "0", ",".join(str(i) for i in range(1, 60)), "-3"):
        problem = await client.get(
            "/api/v1/freebusy", params={**WINDOW, "user_ids": bad}, headers=alice.headers
        )
        assert_problem(problem, 422, "validation_error")
        assert b"Secret" not in problem.content
    # the contact rule is about live events: a deleted shared event makes strangers again
    assert carol.id  # carol never met alice
    response = await client.get(
        "/api/v1/freebusy", params={**WINDOW, "user_ids": str(carol.id)}, headers=alice.headers
    )
    assert response.json() == {"calendars": {str(carol.id): {"errors": ["not_found"]}}}


async def test_find_time_for_three_people(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    await _meet(client, alice, bob, carol)
    # Berlin, Monday 30 March 2026 (summer time: 09:00 = 07:00Z)
    await create_event(client, alice, **_at("2026-03-30T07:00:00Z", "2026-03-30T08:00:00Z"))
    await create_event(client, bob, **_at("2026-03-30T08:00:00Z", "2026-03-30T09:30:00Z"), **SECRET)
    await create_event(client, carol, **_at("2026-03-30T09:00:00Z", "2026-03-30T10:00:00Z"))
    body = {
        "user_ids": [bob.id, carol.id],
        "duration_minutes": 60,
        "start_time": "2026-03-28T00:00:00Z",  # a Saturday: no working hours until Monday
        "end_time": "2026-04-04T00:00:00Z",
        "timezone": "Europe/Berlin",
        "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
        "granularity_minutes": 30,
        "limit": 3,
    }
    response = await client.post("/api/v1/scheduling/find-time", json=body, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "slots": [
            {"start_time": "2026-03-30T10:00:00Z", "end_time": "2026-03-30T11:00:00Z"},
            {"start_time": "2026-03-30T10:30:00Z", "end_time": "2026-03-30T11:30:00Z"},
            {"start_time": "2026-03-30T11:00:00Z", "end_time": "2026-03-30T12:00:00Z"},
        ]
    }
    assert b"Secret" not in response.content
    # nothing free inside the working hours: an empty list, not an error
    busy_week = {**body, "duration_minutes": 600}
    response = await client.post(
        "/api/v1/scheduling/find-time", json=busy_week, headers=alice.headers
    )
    assert response.status_code == 200 and response.json() == {"slots": []}
    long = {
        **body,
        "working_hours": {"start": "00:00", "end": "24:00", "days": [1]},
        "duration_minutes": 600,
    }
    response = await client.post("/api/v1/scheduling/find-time", json=long, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()["slots"][0] == {
        "start_time": "2026-03-30T10:00:00Z",
        "end_time": "2026-03-30T20:00:00Z",
    }


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, ["timezone"]),
        (
            {"start_time": "2026-03-07T00:00:00Z", "end_time": "2026-03-09T00:00:00Z"},
            ["working_hours"],
        ),
        ({"end_time": "2026-03-01T00:00:00Z"}, ["end_time"]),
        ({"end_time": "2026-06-01T00:00:00Z"}, ["end_time"]),
        ({"start_time": "2026-03-02T09:00:00"}, ["start_time"]),
        ({"duration_minutes": 0}, ["duration_minutes"]),
        ({"granularity_minutes": 1}, ["granularity_minutes"]),
        ({"limit": 51}, ["limit"]),
        ({"working_hours": {"start": "17:00", "end": "09:00"}}, ["working_hours"]),
        ({"working_hours": {"start": "9am", "end": "17:00"}}, ["working_hours", "start"]),
        ({"working_hours": {"days": [0]}}, ["working_hours", "days", 0]),
        ({"user_ids": []}, ["user_ids"]),
    ],
)
async def test_find_time_bad_inputs(
    client: httpx.AsyncClient, people: dict[str, Account], change: dict[str, Any], loc: list[Any]
) -> None:
    alice, bob = people["alice"], people["bob"]
    await _meet(client, alice, bob)
    body = {
        "user_ids": [bob.id],
        "duration_minutes": 30,
        "start_time": "2026-03-02T00:00:00Z",
        "end_time": "2026-03-06T00:00:00Z",
        "timezone": "UTC",
        "working_hours": {"start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5]},
    } | change
    problem = assert_problem(
        await client.post("/api/v1/scheduling/find-time", json=body, headers=alice.headers),
        422,
        "validation_error",
    )
    assert [e["loc"][: len(loc)] for e in problem["errors"]][0] == loc


async def test_find_time_with_a_stranger_names_them_without_saying_more(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob, eve = people["alice"], people["bob"], people["eve"]
    await _meet(client, alice, bob)
    await create_event(client, eve, **_at("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"), **SECRET)
    for stranger in (eve.id, 999_999):
        body = {
            "user_ids": [bob.id, stranger],
            "duration_minutes": 30,
            "start_time": "2026-03-02T00:00:00Z",
            "end_time": "2026-03-03T00:00:00Z",
        }
        problem = assert_problem(
            await client.post("/api/v1/scheduling/find-time", json=body, headers=alice.headers),
            422,
            "validation_error",
        )
        assert problem["errors"][0]["loc"] == ["user_ids", 1]
        assert "Secret" not in str(problem)
    # the unauthenticated get 401
    assert_problem(
        await client.post("/api/v1/scheduling/find-time", json=body), 401, "not_authenticated"
    )


async def test_suggest_on_create_move_occurrence_edit_batch_and_invite(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    # alice is busy 09:00–12:00 on Monday 2 March (UTC), bob 12:00–13:00
    await create_event(client, alice, **_at("2026-03-02T09:00:00Z", "2026-03-02T12:00:00Z"))
    await create_event(client, bob, **_at("2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z"), **SECRET)
    events_before = await count_rows(app, "events")
    body = _at("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", title="Planning")
    problem = assert_problem(
        await client.post(
            "/api/v1/events", params={"conflicts": "suggest"}, json=body, headers=alice.headers
        ),
        409,
        "schedule_conflict",
    )
    assert [c["title"] for c in problem["conflicts"]] == ["Standup"]
    assert problem["suggestions"] == [
        {"start_time": f"2026-03-02T{h}:00Z", "end_time": f"2026-03-02T{e}:00Z"}
        for h, e in (
            ("12:00", "13:00"),
            ("12:15", "13:15"),
            ("12:30", "13:30"),
            ("12:45", "13:45"),
            ("13:00", "14:00"),
        )
    ]
    assert await count_rows(app, "events") == events_before

    # batch: suggestions for the first item that clashes, named by its index
    problem = assert_problem(
        await client.post(
            "/api/v1/events/batch",
            params={"conflicts": "suggest"},
            json={
                "events": [_at("2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z", title="Free"), body]
            },
            headers=alice.headers,
        ),
        409,
        "schedule_conflict",
    )
    assert problem["suggestions_for"] == 1 and len(problem["suggestions"]) == 5

    # move: alice shares an event with bob and moves it onto bob's busy hour; suggestions
    # are where both are free (bob's time is no longer free)
    event = await create_event(client, alice, **_at("2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z"))
    await share(client, alice, event["id"], bob, "viewer")
    problem = assert_problem(
        await client.patch(
            f"/api/v1/events/{event['id']}",
            params={"conflicts": "suggest"},
            json={"start_time": "2026-03-02T11:30:00Z", "end_time": "2026-03-02T12:30:00Z"},
            headers=alice.headers,
        ),
        409,
        "schedule_conflict",
    )
    assert problem["suggestions"][0] == {
        "start_time": "2026-03-02T13:00:00Z",
        "end_time": "2026-03-02T14:00:00Z",
    }
    assert "Secret" not in str(problem)
    # the event's own old time (15:00) counts as free for its move
    assert [s["start_time"][11:16] for s in problem["suggestions"]] == [
        "13:00",
        "13:15",
        "13:30",
        "13:45",
        "14:00",
    ]

    # an occurrence edit
    series = await create_event(
        client,
        alice,
        **_at(
            "2026-03-09T15:00:00Z",
            "2026-03-09T16:00:00Z",
            is_recurring=True,
            recurrence_pattern="FREQ=DAILY;COUNT=3",
        ),
    )
    problem = assert_problem(
        await client.put(
            f"/api/v1/events/{series['id']}/instances/2026-03-10T15:00:00Z",
            params={"conflicts": "suggest"},
            json={"start_time": "2026-03-02T11:00:00Z", "end_time": "2026-03-02T12:00:00Z"},
            headers=alice.headers,
        ),
        409,
        "schedule_conflict",
    )
    assert problem["suggestions"][0]["start_time"] == "2026-03-02T12:00:00Z"

    # invite: carol is asked to alice's 09:00 event while busy; suggestions for everyone
    carol = people["carol"]
    await create_event(client, carol, **_at("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
    morning = await create_event(
        client, alice, **_at("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z")
    )
    problem = assert_problem(
        await client.post(
            f"/api/v1/events/{morning['id']}/attendees",
            params={"conflicts": "suggest"},
            json={"users": [{"user_id": carol.id}]},
            headers=alice.headers,
        ),
        409,
        "schedule_conflict",
    )
    # alice is busy until 12:00 with her other event, then free (bob is not concerned)
    assert problem["suggestions"][0]["start_time"] == "2026-03-02T12:00:00Z"
    assert await count_rows(app, "attendees") == 0


async def test_suggestions_never_follow_a_strangers_calendar(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    """Sharing with a stranger under `suggest` says that they are busy then, and nothing of
    when else (SPEC §7): the suggestions are worked out from the calendars of the caller and
    their contacts only. (They followed the stranger's: an outside attack read a stranger's
    free times from them, and a refused share writes nothing, so it could ask again.)"""
    alice, bob = people["alice"], people["bob"]
    await create_event(client, bob, **_at("2026-03-02T09:00:00Z", "2026-03-02T12:00:00Z"), **SECRET)
    mine = await create_event(client, alice, **_at("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"))
    problem = assert_problem(
        await client.post(
            f"/api/v1/events/{mine['id']}/share",
            params={"conflicts": "suggest"},
            json={"users": [{"user_id": bob.id, "role": "viewer"}]},
            headers=alice.headers,
        ),
        409,
        "schedule_conflict",
    )
    assert problem["conflicts"] == [{"user_id": bob.id, "busy": True}]
    # Bob is busy until 12:00; Alice is free: from Bob's calendar these would start at 12:00
    starts = [s["start_time"][11:16] for s in problem["suggestions"]]
    assert starts and starts[0] < "12:00", starts
    assert await count_rows(app, "event_permissions", event_id=mine["id"]) == 1
    # ...but the time refused is known to be busy for him: no suggestion overlaps it (it was
    # the first one offered, an outside test), whether shared or invited
    for path, user in (("share", {"role": "viewer"}), ("attendees", {})):
        problem = assert_problem(
            await client.post(
                f"/api/v1/events/{mine['id']}/{path}",
                params={"conflicts": "suggest"},
                json={"users": [{"user_id": bob.id, **user}]},
                headers=alice.headers,
            ),
            409,
            "schedule_conflict",
        )
        assert problem["conflicts"] == [{"user_id": bob.id, "busy": True}]
        starts = [s["start_time"][11:16] for s in problem["suggestions"]]
        assert starts == ["11:00", "11:15", "11:30", "11:45", "12:00"], (path, starts)


async def test_suggestions_for_an_all_day_event_are_whole_days_to_send_back(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    """An all-day event's suggestions are whole days of its zone, as many as it lasts, each
    with its dates beside their midnights, and go back as they are in a create or a PATCH.
    (They were timed slots on a 15-minute grid that a create refused: an outside test.)"""
    alice = people["alice"]
    berlin = {"all_day": True, "transparency": "opaque", "timezone": "Europe/Berlin"}
    for day in ("2027-03-01", "2027-03-26"):
        await created(client, alice, {"title": "Away", "start_date": day, **berlin})
    asked = {"title": "Offsite", "start_date": "2027-03-01", **berlin}
    problem = assert_problem(
        await client.post(
            "/api/v1/events", params={"conflicts": "suggest"}, json=asked, headers=alice.headers
        ),
        409,
        "schedule_conflict",
    )
    assert problem["suggestions"] == [
        {
            "start_time": f"2027-03-{day - 1:02d}T23:00:00Z",
            "end_time": f"2027-03-{day:02d}T23:00:00Z",
            "start_date": f"2027-03-{day:02d}",
            "end_date": f"2027-03-{day + 1:02d}",
        }
        for day in range(2, 7)
    ]
    events = await count_rows(app, "events")
    response = await client.post(
        "/api/v1/events",
        params={"conflicts": "reject"},
        json=asked | problem["suggestions"][0],
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["start_date"] == "2027-03-02"
    assert await count_rows(app, "events") == events + 1
    # two days moved onto the 26th: the next two free ones, over the night summer time
    # begins (47 hours), and the suggestion is taken as it is by a PATCH
    path = f"/api/v1/events/{response.json()['id']}"
    problem = assert_problem(
        await client.patch(
            path,
            params={"conflicts": "suggest"},
            json={"start_date": "2027-03-25", "end_date": "2027-03-27"},
            headers=alice.headers,
        ),
        409,
        "schedule_conflict",
    )
    first = problem["suggestions"][0]
    assert first == {
        "start_time": "2027-03-26T23:00:00Z",
        "end_time": "2027-03-28T22:00:00Z",
        "start_date": "2027-03-27",
        "end_date": "2027-03-29",
    }
    response = await client.patch(
        path, params={"conflicts": "reject"}, json=first, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    assert [response.json()[k] for k in ("start_date", "end_date")] == ["2027-03-27", "2027-03-29"]


async def test_suggest_with_no_clash_saves(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice = people["alice"]
    response = await client.post(
        "/api/v1/events",
        params={"conflicts": "suggest"},
        json=_at("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", title="Alone"),
        headers=alice.headers,
    )
    assert response.status_code == 201 and response.json()["conflicts"] == []


async def test_free_busy_and_find_time_follow_every_change_of_a_series(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """Series expansions are cached by (event, version, week): each change that moves a
    series writes a version, so the same windows asked again answer the new times; an answer
    (which writes no version) frees the decliner's occurrence all the same."""
    alice, bob = people["alice"], people["bob"]
    await _meet(client, alice, bob)
    weekly = await create_event(  # Mondays 10:00-11:00 UTC from 2 March 2026
        client,
        bob,
        **_at(
            "2026-03-02T10:00:00Z",
            "2026-03-02T11:00:00Z",
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY",
        ),
    )
    windows = [  # two weeks from a Wednesday, and a day later: they share cached weeks
        {"start_time": "2026-03-04T00:00:00Z", "end_time": "2026-03-18T00:00:00Z"},
        {"start_time": "2026-03-05T00:00:00Z", "end_time": "2026-03-19T00:00:00Z"},
    ]

    async def bobs_busy() -> list[list[dict[str, str]]]:
        answers = []
        for window in windows:
            response = await client.get(
                "/api/v1/freebusy",
                params={**window, "user_ids": str(bob.id)},
                headers=alice.headers,
            )
            assert response.status_code == 200, response.text
            answers.append(response.json()["calendars"][str(bob.id)]["busy"])
        return answers

    def mondays(*days: str, at: str = "10:00", until: str = "11:00") -> list[dict[str, str]]:
        return [{"start": f"{d}T{at}:00Z", "end": f"{d}T{until}:00Z"} for d in days]

    assert await bobs_busy() == [mondays("2026-03-09", "2026-03-16")] * 2
    moved = await client.patch(
        f"/api/v1/events/{weekly['id']}",
        json={"start_time": "2026-03-02T13:00:00Z", "end_time": "2026-03-02T14:30:00Z"},
        headers=bob.headers,
    )
    assert moved.status_code == 200, moved.text
    assert await bobs_busy() == [mondays("2026-03-09", "2026-03-16", at="13:00", until="14:30")] * 2
    cancelled = await client.delete(
        f"/api/v1/events/{weekly['id']}/instances/2026-03-09T13:00:00Z", headers=bob.headers
    )
    assert cancelled.status_code == 204, cancelled.text
    assert await bobs_busy() == [mondays("2026-03-16", at="13:00", until="14:30")] * 2
    # find-time over the same weeks sees the series where it is now
    body = {
        "user_ids": [bob.id],
        "duration_minutes": 60,
        **windows[0],
        "timezone": "UTC",
        "working_hours": {"start": "13:00", "end": "14:00", "days": [1]},
        "granularity_minutes": 15,
        "limit": 5,
    }
    response = await client.post("/api/v1/scheduling/find-time", json=body, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "slots": [{"start_time": "2026-03-09T13:00:00Z", "end_time": "2026-03-09T14:00:00Z"}]
    }
    # alice's own weekly meeting, bob invited: busy for him until he declines one week
    meeting = await create_event(
        client,
        alice,
        **_at(
            "2026-03-02T08:00:00Z",
            "2026-03-02T09:00:00Z",
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY",
        ),
    )
    invited = await client.post(
        f"/api/v1/events/{meeting['id']}/attendees",
        json={"users": [{"user_id": bob.id}]},
        headers=alice.headers,
    )
    assert invited.status_code == 200, invited.text
    meetings = mondays("2026-03-09", "2026-03-16", at="08:00", until="09:00")
    later = mondays("2026-03-16", at="13:00", until="14:30")
    assert await bobs_busy() == [[*meetings, *later]] * 2
    declined = await client.put(
        f"/api/v1/events/{meeting['id']}/instances/2026-03-16T08:00:00Z/rsvp",
        json={"response": "declined"},
        headers=bob.headers,
    )
    assert declined.status_code == 200, declined.text
    assert await bobs_busy() == [[meetings[0], *later]] * 2


async def test_a_window_whose_weeks_are_cached_reads_no_event_content(
    app: FastAPI, client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """A calendar read takes the keys (event, version, holder) first and the contents (rule,
    exceptions) only of events whose weeks are not cached: asking the same fortnight again
    reads no rule at all, and answers the same."""
    alice, bob = people["alice"], people["bob"]
    await _meet(client, alice, bob)
    await create_event(
        client,
        bob,
        **_at(
            "2026-03-02T10:00:00Z",
            "2026-03-02T11:00:00Z",
            is_recurring=True,
            recurrence_pattern="FREQ=DAILY",
            exdates=["2026-03-05T10:00:00Z"],
        ),
    )
    # as a worker that did not make the event (its create keeps the series it wrote)
    app.state.expansions._entries.clear()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", seen)
    body = {
        "user_ids": [bob.id],
        "duration_minutes": 60,
        "start_time": "2026-03-04T00:00:00Z",
        "end_time": "2026-03-18T00:00:00Z",
        "timezone": "UTC",
        "working_hours": {"start": "10:00", "end": "11:00", "days": [1, 2, 3, 4, 5]},
        "granularity_minutes": 15,
        "limit": 3,
    }
    try:
        answers = []
        for _ in range(2):
            statements.clear()
            response = await client.post(
                "/api/v1/scheduling/find-time", json=body, headers=alice.headers
            )
            assert response.status_code == 200, response.text
            answers.append(response.json())
            reads = [s for s in statements if "recurrence_pattern" in s]
            assert len(reads) == (1 if len(answers) == 1 else 0), statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    assert (
        answers[0]
        == answers[1]
        == {  # only the exdate's hour is free
            "slots": [{"start_time": "2026-03-05T10:00:00Z", "end_time": "2026-03-05T11:00:00Z"}]
        }
    )


async def test_past_the_limit_with_every_week_cached_is_still_a_422(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """Three series of 1,680 occurrences a week: a fortnight is past the 10,000 a window may
    hold. Asked again, every week is cached and no content was read; the answer is the same
    422, never a 500 and never a shortened calendar."""
    alice = people["alice"]
    for minute in ("00", "02", "04"):
        await create_event(
            client,
            alice,
            **_at(
                f"2026-03-02T00:{minute}:00Z",
                f"2026-03-02T00:{minute}:30Z",
                is_recurring=True,
                recurrence_pattern="FREQ=MINUTELY;INTERVAL=6",
            ),
        )
    window = {"start_time": "2026-03-09T00:00:00Z", "end_time": "2026-03-23T00:00:00Z"}
    for _ in range(2):
        response = await client.get("/api/v1/freebusy", params=window, headers=alice.headers)
        assert_problem(response, 422, "window_too_large")


async def test_a_find_time_under_way_keeps_no_write_waiting(
    client: httpx.AsyncClient, people: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding a time writes nothing: its transaction is a reader's, so on SQLite it takes no
    turn among the writers and no BEGIN IMMEDIATE. A cold find-time had held the writers'
    turn for its whole run (a create started beside it waited 2.5-2.7 s)."""
    from neo_events.scheduling import service

    alice, bob = people["alice"], people["bob"]
    await _meet(client, alice, bob)
    reading, release = asyncio.Event(), asyncio.Event()
    find_time = service.find_time

    async def slow_find_time(*args: Any, **kwargs: Any) -> Any:
        found = await find_time(*args, **kwargs)  # its statements run in its transaction
        reading.set()
        await release.wait()  # still inside that transaction
        return found

    monkeypatch.setattr(service, "find_time", slow_find_time)
    body = {
        "user_ids": [bob.id],
        "duration_minutes": 30,
        "start_time": "2026-03-02T00:00:00Z",
        "end_time": "2026-03-09T00:00:00Z",
    }
    finding = asyncio.create_task(
        client.post("/api/v1/scheduling/find-time", json=body, headers=alice.headers)
    )
    await asyncio.wait_for(reading.wait(), 10)
    try:
        async with asyncio.timeout(5):  # before: waited for the find-time's turn to end
            created = await create_event(client, bob, title="Meanwhile")
    finally:
        release.set()
    assert created["title"] == "Meanwhile"
    assert (await finding).status_code == 200


@pytest.mark.parametrize(
    ("zone", "window", "granularity", "days", "change_day"),
    [
        # spring forward on Sunday 14 March 2027: 02:00 EST is 03:00 EDT
        (
            "America/New_York",
            ("2027-03-13T05:00:00Z", "2027-03-16T04:00:00Z"),
            120,
            ["03-13", "03-14", "03-15"],
            ("03-14", ["02:00"]),
        ),
        # a 30-minute change on Sunday 4 October 2026: 02:00 LHST is 02:30 LHDT
        (
            "Australia/Lord_Howe",
            ("2026-10-02T13:30:00Z", "2026-10-05T13:00:00Z"),
            60,
            ["10-03", "10-04", "10-05"],
            ("10-04", ["02:00"]),
        ),
    ],
)
async def test_find_time_keeps_each_days_grid_on_the_wall_clock_across_a_change(
    client: httpx.AsyncClient,
    people: dict[str, Account],
    zone: str,
    window: tuple[str, str],
    granularity: int,
    days: list[str],
    change_day: tuple[str, list[str]],
) -> None:
    """Without working hours, slots start on the granularity counted from each day's local
    midnight, on the wall clock. Touching days made one stretch counted in real time from
    the first day's midnight: after New York's spring change slots fell at 01:00, 03:00…
    and after Lord Howe's half-hour one at :30."""
    alice = people["alice"]
    body = {
        "user_ids": [alice.id],
        "duration_minutes": 60,
        "start_time": window[0],
        "end_time": window[1],
        "timezone": zone,
        "granularity_minutes": granularity,
        "limit": 50,
    }
    response = await client.post("/api/v1/scheduling/find-time", json=body, headers=alice.headers)
    assert response.status_code == 200, response.text
    local = ZoneInfo(zone)
    starts = [
        datetime.fromisoformat(slot["start_time"]).astimezone(local).strftime("%m-%d %H:%M")
        for slot in response.json()["slots"]
    ]
    hours = [f"{h:02}:00" for h in range(0, 24, granularity // 60)]
    missing = {f"{change_day[0]} {at}" for at in change_day[1]}  # not on that day's clock
    expected = [f"{d} {h}" for d in days for h in hours if f"{d} {h}" not in missing]
    assert starts == expected[:50]
