"""free-busy-query REPORT (RFC 4791 §7.10): one VFREEBUSY holding the busy intervals the API's
`GET /api/v1/freebusy` gives for the same window (one code path), bounded like it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from tests.caldav.dav import dav_for, propfind, responses
from tests.helpers import create_event, register, share

pytestmark = pytest.mark.anyio

C = "{urn:ietf:params:xml:ns:caldav}"
D = "{DAV:}"
QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav">{range}</c:free-busy-query>"""


def query(start: str | None, end: str | None) -> str:
    attrs = "".join(f' {k}="{v}"' for k, v in (("start", start), ("end", end)) if v)
    return QUERY.format(range=f"<c:time-range{attrs}/>")


def periods(text: bytes) -> tuple[tuple[datetime, datetime], list[tuple[datetime, datetime]]]:
    """The VFREEBUSY's window and its FREEBUSY periods."""
    [component] = Calendar.from_ical(text).walk("VFREEBUSY")
    window = (component.decoded("DTSTART"), component.decoded("DTEND"))
    lines = component.get("FREEBUSY", [])
    found = []
    for line in lines if isinstance(lines, list) else [lines]:
        for start, end in [line.dt] if hasattr(line, "dt") else line.dts:
            found.append((start, end))
    return window, found


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


async def test_busy_time_as_the_api_gives_it(client) -> None:
    alice = await dav_for(client, "alice")
    bob = await register(client, "bob")
    me = alice.account
    await create_event(
        client, me, start_time="2026-03-10T09:00:00Z", end_time="2026-03-10T10:00:00Z"
    )
    # overlaps the first: one merged interval
    await create_event(
        client, me, start_time="2026-03-10T09:30:00Z", end_time="2026-03-10T10:30:00Z"
    )
    await create_event(  # free time is never busy
        client,
        me,
        start_time="2026-03-10T12:00:00Z",
        end_time="2026-03-10T13:00:00Z",
        transparency="transparent",
    )
    await create_event(
        client,
        me,
        title="Daily",
        start_time="2026-03-09T07:00:00Z",
        end_time="2026-03-09T07:30:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=3",
    )
    theirs = await create_event(
        client, bob, start_time="2026-03-11T15:00:00Z", end_time="2026-03-11T16:00:00Z"
    )
    await create_event(  # bob's alone: not in alice's calendar
        client, bob, start_time="2026-03-11T17:00:00Z", end_time="2026-03-11T18:00:00Z"
    )
    await share(client, bob, theirs["id"], me, "viewer")

    answer = await alice.request(
        "REPORT", alice.calendar, query("20260309T000000Z", "20260312T000000Z"), Depth="1"
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    window, busy = periods(answer.content)
    assert window == (at(9, 0), at(12, 0))
    assert busy == [
        (at(9, 7), at(9, 7, 30)),
        (at(10, 7), at(10, 7, 30)),
        (at(10, 9), at(10, 10, 30)),
        (at(11, 7), at(11, 7, 30)),
        (at(11, 15), at(11, 16)),
    ]
    api = await client.get(
        "/api/v1/freebusy",
        params={"start_time": "2026-03-09T00:00:00Z", "end_time": "2026-03-12T00:00:00Z"},
        headers=me.headers,
    )
    assert [
        (datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"]))
        for b in api.json()["busy"]
    ] == busy
    # clipped to the window, as the API clips
    clipped = await alice.request(
        "REPORT", alice.calendar, query("20260310T093000Z", "20260310T100000Z")
    )
    assert periods(clipped.content)[1] == [(at(10, 9, 30), at(10, 10))]
    empty = await alice.request(
        "REPORT", alice.calendar, query("20260401T000000Z", "20260402T000000Z")
    )
    assert empty.status_code == 200 and periods(empty.content)[1] == []


async def test_listed_and_bounded_like_the_api(client) -> None:
    alice = await dav_for(client, "alice")
    listed = await alice.request(
        "PROPFIND", alice.calendar, propfind("d:supported-report-set"), Depth="0"
    )
    reports = responses(listed.content)[alice.calendar]["props"][f"{D}supported-report-set"]
    assert f"{C}free-busy-query" in [r.tag for r in reports.iter()]
    too_long = await alice.request(
        "REPORT", alice.calendar, query("20260101T000000Z", "20270201T000000Z")
    )
    assert too_long.status_code == 403 and b"number-of-matches-within-limits" in too_long.content
    open_ended = await alice.request("REPORT", alice.calendar, query("20260101T000000Z", None))
    assert open_ended.status_code == 403
    assert b"number-of-matches-within-limits" in open_ended.content
    backwards = await alice.request(
        "REPORT", alice.calendar, query("20260201T000000Z", "20260101T000000Z")
    )
    assert backwards.status_code == 403 and b"valid-filter" in backwards.content
    not_utc = await alice.request("REPORT", alice.calendar, query("2026-01-01", "2026-02-01"))
    assert not_utc.status_code == 403 and b"valid-filter" in not_utc.content
    no_range = await alice.request("REPORT", alice.calendar, QUERY.format(range=""))
    assert no_range.status_code == 400
    on_home = await alice.request(
        "REPORT", "/dav/calendars/alice/", query("20260101T000000Z", "20260102T000000Z")
    )
    assert on_home.status_code == 403 and b"supported-report" in on_home.content


async def test_too_many_occurrences_is_refused_like_the_api(client) -> None:
    alice = await dav_for(client, "alice")
    await create_event(
        client,
        alice.account,
        start_time="2026-01-01T00:00:00Z",
        end_time="2026-01-01T00:10:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=MINUTELY;INTERVAL=15",
    )
    window = {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-12-31T00:00:00Z"}
    api = await client.get("/api/v1/freebusy", params=window, headers=alice.account.headers)
    assert api.status_code == 422 and api.json()["code"] == "window_too_large"
    answer = await alice.request(
        "REPORT", alice.calendar, query("20260101T000000Z", "20261231T000000Z")
    )
    assert answer.status_code == 403 and b"number-of-matches-within-limits" in answer.content
