"""A CalDAV PUT of DATE-TIME values spelled as RFC 5545 allows (an outside attack): lowercase
`t` and `z`, a leap second, a blank after the value. Each was a 403."""

from __future__ import annotations

import httpx
import pytest

from tests.caldav.dav import dav_for, ics

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("start", "end", "stored"),
    [
        ("DTSTART:20260310t080000z", "DTEND;TZID=Europe/Berlin:20260310t100000", "08:00"),
        ("DTSTART:20161231T235960Z", "DTEND:20170101T010000Z", "00:00"),
        ("DTSTART:20260310T080000Z ", "DTEND:20260310T090000Z", "08:00"),
    ],
)
async def test_date_times_written_as_rfc_5545_allows_are_saved(
    client: httpx.AsyncClient, start: str, end: str, stored: str
) -> None:
    alice = await dav_for(client, "alice")
    body = ics().replace(b"DTSTART;TZID=Europe/Berlin:20260310T090000", start.encode())
    body = body.replace(b"DTEND;TZID=Europe/Berlin:20260310T100000", end.encode())
    response = await alice.put("spelled.ics", body, **{"If-None-Match": "*"})
    assert response.status_code == 201, response.text
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert event["start_time"][11:16] == stored
