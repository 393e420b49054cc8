"""Bounded cost (#16) of the calendar feed: a poll after a change renders what changed, not the
whole calendar, and what it serves from the rendered events kept between polls is exactly what
a fresh render gives: an edit, the reader's reminders and an attendee's answer (for the series
and for one occurrence) each show in the next poll. A feed holds at most MAX_FEED_EVENTS
events, those not over yet first.

The CPU bound is generous on purpose (seconds of this test process, which runs the app): a poll
of this calendar re-rendered whole costs 1.5-2 s; the exact figures are in BENCHMARKS.md.
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from neo_events.ical import feeds
from tests.helpers import Account, cpu_bound, register

pytestmark = pytest.mark.anyio

API = "/api/v1"
EVENTS = 1_500
POLL_CPU = 0.6  # seconds: about 0.1 from the kept pieces


def big_calendar(count: int) -> bytes:
    """Singles, weekly series (some with an EXDATE and a moved occurrence), a third with bob
    as attendee, a fifth with an alarm (the importer's reminder)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN"]
    for n in range(count):
        day = date(2030, 1, 1) + timedelta(days=n % 300)
        lines += ["BEGIN:VEVENT", f"UID:m{n}@example.com", "DTSTAMP:20260101T000000Z"]
        lines += [f"SUMMARY:event {n}", f"LOCATION:room {n % 7}"]
        if n % 10 < 6:
            lines += [f"DTSTART;TZID=Europe/Berlin:{day:%Y%m%d}T100000"]
            lines += [f"DTEND;TZID=Europe/Berlin:{day:%Y%m%d}T110000"]
        else:
            lines += [f"DTSTART;TZID=Europe/Berlin:{day:%Y%m%d}T090000"]
            lines += [f"DTEND;TZID=Europe/Berlin:{day:%Y%m%d}T093000", "RRULE:FREQ=WEEKLY;COUNT=20"]
            if n % 10 >= 8:
                lines += [f"EXDATE;TZID=Europe/Berlin:{day + timedelta(days=14):%Y%m%d}T090000"]
        if n % 3 == 0:
            lines += ["ORGANIZER:mailto:alice@example.com"]
            lines += ["ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com"]
        if n % 5 == 0:
            lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:r", "TRIGGER:-PT10M"]
            lines += ["END:VALARM"]
        lines += ["END:VEVENT"]
        if n % 10 == 9:
            moved = day + timedelta(days=7)
            lines += ["BEGIN:VEVENT", f"UID:m{n}@example.com", "DTSTAMP:20260101T000000Z"]
            lines += [f"RECURRENCE-ID;TZID=Europe/Berlin:{moved:%Y%m%d}T090000"]
            lines += [f"DTSTART;TZID=Europe/Berlin:{moved:%Y%m%d}T120000"]
            lines += [f"DTEND;TZID=Europe/Berlin:{moved:%Y%m%d}T123000", f"SUMMARY:moved {n}"]
            lines += ["END:VEVENT"]
    lines += ["END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()


async def feed_url(client: httpx.AsyncClient, owner: Account) -> str:
    response = await client.post(f"{API}/feed-tokens", json={}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["url"])


async def poll(client: httpx.AsyncClient, url: str) -> bytes:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return response.content


async def fresh(client: httpx.AsyncClient, url: str) -> bytes:
    """The feed rendered from nothing kept."""
    kept = getattr(feeds, "PIECES", None)  # what this worker keeps between polls
    if kept is not None:
        kept.clear()
    return await poll(client, url)


async def poll_after_a_change(client: httpx.AsyncClient, url: str) -> bytes:
    """The next poll, within POLL_CPU, byte for byte the feed rendered from nothing kept
    (what changed is rendered again, nothing stale is served)."""
    with cpu_bound(POLL_CPU):
        body = await poll(client, url)
    assert body == await fresh(client, url)
    return body


def vevent_of(body: bytes, uid: str, recurrence: bool = False) -> str:
    """The text of the event's master VEVENT (or of its first RECURRENCE-ID one)."""
    text = body.decode().replace("\r\n ", "")
    for block in text.split("BEGIN:VEVENT")[1:]:
        if f"UID:{uid}\r\n" in block and ("RECURRENCE-ID" in block) == recurrence:
            return block.split("END:VEVENT")[0]
    raise AssertionError(f"no VEVENT {uid} (recurrence={recurrence})")


async def test_a_poll_after_a_change_renders_only_what_changed_and_is_never_stale(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    headers = alice.headers | {"content-type": "text/calendar"}
    imported = await client.post(
        f"{API}/events/import", content=big_calendar(EVENTS), headers=headers
    )
    assert imported.status_code == 201, imported.text
    items = imported.json()["items"]
    assert len(items) == EVENTS
    single, series = items[3]["id"], items[9]["id"]  # both with bob; the series with a move
    url = await feed_url(client, alice)
    first = await poll(client, url)
    assert first.count(b"BEGIN:VEVENT") == EVENTS + EVENTS // 10

    with cpu_bound(POLL_CPU):
        again = await poll(client, url)
    assert again == first

    edited = await client.patch(
        f"{API}/events/{single}", json={"title": "Edited"}, headers=alice.headers
    )
    assert edited.status_code == 200, edited.text
    body = await poll_after_a_change(client, url)
    assert "SUMMARY:Edited" in vevent_of(body, f"event-{single}@neo-events")
    assert "SEQUENCE:1" in vevent_of(body, f"event-{single}@neo-events")

    reminders = {"reminders": [{"minutes_before": 42}]}
    put = await client.put(
        f"{API}/events/{series}/reminders", json=reminders, headers=alice.headers
    )
    assert put.status_code == 200, put.text
    body = await poll_after_a_change(client, url)
    assert "TRIGGER:-PT42M" in vevent_of(body, f"event-{series}@neo-events")
    assert "TRIGGER:-PT42M" in vevent_of(body, f"event-{series}@neo-events", recurrence=True)

    said = await client.put(
        f"{API}/events/{single}/rsvp", json={"response": "declined"}, headers=bob.headers
    )
    assert said.status_code == 200, said.text
    body = await poll_after_a_change(client, url)
    assert "PARTSTAT=DECLINED" in vevent_of(body, f"event-{single}@neo-events")

    occurrence = items[9]["start_time"]  # the series' first occurrence, answered alone
    said = await client.put(
        f"{API}/events/{series}/instances/{occurrence}/rsvp",
        json={"response": "accepted"},
        headers=bob.headers,
    )
    assert said.status_code == 200, said.text
    body = await poll_after_a_change(client, url)
    assert body.count(f"UID:event-{series}@neo-events".encode()) == 3  # master, move, answer


async def test_a_feed_holds_the_most_relevant_events_up_to_its_cap(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything not over yet, then the past ones that ended last."""
    alice = await register(client, "alice")
    days = ["2020-03-01", "2021-03-01", "2019-03-01", "2199-01-01", "2198-01-01"]
    for day in days:
        body = {"title": day, "start_time": f"{day}T10:00:00Z", "end_time": f"{day}T11:00:00Z"}
        made = await client.post(f"{API}/events", json=body, headers=alice.headers)
        assert made.status_code == 201, made.text
    series = {
        "title": "weekly since 2000",
        "start_time": "2000-01-03T09:00:00Z",
        "end_time": "2000-01-03T10:00:00Z",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=WEEKLY",
    }
    made = await client.post(f"{API}/events", json=series, headers=alice.headers)
    assert made.status_code == 201, made.text
    url = await feed_url(client, alice)
    monkeypatch.setattr(feeds, "MAX_FEED_EVENTS", 4)
    body = (await poll(client, url)).decode()
    assert body.count("BEGIN:VEVENT") == 4
    for title in ("weekly since 2000", "2199-01-01", "2198-01-01", "2021-03-01"):
        assert f"SUMMARY:{title}\r\n" in body
    # ordered as ever by id, whatever chose them
    assert body.index("SUMMARY:2021-03-01") < body.index("SUMMARY:2198-01-01")


async def _overridden(client: httpx.AsyncClient, owner: Account, count: int) -> None:
    """`count` daily series of 1,000 overrides each (~300 KB of iCalendar apiece), the first
    starting earliest."""
    items = []
    for n in range(count):
        first = date(2031, 1, 1) + timedelta(days=n)
        items.append(
            {
                "title": f"many {n}",
                "start_time": f"{first}T09:00:00Z",
                "end_time": f"{first}T10:00:00Z",
                "timezone": "UTC",
                "is_recurring": True,
                "recurrence_pattern": "FREQ=DAILY",
                "overrides": [
                    {"recurrence_id": f"{first + timedelta(days=d)}T09:00:00Z", "title": "x"}
                    for d in range(1000)
                ],
            }
        )
    made = await client.post(
        f"{API}/events/batch?conflicts=ignore", json={"events": items}, headers=owner.headers
    )
    assert made.status_code == 201, made.text[:300]


async def test_a_feed_of_events_of_many_overrides_is_written_from_stencils_and_within_a_budget(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outside attack: a feed of 135 series of 1,000 overrides (35 MB) cost 40 s of CPU at
    its first poll, 0.3 s an event through icalendar. The overrides are now written from
    stencils (`ical/stencils.py`), and a feed holds the most relevant events whose texts fit
    MAX_FEED_BYTES: past it, the least relevant are left out, whatever they cost."""
    alice = await register(client, "alice")
    await _overridden(client, alice, 12)
    url = await feed_url(client, alice)
    with cpu_bound(1.5, "the first poll"):  # before: 12 × 0.3 s of rendering alone
        whole = await fresh(client, url)
    assert whole.count(b"BEGIN:VEVENT") == 12 * 1001
    assert len(whole) > 3_000_000
    # a budget of a little more than three: the three that start first, nothing rendered past
    monkeypatch.setattr(feeds, "MAX_FEED_BYTES", len(whole) * 3 // 12 + 1000)
    with cpu_bound(0.6, "a poll within the budget"):
        cut = await fresh(client, url)
    assert cut.count(b"BEGIN:VEVENT") == 3 * 1001
    assert [f"SUMMARY:many {n}\r\n".encode() in cut for n in range(5)] == [True] * 3 + [False] * 2
    assert len(cut) <= feeds.MAX_FEED_BYTES + 10_000  # the calendar's head and zones
    assert (await poll(client, url)) == cut  # served from the kept pieces, the same
    monkeypatch.setattr(feeds, "MAX_FEED_BYTES", 1)  # the most relevant one, however large
    assert (await fresh(client, url)).count(b"BEGIN:VEVENT") == 1001
