"""icalendar's process-wide zone cache (`ical/parsing.py`): empty between parses whatever users
send, and one user's VTIMEZONE never changes how another user's file is read.

icalendar kept the zone of every VTIMEZONE it parsed, the first of a TZID for the worker's
life: a resource a fresh TZID grew it without end, and after Alice's VTIMEZONE of a TZID, Bob's
file naming that TZID on a date without a VTIMEZONE (an all-day event, read in his zone) was
read as a timed event at midnight in no known zone: his CalDAV write of it refused, his import
of it a one-minute event.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from icalendar import Timezone
from icalendar.timezone import tzp

from neo_events.ical import parsing
from tests.api.test_ical_import import post
from tests.caldav.dav import Dav, dav_for

pytestmark = pytest.mark.anyio

RESOURCES = 40  # PUTs of each kind below, each with a TZID never sent before
BETWEEN_PARSES = 0  # the cache's entries when no parse runs: the bound the tests hold


def zone_cache() -> dict[str, Any]:
    """icalendar's zone cache itself: private (`TZP.__tz_cache`), so read here alone; the
    test below fails if icalendar's internals change under it."""
    cache: dict[str, Any] = tzp._TZP__tz_cache  # type: ignore[attr-defined]
    return cache


def vtimezone(tzid: str, offset: str) -> str:
    """A VTIMEZONE of one fixed offset (`+0530`), named `tzid`."""
    return (
        f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        f"TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )


def calendar(uid: str, tzid: str, day: str, zone: str = "", header: str = "") -> bytes:
    """One VEVENT on `day` in `tzid` (`20270110`: all day; `20270110T090000`: an hour from
    then), after `zone`."""
    end = f"{int(day[:8]) + 1}" if len(day) == 8 else f"{day[:9]}{int(day[9:11]) + 1}{day[11:]}"
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{header}{zone}"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID={tzid}:{day}\r\nDTEND;TZID={tzid}:{end}\r\n"
        f"SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def fresh(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex}"


async def stored(client: httpx.AsyncClient, who: Dav, uid: str) -> tuple[str, str, str]:
    """(start_time, end_time, timezone) of the user's event of that UID, as the API reads it."""
    listed = await client.get("/api/v1/events", params={"q": uid}, headers=who.account.headers)
    [event] = listed.json()["items"]
    return event["start_time"], event["end_time"], event["timezone"]


def test_the_cache_read_here_is_icalendars_and_a_change_of_provider_empties_it() -> None:
    """What the other tests and `parsing.forget_zones` rely on, through icalendar's own API
    where it has one: a VTIMEZONE parsed is kept under its TZID in the dict `zone_cache`
    reads, and `tzp.use` empties it."""
    tzid = fresh("Kept")
    Timezone.from_ical(vtimezone(tzid, "+0530"))
    assert tzp.timezone(tzid) is not None
    assert tzid in zone_cache()
    parsing.forget_zones()
    assert tzp.timezone(tzid) is None
    assert zone_cache() == {}


async def test_the_cache_holds_nothing_between_parses_whatever_tzids_users_send(
    client: httpx.AsyncClient,
) -> None:
    """Resources each with a TZID never sent before: a VTIMEZONE of it, a vendor's id of a
    zone (`/vendor/Europe/Berlin`, which icalendar kept under its whole name), one in the
    calendar's own lines of a PUT refused after they are parsed (parsed outside the codec's
    lock, icalendar's warning of the vendor's id escaped: a 500 under these tests' warnings
    as errors), and an import of them all."""
    alice = await dav_for(client, "alice")
    custom = [fresh("Custom") for _ in range(RESOURCES)]
    for tzid in custom:
        uid = fresh("c")
        body = calendar(uid, tzid, "20270110T090000", vtimezone(tzid, "+0530"))
        assert (await alice.put(f"{uid}.ics", body)).status_code == 201
        assert await stored(client, alice, uid) == (
            "2027-01-10T03:30:00Z", "2027-01-10T04:30:00Z", "Asia/Kolkata"
        )  # fmt: skip
    for _ in range(RESOURCES):
        uid = fresh("v")
        body = calendar(uid, f"/{fresh('vendor')}/Europe/Berlin", "20270110T090000")
        assert (await alice.put(f"{uid}.ics", body)).status_code == 201
        assert (await stored(client, alice, uid))[0] == "2027-01-10T08:00:00Z"
    assert len(zone_cache()) <= BETWEEN_PARSES, list(zone_cache())[:5]
    for _ in range(RESOURCES):  # no VEVENT: refused once the calendar's lines are read
        header = f"DTSTART;TZID=/{fresh('vendor')}/Europe/Berlin:20270110T090000\r\n"
        empty = calendar("h", "UTC", "20270110", header=header).split(b"BEGIN:VEVENT")[0]
        empty += b"END:VCALENDAR\r\n"
        assert (await alice.put(f"{fresh('h')}.ics", empty)).status_code == 403
    assert len(zone_cache()) <= BETWEEN_PARSES, list(zone_cache())[:5]
    assert all(tzp.timezone(tzid) is None for tzid in custom)

    tzids = [fresh("Imported") for _ in range(RESOURCES)]
    body = b"".join(
        calendar(fresh("i"), tzid, "20270110T090000", vtimezone(tzid, "+0100")) for tzid in tzids
    )
    response = await post(client, alice.account, body)
    assert response.status_code == 201, response.text
    assert len(response.json()["items"]) == RESOURCES
    assert len(zone_cache()) <= BETWEEN_PARSES, list(zone_cache())[:5]


async def test_one_users_vtimezone_does_not_change_how_anothers_file_is_read(
    client: httpx.AsyncClient,
) -> None:
    """Bob's all-day event names a TZID on its date and has no VTIMEZONE of it: read as his
    all-day event before Alice sends a VTIMEZONE of that TZID and after, by CalDAV and by
    import; with a VTIMEZONE of his own, his times are read in his, not in Alice's."""
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    tzid = fresh("Shared")
    all_day = ("2027-01-10T00:00:00Z", "2027-01-11T00:00:00Z", "UTC")

    before = calendar("b1", tzid, "20270110")
    assert (await bob.put("b1.ics", before)).status_code == 201
    assert await stored(client, bob, "b1") == all_day

    alices = calendar("a1", tzid, "20270110T090000", vtimezone(tzid, "+0530"))
    assert (await alice.put("a1.ics", alices)).status_code == 201
    assert (await stored(client, alice, "a1"))[0] == "2027-01-10T03:30:00Z"

    after = calendar("b2", tzid, "20270110")
    response = await bob.put("b2.ics", after)
    assert response.status_code == 201, response.text
    assert await stored(client, bob, "b2") == all_day
    imported = await post(client, bob.account, calendar("b3", tzid, "20270110"))
    assert imported.status_code == 201, imported.text
    assert await stored(client, bob, "b3") == all_day
    assert imported.json()["warnings"] == []

    his = calendar("b4", tzid, "20270110T090000", vtimezone(tzid, "+0900"))
    assert (await bob.put("b4.ics", his)).status_code == 201
    start, end, _ = await stored(client, bob, "b4")  # 09:00 at +09:00, not at Alice's +05:30
    assert (start, end) == ("2027-01-10T00:00:00Z", "2027-01-10T01:00:00Z")
