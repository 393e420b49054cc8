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
