"""A CalDAV client editing events on the nights a DST change skips or repeats an hour (an
outside attack): the PUTs Thunderbird makes were refused ("has no duration"), and the same
text imported lasted a minute or an hour too long. A CalDAV write and an import are one
reading (ical/times.py's `end_of`)."""

from __future__ import annotations

import httpx
import pytest

from tests.caldav.dav import dav_for

pytestmark = pytest.mark.anyio

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
"""


def vevent(uid: str, *lines: str) -> str:
    return "\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261201T000000Z", *lines, ""]) + (
        "END:VEVENT\n"
    )


def calendar(*events: str) -> bytes:
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\n"
    return (text + VTIMEZONE + "".join(events) + "END:VCALENDAR\n").replace("\n", "\r\n").encode()


def at(wall: str) -> str:
    return f"TZID=America/New_York:{wall}"


MASTER = vevent(
    "night",
    "SUMMARY:night shift check",
    f"DTSTART;{at('20270310T023000')}",
    f"DTEND;{at('20270310T033000')}",
    "RRULE:FREQ=DAILY;COUNT=10",
)


async def instants(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: int
) -> list[tuple[str, str, str]]:
    response = await client.get(
        f"/api/v1/events/{event_id}/instances",
        params={"start_time": "2027-03-01T00:00:00Z", "end_time": "2027-12-01T00:00:00Z"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [(i["start_time"], i["end_time"], i["title"]) for i in response.json()["items"]]


async def test_renaming_the_occurrence_on_the_spring_forward_night_is_saved(
    client: httpx.AsyncClient,
) -> None:
    alice = await dav_for(client, "alice")
    created = await alice.put("night.ics", calendar(MASTER), **{"If-None-Match": "*"})
    assert created.status_code == 201, created.text
    renamed = vevent(
        "night",
        "SUMMARY:night shift check (DST!)",
        f"RECURRENCE-ID;{at('20270314T023000')}",
        f"DTSTART;{at('20270314T023000')}",
        f"DTEND;{at('20270314T033000')}",
    )
    response = await alice.put("night.ics", calendar(MASTER, renamed))
    assert response.status_code == 204, response.text  # was a 403: "has no duration"
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    found = await instants(client, alice.account.headers, event["id"])
    # 02:30 does not exist on the 14th: the hour from 03:30 EDT, like every other day's
    assert found[4] == ("2027-03-14T07:30:00Z", "2027-03-14T08:30:00Z", "night shift check (DST!)")
    assert {(end[11:16], start[11:16]) for start, end, _ in found[5:]} == {("07:30", "06:30")}


async def test_this_and_following_from_the_spring_forward_night_is_saved(
    client: httpx.AsyncClient,
) -> None:
    alice = await dav_for(client, "alice")
    split = vevent(
        "night-2",
        "SUMMARY:night shift check v2",
        f"DTSTART;{at('20270314T023000')}",
        f"DTEND;{at('20270314T033000')}",
        "RRULE:FREQ=DAILY;COUNT=3",
    )
    response = await alice.put("night-2.ics", calendar(split), **{"If-None-Match": "*"})
    assert response.status_code == 201, response.text  # was a 403: "it has no duration"
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert [
        (s[5:16], e[5:16]) for s, e, _ in await instants(client, alice.account.headers, event["id"])
    ] == [
        ("03-14T07:30", "03-14T08:30"),
        ("03-15T06:30", "03-15T07:30"),
        ("03-16T06:30", "03-16T07:30"),
    ]


async def test_an_import_of_a_series_starting_on_either_night_lasts_the_written_hour(
    client: httpx.AsyncClient,
) -> None:
    alice = await dav_for(client, "alice")
    spring = vevent(
        "gap", f"DTSTART;{at('20270314T023000')}", f"DTEND;{at('20270314T033000')}",
        "RRULE:FREQ=DAILY;COUNT=3",
    )  # fmt: skip
    autumn = vevent(
        "fold", f"DTSTART;{at('20271107T013000')}", f"DTEND;{at('20271107T023000')}",
        "RRULE:FREQ=DAILY;COUNT=3",
    )  # fmt: skip
    response = await client.post(
        "/api/v1/events/import",
        content=calendar(spring, autumn),
        headers=alice.account.headers | {"content-type": "text/calendar"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == []
    for event in response.json()["items"]:
        found = await instants(client, alice.account.headers, event["id"])
        hours = {
            (int(e[11:13]) * 60 + int(e[14:16]) - int(s[11:13]) * 60 - int(s[14:16])) % 1440
            for s, e, _ in found
        }
        assert len(found) == 3 and hours == {60}, found  # was 1 minute, or 2 hours
