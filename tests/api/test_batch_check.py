"""A batch's writes and conflict check (#16): each item is written as its own row, and what
the check reports for each item equals expanding everything and comparing every pair."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from tests.helpers import Account, event_body, register

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await register(client, "alice")


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
