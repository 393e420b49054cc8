"""What one CalDAV answer may weigh in bytes (service.MAX_ANSWER_BYTES), whatever its texts:
an expansion counted in bytes as well as lines before anything is rendered, a listing ended
with a 507, a multiget refused, the texts escaped and the answer written off the event loop,
and the rendered texts a worker keeps bounded in bytes (service.CACHE_BYTES). Found by an
outside attack (2026-12-04): one expand of a daily series with 10 KB of `&,` texts over 13
years was a 183 MB answer (5 s of CPU, the loop held 3.5 s); 30 such events in one
calendar-query 430 MB; twelve windows of one event took a worker from 0.9 to 2.2 GB."""

from __future__ import annotations

import gc

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar

from neo_events.caldav import service
from tests.caldav.dav import Dav, dav_for, responses
from tests.caldav.test_report_bounds import MULTIGET, QUERY, refused
from tests.helpers import cpu_bound, create_event, loop_pauses
from tests.timing import budget

pytestmark = pytest.mark.anyio

C = "{urn:ietf:params:xml:ns:caldav}"
AMPERSANDS = {"title": "&" * 200, "description": "&," * 5000, "location": "&," * 250}


def window(start: str, end: str) -> str:
    return f'start="{start}" end="{end}"'


async def heavy_series(dav: Dav) -> int:
    event = await create_event(
        dav.client, dav.account, start_time="2026-01-05T09:00:00Z",
        end_time="2026-01-05T09:30:00Z", timezone="UTC", is_recurring=True,
        recurrence_pattern="FREQ=DAILY", **AMPERSANDS,
    )  # fmt: skip
    return int(event["id"])


def expand(dav: Dav, event_id: int, start: str, end: str) -> str:
    href = f"<d:href>{dav.calendar}event-{event_id}.ics</d:href>"
    return MULTIGET.format(window=window(start, end), hrefs=href)


async def test_an_expansion_is_counted_in_bytes_and_escaped_off_the_loop(client) -> None:
    alice = await dav_for(client, "alice")
    event_id = await heavy_series(alice)
    # 13 years of 16 KB occurrences: refused before one is rendered
    with cpu_bound(0.6):
        thirteen = expand(alice, event_id, "20260101T000000Z", "20390101T000000Z")
        answer = await alice.request("REPORT", alice.calendar, thirteen, Depth="0")
    assert refused(answer), answer.text[:300]
    # a year (~6 MB of calendar data, ~28 MB as XML): answered, the loop free meanwhile
    body = expand(alice, event_id, "20260101T000000Z", "20270101T000000Z")
    await alice.request("REPORT", alice.calendar, body, Depth="0")  # rendered, then cached
    gc.collect()
    gc.disable()  # a pass over the test worker's heap is not the request's
    try:
        async with loop_pauses() as pauses:
            answer = await alice.request("REPORT", alice.calendar, body, Depth="0")
    finally:
        gc.enable()
    assert answer.status_code == 207, answer.text[:300]
    [entry] = responses(answer.content).values()
    found = Calendar.from_ical(entry["props"][f"{C}calendar-data"].text).walk("VEVENT")
    assert len(found) == 361  # from 5 January
    assert {str(e["DESCRIPTION"]) for e in found} == {AMPERSANDS["description"]}
    assert pauses.worst_held < budget(0.1)  # escaping and joining it held the loop ~0.2 s


async def _plain(dav: Dav, count: int) -> list[int]:
    ids = []
    for n in range(count):
        event = await create_event(
            dav.client, dav.account, title=f"Long {n}", description="x" * 9_000,
            start_time=f"2026-03-{n + 2:02d}T09:00:00Z", end_time=f"2026-03-{n + 2:02d}T10:00:00Z",
        )  # fmt: skip
        ids.append(int(event["id"]))
    return ids


async def test_a_listing_past_its_bytes_ends_with_a_507_and_a_multiget_is_refused(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await dav_for(client, "alice")
    ids = await _plain(alice, 6)
    monkeypatch.setattr(service, "MAX_ANSWER_BYTES", 25_000)  # two of these 9.5 KB texts
    data = "<c:calendar-data/>"
    query = QUERY.format(data=data, window=window("20260301T000000Z", "20260401T000000Z"), text="")
    propfind = (
        '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        "<d:prop><d:getetag/><c:calendar-data/></d:prop></d:propfind>"
    )
    for method, body in (("REPORT", query), ("PROPFIND", propfind)):
        answer = await alice.request(method, alice.calendar, body, Depth="1")
        assert answer.status_code == 207, answer.text[:300]
        found = responses(answer.content)
        texts = [e["props"][f"{C}calendar-data"].text for e in found.values() if e["props"]]
        descriptions = [str(Calendar.from_ical(t).walk("VEVENT")[0]["DESCRIPTION"]) for t in texts]
        assert descriptions == ["x" * 9_000] * 2
        assert found[alice.calendar]["status"] == 507  # more matched than was answered
    hrefs = "".join(f"<d:href>{alice.calendar}event-{i}.ics</d:href>" for i in ids)
    plain_multiget = (
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"
    )
    assert refused(await alice.request("REPORT", alice.calendar, plain_multiget, Depth="0"))
    # the first resource always comes whole, however large
    monkeypatch.setattr(service, "MAX_ANSWER_BYTES", 1_000)
    one = plain_multiget.replace(hrefs, f"<d:href>{alice.calendar}event-{ids[0]}.ics</d:href>")
    answer = await alice.request("REPORT", alice.calendar, one, Depth="0")
    assert answer.status_code == 207 and "SUMMARY:Long 0" in answer.text


async def test_the_rendered_texts_a_worker_keeps_are_bounded_in_bytes(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CACHE_BYTES", 400_000)
    app.state.caldav_caches = service.Caches.new(app.state.metrics.cache_lookup)  # with it
    alice = await dav_for(client, "alice")
    event_id = await heavy_series(alice)
    for week in range(12):  # each a new entry of ~120 KB
        start = f"202602{week + 1:02d}T000000Z"
        end = f"202602{week + 8:02d}T000000Z"
        answer = await alice.request(
            "REPORT", alice.calendar, expand(alice, event_id, start, end), Depth="0"
        )
        assert answer.status_code == 207, answer.text[:300]
    texts = service.Caches.of(app.state).texts
    assert 0 < texts.bytes <= 400_000


async def test_a_sync_page_past_its_bytes_lists_the_rest_without_their_data(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync page's budget weighs the events' content (`service.SYNC_DATA_PAGE_BYTES`), not
    the people they render with: past MAX_ANSWER_BYTES of calendar data the rest of the page
    comes with its ETags and a 404 for calendar-data, which clients GET."""
    alice = await dav_for(client, "alice")
    ids = await _plain(alice, 5)
    monkeypatch.setattr(service, "MAX_ANSWER_BYTES", 25_000)
    body = (
        '<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        "<d:sync-token/><d:sync-level>1</d:sync-level>"
        "<d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>"
    )
    answer = await alice.request("REPORT", alice.calendar, body)
    assert answer.status_code == 207, answer.text[:300]
    found = responses(answer.content)
    hrefs = [f"{alice.calendar}event-{i}.ics" for i in ids]
    with_data = [h for h in hrefs if f"{C}calendar-data" in found[h]["props"]]
    assert with_data == hrefs[:2]
    for href in hrefs[2:]:
        assert "{DAV:}getetag" in found[href]["props"]
        assert found[href]["missing"] == [f"{C}calendar-data"]
        assert (await alice.request("GET", href)).status_code == 200
