"""Pages of large items are bounded by bytes as well as by count (`neo_events.pages`).

The attack, scaled down: an event whose overrides carry long descriptions (0.9 MB of
content), with many versions (history, changelog), or many such events (listing, sync). A
page of `limit=500` decoded or wrote every one of them, seconds of CPU on the event loop; it
now stops at a byte budget, holding fewer than `limit` items, and its cursor continues right
after the last. The CPU bounds are generous (a page takes tens of milliseconds: the figures
are in BENCHMARKS.md); following the cursors must still give every item once, in order.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from neo_events.events import listing
from neo_events.history import service as history
from neo_events.live import sync
from tests.helpers import Account, cpu_bound, create_event, created, loop_pauses, register, share
from tests.timing import budget

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
CPU_BOUND = 0.25  # seconds per page: it takes tens of milliseconds (before: 0.5 s to 2 s)
HELD_BOUND = 0.15  # seconds the loop may be held at once by a page
OVERRIDES = 90  # x 10,000 characters: 0.9 MB of content, under the 1 MiB request body
VERSIONS = 40  # a large event's versions, each a title change
LARGE_EVENTS = 80


def large_body(n: int = 0, overrides: int = OVERRIDES) -> dict[str, Any]:
    """A daily series whose first `overrides` occurrences each carry a 10,000-character
    description."""
    day = f"2026-04-{1 + n % 28:02d}"
    return {
        "title": f"Large {n}",
        "start_time": f"{day}T09:00:00Z",
        "end_time": f"{day}T10:00:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=DAILY",
        "overrides": [
            {
                "recurrence_id": f"2027-{1 + k // 28:02d}-{1 + k % 28:02d}T09:00:00Z",
                "description": f"{n} {k} " + "word " * 1_990,
            }
            for k in range(overrides)
        ],
    }


async def _get(client: httpx.AsyncClient, who: Account, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=who.headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


async def _measured(client: httpx.AsyncClient, who: Account, path: str, **params: Any) -> Any:
    """One page, within CPU_BOUND and without holding the loop for HELD_BOUND."""
    async with loop_pauses() as pauses:
        with cpu_bound(CPU_BOUND):
            page = await _get(client, who, path, **params)
    assert pauses.worst_held < budget(HELD_BOUND), f"loop held {pauses.worst_held:.2f} s"
    return page


async def _walk(
    client: httpx.AsyncClient, who: Account, path: str, key: str = "cursor", **params: Any
) -> list[dict[str, Any]]:
    """Every item of a paginated listing, following `next_cursor` until it is null."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1_000):  # a bound, so that a cursor that never ends fails
        page = await _get(client, who, path, **params, **({key: cursor} if cursor else {}))
        assert page["items"], "every page moves on"
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


async def _sync_walk(
    client: httpx.AsyncClient, who: Account, token: str | None = None, **params: Any
) -> tuple[list[dict[str, Any]], str]:
    """Every change of a sync, following `next_token` while `has_more`."""
    changes: list[dict[str, Any]] = []
    for _ in range(1_000):
        page = await _get(
            client, who, "/api/v1/sync", **params, **({"token": token} if token else {})
        )
        changes += page["changes"]
        token = page["next_token"]
        if not page["has_more"]:
            return changes, page["next_token"]
        assert page["changes"], "every page moves on"
    raise AssertionError("the sync never ended")


