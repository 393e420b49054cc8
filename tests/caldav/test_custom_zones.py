"""An event in a file's VTIMEZONE that no IANA zone matches is at the instant the VTIMEZONE
gives (RFC 5545 §3.2.19), over CalDAV and import alike; a series whose wall clock no IANA zone
keeps is refused by CalDAV, said by the import (an outside attack read such times as floating,
so in UTC: 09:00 Eastern was stored as 09:00Z, silently)."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.api.test_ical_import import post
from tests.caldav.dav import dav_for
from tests.helpers import Account

pytestmark = pytest.mark.anyio

# What old Outlook and Lotus Notes still write: the US rules before 2007 (summer time from the
# first Sunday of April to the last Sunday of October), which no IANA zone keeps today
LEGACY_EASTERN = """BEGIN:VTIMEZONE
TZID:Eastern Time (US & Canada)
BEGIN:STANDARD
DTSTART:16011028T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010401T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
END:VTIMEZONE
"""
ODD_FIXED = """BEGIN:VTIMEZONE
TZID:Odd Fixed
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:+0117
TZOFFSETTO:+0117
END:STANDARD
END:VTIMEZONE
"""


def calendar(zone: str, tzid: str, uid: str, day: str = "20270615", extra: str = "") -> bytes:
    text = f"""BEGIN:VCALENDAR
PRODID:-//Custom//EN
VERSION:2.0
{zone}BEGIN:VEVENT
DTSTAMP:20261206T100000Z
UID:{uid}
SUMMARY:{uid}
DTSTART;TZID="{tzid}":{day}T090000
DTEND;TZID="{tzid}":{day}T100000
{extra}END:VEVENT
END:VCALENDAR
"""
    return text.replace("\n", "\r\n").encode()


async def test_a_caldav_put_in_a_custom_zone_is_at_the_instant_its_vtimezone_gives(
    client: httpx.AsyncClient,
) -> None:
    alice = await dav_for(client, "alice")
    for zone, tzid, day, start, kept in (
        (LEGACY_EASTERN, "Eastern Time (US & Canada)", "20270615", "2027-06-15T13:00:00Z", "-04"),
        # 20 March: still winter by the old rules (-05:00) though New York is on summer time
        (LEGACY_EASTERN, "Eastern Time (US & Canada)", "20270320", "2027-03-20T14:00:00Z", "-05"),
        (ODD_FIXED, "Odd Fixed", "20270615", "2027-06-15T07:43:00Z", "UTC"),
    ):
        uid = str(uuid.uuid4())
        response = await alice.put(
            f"{uid}.ics", calendar(zone, tzid, uid, day), **{"If-None-Match": "*"}
        )
        assert response.status_code == 201, response.text
        [event] = (
            await client.get("/api/v1/events", params={"q": uid}, headers=alice.account.headers)
        ).json()["items"]
        assert event["start_time"] == start
        if kept == "UTC":
            assert event["timezone"] == "UTC"  # no IANA zone is +01:17: the exact instants
        else:  # an IANA zone with the VTIMEZONE's offset then: 09:00 on its clock too
            shown = datetime.fromisoformat(start).astimezone(ZoneInfo(event["timezone"]))
            assert (shown.hour, shown.strftime("%z")[:3]) == (9, kept), event["timezone"]


async def test_a_series_no_iana_zone_keeps_is_refused_by_caldav_not_stored_wrong(
    client: httpx.AsyncClient,
) -> None:
    """A weekly series in the old Eastern rules would be an hour off from 14 March (New York's
    summer time) to 4 April: refused, nothing written. Three weeks in June fit New York."""
    alice = await dav_for(client, "alice")
    weekly = calendar(
        LEGACY_EASTERN, "Eastern Time (US & Canada)", "w1", extra="RRULE:FREQ=WEEKLY\n"
    )
    response = await alice.put("w1.ics", weekly)
    assert response.status_code == 403, response.text
    assert b"valid-calendar-data" in response.content
    assert b"not its VTIMEZONE's" in response.content
    fixed = calendar(ODD_FIXED, "Odd Fixed", "w2", extra="RRULE:FREQ=DAILY;COUNT=2\n")
    assert (await alice.put("w2.ics", fixed)).status_code == 403
    listed = await client.get("/api/v1/events", headers=alice.account.headers)
    assert listed.json()["items"] == []
    short = calendar(
        LEGACY_EASTERN, "Eastern Time (US & Canada)", "w3", extra="RRULE:FREQ=WEEKLY;COUNT=3\n"
    )
    assert (await alice.put("w3.ics", short)).status_code == 201


async def test_an_import_reads_a_custom_zone_from_its_vtimezone_and_says_so(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = calendar(LEGACY_EASTERN, "Eastern Time (US & Canada)", "i1")
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    [event] = response.json()["items"]
    assert event["start_time"] == "2027-06-15T13:00:00Z"
    [warning] = response.json()["warnings"]
    assert warning["message"].startswith(
        "time zone 'Eastern Time (US & Canada)' matches no IANA zone: its times are read "
        "from its VTIMEZONE, the event kept in"
    )
    assert "floating" not in warning["message"]


US_EASTERN = (
    LEGACY_EASTERN.replace("TZID:Eastern Time (US & Canada)", "TZID:US-Eastern")
    .replace(
        "DTSTART:16011028T020000\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
        "DTSTART:20071104T020000\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
    )
    .replace(
        "DTSTART:16010401T020000\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4",
        "DTSTART:20070311T020000\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
    )
)


async def test_the_zone_a_tzid_names_most_is_read_under_its_usual_name(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """`US-Eastern` (today's US rules) was read as Canada/Eastern: both name "Eastern", and
    the first by name won. US/Eastern names more of it; it is America/New_York."""
    response = await post(client, alice, calendar(US_EASTERN, "US-Eastern", "e1"))
    assert response.status_code == 201, response.text
    [event] = response.json()["items"]
    assert (event["timezone"], event["start_time"]) == ("America/New_York", "2027-06-15T13:00:00Z")
    [warning] = response.json()["warnings"]
    assert warning["message"] == "time zone 'US-Eastern' read as 'America/New_York' (same offsets)"
