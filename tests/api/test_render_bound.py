"""An event's iCalendar has a bound (`sizes.MAX_RENDERED_BYTES`, estimated by
`sizes.rendered_bytes`): each override is written as a whole VEVENT with the series' texts
and attendee list again, so overrides, texts and attendees multiply, each within its own
limit. Found by an outside attack: 1,000 overrides of a series with a 10,000-character
description and 500 attendees rendered to 52 MB, 13 s of CPU for every export of it, paid by
everyone it was shared with or invited to."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from neo_events.events.sizes import MAX_RENDERED_BYTES
from tests.helpers import Account, assert_problem, count_rows, register
from tests.timing import budget

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
DESCRIPTION = "D" * 10_000
FIRST = datetime(2027, 1, 1, 9, tzinfo=UTC)


def overrides(count: int, skip: int = 0) -> list[dict[str, Any]]:
    days = (FIRST + timedelta(days=skip + n) for n in range(count))
    return [{"recurrence_id": day.isoformat(), "location": "moved"} for day in days]


def series(**extra: Any) -> dict[str, Any]:
    return {
        "title": "Amp",
        "description": DESCRIPTION,
        "start_time": FIRST.isoformat(),
        "end_time": (FIRST + timedelta(hours=1)).isoformat(),
        "is_recurring": True,
        "recurrence_pattern": "FREQ=DAILY;COUNT=2000",
        **extra,
    }


async def invited_series(
    client: httpx.AsyncClient, owner: Account, people: list[Account], **extra: Any
) -> int:
    """A series of `owner`'s with `people` invited: its id."""
    made = await client.post(EVENTS, json=series(**extra), headers=owner.headers)
    assert made.status_code == 201, made.text
    event: int = made.json()["id"]
    invited = await client.post(
        f"{EVENTS}/{event}/attendees",
        json={"users": [{"user_id": p.id} for p in people]},
        headers=owner.headers,
    )
    assert invited.status_code in (200, 201), invited.text
    return event


async def test_overrides_times_texts_past_the_bound_are_refused_at_once(
    app: Any, client: httpx.AsyncClient
) -> None:
    alice = await register(client, "alice")
    began = time.process_time()
    refused = await client.post(
        EVENTS, json=series(overrides=overrides(1_000)), headers=alice.headers
    )
    assert time.process_time() - began < budget(2.0)  # checked before anything is rendered
    problem = assert_problem(refused, 422, "validation_error")
    assert problem["errors"][0]["loc"][-1] == "overrides", problem
    assert "as iCalendar" in problem["errors"][0]["msg"]
    assert await count_rows(app, "events") == 0
    # the same series with fewer overrides is written, and exports within the bound
    made = await client.post(EVENTS, json=series(overrides=overrides(300)), headers=alice.headers)
    assert made.status_code == 201, made.text


async def test_attendees_count_whether_invited_before_or_after_the_overrides(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "alice")
    people = [await register(client, f"guest{n}") for n in range(10)]
    # 11 people (the organizer too): a VEVENT of about 11.9 KB (the description folded), 352
    # of them fit; without the people 10.8 KB, 388
    event = await invited_series(client, alice, people)
    many = await client.patch(
        f"{EVENTS}/{event}", json={"overrides": overrides(380)}, headers=alice.headers
    )
    assert_problem(many, 422, "validation_error")
    fits = await client.patch(
        f"{EVENTS}/{event}", json={"overrides": overrides(351)}, headers=alice.headers
    )
    assert fits.status_code == 200, fits.text
    # one occurrence more, edited on its own, passes it
    occurrence = (FIRST + timedelta(days=400)).isoformat()
    one = await client.put(
        f"{EVENTS}/{event}/instances/{occurrence}",
        json={"location": "elsewhere"},
        headers=alice.headers,
    )
    assert_problem(one, 422, "validation_error")
    # what fits renders within the bound's size, in well under a second
    began = time.process_time()
    exported = await client.get(f"{EVENTS}/{event}.ics", headers=alice.headers)
    spent = time.process_time() - began
    assert exported.status_code == 200
    assert len(exported.content) < 1.5 * MAX_RENDERED_BYTES, len(exported.content)
    assert spent < budget(3.0), f"took {spent:.2f} s of CPU"
    # and the other order: overrides first, then too many people for them
    second = await client.post(EVENTS, json=series(overrides=overrides(380)), headers=alice.headers)
    assert second.status_code == 201, second.text
    refused = await client.post(
        f"{EVENTS}/{second.json()['id']}/attendees",
        json={"users": [{"user_id": p.id} for p in people]},
        headers=alice.headers,
    )
    assert_problem(refused, 422, "validation_error")


async def test_occurrences_answered_one_by_one_fill_only_the_room_left(
    client: httpx.AsyncClient,
) -> None:
    """Each occurrence an attendee answered on its own is written as a VEVENT listing everyone
    again: the export writes those its bound leaves room for, earliest first."""
    alice = await register(client, "alice")
    people = [await register(client, f"guest{n}") for n in range(10)]
    # 344 VEVENTs of ~11.9 KB: room for 8 more within the bound
    event = await invited_series(client, alice, people, overrides=overrides(343))
    for n, person in enumerate(people):
        for day in range(20):  # 200 occurrences answered, after the overridden ones
            rid = (FIRST + timedelta(days=400 + 20 * n + day)).isoformat()
            answer = await client.put(
                f"{EVENTS}/{event}/instances/{rid}/rsvp",
                json={"response": "declined"},
                headers=person.headers,
            )
            assert answer.status_code == 200, answer.text
    exported = await client.get(f"{EVENTS}/{event}.ics", headers=alice.headers)
    assert exported.status_code == 200
    assert len(exported.content) < 1.5 * MAX_RENDERED_BYTES, len(exported.content)
    vevents = exported.content.count(b"BEGIN:VEVENT")
    assert 344 < vevents <= 344 + 8, vevents  # 100 of the 200 before (the export's own cap)
    # the earliest are the ones written
    first = (FIRST + timedelta(days=400)).strftime("%Y%m%dT%H%M%S")
    assert (
        f"RECURRENCE-ID;TZID=UTC:{first}".encode() in exported.content
        or first.encode() in exported.content
    )
