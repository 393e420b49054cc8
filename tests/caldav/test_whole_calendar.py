"""Whole-calendar reads of a big calendar (issue #16, "bounded cost"): a sync-collection from
scratch, a calendar-query without a time range (or with a huge one), a calendar-multiget and a
PROPFIND Depth 1 each cost a page whose size is named in caldav/service.py (sync, multiget)
or caldav/listing.py (query, PROPFIND), and a client following the 507 and the sync token
gets every event exactly once. The CPU bounds are generous (the figures are in
BENCHMARKS.md): they prove a page is not the whole calendar's seconds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.caldav_whole import (
    CENTURIES,
    DATA,
    MULTIGET,
    PROPFIND,
    QUERY,
    SYNC,
    mixed_event,
)

import caldav
from neo_events.caldav import listing, service
from tests.caldav.dav import Dav, dav_for, responses
from tests.caldav.live import caldav_server, person
from tests.helpers import Account, cpu_bound, created_many

C = "{urn:ietf:params:xml:ns:caldav}"
D = "{DAV:}"
EVENTS = 4_500  # the attack's calendar


def _bodies(count: int) -> list[dict[str, Any]]:
    """Singles, weekly series and every tenth a series with an exdate and a moved occurrence,
    in three zones, spread over three years: the calendar `bench caldav-whole` measures."""
    return [mixed_event(index) for index in range(count)]


async def fill(client: httpx.AsyncClient, account: Account, count: int) -> list[int]:
    """`count` events, 500 to a batch, without conflict checks; their ids."""
    return await created_many(client, account, _bodies(count))


def _token(body: bytes) -> str:
    found = re.search(rb"<d:sync-token>([^<]+)</d:sync-token>", body)
    assert found is not None
    return found.group(1).decode()


def _page(dav: Dav, body: bytes) -> tuple[dict[str, dict[str, Any]], bool]:
    """The items of a multistatus, and whether it ended with the collection's 507."""
    found = responses(body)
    cut = found.pop(dav.calendar, None)
    assert cut is None or cut["status"] == 507, cut
    return found, cut is not None


async def follow(dav: Dav, data: str = "", token: str = "") -> tuple[list[str], int, str]:
    """A client syncing from `token` until the answer is whole: the hrefs of every page in
    order, the number of pages, and the last token."""
    seen: list[str] = []
    pages = 0
    while True:
        answer = await dav.request("REPORT", dav.calendar, SYNC.format(token=token, data=data))
        assert answer.status_code == 207, answer.text
        found, cut = _page(dav, answer.content)
        if data:
            assert all(f"{C}calendar-data" in e["props"] for e in found.values() if not e["status"])
        seen += list(found)
        pages += 1
        token = _token(answer.content)
        if not cut:
            return seen, pages, token


pytestmark = pytest.mark.anyio


