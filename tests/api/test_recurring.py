"""Recurring events through HTTP: windowed listing across DST, instances, override, cancel,
split, and schedule conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Account, assert_problem, count_rows, create_event, register, share

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"


def weekly_berlin(**overrides: Any) -> dict[str, Any]:
    """Mondays 09:00–10:00 Berlin, from 2026-03-16: crosses the 2026-03-29 DST change."""
    body: dict[str, Any] = {
        "title": "Weekly",
        "start_time": "2026-03-16T09:00:00+01:00",
        "end_time": "2026-03-16T10:00:00+01:00",
        "timezone": "Europe/Berlin",
        "is_recurring": True,
        "recurrence_pattern": "RRULE:FREQ=WEEKLY;BYDAY=MO",
    }
    body.update(overrides)
    return body


async def _window(
    client: httpx.AsyncClient, who: Account, start: str, end: str, **extra: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        EVENTS, params={"start_time": start, "end_time": end, **extra}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_listing_expands_in_the_events_own_zone(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice, **weekly_berlin())
    assert event["recurrence_pattern"] == "FREQ=WEEKLY;BYDAY=MO"  # RRULE: prefix dropped
    items = await _window(client, alice, "2026-03-20T00:00:00Z", "2026-04-10T00:00:00Z")
    # 09:00 Berlin is 08:00Z before the change and 07:00Z after it
    assert [i["start_time"] for i in items] == [
        "2026-03-23T08:00:00Z",
        "2026-03-30T07:00:00Z",
        "2026-04-06T07:00:00Z",
    ]
    assert [i["end_time"] for i in items] == [
        "2026-03-23T09:00:00Z",
        "2026-03-30T08:00:00Z",
        "2026-04-06T08:00:00Z",
    ]
    assert [i["recurrence_id"] for i in items] == [i["start_time"] for i in items]
    assert all(i["id"] == event["id"] and i["title"] == "Weekly" for i in items)


async def test_single_and_recurring_interleave_by_start(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await create_event(client, alice, **weekly_berlin())
    single = await create_event(
        client,
        alice,
        title="Dentist",
        start_time="2026-03-25T10:00:00Z",
        end_time="2026-03-25T11:00:00Z",
        timezone="UTC",
    )
    items = await _window(client, alice, "2026-03-22T00:00:00Z", "2026-04-01T00:00:00Z")
    assert [(i["title"], i["recurrence_id"]) for i in items] == [
        ("Weekly", "2026-03-23T08:00:00Z"),
        ("Dentist", None),
        ("Weekly", "2026-03-30T07:00:00Z"),
    ]
    assert items[1]["id"] == single["id"]


async def test_open_ended_series_from_25_years_ago(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await create_event(
        client,
        alice,
        title="Old daily",
        start_time="2001-06-01T06:30:00Z",
        end_time="2001-06-01T07:00:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY",
    )
    items = await _window(client, alice, "2026-06-01T00:00:00Z", "2026-06-04T00:00:00Z")
    assert [i["start_time"] for i in items] == [
        "2026-06-01T06:30:00Z",
        "2026-06-02T06:30:00Z",
        "2026-06-03T06:30:00Z",
    ]


async def test_ended_series_are_pruned_and_count_respected(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await create_event(
        client,
        alice,
        title="Three times",
        start_time="2026-01-05T09:00:00Z",
        end_time="2026-01-05T10:00:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=3",
    )
    items = await _window(client, alice, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    assert len(items) == 3
    assert await _window(client, alice, "2026-01-08T00:00:00Z", "2026-02-01T00:00:00Z") == []


async def test_too_many_occurrences_is_422(client: httpx.AsyncClient, alice: Account) -> None:
    daily = {
        "title": "Daily",
        "start_time": "2026-01-01T00:00:00Z",
        "end_time": "2026-01-01T00:30:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=DAILY",
    }
    created = await client.post(
        f"{EVENTS}/batch",
        params={"conflicts": "ignore"},
        json={"events": [daily] * 28},
        headers=alice.headers,
    )
    assert created.status_code == 201
    fits = await client.get(
        EVENTS,
        params={
            "start_time": "2026-01-01T00:00:00Z",
            "end_time": "2026-12-01T00:00:00Z",
            "limit": 1,
        },
        headers=alice.headers,
    )
    assert fits.status_code == 200  # 28 × 334 = 9,352 occurrences: within the cap
    response = await client.get(
        EVENTS,
        params={"start_time": "2026-01-01T00:00:00Z", "end_time": "2027-01-01T00:00:00Z"},
        headers=alice.headers,
    )
    assert_problem(response, 422, "window_too_large")


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SOMETIMES",
        "FREQ=WEEKLY;BYDAY=MX",
        "FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z",
        "FREQ=DAILY;INTERVAL=0",
        "NOPE",
        "FREQ=YEARLY;BYDAY=53TH;BYMONTH=3",  # a 500 before (dateutil's IndexError)
    ],
)
async def test_invalid_rules_are_422_naming_the_problem(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, rule: str
) -> None:
    response = await client.post(
        EVENTS, json=weekly_berlin(recurrence_pattern=rule), headers=alice.headers
    )
    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["recurrence_pattern"]
    assert problem["errors"][0]["msg"]
    assert await count_rows(app, "events") == 0


async def test_local_until_is_stored_in_utc(client: httpx.AsyncClient, alice: Account) -> None:
    event = await create_event(
        client, alice, **weekly_berlin(recurrence_pattern="FREQ=WEEKLY;UNTIL=20260330")
    )
    assert "UNTIL=20260330T215959Z" in event["recurrence_pattern"]  # the whole local day, in UTC
    items = await _window(client, alice, "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z")
    assert [i["start_time"] for i in items][-1] == "2026-03-30T07:00:00Z"


async def test_instances_override_and_cancel(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    event = await create_event(client, alice, **weekly_berlin())
    base = f"{EVENTS}/{event['id']}"
    window = {"start_time": "2026-03-20T00:00:00Z", "end_time": "2026-04-10T00:00:00Z"}
    listed = (await client.get(f"{base}/instances", params=window, headers=alice.headers)).json()[
        "items"
    ]
    assert [i["start_time"] for i in listed] == [
        "2026-03-23T08:00:00Z",
        "2026-03-30T07:00:00Z",
        "2026-04-06T07:00:00Z",
    ]

    # move the 30 March occurrence to the afternoon and rename it; the offset in the path is any
    moved = await client.put(
        f"{base}/instances/2026-03-30T09:00:00+02:00",
        json={
            "start_time": "2026-03-30T14:00:00+02:00",
            "end_time": "2026-03-30T15:00:00+02:00",
            "title": "Moved",
        },
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    series = moved.json()
    assert series["version"] == 2
    assert series["overrides"][0]["recurrence_id"] == "2026-03-30T07:00:00Z"
    cancel = await client.delete(f"{base}/instances/2026-04-06T07:00:00Z", headers=alice.headers)
    assert cancel.status_code == 204
    listed = (await client.get(f"{base}/instances", params=window, headers=alice.headers)).json()[
        "items"
    ]
    assert [(i["start_time"], i["title"]) for i in listed] == [
        ("2026-03-23T08:00:00Z", "Weekly"),
        ("2026-03-30T12:00:00Z", "Moved"),
    ]
    history = (await client.get(f"{base}/history", headers=alice.headers)).json()["items"]
    assert [h["change_type"] for h in history] == [
        "occurrence_cancelled",
        "occurrence_updated",
        "created",
    ]
    # later edits of other fields keep the override
    await client.patch(base, json={"location": "Room 5"}, headers=alice.headers)
    listed = (await client.get(f"{base}/instances", params=window, headers=alice.headers)).json()[
        "items"
    ]
    assert listed[1]["title"] == "Moved" and listed[1]["location"] == "Room 5"
    # no such occurrence, and a cancelled one, are 404
    assert_problem(
        await client.put(
            f"{base}/instances/2026-03-31T07:00:00Z", json={"title": "x"}, headers=alice.headers
        ),
        404,
        "occurrence_not_found",
    )
    assert_problem(
        await client.delete(f"{base}/instances/2026-04-06T07:00:00Z", headers=alice.headers),
        404,
        "occurrence_not_found",
    )
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 4


async def test_occurrence_writes_honour_if_match(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    """A stale If-Match on an occurrence edit or cancel is a 412 that changes nothing, as on
    the event itself: a drag in one tab cannot silently undo what another tab saved."""
    event = await create_event(client, alice, **weekly_berlin())
    base = f"{EVENTS}/{event['id']}"
    occurrence = f"{base}/instances/2026-03-30T07:00:00Z"
    move = {"start_time": "2026-03-30T14:00:00+02:00", "end_time": "2026-03-30T15:00:00+02:00"}
    renamed = await client.patch(base, json={"title": "Renamed"}, headers=alice.headers)
    assert renamed.headers["etag"] == '"2"'
    stale = {"If-Match": '"1"', **alice.headers}
    assert_problem(
        await client.put(occurrence, json=move, headers=stale), 412, "precondition_failed"
    )
    assert_problem(await client.delete(occurrence, headers=stale), 412, "precondition_failed")
    following = await client.delete(occurrence, params={"scope": "following"}, headers=stale)
    assert_problem(following, 412, "precondition_failed")
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 2
    fresh = {"If-Match": '"2"', **alice.headers}
    moved = await client.put(occurrence, json=move, headers=fresh)
    assert moved.status_code == 200 and moved.headers["etag"] == '"3"'
    assert (
        await client.delete(occurrence, headers={"If-Match": '"3"', **alice.headers})
    ).status_code == 204


async def test_override_moved_into_another_month_is_listed_there(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await create_event(client, alice, **weekly_berlin())
    await client.put(
        f"{EVENTS}/{event['id']}/instances/2026-03-30T07:00:00Z",
        json={"start_time": "2026-04-15T10:00:00Z", "end_time": "2026-04-15T11:00:00Z"},
        headers=alice.headers,
    )
    march = await _window(client, alice, "2026-03-29T00:00:00Z", "2026-03-31T00:00:00Z")
    assert march == []
    april = await _window(client, alice, "2026-04-15T00:00:00Z", "2026-04-16T00:00:00Z")
    assert [(i["start_time"], i["recurrence_id"]) for i in april] == [
        ("2026-04-15T10:00:00Z", "2026-03-30T07:00:00Z")
    ]


async def test_split_this_and_following(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    bob = await register(client, "bob")
    event = await create_event(
        client, alice, **weekly_berlin(recurrence_pattern="FREQ=WEEKLY;COUNT=6")
    )
    await share(client, alice, event["id"], bob, "editor")
    response = await client.put(
        f"{EVENTS}/{event['id']}/instances/2026-03-30T07:00:00Z",
        params={"scope": "following"},
        json={"title": "Weekly (new room)", "location": "Room 9"},
        headers=bob.headers,
    )
    assert response.status_code == 200, response.text
    successor = response.json()
    assert successor["id"] != event["id"] and successor["split_from"] == event["id"]
    assert successor["version"] == 1 and successor["owner"]["id"] == alice.id
    assert {p["username"]: p["role"] for p in successor["permissions"]} == {
        "alice": "owner",
        "bob": "editor",
    }
    items = await _window(client, alice, "2026-03-01T00:00:00Z", "2026-06-01T00:00:00Z")
    assert [(i["start_time"], i["title"]) for i in items] == [
        ("2026-03-16T08:00:00Z", "Weekly"),
        ("2026-03-23T08:00:00Z", "Weekly"),
        ("2026-03-30T07:00:00Z", "Weekly (new room)"),
        ("2026-04-06T07:00:00Z", "Weekly (new room)"),
        ("2026-04-13T07:00:00Z", "Weekly (new room)"),
        ("2026-04-20T07:00:00Z", "Weekly (new room)"),
    ]  # six in all: COUNT carried over
    assert await count_rows(app, "event_versions", event_id=successor["id"]) == 1  # its own history
    assert await count_rows(app, "event_versions", event_id=event["id"]) == 2


async def test_split_of_an_hourly_series_keeps_every_hour(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """The part from the chosen occurrence on still recurs every hour (its hour was once
    pinned to the first occurrence's, which made it daily)."""
    event = await create_event(
        client,
        alice,
        title="Shift",
        start_time="2026-03-02T09:00:00Z",
        end_time="2026-03-02T09:30:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=HOURLY;COUNT=6",
    )
    response = await client.put(
        f"{EVENTS}/{event['id']}/instances/2026-03-02T11:00:00Z",
        params={"scope": "following"},
        json={"title": "Shift (later)"},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["recurrence_pattern"] == "FREQ=HOURLY;COUNT=4"
    items = await _window(client, alice, "2026-03-02T00:00:00Z", "2026-03-05T00:00:00Z")
    assert [(i["start_time"], i["title"]) for i in items] == [
        ("2026-03-02T09:00:00Z", "Shift"),
        ("2026-03-02T10:00:00Z", "Shift"),
        ("2026-03-02T11:00:00Z", "Shift (later)"),
        ("2026-03-02T12:00:00Z", "Shift (later)"),
        ("2026-03-02T13:00:00Z", "Shift (later)"),
        ("2026-03-02T14:00:00Z", "Shift (later)"),
    ]


async def test_cancel_following_ends_the_series(client: httpx.AsyncClient, alice: Account) -> None:
    event = await create_event(client, alice, **weekly_berlin())
    response = await client.delete(
        f"{EVENTS}/{event['id']}/instances/2026-04-06T07:00:00Z",
        params={"scope": "following"},
        headers=alice.headers,
    )
    assert response.status_code == 204
    items = await _window(client, alice, "2026-03-01T00:00:00Z", "2026-06-01T00:00:00Z")
    assert [i["start_time"] for i in items] == [
        "2026-03-16T08:00:00Z",
        "2026-03-23T08:00:00Z",
        "2026-03-30T07:00:00Z",
    ]


async def test_occurrence_roles(client: httpx.AsyncClient, alice: Account) -> None:
    viewer = await register(client, "viewer")
    stranger = await register(client, "stranger")
    event = await create_event(client, alice, **weekly_berlin())
    await share(client, alice, event["id"], viewer, "viewer")
    url = f"{EVENTS}/{event['id']}/instances/2026-03-23T08:00:00Z"
    assert_problem(
        await client.put(url, json={"title": "x"}, headers=viewer.headers), 403, "role_too_low"
    )
    assert_problem(await client.delete(url, headers=viewer.headers), 403, "role_too_low")
    assert_problem(
        await client.put(url, json={"title": "x"}, headers=stranger.headers), 404, "event_not_found"
    )
    window = {"start_time": "2026-03-20T00:00:00Z", "end_time": "2026-04-10T00:00:00Z"}
    assert (
        await client.get(f"{EVENTS}/{event['id']}/instances", params=window, headers=viewer.headers)
    ).status_code == 200
    assert_problem(
        await client.get(
            f"{EVENTS}/{event['id']}/instances", params=window, headers=stranger.headers
        ),
        404,
        "event_not_found",
    )


async def test_conflict_policies(client: httpx.AsyncClient, app: FastAPI, alice: Account) -> None:
    existing = await create_event(client, alice, **weekly_berlin())
    # a single event on the 40th Monday of the series, 09:30 Berlin (summer time)
    clash = {
        "title": "Clash",
        "start_time": "2026-12-14T09:30:00+01:00",
        "end_time": "2026-12-14T10:30:00+01:00",
        "timezone": "Europe/Berlin",
    }
    # touching is not overlapping: 10:00–11:00 Berlin right after the 09:00–10:00 occurrence
    touching = clash | {
        "start_time": "2026-12-14T10:00:00+01:00",
        "end_time": "2026-12-14T11:00:00+01:00",
    }
    after = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=touching, headers=alice.headers
    )
    assert after.status_code == 201
    warned = await client.post(EVENTS, json=clash, headers=alice.headers)
    assert warned.status_code == 201
    assert warned.json()["conflicts"] == [
        {
            "event_id": existing["id"],
            "title": "Weekly",
            "start_time": "2026-12-14T08:00:00Z",
            "end_time": "2026-12-14T09:00:00Z",
        },
        {
            "event_id": after.json()["id"],
            "title": "Clash",
            "start_time": "2026-12-14T09:00:00Z",
            "end_time": "2026-12-14T10:00:00Z",
        },
    ]
    rejected = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=clash, headers=alice.headers
    )
    problem = assert_problem(rejected, 409, "schedule_conflict")
    assert problem["conflicts"][0]["event_id"] == existing["id"]
    assert await count_rows(app, "events") == 3  # the rejected one was not written
    ignored = await client.post(
        EVENTS, params={"conflicts": "ignore"}, json=clash, headers=alice.headers
    )
    assert ignored.json()["conflicts"] == []
    assert_problem(
        await client.post(EVENTS, params={"conflicts": "maybe"}, json=clash, headers=alice.headers),
        422,
        "validation_error",
    )


