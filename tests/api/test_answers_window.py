"""A calendar read (free/busy, find-time, a write's check) reads the per-occurrence answers
of the occurrences it found only (`events/answered.py`): their recurrence ids' range, and
those of occurrences an override moved into the window from elsewhere. Before, it read every
answer every invitee kept on each series (up to 1,000 each), whatever the window."""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, update

from neo_events.events import answered, calendars
from neo_events.models import Attendee, OccurrenceResponse
from tests.api.test_answers_shown import FIRST, RESPONSES, _invite, _series
from tests.api.test_busy_answers import random_answers
from tests.api.test_invitations import WEEKLY, invite, rsvp
from tests.helpers import Account, cpu_bound, create_event, loop_pauses, people, register
from tests.timing import budget

pytestmark = pytest.mark.anyio

EVERYONE = 50


async def _busy(client: httpx.AsyncClient, who: Account, start: str, end: str) -> list[str]:
    response = await client.get(
        "/api/v1/freebusy", params={"start_time": start, "end_time": end}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    return [b["start"] for b in response.json()["busy"]]


async def test_an_occurrence_moved_into_the_window_keeps_its_answer(
    client: httpx.AsyncClient,
) -> None:
    """Its recurrence id lies weeks after the window: read by name, not by the range."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    event = await create_event(client, alice, **WEEKLY)  # Mondays 09:00 from 2026-03-02, 6
    assert (await invite(client, alice, event, bob)).status_code == 200
    last = "2026-04-06T09:00:00Z"
    moved = await client.put(
        f"/api/v1/events/{event['id']}/instances/{last}",
        json={"start_time": "2026-03-11T15:00:00Z", "end_time": "2026-03-11T16:00:00Z"},
        headers=alice.headers,
    )
    assert moved.status_code == 200, moved.text
    window = ("2026-03-02T00:00:00Z", "2026-03-17T00:00:00Z")
    weeks = ["2026-03-02T09:00:00Z", "2026-03-09T09:00:00Z", "2026-03-16T09:00:00Z"]
    assert await _busy(client, bob, *window) == [*weeks[:2], "2026-03-11T15:00:00Z", weeks[2]]
    assert (await rsvp(client, bob, event, "declined", last)).status_code == 200
    assert await _busy(client, bob, *window) == weeks
    # the other way round: the series declined, the moved occurrence accepted
    assert (await rsvp(client, bob, event, "declined")).status_code == 200
    assert (await rsvp(client, bob, event, "accepted", last)).status_code == 200
    assert await _busy(client, bob, *window) == ["2026-03-11T15:00:00Z"]
    assert await _busy(client, alice, *window) == [*weeks[:2], "2026-03-11T15:00:00Z", weeks[2]]


@pytest.mark.parametrize("seed", range(3))
async def test_the_windows_answers_settle_as_every_answer_does(
    app: FastAPI,
    client: httpx.AsyncClient,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    """Differential, on generated calendars: series, occurrences moved near and far (some
    answered again after the move), random answers; every window's busy occurrences equal
    those settled by every answer of every invitee (`within` widened to all time)."""
    rng = random.Random(seed)
    users = await people(app, 5)
    events = [await _series(client, alice) for _ in range(3)]  # daily 09:00 from FIRST
    for event_id in events:
        await _invite(client, alice, event_id, users)
    await random_answers(app, rng, events, users, days=120, share=0.4)
    moved = []
    for event_id in events:
        for _ in range(6):  # moved, some far from where they were (everyone asked again)
            rid = FIRST + timedelta(days=rng.randrange(0, 90))
            to = rid + timedelta(days=rng.choice((-60, -20, -1, 0, 1, 30)), hours=rng.randrange(6))
            put = await client.put(
                f"/api/v1/events/{event_id}/instances/{rid.isoformat()}",
                json={
                    "start_time": to.isoformat(),
                    "end_time": (to + timedelta(minutes=rng.choice((30, 90)))).isoformat(),
                },
                headers=alice.headers,
            )
            assert put.status_code in (200, 404), put.text  # (404: moved twice, or gone)
            moved.append((event_id, rid))
    async with app.state.sessionmaker() as session:  # and some answered again since
        for event_id, rid in moved:
            for user_id in rng.sample(users, 3):
                await session.execute(
                    update(OccurrenceResponse)
                    .where(
                        OccurrenceResponse.event_id == event_id,
                        OccurrenceResponse.user_id == user_id,
                        OccurrenceResponse.recurrence_id == rid,
                    )
                    .values(response=rng.choice(RESPONSES))
                )
        await session.commit()
    everyone = {*users, alice.id}

    async def read(start: datetime, days: int) -> list[Any]:
        async with app.state.sessionmaker() as session:
            busy, _, _ = await calendars.calendar(
                session, everyone, (start, start + timedelta(days=days)), viewer_id=None
            )
        return sorted(busy)

    every = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC), set())
    for _ in range(8):
        start = FIRST + timedelta(days=rng.randrange(-10, 100), hours=rng.randrange(24))
        days = rng.choice((1, 3, 14, 40))
        windowed = await read(start, days)
        with monkeypatch.context() as patched:
            patched.setattr(answered.Answered, "within", lambda self: every if self._rids else None)
            assert await read(start, days) == windowed, (start, days)


async def test_a_find_time_reads_only_the_answers_of_its_window(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """Fifty invitees who accepted a daily series of 1,000 and then declined every
    occurrence of it, one by one: 50,000 answers that each make an occurrence free. A
    fortnight's find-time needs 700 of them; it read them all (0.4 s of CPU on SQLite, the
    loop held as long: the rows made Python on it)."""
    users = await people(app, EVERYONE)
    bob = await register(client, "bob")  # asks: invited too, and declined the series
    event_id = await _series(client, alice)
    await _invite(client, alice, event_id, [*users, bob.id])
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Attendee).where(Attendee.event_id == event_id).values(response="accepted")
        )
        await session.execute(
            update(Attendee)
            .where(Attendee.event_id == event_id, Attendee.user_id == bob.id)
            .values(response="declined")
        )
        rows = [
            {"event_id": event_id, "user_id": u, "recurrence_id": FIRST + timedelta(days=d),
             "response": "declined", "responded_at": FIRST}
            for u in users for d in range(1000)
        ]  # fmt: skip
        for chunk in range(0, len(rows), 10_000):
            await session.execute(insert(OccurrenceResponse), rows[chunk : chunk + 10_000])
        await session.commit()
    body = {
        "user_ids": users,
        "duration_minutes": 30,
        "start_time": "2027-03-01T08:00:00Z",
        "end_time": "2027-03-15T08:00:00Z",
        "timezone": "UTC",
        "working_hours": {"start": "09:00", "end": "09:30", "days": [1, 2, 3, 4, 5, 6, 7]},
        "granularity_minutes": 30,
    }
    path = "/api/v1/scheduling/find-time"
    assert (await client.post(path, json=body, headers=bob.headers)).status_code == 200  # warm
    gc.collect()
    gc.disable()
    try:
        async with loop_pauses() as pauses:
            with cpu_bound(0.2, "find-time"):
                found = await client.post(path, json=body, headers=bob.headers)
    finally:
        gc.enable()
    assert found.status_code == 200, found.text
    # everyone declined each 09:00 occurrence: every morning of the fortnight is free
    assert [s["start_time"][:16] for s in found.json()["slots"]][:3] == [
        "2027-03-01T09:00",
        "2027-03-02T09:00",
        "2027-03-03T09:00",
    ]
    assert pauses.worst_held < budget(0.1), pauses