async def test_whole_calendar_reads_of_4500_events_each_cost_one_bounded_page(client) -> None:
    alice = await dav_for(client, "alice")
    ids = await fill(client, alice.account, EVENTS)
    every = {f"{alice.calendar}event-{i}.ics" for i in ids}

    # sync-collection from scratch, ETags only: pages of SYNC_PAGE; each event exactly once
    token, seen = "", []
    for _ in range(-(-EVENTS // service.SYNC_PAGE)):
        with cpu_bound(1.5):  # ~0.1 s here
            answer = await alice.request(
                "REPORT", alice.calendar, SYNC.format(token=token, data="")
            )
        page, cut = _page(alice, answer.content)
        assert len(page) <= service.SYNC_PAGE
        seen += list(page)
        token = _token(answer.content)
    assert not cut and len(seen) == len(set(seen)) and set(seen) == every
    caught_up = await alice.request("REPORT", alice.calendar, SYNC.format(token=token, data=""))
    assert _page(alice, caught_up.content) == ({}, False)

    # ...and with calendar-data: a page of SYNC_DATA_PAGE rendered bodies
    with cpu_bound(2.0):  # ~0.15-0.3 s here
        answer = await alice.request("REPORT", alice.calendar, SYNC.format(token="", data=DATA))
    page, cut = _page(alice, answer.content)
    assert cut and len(page) == service.SYNC_DATA_PAGE
    assert all("BEGIN:VEVENT" in e["props"][f"{C}calendar-data"].text for e in page.values())

    # calendar-query without a time range, and with one of three centuries: every ETag
    for window in ("", CENTURIES):
        with cpu_bound(2.0):  # ~0.15-0.4 s here
            answer = await alice.request(
                "REPORT", alice.calendar, QUERY.format(data="", window=window), Depth="1"
            )
        page, cut = _page(alice, answer.content)
        assert not cut and set(page) == every

    # ...with calendar-data: MAX_RENDERED bodies, then the 507 (each one rendered cold)
    with cpu_bound(8.0):  # ~1-2 s here: 1,000 first renders (BENCHMARKS.md)
        answer = await alice.request(
            "REPORT", alice.calendar, QUERY.format(data=DATA, window=""), Depth="1"
        )
    page, cut = _page(alice, answer.content)
    assert cut and len(page) == listing.MAX_RENDERED

    # calendar-multiget of 1,000 hrefs not rendered yet; past MAX_MULTIGET it is refused
    hrefs = [f"{alice.calendar}event-{i}.ics" for i in ids[-1_000:]]
    body = MULTIGET.format(data=DATA, hrefs="".join(f"<d:href>{h}</d:href>" for h in hrefs))
    with cpu_bound(8.0):  # ~1-2 s here, as the query's
        answer = await alice.request("REPORT", alice.calendar, body)
    assert answer.status_code == 207
    assert list(responses(answer.content)) == hrefs
    more = [f"{alice.calendar}missing-{i}.ics" for i in range(service.MAX_MULTIGET + 1)]
    body = MULTIGET.format(data="", hrefs="".join(f"<d:href>{h}</d:href>" for h in more))
    refused = await alice.request("REPORT", alice.calendar, body)
    assert refused.status_code == 403 and b"number-of-matches-within-limits" in refused.content

    # PROPFIND Depth 1: every ETag
    with cpu_bound(2.0):  # ~0.15-0.3 s here
        answer = await alice.request("PROPFIND", alice.calendar, PROPFIND, Depth="1")
    listed = responses(answer.content)
    assert listed.pop(alice.calendar)["status"] is None  # the collection itself, not a 507
    assert set(listed) == every


async def test_a_client_following_the_507_and_the_token_gets_every_event_once(
    client, monkeypatch
) -> None:
    """Small pages over a small calendar, with edits, a deletion and a new event between the
    pages: the pages never repeat an event, and the delta from the last token brings what
    changed while paging."""
    monkeypatch.setattr(service, "SYNC_PAGE", 7)
    monkeypatch.setattr(service, "SYNC_DATA_PAGE", 3)
    alice = await dav_for(client, "alice")
    ids = await fill(client, alice.account, 20)
    every = [f"{alice.calendar}event-{i}.ics" for i in ids]
    for data, size in (("", 7), (DATA, 3)):
        seen, pages, _ = await follow(alice, data)
        assert seen == every and pages == -(-20 // size)

    first = await alice.request("REPORT", alice.calendar, SYNC.format(token="", data=""))
    page, cut = _page(alice, first.content)
    assert cut and list(page) == every[:7]
    headers = alice.account.headers
    edited = await client.patch(f"/api/v1/events/{ids[2]}", json={"title": "x"}, headers=headers)
    assert edited.status_code == 200, edited.text
    gone = await client.delete(f"/api/v1/events/{ids[15]}", headers=headers)
    assert gone.status_code == 204, gone.text
    new = await fill(client, alice.account, 1)
    rest, _, token = await follow(alice, "", _token(first.content))
    snapshot = list(page) + rest
    assert len(snapshot) == len(set(snapshot))
    assert set(snapshot) == set(every) - {every[15]} | {f"{alice.calendar}event-{new[0]}.ics"}
    delta, _, _ = await follow(alice, "", token)
    assert set(delta) >= {every[2], every[15]}


@pytest.mark.slow
def test_the_caldav_library_follows_the_pages_of_a_big_first_sync(
    database_url: str, data_dir: Path
) -> None:
    """The `caldav` library (a real client) syncing a calendar of more than two pages from
    scratch: every event once, then nothing new from its token."""
    count = 2 * service.SYNC_PAGE + 300
    with caldav_server(database_url, data_dir) as base:
        alice = person(base, "alice")
        bodies = _bodies(count)
        with httpx.Client(base_url=f"{base}/api/v1", headers=alice.headers, timeout=60) as api:
            for chunk in range(0, count, 500):
                made = api.post(
                    "/events/batch",
                    params={"conflicts": "ignore"},
                    json={"events": bodies[chunk : chunk + 500]},
                )
                assert made.status_code == 201, made.text
        with caldav.DAVClient(
            url=base, username="alice", password=alice.password, require_tls=False
        ) as dav:
            [calendar] = dav.principal().calendars()
            synced = calendar.objects_by_sync_token(load_objects=False)
            paths = [str(obj.url.path) for obj in synced]
            assert len(paths) == len(set(paths)) == count
            again = calendar.objects_by_sync_token(sync_token=synced.sync_token)
            assert list(again) == []
