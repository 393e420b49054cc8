"""Zone rules are those of the `tzdata` package uv.lock pins, on every host, never the host's
own zone files (`neo_events/timezones.py`): Debian bookworm's said 2025b when the lock said
2026f, and weekly events in Vancouver came out an hour off (an outside attack, 2026-12-07).
What is rendered from the rules says which they were: a new release of them changes the
.ics file's and the feed's ETags (CalDAV's: tests/caldav/test_render_generation.py)."""

from __future__ import annotations

import httpx
import pytest

from neo_events import timezones
from tests.helpers import Account, create_event

pytestmark = pytest.mark.anyio


async def test_a_series_follows_the_pinned_rules_not_the_hosts(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """2026f: British Columbia stays on UTC-7 from 2026-11-01 (2025b: back to UTC-8)."""
    series = await create_event(
        client,
        alice,
        title="Weekly",
        start_time="2026-10-05T09:00:00-07:00",
        end_time="2026-10-05T10:00:00-07:00",
        timezone="America/Vancouver",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY",
    )
    window = {"start_time": "2026-10-20T00:00:00Z", "end_time": "2026-11-20T00:00:00Z"}
    answer = await client.get(
        f"/api/v1/events/{series['id']}/instances", params=window, headers=alice.headers
    )
    assert answer.status_code == 200, answer.text
    starts = [item["start_time"] for item in answer.json()["items"]]
    assert starts == [f"2026-{day}T16:00:00Z" for day in ("10-26", "11-02", "11-09", "11-16")]


async def test_new_rules_change_the_ics_files_and_the_feeds_etags(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = await create_event(
        client,
        alice,
        title="In Havana",
        start_time="2026-12-01T09:00:00-05:00",
        end_time="2026-12-01T10:00:00-05:00",
        timezone="America/Havana",
    )
    token = await client.post("/api/v1/feed-tokens", headers=alice.headers)
    assert token.status_code == 201, token.text
    paths = [
        (f"/api/v1/events/{event['id']}.ics", alice.headers),
        (f"/api/v1/calendar.ics?token={token.json()['token']}", {}),
    ]
    before = [(await client.get(path, headers=headers)).headers["etag"] for path, headers in paths]
    for (path, headers), etag in zip(paths, before, strict=True):
        again = await client.get(path, headers=headers | {"If-None-Match": etag})
        assert again.status_code == 304, path
    monkeypatch.setattr(timezones, "RULES_VERSION", "2099z")
    for (path, headers), etag in zip(paths, before, strict=True):
        fetched = await client.get(path, headers=headers | {"If-None-Match": etag})
        assert fetched.status_code == 200 and fetched.headers["etag"] != etag, path
