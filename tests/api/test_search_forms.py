"""A search finds a text whatever Unicode form it and the search are written in: "café"
precomposed (NFC) finds "cafe" with a combining accent (NFD) and the other way round, in the
listing, with a window, and as it was (`as_of`); each form of the search text is a pass over
the texts, counted as such against the search's byte budget (`text_search.forms`). CalDAV's
i;unicode-casemap compares RFC 5051's decomposed forms (`caldav/textmatch.unicode_casemap`)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from neo_events.events import search_scan
from tests.caldav.dav import dav_for, responses
from tests.helpers import Account, assert_problem, created_many

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _event(title: str, day: int, **more: Any) -> dict[str, Any]:
    return {
        "title": title,
        "start_time": f"2026-06-{day:02d}T09:00:00Z",
        "end_time": f"2026-06-{day:02d}T10:00:00Z",
        "timezone": "UTC",
        **more,
    }


CALENDAR = [
    _event("Réunion café", 1),
    _event(nfd("Réunion café"), 2),
    _event("Notes", 3, description=nfd("Crème brûlée au café")),
    _event("Visit", 4, location=nfd("Zürich")),
    _event("Visit", 5, location="Zürich"),
    _event("cafe without an accent", 6),
]


async def _titles(client: httpx.AsyncClient, who: Account, **params: str) -> list[str]:
    response = await client.get(EVENTS, params=params | {"limit": "100"}, headers=who.headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return sorted(
        f"{item['title']}@{item['start_time'][8:10]}" for item in response.json()["items"]
    )


@pytest.mark.parametrize("needle", ["café", nfd("café"), "CAFÉ"[:3] + "é"])
async def test_a_search_finds_both_forms_of_an_accented_text(
    client: httpx.AsyncClient, alice: Account, needle: str
) -> None:
    await created_many(client, alice, CALENDAR)
    found = ["Notes@03", "Réunion café@01", f"{nfd('Réunion café')}@02"]
    assert await _titles(client, alice, q=needle) == sorted(found)
    window = {"start_time": "2026-06-01T00:00:00Z", "end_time": "2026-07-01T00:00:00Z"}
    assert await _titles(client, alice, q=needle, **window) == sorted(found)
    as_of = datetime.now(UTC).isoformat()
    assert await _titles(client, alice, q=needle, as_of=as_of) == sorted(found)


@pytest.mark.parametrize("place", ["Zürich", nfd("Zürich"), "zürich"])
async def test_a_location_search_finds_both_forms(
    client: httpx.AsyncClient, alice: Account, place: str
) -> None:
    await created_many(client, alice, CALENDAR)
    assert await _titles(client, alice, location=place) == ["Visit@04", "Visit@05"]


async def test_each_form_of_the_search_text_counts_the_bytes_it_reads(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    await created_many(client, alice, CALENDAR)
    monkeypatch.setattr(search_scan, "SEARCH_BYTES", 1)
    window = {"start_time": "2026-06-01T00:00:00Z", "end_time": "2026-07-01T00:00:00Z"}
    read = {}
    for needle in ("cafe", "café", "cafe\u0301 caf\u00e9"):  # one, two and three forms
        response = await client.get(EVENTS, params={"q": needle, **window}, headers=alice.headers)
        read[needle] = assert_problem(response, 422, "search_too_broad")["searched_bytes"]
    one = read["cafe"]
    assert (read["café"], read["cafe\u0301 caf\u00e9"]) == (2 * one, 3 * one)


QUERY = """<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR">
<c:comp-filter name="VEVENT"><c:prop-filter name="{name}">
<c:text-match collation="i;unicode-casemap">{needle}</c:text-match>
</c:prop-filter></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"""


@pytest.mark.parametrize("needle", ["CAFÉ", nfd("café"), "Cafe\u0301"])
async def test_a_caldav_unicode_casemap_match_finds_both_forms(
    client: httpx.AsyncClient, needle: str
) -> None:
    dav = await dav_for(client, "alice")
    await created_many(client, dav.account, CALENDAR)
    answer = await dav.request(
        "REPORT", dav.calendar, QUERY.format(name="SUMMARY", needle=needle), Depth="1"
    )
    assert answer.status_code == 207, answer.text
    assert len(responses(answer.content)) == 2  # "Réunion café" in NFC and in NFD
    place = QUERY.format(name="LOCATION", needle="ZÜRICH")
    answer = await dav.request("REPORT", dav.calendar, place, Depth="1")
    assert len(responses(answer.content)) == 2