async def test_moving_and_batch_and_share_check_conflicts(
    client: httpx.AsyncClient, alice: Account
) -> None:
    bob = await register(client, "bob")
    mine = await create_event(
        client,
        alice,
        title="Mine",
        start_time="2026-05-04T09:00:00Z",
        end_time="2026-05-04T10:00:00Z",
        timezone="UTC",
    )
    other = await create_event(
        client,
        alice,
        title="Other",
        start_time="2026-05-04T12:00:00Z",
        end_time="2026-05-04T13:00:00Z",
        timezone="UTC",
    )
    moved = await client.patch(
        f"{EVENTS}/{other['id']}",
        json={"start_time": "2026-05-04T09:30:00Z", "end_time": "2026-05-04T10:30:00Z"},
        headers=alice.headers,
    )
    assert [c["event_id"] for c in moved.json()["conflicts"]] == [mine["id"]]
    batch = await client.post(
        f"{EVENTS}/batch",
        json={
            "events": [
                {
                    "title": "A",
                    "start_time": "2026-06-01T09:00:00Z",
                    "end_time": "2026-06-01T10:00:00Z",
                },
                {
                    "title": "B",
                    "start_time": "2026-06-01T09:30:00Z",
                    "end_time": "2026-06-01T11:00:00Z",
                },
            ]
        },
        headers=alice.headers,
    )
    assert batch.status_code == 201
    assert [len(i["conflicts"]) for i in batch.json()["items"]] == [
        1,
        1,
    ]  # they clash with each other
    # bob's private event overlaps; bob is no contact of alice's yet (they share no event):
    # she learns that he is busy, not when nor what he is doing (SPEC §7)
    await create_event(
        client,
        bob,
        title="Bob's secret",
        start_time="2026-05-04T09:00:00Z",
        end_time="2026-05-04T09:45:00Z",
        timezone="UTC",
    )
    shared = await client.post(
        f"{EVENTS}/{mine['id']}/share",
        json={"users": [{"user_id": bob.id, "role": "viewer"}]},
        headers=alice.headers,
    )
    assert shared.status_code == 200
    assert shared.json()["conflicts"] == [{"user_id": bob.id, "busy": True}]


