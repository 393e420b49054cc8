"""Per-user caps hold under concurrent creates: the count is taken under the user's row lock
(`auth/caps.py`). On PostgreSQL, 150 concurrent creates made 58 app passwords and 60 feed
tokens against caps of 50, and 100 made 24 webhooks against 20 (an outside attack,
2026-12-04): each request counted before any other had written."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from neo_events.auth.app_passwords import MAX_APP_PASSWORDS
from neo_events.ical.feeds import MAX_TOKENS
from neo_events.webhooks.service import MAX_PER_USER
from tests.helpers import Account

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("path", "body", "cap", "code"),
    [
        ("/api/v1/app-passwords", {"name": "phone"}, MAX_APP_PASSWORDS, "too_many_app_passwords"),
        ("/api/v1/feed-tokens", None, MAX_TOKENS, "too_many_feed_tokens"),
        (
            "/api/v1/webhooks",
            {"url": "https://example.com/hook", "events": ["*"]},
            MAX_PER_USER,
            "too_many_webhooks",  # (a 422 naming no field until 2026-12-08)
        ),
    ],
)
async def test_concurrent_creates_stop_at_the_cap(
    client: httpx.AsyncClient,
    alice: Account,
    path: str,
    body: dict[str, Any] | None,
    cap: int,
    code: str,
) -> None:
    async def create() -> tuple[int, str | None]:
        response = await client.post(path, json=body, headers=alice.headers)
        assert response.status_code < 500, response.text
        return response.status_code, response.json().get("code")

    answers = await asyncio.gather(*(create() for _ in range(cap + 30)))
    statuses = [status for status, _ in answers]
    assert statuses.count(201) == cap, sorted(statuses)
    assert {a for a in answers if a[0] != 201} == {(409, code)}
    listed = await client.get(path, headers=alice.headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()
    assert len(items["items"] if isinstance(items, dict) else items) == cap
