"""What a calendar-query lists, read from the events' heads and answered from per-version
caches: a series is listed for a window only if an occurrence reaches it, and an edit is seen
at once (the caches are keyed by version, never stale)."""

from __future__ import annotations

import pytest

from tests.caldav.dav import Dav, dav_for, responses
from tests.caldav.test_protocol import QUERY
from tests.helpers import create_event

pytestmark = pytest.mark.anyio

C = "{urn:ietf:params:xml:ns:caldav}"


async def listed(alice: Dav, start: str, end: str) -> dict[str, str]:
    """href → calendar-data of what a calendar-query for [start, end) lists."""
    body = QUERY.format(expand="", start=start, end=end)
    answer = await alice.request("REPORT", alice.calendar, body, Depth="1")
    assert answer.status_code == 207, answer.text
    return {
        href: entry["props"][f"{C}calendar-data"].text
        for href, entry in responses(answer.content).items()
    }


async def test_a_series_is_listed_only_where_it_occurs_and_edits_show_at_once(client) -> None:
    alice = await dav_for(client, "alice")
    series = await create_event(
        client,
        alice.account,
        title="Mondays",
        start_time="2026-03-02T09:00:00Z",
        end_time="2026-03-02T10:00:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;BYDAY=MO",
    )
    href = f"{alice.calendar}event-{series['id']}.ics"
    tuesday = ("20260310T000000Z", "20260311T000000Z")
    monday = ("20260309T000000Z", "20260310T000000Z")
    # its span covers Tuesday, no occurrence does (asked twice: the second is cached)
    for _ in range(2):
        assert await listed(alice, *tuesday) == {}
        [text] = (await listed(alice, *monday)).values()
        assert "SUMMARY:Mondays" in text and "RRULE:FREQ=WEEKLY;BYDAY=MO" in text
    changed = await client.patch(
        f"/api/v1/events/{series['id']}",
        json={"title": "Weekdays", "recurrence_pattern": "FREQ=WEEKLY;BYDAY=MO,TU"},
        headers=alice.account.headers,
    )
    assert changed.status_code == 200, changed.text
    on_tuesday = await listed(alice, *tuesday)
    assert list(on_tuesday) == [href] and "SUMMARY:Weekdays" in on_tuesday[href]
    assert "SUMMARY:Weekdays" in (await listed(alice, *monday))[href]
