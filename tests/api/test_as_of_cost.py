"""A listing with `as_of` (the calendar as it was) is bounded like the live one (`pages`).

It read every event the caller held, decoded each one's past snapshot and sorted them in
Python: 10,000 small events held the event loop 1.5 s for a page of 50, 80 events of 0.9 MB
1.2 s of CPU. Without a window it now reads keys, sizes and the sort key in SQL and decodes
one page, at most MAX_PAGE_BYTES of snapshots; with a window it expands at most
MAX_AS_OF_EVENTS events (MAX_AS_OF_BYTES of snapshots), 422 `as_of_too_large` past that.
Bounds are generous: the figures are in BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from neo_events.events import past_listing
from tests.api.test_page_bounds import large_body
from tests.helpers import (
    Account,
    assert_problem,
    cpu_bound,
    created,
    created_many,
    event_body,
    loop_pauses,
    register,
    share,
    statements,
)
from tests.timing import budget

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
CPU_BOUND = 0.3  # seconds: a page takes 0.03 s to 0.15 s (before: 0.5 s to 2.5 s)
HELD_BOUND = 0.1  # seconds the loop may be held at once (before: 0.2 s to 2.3 s)
APRIL = {"start_time": "2026-04-01T00:00:00Z", "end_time": "2026-05-01T00:00:00Z"}


async def _get(client: httpx.AsyncClient, who: Account, **params: Any) -> httpx.Response:
    return await client.get(EVENTS, params=params, headers=who.headers, timeout=60)


async def _measured(client: httpx.AsyncClient, who: Account, **params: Any) -> httpx.Response:
    async with loop_pauses() as pauses:
        with cpu_bound(CPU_BOUND):
            response = await _get(client, who, **params)
    assert pauses.worst_held < budget(HELD_BOUND), f"loop held {pauses.worst_held:.2f} s"
    return response


async def _walk(client: httpx.AsyncClient, who: Account, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1_000):
        response = await _get(client, who, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["items"], "every page moves on"
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def _small(n: int, title: str = "", **extra: Any) -> dict[str, Any]:
    day = f"2026-04-{1 + n % 28:02d}"
    return event_body(
        title=title or f"E{n}", start_time=f"{day}T09:00:00Z", end_time=f"{day}T10:00:00Z",
        timezone="UTC", **extra,
    )  # fmt: skip


async def _now() -> str:
    await asyncio.sleep(0.01)
    return datetime.now(UTC).isoformat()


async def test_a_past_listing_of_large_events_decodes_one_page(
    client: httpx.AsyncClient, alice: Account
) -> None:
    ids = [
        (await created(client, alice, large_body(n), conflicts="ignore"))["id"] for n in range(30)
    ]
    then = await _now()

    page = await _measured(client, alice, as_of=then, limit=500)
    assert page.status_code == 200, page.text
    assert 1 <= len(page.json()["items"]) < 30 and page.json()["next_cursor"]
    listed = [item["id"] for item in await _walk(client, alice, as_of=then, limit=500)]
    assert listed == sorted(ids, key=lambda i: (ids.index(i) % 28, i))


async def test_a_past_listing_of_many_events_decodes_one_page(
    client: httpx.AsyncClient, alice: Account
) -> None:
    ids = await created_many(
        client,
        alice,
        [_small(n, title=f"E{n}" + (" needle" * (n % 500 == 0))) for n in range(3_000)],
    )
    then = await _now()

    page = await _measured(client, alice, as_of=then, limit=50)
    assert [item["id"] for item in page.json()["items"]] == ids[::28][:50]
    found = await _measured(client, alice, as_of=then, q="NEEDLE")
    assert sorted(item["id"] for item in found.json()["items"]) == ids[::500]
    # With a window every candidate is expanded: past the bound it is refused at once.
    refused = await _measured(client, alice, as_of=then, **APRIL)
    assert_problem(refused, 422, "as_of_too_large")
    narrowed = await _measured(client, alice, as_of=then, q="needle", **APRIL)
    assert narrowed.status_code == 200 and len(narrowed.json()["items"]) == 6


async def test_a_past_window_listing_at_its_bound(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """The largest calendar a window listing with as_of expands: within the CPU bound, the
    loop held a chunk at a time."""
    bodies = [
        _small(n, **({"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY"} if n % 2 else {}))
        for n in range(past_listing.MAX_AS_OF_EVENTS)
    ]
    await created_many(client, alice, bodies)
    then = await _now()
    async with loop_pauses() as pauses:
        with cpu_bound(1.2):  # 0.4 s of CPU on a quiet machine
            page = await _get(client, alice, as_of=then, limit=500, **APRIL)
    assert pauses.worst_held < budget(HELD_BOUND), f"loop held {pauses.worst_held:.2f} s"
    assert page.status_code == 200 and len(page.json()["items"]) == 500


@pytest.fixture
def small_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(past_listing, "MAX_PAGE_BYTES", 70_000)
    monkeypatch.setattr(past_listing, "MAX_AS_OF_EVENTS", 20)
    monkeypatch.setattr(past_listing, "MAX_AS_OF_BYTES", 300_000)


@pytest.mark.usefixtures("small_budgets")
async def test_past_pages_give_every_event_once_in_the_past_order(
    client: httpx.AsyncClient, alice: Account
) -> None:
    ids = []
    for n in range(20):  # large (30 kB) and small events; two in the same second
        body = large_body(n, 3) if n % 3 == 0 else large_body(n, 0)
        if n == 19:
            body |= {"start_time": "2026-04-02T09:00:00.5Z", "end_time": "2026-04-02T10:00:00Z"}
        ids.append((await created(client, alice, body, conflicts="ignore"))["id"])
    starts = {event_id: (1 if n == 19 else n % 28, n == 19) for n, event_id in enumerate(ids)}
    then = await _now()
    for event_id in ids[:5]:  # moved and renamed since: the past order and titles are listed
        response = await client.patch(
            f"{EVENTS}/{event_id}",
            json={
                "title": "moved",
                "start_time": "2025-01-01T09:00:00Z",
                "end_time": "2025-01-01T10:00:00Z",
            },  # fmt: skip
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
    past_order = sorted(ids, key=lambda i: (starts[i], i))

    whole = (await _get(client, alice, as_of=then, limit=500)).json()
    assert whole["next_cursor"] is not None  # cut by bytes
    for limit in (1, 4, 500):
        listed = await _walk(client, alice, as_of=then, limit=limit)
        assert [item["id"] for item in listed] == past_order
        assert "moved" not in {item["title"] for item in listed}
    # A window: 20 events of 5 x 30 kB are expanded; one more is refused.
    window = await _walk(client, alice, as_of=then, limit=7, **APRIL)
    assert {item["id"] for item in window} == set(ids)
    await created(client, alice, large_body(99, 0))
    assert_problem(await _get(client, alice, as_of=await _now(), **APRIL), 422, "as_of_too_large")


async def test_a_past_listing_looks_at_most_at_its_bound_of_held_events(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every event held is looked at for its last version by then: 30,000 held events cost
    PostgreSQL 0.8 s a page (2026-12-05). Past MAX_AS_OF_HELD, any listing with as_of is
    refused, counted before anything else is read."""
    await created_many(client, alice, [_small(n) for n in range(10)])
    then = await _now()
    monkeypatch.setattr(past_listing, "MAX_AS_OF_HELD", 9)
    for extra in ({}, {"q": "E1"}, APRIL, {"q": "E1", **APRIL}):
        refused = await _get(client, alice, as_of=then, **extra)
        body = assert_problem(refused, 422, "as_of_too_large")
        assert body["max_events_held"] == 9, body
    monkeypatch.setattr(past_listing, "MAX_AS_OF_HELD", 10)
    for extra in ({}, APRIL):
        listed = await _get(client, alice, as_of=then, **extra)
        assert listed.status_code == 200 and len(listed.json()["items"]) == 10, listed.text
    # the live listing is not bounded by the past's reading
    assert (await _get(client, alice)).status_code == 200


