"""A batch's writes and conflict check (#16): each item is written as its own row, and what
the check reports for each item equals expanding everything and comparing every pair."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from neo_events.events import recurrence
from neo_events.events.check_windows import horizon
from neo_events.events.content import series_of
from tests.api.test_bounded_cost import _random_event
from tests.helpers import Account, created, event_body

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
BATCH_TITLE = "another event in this batch"
LIMIT = 100  # clashes listed per item at most (docs/api.md)


async def test_each_item_of_a_batch_is_its_own_row(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """The ids a batch answers with name the rows of those very items (the rows are written
    in one multi-row INSERT whose ids come back in no promised order)."""
    start = datetime.fromisoformat("2026-03-30T09:00:00+00:00")
    items = [
        event_body(
            title=f"E{i}",
            start_time=(start + timedelta(hours=i)).isoformat(),
            end_time=(start + timedelta(hours=i, minutes=30)).isoformat(),
        )
        for i in range(60)
    ]
    response = await client.post(f"{EVENTS}/batch", json={"events": items}, headers=alice.headers)
    assert response.status_code == 201, response.text
    created = response.json()["items"]
    assert len({item["id"] for item in created}) == 60
    for sent, item in zip(items, created, strict=True):
        stored = (await client.get(f"{EVENTS}/{item['id']}", headers=alice.headers)).json()
        assert (stored["title"], stored["start_time"]) == (sent["title"], item["start_time"])
        assert stored == {k: v for k, v in item.items() if k != "conflicts"}


def _horizon(body: dict[str, Any]) -> list[recurrence.Occurrence]:
    mine = series_of(body)
    return recurrence.expand(mine, *horizon(mine))  # (what is checked: the code's rule)


def _overlapping(
    theirs: list[recurrence.Occurrence], mine: list[recurrence.Occurrence]
) -> list[recurrence.Occurrence]:
    return [o for o in theirs if any(m.start < o.end and o.start < m.end for m in mine)]


@pytest.mark.parametrize("seed", range(3))
async def test_a_batch_check_equals_a_brute_force_one(
    client: httpx.AsyncClient, alice: Account, seed: int
) -> None:
    """Each item's clashes (with the calendar and with the other items, copies of one series
    included) are those found by expanding every series over its horizon and comparing
    every pair; free (transparent) events and items clash with nothing."""
    rng = random.Random(seed)
    existing = [
        await created(client, alice, _random_event(rng), conflicts="ignore") for _ in range(10)
    ]
    items = [_random_event(rng) for _ in range(10)]
    items += [dict(items[0]), dict(items[0]), dict(items[3])]  # copies: expanded once
    response = await client.post(f"{EVENTS}/batch", json={"events": items}, headers=alice.headers)
    assert response.status_code == 201, response.text
    made = response.json()["items"]
    busy = [e for e in existing if e["transparency"] == "opaque"]
    calendar = {e["id"]: recurrence.expand(series_of(e), *_span(made)) for e in busy}
    own = [_horizon(item) if item["transparency"] == "opaque" else [] for item in made]
    for i, item in enumerate(made):
        expected: Counter[tuple[int | None, str, str]] = Counter()
        for event_id, occurrences in calendar.items():
            for o in _overlapping(occurrences, own[i]):
                expected[(event_id, o.start.isoformat(), o.end.isoformat())] += 1
        for j, theirs in enumerate(own):
            if j != i:
                for o in _overlapping(theirs, own[i]):  # another item: the event it became
                    expected[(made[j]["id"], o.start.isoformat(), o.end.isoformat())] += 1
        got = Counter(
            (c["event_id"], _iso(c["start_time"]), _iso(c["end_time"])) for c in item["conflicts"]
        )
        titles = {e["id"]: e["title"] for e in existing + made}
        assert all(c["title"] == titles[c["event_id"]] for c in item["conflicts"])
        if expected.total() > LIMIT:  # which 100 are listed is unspecified
            assert got.total() == LIMIT and not got - expected
        else:
            assert got == expected


def _span(created: list[dict[str, Any]]) -> tuple[datetime, datetime]:
    """A window that holds every item's horizon (and a day more)."""
    spans = [horizon(series_of(item)) for item in created]
    return min(lo for lo, _ in spans), max(hi for _, hi in spans) + timedelta(days=1)


def _iso(text: str) -> str:
    return datetime.fromisoformat(text).isoformat()


async def test_a_refused_batch_names_the_items_that_clash(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A batch refused under `reject` lists every clash in one list (SPEC §7): each names the
    item it concerns (`item`, its index in `events`, as a 422's `["events", 3, …]` does), and
    a clash between two items names the other (`other_item`), since neither was written; in
    a batch written under `warn`, that other item is the event it became."""
    lunch = await created(
        client,
        alice,
        event_body(
            title="Lunch", start_time="2026-06-01T12:00:00Z", end_time="2026-06-01T13:00:00Z"
        ),
    )
    items = [
        event_body(
            title="Free", start_time="2026-06-01T08:00:00Z", end_time="2026-06-01T09:00:00Z"
        ),
        event_body(title="A", start_time="2026-06-01T10:00:00Z", end_time="2026-06-01T11:00:00Z"),
        event_body(
            title="Over lunch", start_time="2026-06-01T12:30:00Z", end_time="2026-06-01T13:30:00Z"
        ),
        event_body(title="B", start_time="2026-06-01T10:30:00Z", end_time="2026-06-01T11:30:00Z"),
    ]
    refused = await client.post(
        f"{EVENTS}/batch?conflicts=reject", json={"events": items}, headers=alice.headers
    )
    assert refused.status_code == 409, refused.text
    listed = sorted(
        (c["item"], c.get("other_item"), c["event_id"], c["title"])
        for c in refused.json()["conflicts"]
    )
    assert listed == [
        (1, 3, None, BATCH_TITLE),
        (2, None, lunch["id"], "Lunch"),
        (3, 1, None, BATCH_TITLE),
    ]
    written = await client.post(f"{EVENTS}/batch", json={"events": items}, headers=alice.headers)
    assert written.status_code == 201, written.text
    made = written.json()["items"]
    named = [[(c["event_id"], c["title"]) for c in item["conflicts"]] for item in made]
    assert named == [[], [(made[3]["id"], "B")], [(lunch["id"], "Lunch")], [(made[1]["id"], "A")]]
    assert all("item" not in c and "other_item" not in c for i in made for c in i["conflicts"])
    one = await client.post(
        f"{EVENTS}/batch?conflicts=reject", json={"events": [items[2]]}, headers=alice.headers
    )
    assert one.status_code == 409  # a batch of one names its item too
    assert {c["item"] for c in one.json()["conflicts"]} == {0}
    single = await client.post(f"{EVENTS}?conflicts=reject", json=items[2], headers=alice.headers)
    assert single.status_code == 409
    conflicts = single.json()["conflicts"]  # Lunch, and the batch's "Over lunch"
    assert len(conflicts) == 2
    assert all(set(c) == {"event_id", "title", "start_time", "end_time"} for c in conflicts)
