"""How a CalDAV PUT reads a resource's text (findings of an outside attack: each test says
what went wrong)."""

from __future__ import annotations

import httpx
import pytest

from tests.caldav.dav import dav_for, ics

pytestmark = pytest.mark.anyio


async def test_a_character_cut_by_a_fold_is_read_whole(client: httpx.AsyncClient) -> None:
    """A writer that folds at a byte count cut the 'ö' in two: the PUT was a 403 ("'utf-8'
    codec can't decode"), where the import reads it whole (ical/decoding.py, one rule)."""
    alice = await dav_for(client, "alice")
    title = "Besprechung Größenplanung Übersicht für München"
    line = f"SUMMARY:{title}".encode()
    cut = line.index("ö".encode()) + 1
    body = ics(summary="x").replace(b"SUMMARY:x", line[:cut] + b"\r\n " + line[cut:])
    response = await alice.put("folded.ics", body, **{"If-None-Match": "*"})
    assert response.status_code == 201, response.text
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert event["title"] == title
    # bytes that are not UTF-8 are still refused: a resource is UTF-8 (RFC 4791 §5.3.4)
    latin = ics(uid="l", summary="Caf\xe9").replace("Café".encode(), b"Caf\xe9")
    refused = await alice.put("latin.ics", latin)
    assert refused.status_code == 403 and b"valid-calendar-data" in refused.content


@pytest.mark.parametrize(
    "line",
    [
        "SUMMARY;FOO:Board meeting",  # a parameter that is not NAME=value
        'LOCATION;X-A="q"x:Room 5',  # text after a quoted value
        'EXDATE;X-A="q"x:20260311T090000Z',
    ],
)
async def test_a_line_icalendar_cannot_parse_is_refused_not_left_out(
    client: httpx.AsyncClient, line: str
) -> None:
    """icalendar leaves out a line it cannot parse: the PUT was a 201 with an ETag, the
    writer read its own text back, and the event had lost its title, its location or an
    exdate for everyone else (an outside attack). SPEC §15: never silently dropped."""
    alice = await dav_for(client, "alice")
    body = ics(summary="x", extra=f"RRULE:FREQ=DAILY;COUNT=3\r\n{line}\r\n")
    response = await alice.put("bad.ics", body, **{"If-None-Match": "*"})
    assert response.status_code == 403, response.text
    assert b"valid-calendar-data" in response.content
    assert b"could not be read" in response.content
    listed = await client.get("/api/v1/events", headers=alice.account.headers)
    assert listed.json()["items"] == []
