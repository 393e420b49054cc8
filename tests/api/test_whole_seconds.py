"""Times are whole seconds, what iCalendar can hold (an outside attack): fractions a client
sends for an event's times are cut to the second on the way in (fields.Instant), and a query
window's bounds, which store nothing, keep theirs."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Account, assert_problem, count_rows

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
WINDOW = {"start_time": "2027-01-01T00:00:00Z", "end_time": "2027-02-01T00:00:00Z"}


async def _instances(client: httpx.AsyncClient, who: Account, event_id: int) -> list[str]:
    got = await client.get(f"{EVENTS}/{event_id}/instances", params=WINDOW, headers=who.headers)
    assert got.status_code == 200, got.text
    return [f"{i['start_time']}/{i['end_time']}" for i in got.json()["items"]]


async def test_an_event_within_one_second_is_a_422_naming_its_end(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """10:00:00.25 to 10:00:00.75 was stored, and exported as DTSTART equal to DTEND."""
    body = {"title": "quick", "start_time": "2027-01-04T10:00:00.25Z"}
    response = await client.post(
        EVENTS, json=body | {"end_time": "2027-01-04T10:00:00.75Z"}, headers=alice.headers
    )
    problem = assert_problem(response, 422, "validation_error")
    assert [e["loc"] for e in problem["errors"]] == [["end_time"]]
    assert await count_rows(app, "events") == 0


async def test_a_series_starting_within_a_second_has_every_occurrence_on_the_second(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Its first occurrence was at .5 and the others at :00, so the first had a key no
    occurrence listing or export agreed on; an exdate at .5 named nothing."""
    response = await client.post(
        EVENTS,
        json={
            "title": "series",
            "start_time": "2027-01-04T10:00:00.5Z",
            "end_time": "2027-01-04T11:00:00.9999999Z",  # 7 digits: cut, not refused
            "timezone": "Europe/Berlin",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=DAILY;COUNT=4",
            "exdates": ["2027-01-05T10:00:00.5Z"],
            "rdates": ["2027-01-10T10:00:00.123+01:00"],
            "overrides": [
                {
                    "recurrence_id": "2027-01-06T10:00:00.5Z",
                    "start_time": "2027-01-06T12:00:00.5Z",
                    "end_time": "2027-01-06T13:00:00.5Z",
                }
            ],
        },
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    event = response.json()
    assert (event["start_time"], event["end_time"]) == (
        "2027-01-04T10:00:00Z",
        "2027-01-04T11:00:00Z",
    )
    assert event["exdates"] == ["2027-01-05T10:00:00Z"]
    assert event["rdates"] == ["2027-01-10T09:00:00Z"]
    assert event["overrides"][0]["recurrence_id"] == "2027-01-06T10:00:00Z"
    assert await _instances(client, alice, event["id"]) == [
        "2027-01-04T10:00:00Z/2027-01-04T11:00:00Z",
        "2027-01-06T12:00:00Z/2027-01-06T13:00:00Z",
        "2027-01-07T10:00:00Z/2027-01-07T11:00:00Z",
        "2027-01-10T09:00:00Z/2027-01-10T10:00:00Z",
    ]
    exported = await client.get(f"{EVENTS}/{event['id']}.ics", headers=alice.headers)
    assert "DTSTART;TZID=Europe/Berlin:20270104T110000\r\n" in exported.text
    # an occurrence named with the fraction a client kept is the one on the second
    moved = await client.put(
        f"{EVENTS}/{event['id']}/instances/2027-01-07T10:00:00.5Z",
        json={"start_time": "2027-01-07T10:30:00.75Z", "end_time": "2027-01-07T11:30:00.25Z"},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    found = await _instances(client, alice, event["id"])
    assert found[2] == "2027-01-07T10:30:00Z/2027-01-07T11:30:00Z"
    gone = await client.delete(
        f"{EVENTS}/{event['id']}/instances/2027-01-04T10:00:00.5Z", headers=alice.headers
    )
    assert gone.status_code == 204, gone.text
    assert len(await _instances(client, alice, event["id"])) == 3


async def test_times_from_javascript_that_only_touch_do_not_conflict(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """toISOString() writes milliseconds: 10:00:00.123-11:00:00.123, then 11:00-12:00 with
    ?conflicts=reject, was a 409 though the meetings only touch."""
    first = {"title": "a", "start_time": "2027-01-04T10:00:00.123Z"}
    response = await client.post(
        EVENTS, json=first | {"end_time": "2027-01-04T11:00:00.123Z"}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    second = {
        "title": "b",
        "start_time": "2027-01-04T11:00:00Z",
        "end_time": "2027-01-04T12:00:00Z",
    }
    response = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=second, headers=alice.headers
    )
    assert response.status_code == 201, response.text


async def test_a_window_keeps_its_fractions(client: httpx.AsyncClient, alice: Account) -> None:
    """A window stores nothing: cut to the second, [09:59:59.5, 10:00:00.5) would have been
    [09:59:59, 10:00:00) and missed the event starting at 10:00:00."""
    body = {"title": "a", "start_time": "2027-01-04T10:00:00Z", "end_time": "2027-01-04T11:00:00Z"}
    assert (await client.post(EVENTS, json=body, headers=alice.headers)).status_code == 201
    window = {"start_time": "2027-01-04T09:59:59.5Z", "end_time": "2027-01-04T10:00:00.5Z"}
    listed = await client.get(EVENTS, params=window, headers=alice.headers)
    assert [i["title"] for i in listed.json()["items"]] == ["a"]