async def test_a_past_listing_reads_no_snapshot_but_its_pages(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, backend: str
) -> None:
    """The sort key and size of each held event's last version by then are columns of its
    row (migration 0021), found by one walk of its versions' index a held event: the keys
    read no snapshot (they detoasted every one, 9,000 events of 44 KB: 1.8 s a page), and
    the one statement that does is the page's own."""
    ids = await created_many(client, alice, [_small(n) for n in range(12)])
    for event_id in ids[:4]:  # versions after the instant: the walk passes over them
        later = await client.patch(
            f"{EVENTS}/{event_id}", json={"title": "later"}, headers=alice.headers
        )
        assert later.status_code == 200, later.text
    then = await _now()
    for event_id in ids[4:8]:
        later = await client.patch(
            f"{EVENTS}/{event_id}", json={"title": "later"}, headers=alice.headers
        )
        assert later.status_code == 200, later.text
    with statements(app) as seen:
        page = await _get(client, alice, as_of=then, limit=5)
    assert page.status_code == 200, page.text
    assert [item["id"] for item in page.json()["items"]] == ids[:5]
    assert [item["title"] for item in page.json()["items"]] == ["later"] * 4 + ["E4"]
    past = [s for s in seen if "event_versions" in s]
    assert len(past) == 2, seen  # the keys, then the page's versions
    reads = [bool(re.search(r"\bsnapshot\b", s)) for s in past]  # not `snapshot_bytes`
    assert reads == [False, True], past
    if backend == "postgres":
        assert "LATERAL" in past[0], past[0]
    rest = await _walk(client, alice, as_of=then, limit=5)
    assert [item["id"] for item in rest] == ids
    assert [item["title"] for item in rest[4:8]] == [f"E{n}" for n in range(4, 8)]


