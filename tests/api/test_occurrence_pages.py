"""Pages of occurrences bounded by bytes as well as by count: the window listing and
`/events/{id}/instances` repeat the event object in every item, so a series carrying the
most exceptions the API takes (1,000 overrides, rdates and exdates) once made a month of a
minutely series a 1.7 GB answer and ten seconds of CPU.

Each page stays under `MAX_PAGE_BYTES` and costs milliseconds of CPU (the bound below is
generous on purpose: this test process runs the app, on a shared, noisy machine), and
following `next_cursor` gives exactly the occurrences a brute-force expansion gives, in order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from neo_events.events.occurrence_pages import MAX_PAGE_BYTES
from neo_events.events.schemas import MAX_LIST, OccurrenceList
from tests.helpers import Account, cpu_bound, create_event, created

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
CPU_BOUND = 1.0  # seconds per request; a page takes tens of milliseconds
START = datetime(2030, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=7)
LENGTH = timedelta(minutes=1)
MOVED_BY = timedelta(days=10)  # every override moves its occurrence ten days on
# Three days holding about 1,850 occurrences: the rule's, the moved overrides', the rdates'.
WINDOW = (START + MOVED_BY, START + MOVED_BY + timedelta(days=3))


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def worst_series() -> dict[str, Any]:
    """`FREQ=MINUTELY;INTERVAL=7` with the most exceptions the API accepts: 1,000 overrides
    (occurrences 0–999, each moved into the window with its own title, some with a
    description), 1,000 exdates (occurrences 1000–1999) and 1,000 rdates in the window (3
    minutes after a moved occurrence: never one of the rule's)."""
    overrides = [
        {
            "recurrence_id": z(START + k * STEP),
            "start_time": z(START + MOVED_BY + k * STEP),
            "end_time": z(START + MOVED_BY + k * STEP + LENGTH),
            "title": f"o{k}",
            **({"description": "moved " * 20} if k % 10 == 0 else {}),
        }
        for k in range(MAX_LIST)
    ]
    return {
        "title": "Worst",
        "start_time": z(START),
        "end_time": z(START + LENGTH),
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=MINUTELY;INTERVAL=7",
        "overrides": overrides,
        "exdates": [z(START + (MAX_LIST + k) * STEP) for k in range(MAX_LIST)],
        "rdates": [z(START + MOVED_BY + k * STEP + timedelta(minutes=3)) for k in range(MAX_LIST)],
    }


def brute_force(window: tuple[datetime, datetime]) -> list[tuple[str, str, str]]:
    """(start, recurrence_id, title) of every occurrence overlapping the window, by
    (start, recurrence_id): every occurrence of the rule up to the window's end, one by one."""
    low, high = window
    found = []
    k = 0
    while (rid := START + k * STEP) < high:
        if k < MAX_LIST:  # overridden: moved, retitled
            start, title = START + MOVED_BY + k * STEP, f"o{k}"
        elif k < 2 * MAX_LIST:  # cancelled
            start, title = rid, ""
        else:
            start, title = rid, "Worst"
        if k not in range(MAX_LIST, 2 * MAX_LIST) and start < high and start + LENGTH > low:
            found.append((start, rid, title))
        k += 1
    for k in range(MAX_LIST):
        extra = START + MOVED_BY + k * STEP + timedelta(minutes=3)
        if extra < high and extra + LENGTH > low:
            found.append((extra, extra, "Worst"))
    found.sort()
    return [(z(start), z(rid), title) for start, rid, title in found]


async def all_pages(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], who: Account
) -> list[tuple[bytes, dict[str, Any]]]:
    """Every page of a listing (its body, and that body read), following `next_cursor`, each
    request timed."""
    pages = []
    cursor = None
    while True:
        query = params if cursor is None else {**params, "cursor": cursor}
        with cpu_bound(CPU_BOUND):
            response = await client.get(path, params=query, headers=who.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append((response.content, body))
        if (cursor := body["next_cursor"]) is None:
            return pages
        assert len(pages) < 1000, "the cursor does not move on"


@pytest.mark.parametrize("endpoint", ["instances", "listing"])
async def test_the_worst_series_comes_in_pages_bounded_by_bytes(
    client: httpx.AsyncClient, alice: Account, endpoint: str
) -> None:
    event = await created(client, alice, worst_series(), conflicts="ignore")
    window = {"start_time": z(WINDOW[0]), "end_time": z(WINDOW[1])}
    if endpoint == "instances":
        path, params = f"{EVENTS}/{event['id']}/instances", window
    else:  # the largest page the listing allows
        path, params = EVENTS, {**window, "limit": 500}
    pages = await all_pages(client, path, params, alice)

    expected = brute_force(WINDOW)
    assert len(expected) > 1500
    listed = []
    for content, body in pages:
        assert len(content) <= MAX_PAGE_BYTES
        assert body["items"], "every page moves on"
        for item in body["items"]:
            listed.append((item["start_time"], item["recurrence_id"], item["title"]))
    assert listed == expected  # none missing, none twice, in order
    assert len(pages) > 2  # cut by bytes: a page of 50 (or 500) items would be 12 (120) MB
    # Every item is still the whole event object with its occurrence's times (SPEC §4).
    item = pages[1][1]["items"][-1]
    assert len(item["exdates"]) == len(item["rdates"]) == len(item["overrides"]) == MAX_LIST
    assert item["id"] == event["id"] and item["version"] == event["version"]
    # A page is what the response model would write, byte for byte.
    last = pages[-1][0]
    assert last == OccurrenceList.model_validate_json(last).model_dump_json().encode()


async def test_a_page_cut_by_bytes_continues_in_msgpack_alike(
    client: httpx.AsyncClient, alice: Account
) -> None:
    event = await created(client, alice, worst_series(), conflicts="ignore")
    window = {"start_time": z(WINDOW[0]), "end_time": z(WINDOW[0] + timedelta(hours=6))}
    path = f"{EVENTS}/{event['id']}/instances"
    as_json = await client.get(path, params=window, headers=alice.headers)
    with cpu_bound(CPU_BOUND):
        as_msgpack = await client.get(
            path, params=window, headers={**alice.headers, "Accept": "application/msgpack"}
        )
    assert as_msgpack.status_code == 200
    assert as_msgpack.headers["content-type"] == "application/msgpack"
    assert len(as_msgpack.content) <= MAX_PAGE_BYTES
    cursor = as_json.json()["next_cursor"]
    assert cursor is not None and 0 < len(as_json.json()["items"]) < 50
    following = await client.get(path, params={**window, "cursor": cursor}, headers=alice.headers)
    first = [i["recurrence_id"] for i in as_json.json()["items"]]
    second = [i["recurrence_id"] for i in following.json()["items"]]
    assert second and not set(first) & set(second)
    assert brute_force((WINDOW[0], WINDOW[0] + timedelta(hours=6)))[len(first)][1] == second[0]


async def test_small_series_still_come_in_one_page(
    client: httpx.AsyncClient, alice: Account
) -> None:
    weekly = await create_event(
        client,
        alice,
        start_time="2026-03-02T09:00:00Z",
        end_time="2026-03-02T09:30:00Z",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;COUNT=10",
        exdates=["2026-03-09T09:00:00Z"],
        overrides=[{"recurrence_id": "2026-03-16T09:00:00Z", "title": "Moved"}],
    )
    await create_event(
        client, alice, start_time="2026-03-03T10:00:00Z", end_time="2026-03-03T11:00:00Z"
    )
    window = {"start_time": "2026-03-01T00:00:00Z", "end_time": "2026-06-01T00:00:00Z"}
    instances = await client.get(
        f"{EVENTS}/{weekly['id']}/instances", params=window, headers=alice.headers
    )
    listing = await client.get(EVENTS, params=window, headers=alice.headers)
    for response, count in ((instances, 9), (listing, 10)):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["next_cursor"] is None
        assert len(body["items"]) == count
    assert [i["title"] for i in instances.json()["items"]][:2] == ["Standup", "Moved"]


async def test_instances_are_paginated_like_the_listing(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """`limit` (default and at most 500: a window of one event usually comes whole) and
    `cursor`, in the listing's order and format."""
    daily = await create_event(
        client,
        alice,
        start_time="2026-01-01T09:00:00Z",
        end_time="2026-01-01T09:30:00Z",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=120",
    )
    path = f"{EVENTS}/{daily['id']}/instances"
    window = {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-12-31T00:00:00Z"}
    everything = await client.get(path, params=window, headers=alice.headers)
    assert everything.json()["next_cursor"] is None
    assert len(everything.json()["items"]) == 120

    sizes, listed, cursor = [], [], None
    window |= {"limit": 50}
    while True:
        query = window if cursor is None else {**window, "cursor": cursor}
        body = (await client.get(path, params=query, headers=alice.headers)).json()
        sizes.append(len(body["items"]))
        listed += body["items"]
        if (cursor := body["next_cursor"]) is None:
            break
    assert sizes == [50, 50, 20]
    assert listed == everything.json()["items"]
    # The same cursor continues the window listing (one event: the same occurrences).
    first = (await client.get(path, params=window, headers=alice.headers)).json()
    listing = await client.get(
        EVENTS, params={**window, "cursor": first["next_cursor"]}, headers=alice.headers
    )
    assert listing.json()["items"][0]["recurrence_id"] == listed[50]["recurrence_id"]
    for bad in ({"limit": 0}, {"limit": 501}):
        response = await client.get(path, params={**window, **bad}, headers=alice.headers)
        assert response.status_code == 422


async def test_a_listing_loads_only_the_event_objects_its_page_can_hold(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Distinct events whose objects alone fill the byte budget: the listing loads them in
    rounds (1, 2, 4, … here) and stops once those loaded fill a page, which then ends before
    the first occurrence of an event not loaded; the cursor brings the rest, each once. (The
    budget and the first round are made small so that 12 events show it: at the real
    figures it takes 16 or more events carrying a quarter of a megabyte each.)"""
    from neo_events.events import occurrence_pages

    monkeypatch.setattr(occurrence_pages, "MAX_PAGE_BYTES", 12_000)
    monkeypatch.setattr(occurrence_pages, "FIRST_ROUND", 1)
    rounds: list[int] = []
    real = occurrence_pages.event_objects

    async def counted(session: Any, keys: Any, *args: Any, **kwargs: Any) -> Any:
        rounds.append(len(keys))
        return await real(session, keys, *args, **kwargs)

    monkeypatch.setattr(occurrence_pages, "event_objects", counted)
    for hour in range(12):  # each object ~2.5 kB: four fill the budget
        await create_event(
            client,
            alice,
            title=f"e{hour:02}",
            description="x" * 2_000,
            start_time=f"2026-03-02T{hour:02}:00:00Z",
            end_time=f"2026-03-02T{hour:02}:30:00Z",
        )
    window = {"start_time": "2026-03-02T00:00:00Z", "end_time": "2026-03-03T00:00:00Z"}
    response = await client.get(EVENTS, params={**window, "limit": 500}, headers=alice.headers)
    body = response.json()
    assert rounds == [1, 2, 4], rounds  # 7 of 12 loaded: 1 + 2 + 4 passed the budget
    first = [i["title"] for i in body["items"]]
    assert first and len(first) <= 7 and body["next_cursor"] is not None
    pages = await all_pages(client, EVENTS, {**window, "limit": 500}, alice)
    titles = [i["title"] for _, page in pages for i in page["items"]]
    assert titles == [f"e{hour:02}" for hour in range(12)]