async def _retitled(client: httpx.AsyncClient, who: Account, event_id: int, times: int) -> None:
    for n in range(times):
        response = await client.patch(
            f"{EVENTS}/{event_id}", json={"title": f"Title {n}"}, headers=who.headers, timeout=60
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind", ["history", "changelog"])
async def test_history_of_a_large_event_is_paged_by_bytes(
    client: httpx.AsyncClient, alice: Account, kind: str
) -> None:
    event = await created(client, alice, large_body())
    await _retitled(client, alice, event["id"], VERSIONS - 1)
    path = f"{EVENTS}/{event['id']}/{kind}"

    page = await _measured(client, alice, path, limit=500)
    assert 1 <= len(page["items"]) < VERSIONS and page["next_cursor"]

    versions = [item["version"] for item in await _walk(client, alice, path, limit=500)]
    everything = list(range(1, VERSIONS + 1))
    assert versions == (everything[::-1] if kind == "history" else everything)


@pytest.mark.parametrize("kind", ["listing", "sync", "invitations"])
async def test_large_events_are_paged_by_bytes(
    client: httpx.AsyncClient, alice: Account, kind: str
) -> None:
    ids = [
        (await created(client, alice, large_body(n), conflicts="ignore"))["id"]
        for n in range(LARGE_EVENTS)
    ]

    if kind == "invitations":  # 500 invitations to 1 MB events were a 213 MB page
        bob = await register(client, "bob")
        for event_id in ids:
            response = await client.post(
                f"{EVENTS}/{event_id}/attendees?conflicts=ignore",
                json={"users": [{"user_id": bob.id}]},
                headers=alice.headers,
            )
            assert response.status_code == 200, response.text
        path = "/api/v1/invitations"
        page = await _measured(client, bob, path, limit=500)
        assert 1 <= len(page["items"]) < LARGE_EVENTS and page["next_cursor"]
        invited = [item["id"] for item in await _walk(client, bob, path, limit=500)]
        starts = {event_id: n % 28 for n, event_id in enumerate(ids)}
        assert invited == sorted(ids, key=lambda i: (starts[i], i))
    elif kind == "listing":
        page = await _measured(client, alice, EVENTS, limit=500)
        assert 1 <= len(page["items"]) < LARGE_EVENTS and page["next_cursor"]
        listed = [item["id"] for item in await _walk(client, alice, EVENTS, limit=500)]
        starts = {event_id: n % 28 for n, event_id in enumerate(ids)}
        assert listed == sorted(ids, key=lambda i: (starts[i], i))
    else:
        page = await _measured(client, alice, "/api/v1/sync", limit=500)
        assert 1 <= len(page["changes"]) < LARGE_EVENTS and page["has_more"]
        changes, _ = await _sync_walk(client, alice, limit=500)
        assert [c["event_id"] for c in changes] == ids


@pytest.fixture
def small_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Budgets of a few small items, so that pages are cut often without megabytes of data:
    a large event here is one of 3 overrides of 10,000 characters (30 kB)."""
    monkeypatch.setattr(listing, "MAX_PAGE_BYTES", 70_000)
    monkeypatch.setattr(sync, "MAX_PAGE_BYTES", 70_000)
    monkeypatch.setattr(history, "MAX_SNAPSHOT_BYTES", 150_000)


@pytest.mark.usefixtures("small_budgets")
async def test_history_and_changelog_cursors_give_every_entry_once_in_order(
    client: httpx.AsyncClient, alice: Account
) -> None:
    bob = await register(client, "bob")
    event = await created(client, alice, large_body(overrides=3))
    path = f"{EVENTS}/{event['id']}"
    for n in range(12):  # large and small versions, with sharing changes among them
        body = (
            {"title": f"t{n}"} if n % 3 else {"overrides": large_body(n, 3)["overrides"][: n % 4]}
        )
        response = await client.patch(path, json=body, headers=alice.headers)
        assert response.status_code == 200, response.text
        if n % 5 == 0:
            await share(client, alice, event["id"], bob, "viewer" if n % 2 else "editor")

    for limit in (1, 2, 5, 500):
        history = await _walk(client, alice, f"{path}/history", limit=limit)
        assert [item["version"] for item in history] == list(range(13, 0, -1))
        changelog = await _walk(client, alice, f"{path}/changelog", limit=limit)
        versions = [item["version"] for item in changelog if item["version"] is not None]
        assert versions == list(range(1, 14))
        assert [item["change_type"] for item in changelog].count("shared") >= 1
        at = [(item["changed_at"]) for item in changelog]
        assert at == sorted(at)
    # Summaries are what one unbounded page says, whatever the page they came in.
    whole = await _get(client, alice, f"{path}/history", limit=500)
    assert whole["next_cursor"] is not None  # cut by bytes, not by count
    assert [i["summary"] for i in whole["items"]] == [
        i["summary"] for i in (await _walk(client, alice, f"{path}/history", limit=1))
    ][: len(whole["items"])]


@pytest.mark.usefixtures("small_budgets")
async def test_listing_and_sync_cursors_give_every_event_once_in_order(
    client: httpx.AsyncClient, alice: Account
) -> None:
    ids = []
    for n in range(24):  # large and small events, interleaved
        body = large_body(n, 3) if n % 3 == 0 else large_body(n, 0)
        ids.append((await created(client, alice, body))["id"])
    starts = {event_id: n % 28 for n, event_id in enumerate(ids)}

    for limit in (1, 4, 500):
        listed = await _walk(client, alice, EVENTS, limit=limit)
        assert [item["id"] for item in listed] == sorted(ids, key=lambda i: (starts[i], i))
        changes, token = await _sync_walk(client, alice, limit=limit)
        assert [(c["op"], c["event_id"]) for c in changes] == [("upsert", i) for i in ids]

    # A delta: changes to large and small events, one deleted, one changed twice.
    changed = [ids[0], ids[1], ids[3], ids[4], ids[6], ids[0]]
    for n, event_id in enumerate(changed):
        response = await client.patch(
            f"{EVENTS}/{event_id}", json={"title": f"x{n}"}, headers=alice.headers
        )
        assert response.status_code == 200, response.text
    gone = await create_event(client, alice, title="gone")
    response = await client.delete(f"{EVENTS}/{gone['id']}", headers=alice.headers)
    assert response.status_code == 204, response.text
    for limit in (1, 2, 500):
        delta, _ = await _sync_walk(client, alice, token, limit=limit)
        final = {c["event_id"]: c["op"] for c in delta}
        assert final == {ids[1]: "upsert", ids[3]: "upsert", ids[4]: "upsert",
                         ids[6]: "upsert", ids[0]: "upsert", gone["id"]: "delete"}  # fmt: skip
        last_seen = {c["event_id"]: n for n, c in enumerate(delta)}
        in_order = [ids[1], ids[3], ids[4], ids[6], ids[0], gone["id"]]  # by last change
        assert sorted(last_seen, key=last_seen.__getitem__) == in_order
        if limit == 500:  # cut by bytes only: each event once
            assert [c["event_id"] for c in delta] == in_order


async def test_a_snapshots_size_is_counted_in_bytes(
    app: Any, client: httpx.AsyncClient, alice: Account
) -> None:
    """A review: the size was the JSON's characters, so text in CJK or emoji weighed a third
    or a quarter of its bytes against the pages' budgets."""
    from sqlalchemy import select

    from neo_events.models import EventVersion

    event = await create_event(client, alice, description="日" * 3_000)
    edited = await client.patch(
        f"/api/v1/events/{event['id']}", json={"title": "😀" * 100}, headers=alice.headers
    )
    assert edited.status_code == 200, edited.text
    async with app.state.sessionmaker() as session:
        sizes = (await session.scalars(select(EventVersion.snapshot_bytes))).all()
    assert len(sizes) == 2 and min(sizes) > 9_000 and max(sizes) > 9_400


def _lists(k: int, items: int = 1_000) -> dict[str, Any]:
    """Exdates, rdates and overrides that every version moves by a day (a thirteenth outside
    attack: 3,000 small items a version made a page of 120 of them 0.8-1.3 s of CPU)."""
    day = date(2027, 1, 1)
    return {
        "exdates": [str(day + timedelta(days=2 * j + k % 2)) for j in range(items)],
        "rdates": [str(day + timedelta(days=3_000 + 2 * j + k % 2)) for j in range(items)],
        "overrides": [
            {"recurrence_id": str(day + timedelta(days=2 * j + 1 - k % 2)), "title": f"t{k % 2}"}
            for j in range(items)
        ],
    }


async def test_pages_of_versions_of_many_small_items_are_cheap(
    app: Any, client: httpx.AsyncClient, alice: Account
) -> None:
    """History and changelog pages are bounded by their snapshots' bytes, and what they do a
    byte is cheap when the bytes are thousands of small items: not deep copies of each value
    nor each item's key made one by one. The versions are written straight to their table
    (60 API edits of 3,000 items would cost the suite seconds), as an edit writes them."""
    from sqlalchemy import select, update

    from neo_events.history.versions import version_row
    from neo_events.models import Event, EventVersion

    body = {"title": "many", "all_day": True, "start_date": "2027-01-01", "is_recurring": True,
            "recurrence_pattern": "FREQ=DAILY;COUNT=3000", **_lists(0)}  # fmt: skip
    response = await client.post(
        EVENTS, params={"conflicts": "ignore"}, json=body, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    event_id, versions = response.json()["id"], 60
    async with app.state.sessionmaker() as session:
        event = await session.get(Event, event_id)
        first = await session.scalar(select(EventVersion).where(EventVersion.event_id == event_id))
        assert event is not None and first is not None
        for k in range(2, versions + 1):
            event.version = k  # (the row's columns a version_row reads)
            snapshot = {**first.snapshot, **_lists(k - 1)}
            session.add(EventVersion(**version_row(event, "updated", alice.id, snapshot, None)))
        await session.execute(update(Event).where(Event.id == event_id).values(version=versions))
        await session.commit()

    path = f"{EVENTS}/{event_id}"
    for page in ("history", "changelog"):
        first_page = await _measured(client, alice, f"{path}/{page}", limit=500)
        assert first_page["next_cursor"] is not None  # cut by bytes, not by count
        entries = await _walk(client, alice, f"{path}/{page}", limit=500)
        numbers = [e["version"] for e in entries]
        assert sorted(numbers) == list(range(1, versions + 1))
    (newest, *_) = (await _get(client, alice, f"{path}/history", limit=3))["items"]
    assert newest["summary"] == (  # as when each item was keyed and the keys sorted
        "1000 occurrences cancelled; 1000 occurrences restored; added occurrences changed from "
        '“["2035-03-20", "2035-03-22", "2035-03-24", "2035-03-26", "2…” to '
        '“["2035-03-21", "2035-03-23", "2035-03-25", "2035-03-27", "2…”; '
        "1000 occurrences changed; 1000 occurrences reset"
    )
