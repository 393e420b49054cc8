"""Bounded cost (#16) of a text search (`q`, `location`): a 200-character needle over long
descriptions. `ILIKE '%…%'` tries the whole pattern at each position of each text: 1,800
descriptions of 10,000 `a`s searched for 199 `a`s and a `b` cost 6.2-6.8 s of CPU on SQLite
(an outside attack, 2026-12-04). The search is a string search now (`listing.contains`).
The bound is generous: it proves the absence of seconds (figures in BENCHMARKS.md)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import Account, cpu_bound

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
COUNT, PER_BATCH = 600, 90  # 6 MB of descriptions, in batches under the 1 MiB body limit


def _event(n: int, description: str) -> dict[str, object]:
    return {
        "title": f"e{n}",
        "description": description,
        "location": description[:500],
        "start_time": f"2026-06-{1 + n % 28:02d}T09:00:00Z",
        "end_time": f"2026-06-{1 + n % 28:02d}T10:00:00Z",
        "timezone": "UTC",
    }


async def test_a_long_needle_over_long_texts_costs_milliseconds(
    client: httpx.AsyncClient, alice: Account
) -> None:
    long = "a" * 10_000
    events = [_event(n, long) for n in range(COUNT - 1)] + [_event(COUNT, long[:-1] + "b")]
    for start in range(0, COUNT, PER_BATCH):
        response = await client.post(
            f"{EVENTS}/batch?conflicts=ignore",
            json={"events": events[start : start + PER_BATCH]},
            headers=alice.headers,
            timeout=60,
        )
        assert response.status_code == 201, response.text
    needle = "A" * 199 + "B"  # case-insensitive, as before
    for params in ({"q": needle}, {"location": needle[-100:]}):
        with cpu_bound(0.5, str(params)[:20]):  # before: ~2 s on SQLite
            response = await client.get(EVENTS, params=params, headers=alice.headers)
        assert response.status_code == 200, response.text
        found = [item["title"] for item in response.json()["items"]]
        assert found == ([f"e{COUNT}"] if "q" in params else [])
