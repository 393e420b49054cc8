"""Bounded cost (#16) of a text search (`q`, `location`): what one request reads.

Two costs. A 200-character needle over long descriptions: `ILIKE '%…%'` tried the whole
pattern at each position of each text (1,800 descriptions of 10,000 `a`s searched for 199 `a`s
and a `b`: 6.2-6.8 s of CPU on SQLite, an outside attack, 2026-12-04); the search is a string
search now (`text_search.contains`). And how much text a request reads: every text of every event
the caller held (5,000 events of 40 KB: 0.6-0.8 s of PostgreSQL, 12.5 s for such a needle, an
eighth attack); now at most `search_scan.SEARCH_BYTES` a request: a listing by start stops
there, its cursor continuing; a window listing over more is a 422. The differential tests
shrink the budget so that pages stop everywhere, and compare what all the pages found with
what a search of every text finds."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from neo_events.events import search_scan
from tests.helpers import Account, assert_problem, cpu_bound, register
from tests.timing import budget

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
COUNT, PER_BATCH = 600, 90  # 6 MB of descriptions, in batches under the 1 MiB body limit


def _event(n: int, description: str, start: datetime | None = None) -> dict[str, object]:
    start = start or datetime(2026, 6, 1 + n % 28, 9, tzinfo=UTC)
    return {
        "title": f"e{n}",
        "description": description,
        "location": description[:500],
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(hours=1)).isoformat(),
        "timezone": "UTC",
    }


async def _create_all(client: httpx.AsyncClient, who: Account, events: list[Any]) -> None:
    for first in range(0, len(events), PER_BATCH):
        response = await client.post(
            f"{EVENTS}/batch?conflicts=ignore",
            json={"events": events[first : first + PER_BATCH]},
            headers=who.headers,
            timeout=60,
        )
        assert response.status_code == 201, response.text


async def _every_page(
    client: httpx.AsyncClient, who: Account, params: dict[str, Any]
) -> list[list[dict[str, Any]]]:
    """Each page's items, following `next_cursor` until it is null."""
    pages, cursor = [], None
    while True:
        asked = params | ({"cursor": cursor} if cursor else {})
        response = await client.get(EVENTS, params=asked, headers=who.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 500, "the pages do not move on"


async def test_a_long_needle_over_long_texts_reads_a_bounded_page_at_a_time(
    client: httpx.AsyncClient, alice: Account
) -> None:
    long = "a" * 10_000
    events = [_event(n, long) for n in range(COUNT - 1)] + [_event(COUNT, long[:-1] + "b")]
    await _create_all(client, alice, events)
    texts = COUNT * (10_000 + 500)
    needle = "A" * 199 + "B"  # case-insensitive, as before
    for params in ({"q": needle, "limit": 500}, {"location": needle[-100:], "limit": 500}):
        pages, cursor = 0, None
        found: list[str] = []
        while True:
            asked = params | ({"cursor": cursor} if cursor else {})
            began = time.perf_counter()
            with cpu_bound(0.5, str(params)[:20]):  # a whole search was ~2 s on SQLite
                response = await client.get(EVENTS, params=asked, headers=alice.headers)
            # the database's time too (PostgreSQL runs beside this process): generous
            assert time.perf_counter() - began < budget(2.0)
            assert response.status_code == 200, response.text
            pages += 1
            found += [item["title"] for item in response.json()["items"]]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break
        assert found == ([f"e{COUNT}"] if "q" in params else [])
        # the reading stopped at the budget: a page at least every SEARCH_BYTES of text
        assert pages >= texts // search_scan.SEARCH_BYTES


def _random_calendar(rng: random.Random) -> list[dict[str, Any]]:
    """Events of random texts over a few words, many starting at the same instant (keys
    that tie on start_time), some with long descriptions."""
    words = ["alpha", "Beta", "gamma", "DELTA", "ümlaut", "x"]
    starts = [datetime(2026, 7, 1 + d, h, tzinfo=UTC) for d in range(3) for h in (9, 10)]
    events = []
    for n in range(60):
        text = " ".join(rng.choice(words) for _ in range(rng.choice((1, 3, 40, 200))))
        event = _event(n, text, rng.choice(starts))
        event["location"] = rng.choice(words) if rng.random() < 0.5 else None
        events.append(event)
    return events


def _matches(event: dict[str, Any], params: dict[str, Any]) -> bool:
    def has(text: str | None, needle: str) -> bool:  # ASCII case folding, as both databases do
        return text is not None and needle.lower() in text.lower()

    if "q" in params and not (
        has(event["title"], params["q"]) or has(event["description"], params["q"])
    ):
        return False
    return "location" not in params or has(event["location"], params["location"])


@pytest.mark.parametrize(("budget", "rows"), [(1, 5_000), (700, 5_000), (5_000, 5_000), (10**9, 3)])
async def test_the_pages_of_a_bounded_search_find_what_a_search_of_every_text_finds(
    client: httpx.AsyncClient,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
    budget: int,
    rows: int,
) -> None:
    rng = random.Random(budget + rows)
    events = _random_calendar(rng)
    await _create_all(client, alice, events)
    bob = await register(client, "bob")
    await _create_all(client, bob, _random_calendar(rng))  # not alice's: never found
    made = (await client.get(EVENTS, params={"limit": 500}, headers=alice.headers)).json()
    assert made["next_cursor"] is None
    at = datetime.now(UTC).isoformat()
    order = {item["title"]: (item["start_time"], item["id"]) for item in made["items"]}
    monkeypatch.setattr(search_scan, "SEARCH_BYTES", budget)
    monkeypatch.setattr(search_scan, "SEARCH_ROWS", rows)
    for params in (
        {"q": "beta"},
        {"q": "ümlaut"},  # as written: SQLite folds only ASCII letters' case
        {"q": "ümlaut", "location": "GAMMA"},
        {"location": "x"},
        {"q": "nowhere"},
    ):
        expected = sorted(
            (e["title"] for e in events if _matches(e, params)), key=lambda t: order[t]
        )
        for extra in ({"limit": 7}, {"limit": 500}, {"limit": 7, "as_of": at}):
            pages = await _every_page(client, alice, params | extra)
            assert [item["title"] for page in pages for item in page] == expected, (params, extra)
            read = 1 if budget == 1 else rows  # the most events a page reads
            if read < len(events):  # ...and so holds
                assert all(len(page) <= read for page in pages)
                assert len(pages) >= len(events) // read


async def test_a_window_whose_texts_pass_the_budget_is_refused_whole(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [_event(n, "word " * 100) for n in range(10)]
    await _create_all(client, alice, events)
    at = datetime.now(UTC).isoformat()
    window = {"start_time": "2026-06-01T00:00:00Z", "end_time": "2026-07-01T00:00:00Z"}
    monkeypatch.setattr(search_scan, "SEARCH_BYTES", 1)
    refused = await client.get(EVENTS, params=window | {"q": "word"}, headers=alice.headers)
    texts = assert_problem(refused, 422, "search_too_broad")["searched_bytes"]
    # the ten events' title, description and location (PostgreSQL), or their contents
    assert 10 * 1_000 <= texts < 10 * 2_000
    monkeypatch.setattr(search_scan, "SEARCH_BYTES", texts)
    response = await client.get(EVENTS, params=window | {"q": "WORD"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 10
    monkeypatch.setattr(search_scan, "SEARCH_BYTES", texts - 1)
    for extra in ({"q": "word"}, {"location": "nowhere"}, {"q": "word", "as_of": at}):
        response = await client.get(EVENTS, params=window | extra, headers=alice.headers)
        body = assert_problem(response, 422, "search_too_broad")
        assert body["max_bytes"] == texts - 1
        assert body["searched_bytes"] >= texts
        # with as_of every event held then is searched: the refusal says so
        assert ("held then" in body["detail"]) == ("as_of" in extra), body["detail"]
    # without a search the window is not the search's to refuse
    response = await client.get(EVENTS, params=window, headers=alice.headers)
    assert response.status_code == 200
    # ...and a narrower window, of two of the events, answers
    narrow = {"start_time": "2026-06-01T00:00:00Z", "end_time": "2026-06-03T00:00:00Z"}
    response = await client.get(EVENTS, params=narrow | {"q": "word"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 2
