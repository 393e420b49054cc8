"""Every calendar a user brings (issue #18) through HTTP: all-day and multi-day events,
transparency, RDATE series and sub-daily rules — created, validated, listed from other
zones, converted, and kept out of conflicts and free/busy when free."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Account, assert_problem, count_rows, created

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"


def all_day(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"title": "Holiday", "all_day": True, "start_date": "2026-12-24"}
    body.update(extra)
    return body


async def post(client: httpx.AsyncClient, who: Account, body: dict[str, Any]) -> httpx.Response:
    return await client.post(EVENTS, json=body, headers=who.headers)


async def window(
    client: httpx.AsyncClient, who: Account, start: str, end: str, **params: str
) -> list[dict[str, Any]]:
    response = await client.get(
        EVENTS, params={"start_time": start, "end_time": end, **params}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- all-day and multi-day events ----------------------------------------------------------


async def test_an_all_day_event_is_its_dates_and_free_by_default(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(client, alice, all_day(timezone="Europe/Berlin"))
    assert event["all_day"] is True
    assert (event["start_date"], event["end_date"]) == ("2026-12-24", "2026-12-25")
    assert event["transparency"] == "transparent"
    # its times are those days' midnights in its zone
    assert event["start_time"] == "2026-12-23T23:00:00Z"
    assert event["end_time"] == "2026-12-24T23:00:00Z"
    timed = await created(
        client,
        alice,
        {"title": "t", "start_time": "2026-12-01T09:00:00Z", "end_time": "2026-12-01T10:00:00Z"},
    )
    assert (timed["all_day"], timed["start_date"], timed["end_date"]) == (False, None, None)
    assert timed["transparency"] == "opaque"
    assert timed["rdates"] == []


async def test_an_all_day_event_may_be_created_with_its_midnights_as_read_back(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """A client may send the times it would read back (the days' midnights in the event's
    zone), in any offset, on a create as on a PUT; other times are refused and write
    nothing. (An outside attack: a create compared the times as written with the
    midnights' text, so it refused every one, and the web client could make no all-day
    event.)"""
    body = all_day(start_date="2026-10-25", end_date="2026-10-26", timezone="Europe/Berlin")
    for start, end in (
        ("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
        ("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"),
        ("2026-10-24T22:00:00.000Z", "2026-10-25T23:00:00.000Z"),
    ):
        event = await created(client, alice, body | {"start_time": start, "end_time": end})
        assert (event["start_time"], event["end_time"]) == (
            "2026-10-24T22:00:00Z",
            "2026-10-25T23:00:00Z",
        )
    before = await count_rows(app, "events")
    wrong = await client.post(
        EVENTS,
        json=body | {"start_time": "2026-10-25T07:15:00Z", "end_time": "2026-10-26T07:15:00Z"},
        headers=alice.headers,
    )
    assert_problem(wrong, 422, "validation_error")
    assert await count_rows(app, "events") == before


async def test_an_all_day_item_listed_from_another_zone_can_be_put_back(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """SPEC §4: a client may PUT back what it read. A listing with `timezone=` shows an
    all-day event at its dates' midnights in that zone: sent back, those times are echoes,
    ignored (the dates and the event's zone decide) — also after the client moved the dates
    and kept the times it read. Times that are no dates' midnights in one zone are still
    refused, naming the field, and write nothing. (An outside attack: the item as read was a
    422 "an all-day event is given by start_date and end_date".)"""
    body = all_day(start_date="2027-12-24", end_date="2027-12-27", timezone="Europe/Berlin")
    event = await created(client, alice, body)
    url = f"{EVENTS}/{event['id']}"
    berlin = ("2027-12-23T23:00:00Z", "2027-12-26T23:00:00Z")
    [item] = await window(
        client, alice, "2027-12-20T00:00:00Z", "2028-01-01T00:00:00Z", timezone="Asia/Tokyo"
    )
    assert (item["start_time"], item["end_time"]) == (
        "2027-12-23T15:00:00Z",
        "2027-12-26T15:00:00Z",
    )
    put = await client.put(url, json=item, headers=alice.headers)
    assert put.status_code == 200, put.text
    assert (put.json()["start_time"], put.json()["end_time"]) == berlin
    assert put.json()["version"] == 1  # nothing changed: no version
    moved = await client.put(
        url,
        json=item | {"start_date": "2027-12-25", "end_date": "2027-12-28"},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["start_date"], moved.json()["end_date"]) == ("2027-12-25", "2027-12-28")
    assert moved.json()["start_time"] == "2027-12-24T23:00:00Z" and moved.json()["version"] == 2
    la = ("2027-12-25T08:00:00Z", "2027-12-28T08:00:00Z")  # Los Angeles' midnights, as listed
    for start, end, loc in (
        (la[0], "2027-12-27T15:00:00Z", "start_time"),  # one Los Angeles, one Tokyo midnight
        (la[0], "2027-12-28T08:17:00Z", "end_time"),  # no date's midnight anywhere
        ("2027-12-25T09:17:00Z", la[1], "start_time"),
    ):
        wrong = await client.put(
            url, json={"start_time": start, "end_time": end}, headers=alice.headers
        )
        problem = assert_problem(wrong, 422, "validation_error")
        assert [e["loc"] for e in problem["errors"]] == [[loc]], problem
    patched = await client.patch(
        url, json={"start_time": la[0], "end_time": la[1]}, headers=alice.headers
    )
    assert patched.status_code == 200 and patched.json()["version"] == 2, patched.text


async def test_a_multi_day_holiday_is_listed_on_its_days_from_tokyo_and_los_angeles(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(
        client, alice, all_day(start_date="2026-12-24", end_date="2026-12-27", timezone="UTC")
    )
    assert event["end_date"] == "2026-12-27"
    for zone, start, end in (
        ("Asia/Tokyo", "2026-12-23T15:00:00Z", "2026-12-26T15:00:00Z"),
        ("America/Los_Angeles", "2026-12-24T08:00:00Z", "2026-12-27T08:00:00Z"),
    ):
        items = await window(
            client, alice, "2026-12-20T00:00:00Z", "2027-01-05T00:00:00Z", timezone=zone
        )
        assert [(i["start_time"], i["end_time"]) for i in items] == [(start, end)], zone
        assert [(i["start_date"], i["end_date"], i["all_day"]) for i in items] == [
            ("2026-12-24", "2026-12-27", True)
        ]
    # a window that holds only Tokyo's 26 December finds it from Tokyo, not from Los Angeles
    tokyo = await window(
        client, alice, "2026-12-26T00:00:00Z", "2026-12-26T12:00:00Z", timezone="Asia/Tokyo"
    )
    assert len(tokyo) == 1
    la = await window(
        client,
        alice,
        "2026-12-23T00:00:00Z",
        "2026-12-24T07:00:00Z",
        timezone="America/Los_Angeles",
    )
    assert la == []


async def test_a_yearly_birthday_on_29_february_falls_on_the_last_day_of_february(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(
        client,
        alice,
        all_day(
            title="Birthday",
            start_date="2028-02-29",
            timezone="Asia/Tokyo",
            is_recurring=True,
            recurrence_pattern="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
        ),
    )
    response = await client.get(
        f"{EVENTS}/{event['id']}/instances",
        params={"start_time": "2028-01-01T00:00:00Z", "end_time": "2029-01-01T00:00:00Z"},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    assert [i["start_date"] for i in response.json()["items"]] == ["2028-02-29"]
    items = await window(
        client, alice, "2029-01-01T00:00:00Z", "2030-01-01T00:00:00Z", timezone="UTC"
    )
    assert [(i["start_date"], i["recurrence_id"]) for i in items] == [("2029-02-28", "2029-02-28")]
    assert items[0]["start_time"] == "2029-02-28T00:00:00Z"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        # with times that are no midnight of its date anywhere (09:00Z is Anchorage's)
        (all_day(start_time="2026-12-24T09:15:00Z"), ["start_time"]),
        (all_day(end_date="2026-12-24"), ["end_date"]),  # end not after start
        (all_day(end_date="2026-12-20"), ["end_date"]),
        ({"title": "x", "all_day": True}, ["start_date"]),
        (all_day(start_date="2026-02-30"), ["start_date"]),
        (all_day(start_date="1899-12-31"), ["start_date"]),
        (all_day(start_date=None), ["start_date"]),
        (
            {
                "title": "x",
                "start_time": "2026-12-01T09:00:00Z",
                "end_time": "2026-12-01T10:00:00Z",
                "start_date": "2026-12-01",
            },
            ["start_date"],
        ),
        (all_day(transparency="busy"), ["transparency"]),
        (all_day(all_day=None), ["all_day"]),
        (
            all_day(is_recurring=True, recurrence_pattern="FREQ=HOURLY;INTERVAL=4"),
            ["recurrence_pattern"],
        ),
        (
            all_day(is_recurring=True, recurrence_pattern="FREQ=DAILY;BYHOUR=9"),
            ["recurrence_pattern"],
        ),
        (
            all_day(
                is_recurring=True,
                recurrence_pattern="FREQ=WEEKLY",
                exdates=["2026-12-31T00:00:00Z"],
            ),
            ["exdates", 0],
        ),
        (
            all_day(is_recurring=True, recurrence_pattern="FREQ=WEEKLY", exdates=["2026-12-30"]),
            ["exdates", 0],
        ),
        (
            all_day(
                is_recurring=True,
                recurrence_pattern="FREQ=WEEKLY",
                overrides=[{"recurrence_id": "2026-12-30", "title": "late"}],
            ),
            ["overrides", 0, "recurrence_id"],
        ),
        (
            all_day(
                is_recurring=True,
                recurrence_pattern="FREQ=WEEKLY",
                overrides=[{"recurrence_id": "2026-12-31", "start_time": "2026-12-31T09:00:00Z"}],
            ),
            ["overrides", 0, "start_time"],
        ),
        # a date is YYYY-MM-DD: an instant at midnight UTC was taken as that day
        (all_day(start_date="2026-12-24T00:00:00Z"), ["start_date"]),
        (all_day(end_date="2026-12-26T00:00:00"), ["end_date"]),
    ],
)
async def test_bad_all_day_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, alice: Account, body: dict[str, Any], loc: list[Any]
) -> None:
    problem = assert_problem(await post(client, alice, body), 422, "validation_error")
    assert [e["loc"] for e in problem["errors"]] == [loc], problem


async def test_an_all_day_series_takes_date_exceptions(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(
        client,
        alice,
        all_day(
            title="Day off",
            start_date="2026-12-04",
            timezone="Europe/Berlin",
            is_recurring=True,
            recurrence_pattern="FREQ=WEEKLY;BYDAY=FR;UNTIL=20261225",
            exdates=["2026-12-11"],
            rdates=["2026-12-23"],
            overrides=[{"recurrence_id": "2026-12-18", "start_date": "2026-12-17"}],
        ),
    )
    assert event["exdates"] == ["2026-12-11"]
    assert event["rdates"] == ["2026-12-23"]
    assert event["overrides"][0]["recurrence_id"] == "2026-12-18"
    assert event["overrides"][0]["start_date"] == "2026-12-17"
    items = await window(client, alice, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert [(i["start_date"], i["end_date"], i["recurrence_id"]) for i in items] == [
        ("2026-12-04", "2026-12-05", "2026-12-04"),
        ("2026-12-17", "2026-12-18", "2026-12-18"),  # moved a day earlier
        ("2026-12-23", "2026-12-24", "2026-12-23"),  # the rdate
        ("2026-12-25", "2026-12-26", "2026-12-25"),  # UNTIL is a date: that day included
    ]
    # an occurrence is found by its date in a path, and cancelled like any other
    response = await client.delete(
        f"{EVENTS}/{event['id']}/instances/2026-12-23", headers=alice.headers
    )
    assert response.status_code == 204, response.text
    items = await window(client, alice, "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert "2026-12-23" not in [i["start_date"] for i in items]


async def _days_listed(
    client: httpx.AsyncClient, alice: Account, event: dict[str, Any], zone: str
) -> list[str]:
    listed = await client.get(
        f"{EVENTS}/{event['id']}/instances",
        params={
            "start_time": "2027-02-20T00:00:00Z",
            "end_time": "2027-04-01T00:00:00Z",
            "timezone": zone,
        },
        headers=alice.headers,
    )
    assert listed.status_code == 200, listed.text
    return [i["start_date"] or i["start_time"] for i in listed.json()["items"]]


async def test_a_series_converted_between_timed_and_all_day_ends_on_the_same_day(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """An all-day rule's UNTIL is a date (RFC 5545: a date DTSTART takes a date UNTIL), and
    a conversion either way keeps the day the series ends on (an outside attack: a New York
    series ending on 20 March gained the 21st; a Tokyo one a day too)."""
    new_york = await created(
        client,
        alice,
        {
            "title": "Standup",
            "start_time": "2027-03-01T09:00:00-05:00",
            "end_time": "2027-03-01T09:30:00-05:00",
            "timezone": "America/New_York",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=DAILY;UNTIL=20270320",
        },
    )
    assert len(await _days_listed(client, alice, new_york, "America/New_York")) == 20
    turned = await client.patch(
        f"{EVENTS}/{new_york['id']}", json={"all_day": True}, headers=alice.headers
    )
    assert turned.status_code == 200, turned.text
    assert turned.json()["recurrence_pattern"] == "FREQ=DAILY;UNTIL=20270320"
    listed = await _days_listed(client, alice, new_york, "America/New_York")
    assert (len(listed), listed[-1]) == (20, "2027-03-20")

    tokyo = await created(
        client,
        alice,
        all_day(
            start_date="2027-03-01",
            timezone="Asia/Tokyo",
            is_recurring=True,
            recurrence_pattern="FREQ=DAILY;UNTIL=20270310T120000",
        ),
    )
    assert tokyo["recurrence_pattern"] == "FREQ=DAILY;UNTIL=20270310"
    assert len(await _days_listed(client, alice, tokyo, "Asia/Tokyo")) == 10
    timed = await client.patch(
        f"{EVENTS}/{tokyo['id']}",
        json={
            "all_day": False,
            "start_time": "2027-03-01T09:00:00+09:00",
            "end_time": "2027-03-01T10:00:00+09:00",
        },
        headers=alice.headers,
    )
    assert timed.status_code == 200, timed.text
    listed = await _days_listed(client, alice, tokyo, "Asia/Tokyo")
    assert (len(listed), listed[-1]) == (10, "2027-03-10T00:00:00Z")


async def test_a_series_turned_all_day_and_back_keeps_its_cancelled_and_renamed_days(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Timed, all-day, then timed again at its old time: a date becomes that day's
    occurrence at the new start's time, not its midnight (no occurrence then, so the
    cancelled days came back and the renamed one lost its name: an outside attack)."""
    event = await created(
        client,
        alice,
        {
            "title": "Standup",
            "start_time": "2027-03-01T09:00:00+01:00",
            "end_time": "2027-03-01T09:30:00+01:00",
            "timezone": "Europe/Berlin",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=DAILY;COUNT=10",
            "exdates": ["2027-03-02T08:00:00Z", "2027-03-04T08:00:00Z"],
            "overrides": [{"recurrence_id": "2027-03-03T08:00:00Z", "title": "Retro"}],
        },
    )
    path = f"{EVENTS}/{event['id']}"
    day = await client.patch(path, json={"all_day": True}, headers=alice.headers)
    assert day.status_code == 200, day.text
    assert day.json()["exdates"] == ["2027-03-02", "2027-03-04"]
    back = await client.patch(
        path,
        json={
            "all_day": False,
            "start_time": "2027-03-01T09:00:00+01:00",
            "end_time": "2027-03-01T09:30:00+01:00",
        },
        headers=alice.headers,
    )
    assert back.status_code == 200, back.text
    assert back.json()["exdates"] == ["2027-03-02T08:00:00Z", "2027-03-04T08:00:00Z"]
    assert [(o["recurrence_id"], o["title"]) for o in back.json()["overrides"]] == [
        ("2027-03-03T08:00:00Z", "Retro")
    ]


async def test_converting_between_timed_and_all_day_is_one_new_version(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(
        client,
        alice,
        {
            "title": "Offsite",
            "start_time": "2026-06-01T09:00:00+02:00",
            "end_time": "2026-06-03T17:00:00+02:00",
            "timezone": "Europe/Berlin",
        },
    )
    response = await client.patch(
        f"{EVENTS}/{event['id']}", json={"all_day": True}, headers=alice.headers
    )
    assert response.status_code == 200, response.text
    converted = response.json()
    assert converted["version"] == 2
    assert (converted["start_date"], converted["end_date"]) == ("2026-06-01", "2026-06-04")
    assert converted["transparency"] == "transparent"  # the default follows the kind
    history = (await client.get(f"{EVENTS}/{event['id']}/history", headers=alice.headers)).json()
    assert [v["version"] for v in history["items"]] == [2, 1]
    # the diff shows dates, not midnights
    diff = (await client.get(f"{EVENTS}/{event['id']}/diff/1/2", headers=alice.headers)).json()
    fields = {c["field"]: (c["old"], c["new"]) for c in diff["changes"]}
    assert fields["all_day"] == (False, True)
    assert fields["start_date"] == (None, "2026-06-01")
    # a PUT of what was read (times included) changes nothing; a move by date keeps the length
    again = await client.put(f"{EVENTS}/{event['id']}", json=converted, headers=alice.headers)
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 2
    moved = await client.patch(
        f"{EVENTS}/{event['id']}", json={"start_date": "2026-06-10"}, headers=alice.headers
    )
    assert (moved.json()["start_date"], moved.json()["end_date"]) == ("2026-06-10", "2026-06-13")
    diff = (await client.get(f"{EVENTS}/{event['id']}/diff/2/3", headers=alice.headers)).json()
    assert [c["field"] for c in diff["changes"]] == ["start_date", "end_date"]
    back = await client.patch(
        f"{EVENTS}/{event['id']}",
        json={
            "all_day": False,
            "start_time": "2026-06-10T09:00:00+02:00",
            "end_time": "2026-06-10T10:00:00+02:00",
        },
        headers=alice.headers,
    )
    assert back.status_code == 200, back.text
    body = back.json()
    assert (body["all_day"], body["start_date"], body["transparency"]) == (False, None, "opaque")
    # rolling back to the all-day version restores it
    rolled = await client.post(f"{EVENTS}/{event['id']}/rollback/3", headers=alice.headers)
    assert rolled.status_code == 200, rolled.text
    assert (rolled.json()["all_day"], rolled.json()["start_date"]) == (True, "2026-06-10")


# --- transparency --------------------------------------------------------------------------


async def test_transparent_events_never_conflict_and_are_never_busy(
    client: httpx.AsyncClient, alice: Account
) -> None:
    slot = {"start_time": "2026-12-01T09:00:00Z", "end_time": "2026-12-01T10:00:00Z"}
    free = await created(client, alice, {"title": "Maybe", "transparency": "transparent", **slot})
    response = await client.post(
        EVENTS,
        params={"conflicts": "reject"},
        json={"title": "Busy", **slot},
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    busy = response.json()
    # a transparent event made now does not conflict with the busy one either
    response = await client.post(
        EVENTS,
        params={"conflicts": "reject"},
        json={"title": "Also free", "transparency": "transparent", **slot},
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    freebusy = await client.get(
        "/api/v1/freebusy",
        params={"start_time": "2026-12-01T00:00:00Z", "end_time": "2026-12-02T00:00:00Z"},
        headers=alice.headers,
    )
    assert freebusy.json()["busy"] == [
        {"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z"}
    ]
    conflicts = await client.get(f"{EVENTS}/{free['id']}/conflicts", headers=alice.headers)
    assert conflicts.json()["items"] == []
    # making the free one busy is checked like a move
    response = await client.patch(
        f"{EVENTS}/{free['id']}",
        params={"conflicts": "reject"},
        json={"transparency": "opaque"},
        headers=alice.headers,
    )
    body = assert_problem(response, 409, "schedule_conflict")
    assert [c["event_id"] for c in body["conflicts"]] == [busy["id"]]
    # an opaque all-day event blocks its whole day
    await created(client, alice, all_day(start_date="2026-12-02", transparency="opaque"))
    freebusy = await client.get(
        "/api/v1/freebusy",
        params={"start_time": "2026-12-02T00:00:00Z", "end_time": "2026-12-03T00:00:00Z"},
        headers=alice.headers,
    )
    assert freebusy.json()["busy"] == [
        {"start": "2026-12-02T00:00:00Z", "end": "2026-12-03T00:00:00Z"}
    ]


# --- rdates --------------------------------------------------------------------------------


async def test_an_rdate_only_series(client: httpx.AsyncClient, alice: Account) -> None:
    event = await created(
        client,
        alice,
        {
            "title": "Sessions",
            "start_time": "2026-12-01T09:00:00Z",
            "end_time": "2026-12-01T10:30:00Z",
            "rdates": ["2026-12-03T14:00:00+01:00", "2026-12-08T09:00:00Z"],
        },
    )
    assert event["is_recurring"] is True and event["recurrence_pattern"] is None
    assert event["rdates"] == ["2026-12-03T13:00:00Z", "2026-12-08T09:00:00Z"]
    items = await window(client, alice, "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert [(i["start_time"], i["end_time"], i["recurrence_id"]) for i in items] == [
        ("2026-12-01T09:00:00Z", "2026-12-01T10:30:00Z", "2026-12-01T09:00:00Z"),
        ("2026-12-03T13:00:00Z", "2026-12-03T14:30:00Z", "2026-12-03T13:00:00Z"),
        ("2026-12-08T09:00:00Z", "2026-12-08T10:30:00Z", "2026-12-08T09:00:00Z"),
    ]
    # an rdate occurrence is edited and cancelled like any other
    path = f"{EVENTS}/{event['id']}/instances/2026-12-03T13:00:00Z"
    response = await client.put(path, json={"title": "Moved"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    response = await client.delete(
        f"{EVENTS}/{event['id']}/instances/2026-12-08T09:00:00Z", headers=alice.headers
    )
    assert response.status_code == 204, response.text
    items = await window(client, alice, "2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert [i["title"] for i in items] == ["Sessions", "Moved"]


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ({"rdates": ["2026-12-08T09:00:00Z"]}, ["rdates", 0]),  # already an occurrence
        ({"rdates": ["2026-11-30T09:00:00Z"]}, ["rdates", 0]),  # before the start
        ({"rdates": ["2026-12-01T09:00:00Z"]}, ["rdates", 0]),  # the start itself
        ({"rdates": ["2026-12-09"]}, ["rdates", 0]),  # a date on a timed event
        ({"rdates": ["2026-12-09T09:00:00"]}, ["rdates", 0]),  # no offset
        ({"is_recurring": False, "recurrence_pattern": None}, ["rdates"]),
    ],
)
async def test_bad_rdates_are_a_422(
    client: httpx.AsyncClient, alice: Account, extra: dict[str, Any], loc: list[Any]
) -> None:
    body = {
        "title": "Weekly",
        "start_time": "2026-12-01T09:00:00Z",
        "end_time": "2026-12-01T10:00:00Z",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=WEEKLY",
        "rdates": ["2026-12-09T09:00:00Z"],
        **extra,
    }
    problem = assert_problem(await post(client, alice, body), 422, "validation_error")
    assert [e["loc"] for e in problem["errors"]] == [loc], problem


# --- sub-daily rules -----------------------------------------------------------------------


async def test_every_four_hours_follows_the_wall_clock_across_a_dst_change(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(
        client,
        alice,
        {
            "title": "Medication",
            "start_time": "2026-10-24T20:00:00+02:00",
            "end_time": "2026-10-24T20:05:00+02:00",
            "timezone": "Europe/Berlin",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=HOURLY;INTERVAL=4",
        },
    )
    response = await client.get(
        f"{EVENTS}/{event['id']}/instances",
        params={"start_time": "2026-10-24T00:00:00Z", "end_time": "2026-10-25T16:00:00Z"},
        headers=alice.headers,
    )
    # 20:00, 00:00, 04:00 (after the clocks went back at 03:00: five hours later), 08:00, 12:00
    assert [i["start_time"] for i in response.json()["items"]] == [
        "2026-10-24T18:00:00Z",
        "2026-10-24T22:00:00Z",
        "2026-10-25T03:00:00Z",
        "2026-10-25T07:00:00Z",
        "2026-10-25T11:00:00Z",
        "2026-10-25T15:00:00Z",
    ]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MINUTELY;INTERVAL=90",
        "FREQ=HOURLY;BYMINUTE=0,30;BYDAY=MO,WE",
        "FREQ=MONTHLY;BYDAY=MO,1TU",
        "FREQ=HOURLY;BYHOUR=9,10,11;BYSETPOS=-1",
        "FREQ=MINUTELY;INTERVAL=15;BYSECOND=0",
    ],
)
async def test_every_rrule_part_is_accepted(
    client: httpx.AsyncClient, alice: Account, rule: str
) -> None:
    await created(
        client,
        alice,
        {
            "title": "Rule",
            "start_time": "2026-12-01T09:00:00Z",
            "end_time": "2026-12-01T09:05:00Z",
            "is_recurring": True,
            "recurrence_pattern": rule,
        },
    )


async def test_secondly_is_refused_naming_the_limit(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await post(
        client,
        alice,
        {
            "title": "Rule",
            "start_time": "2026-12-01T09:00:00Z",
            "end_time": "2026-12-01T09:05:00Z",
            "is_recurring": True,
            "recurrence_pattern": "FREQ=SECONDLY",
        },
    )
    body = assert_problem(response, 422, "unsupported_recurrence")
    assert "once a minute" in body["detail"]


async def test_all_day_events_merge_sync_and_reach_the_feed(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(client, alice, all_day(rdates=[], timezone="Europe/Berlin"))
    path = f"{EVENTS}/{event['id']}"
    renamed = await client.patch(path, json={"title": "Xmas"}, headers=alice.headers)
    assert renamed.status_code == 200
    # an edit made against version 1 merges with the rename: both kept
    moved = await client.patch(
        path, json={"start_date": "2026-12-25", "base_version": 1}, headers=alice.headers
    )
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["title"], body["start_date"], body["end_date"], body["merged"]) == (
        "Xmas",
        "2026-12-25",
        "2026-12-26",
        True,
    )
    synced = (await client.get("/api/v1/sync", headers=alice.headers)).json()
    [change] = [c for c in synced["changes"] if c["event_id"] == event["id"]]
    assert (change["event"]["all_day"], change["event"]["start_date"]) == (True, "2026-12-25")
    token = (await client.post("/api/v1/feed-tokens", headers=alice.headers)).json()["token"]
    feed = await client.get("/api/v1/calendar.ics", params={"token": token})
    text = feed.text.replace("\r\n ", "")
    assert "DTSTART;VALUE=DATE:20261225" in text and "DTEND;VALUE=DATE:20261226" in text
    assert "TRANSP:TRANSPARENT" in text