def _z(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


async def test_a_check_covers_an_old_series_coming_year_and_an_occurrence_moved_past_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """An outside attack: a check covered 366 days from a series' first occurrence, so
    `reject` let through every clash of a weekly meeting begun years ago, and of an
    occurrence moved past the series' first year. (Dates from today: what is checked of a
    series that runs on starts at yesterday.)"""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today + timedelta(days=14 - today.weekday())  # in two or three weeks
    hour = timedelta(hours=1)
    meeting = await create_event(
        client,
        alice,
        title="Meeting",
        start_time=_z(monday + 10 * hour),
        end_time=_z(monday + 11 * hour),
        timezone="UTC",
    )
    old = monday - timedelta(weeks=156)
    standup = await create_event(
        client,
        alice,
        title="Stand-up",
        start_time=_z(old + 9 * hour),
        end_time=_z(old + 9.5 * hour),
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY",
    )
    later = await client.patch(
        f"{EVENTS}/{standup['id']}",
        params={"conflicts": "reject"},
        json={"start_time": _z(old + 10 * hour), "end_time": _z(old + 10.5 * hour)},
        headers=alice.headers,
    )
    assert_problem(later, 409, "schedule_conflict")
    assert [c["event_id"] for c in later.json()["conflicts"]] == [meeting["id"]]
    coffee = await create_event(
        client,
        alice,
        title="Coffee",
        start_time=_z(monday + 9 * hour),
        end_time=_z(monday + 9.25 * hour),
        timezone="UTC",
    )
    listed = await client.get(f"{EVENTS}/{standup['id']}/conflicts", headers=alice.headers)
    assert [c["event_id"] for c in listed.json()["items"]] == [coffee["id"]]

    # a daily series of 700 days from next week: moving its 500th day onto the dentist's
    # appointment on that day, or its second day there, is a clash
    first = monday + timedelta(days=7)
    daily = await create_event(
        client,
        alice,
        title="Run",
        start_time=_z(first + 7 * hour),
        end_time=_z(first + 8 * hour),
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=700",
    )
    far = first + timedelta(days=500)
    dentist = await create_event(
        client,
        alice,
        title="Dentist",
        start_time=_z(far + 15 * hour),
        end_time=_z(far + 16 * hour),
        timezone="UTC",
    )
    for day in (far, first + timedelta(days=1)):
        moved = await client.put(
            f"{EVENTS}/{daily['id']}/instances/{_z(day + 7 * hour)}",
            params={"conflicts": "reject"},
            json={"start_time": _z(far + 15 * hour), "end_time": _z(far + 16 * hour)},
            headers=alice.headers,
        )
        assert_problem(moved, 409, "schedule_conflict")
        assert [c["event_id"] for c in moved.json()["conflicts"]] == [dentist["id"]]


async def test_occurrences_moved_years_apart_are_each_checked_in_a_busy_calendar(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Two occurrences moved two and four years on, past an hourly series' busy years: the
    calendars are read around each, not over the years between, whose occurrences used up
    the read's limit, so that `reject` let the clash through (an outside attack); and
    GET …/conflicts finds it too."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    hour = timedelta(hours=1)
    await create_event(
        client,
        alice,
        title="Water",
        start_time=_z(today - timedelta(days=400)),
        end_time=_z(today - timedelta(days=400) + timedelta(minutes=1)),
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=HOURLY",
    )
    far = today + timedelta(days=4 * 365 + 10)
    dentist = await create_event(
        client,
        alice,
        title="Dentist",
        start_time=_z(far + 15.5 * hour),
        end_time=_z(far + 16.5 * hour),
        timezone="UTC",
    )
    first = today + timedelta(days=2)
    walk = await create_event(
        client,
        alice,
        title="Walk",
        start_time=_z(first + 12.33 * hour),
        end_time=_z(first + 12.5 * hour),
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=50",
    )
    halfway = today + timedelta(days=2 * 365 + 3) + 12.33 * hour
    overrides = [
        {
            "recurrence_id": walk["start_time"],
            "start_time": _z(halfway),
            "end_time": _z(halfway + timedelta(minutes=10)),
        },
        {
            "recurrence_id": _z(first + timedelta(days=1) + 12.33 * hour),
            "start_time": _z(far + 15.66 * hour),
            "end_time": _z(far + 15.83 * hour),
        },
    ]
    moved = await client.patch(
        f"{EVENTS}/{walk['id']}",
        params={"conflicts": "reject"},
        json={"overrides": overrides},
        headers=alice.headers,
    )
    assert_problem(moved, 409, "schedule_conflict")
    assert dentist["id"] in {c["event_id"] for c in moved.json()["conflicts"]}
    saved = await client.patch(
        f"{EVENTS}/{walk['id']}",
        params={"conflicts": "ignore"},
        json={"overrides": overrides},
        headers=alice.headers,
    )
    assert saved.status_code == 200, saved.text
    listed = await client.get(f"{EVENTS}/{walk['id']}/conflicts", headers=alice.headers)
    assert dentist["id"] in {c["event_id"] for c in listed.json()["items"]}


async def test_freebusy_and_event_conflicts(client: httpx.AsyncClient, alice: Account) -> None:
    a = await create_event(
        client,
        alice,
        title="A",
        start_time="2026-05-04T09:00:00Z",
        end_time="2026-05-04T10:00:00Z",
        timezone="UTC",
    )
    await create_event(
        client,
        alice,
        title="B",
        start_time="2026-05-04T10:00:00Z",
        end_time="2026-05-04T11:00:00Z",
        timezone="UTC",
    )
    await create_event(
        client,
        alice,
        title="C",
        start_time="2026-05-04T09:30:00Z",
        end_time="2026-05-04T09:45:00Z",
        timezone="UTC",
    )
    await create_event(
        client,
        alice,
        title="D",
        start_time="2026-05-04T15:00:00Z",
        end_time="2026-05-04T16:00:00Z",
        timezone="UTC",
    )
    response = await client.get(
        "/api/v1/freebusy",
        params={"start_time": "2026-05-04T00:00:00Z", "end_time": "2026-05-04T15:30:00Z"},
        headers=alice.headers,
    )
    assert response.status_code == 200
    assert response.json() == {
        "busy": [
            {"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T11:00:00Z"},
            {"start": "2026-05-04T15:00:00Z", "end": "2026-05-04T15:30:00Z"},
        ]
    }
    conflicts = (await client.get(f"{EVENTS}/{a['id']}/conflicts", headers=alice.headers)).json()[
        "items"
    ]
    assert [c["title"] for c in conflicts] == ["C"]  # B only touches A
    assert_problem(
        await client.get("/api/v1/freebusy", headers=alice.headers), 422, "validation_error"
    )