async def test_a_past_window_listing_is_refused_before_a_snapshot_is_read(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_AS_OF_BYTES of candidates the refusal comes from their sizes alone: reading
    each one's `is_recurring` first detoasted every snapshot (300 held of 1 MB: 125 ms before
    the 422, an outside review)."""
    await created_many(client, alice, [_small(n) for n in range(5)])
    then = await _now()
    monkeypatch.setattr(past_listing, "MAX_AS_OF_BYTES", 100)
    with statements(app) as seen:
        refused = await _get(client, alice, as_of=then, **APRIL)
    assert_problem(refused, 422, "as_of_too_large")
    assert not [s for s in seen if re.search(r"\bsnapshot\b", s)], seen
    monkeypatch.setattr(past_listing, "MAX_AS_OF_BYTES", 10_000)
    listed = await _get(client, alice, as_of=then, **APRIL)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 5, listed.text


async def test_events_deleted_by_the_instant_do_not_count_towards_the_held_bound(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grant outlives its event's deletion (and nobody can remove it): counted whatever the
    instant, anyone could share MAX_AS_OF_HELD events with a user and delete them to refuse
    that user's listing with as_of for good (an outside review). Deleted by the instant they
    neither count nor show; deleted after it, they do both, as they were."""
    bob = await register(client, "bob")
    ids = await created_many(client, alice, [_small(n) for n in range(6)])
    for event_id in ids:
        await share(client, alice, event_id, bob, "viewer")
    before = await _now()
    for event_id in ids[:4]:
        deleted = await client.delete(f"{EVENTS}/{event_id}", headers=alice.headers)
        assert deleted.status_code == 204, deleted.text
    after = await _now()
    monkeypatch.setattr(past_listing, "MAX_AS_OF_HELD", 2)
    listed = await _get(client, bob, as_of=after)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == ids[4:]
    assert_problem(await _get(client, bob, as_of=before), 422, "as_of_too_large")
    monkeypatch.setattr(past_listing, "MAX_AS_OF_HELD", 6)
    then = await _get(client, bob, as_of=before)
    assert [item["id"] for item in then.json()["items"]] == ids
