"""Reminders (SPEC §14) on the real app: the API, and `reminder.due` through the change feed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from neo_events.jobs.worker import running
from neo_events.live.hub import load_messages
from neo_events.models import Change, ChangeRecipient, Job, Reminder
from tests.conftest import http_client, make_settings, serving
from tests.helpers import Account, assert_problem, create_event, register, share
from tests.timing import budget

pytestmark = pytest.mark.anyio

FAST = {"jobs_poll_s": 0.1}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def soon(seconds: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)


@pytest.fixture
async def fast_app(database_url: str, data_dir: Path) -> AsyncIterator[FastAPI]:
    async with serving(make_settings(database_url, data_dir, **FAST)) as application:
        yield application


@pytest.fixture
async def fast_client(fast_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(fast_app) as c:
        yield c


async def reminders_due(app: FastAPI, user_id: int) -> list[dict[str, Any]]:
    """Every reminder.due message for this user, as clients get them."""
    async with app.state.sessionmaker() as session:
        messages = await load_messages(session, after=0, user_id=user_id, limit=10_000)
    return [m.body for m in messages if m.body["type"] == "reminder.due"]


async def wait_for_reminders(
    app: FastAPI, user_id: int, count: int, within: float = 20
) -> list[dict[str, Any]]:
    """The user's reminder.due messages once there are `count` (polled every 0.1 s)."""
    for _ in range(int(within / 0.1)):
        found = await reminders_due(app, user_id)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} reminders within {within} s: {found}")


async def jobs_of(app: FastAPI) -> list[Job]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(Job).where(Job.kind == "reminder")))


async def daily(client: httpx.AsyncClient, owner: Account, start: datetime) -> dict[str, Any]:
    """A daily half-hour series in UTC from `start`."""
    return await create_event(
        client,
        owner,
        start_time=iso(start),
        end_time=iso(start + timedelta(minutes=30)),
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY",
    )


async def put_reminders(
    client: httpx.AsyncClient, headers: dict[str, str], event_id: int, *minutes: int
) -> httpx.Response:
    return await client.put(
        f"/api/v1/events/{event_id}/reminders",
        json={"reminders": [{"minutes_before": m} for m in minutes]},
        headers=headers,
    )


async def test_reminders_are_each_users_own_and_shown_on_the_event(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    eve = await register(client, "eve")
    event = await create_event(client, alice)
    await share(client, alice, event["id"], bob, "viewer")

    response = await put_reminders(client, alice.headers, event["id"], 30, 10, 10)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "event_id": event["id"],
        "reminders": [{"minutes_before": 10}, {"minutes_before": 30}],
    }
    assert (await put_reminders(client, bob.headers, event["id"], 0)).status_code == 200

    mine = (await client.get(f"/api/v1/events/{event['id']}", headers=alice.headers)).json()
    assert mine["my_reminders"] == [{"minutes_before": 10}, {"minutes_before": 30}]
    bobs = (await client.get(f"/api/v1/events/{event['id']}", headers=bob.headers)).json()
    assert bobs["my_reminders"] == [{"minutes_before": 0}]

    # Replacing the set; an empty list removes them all.
    await put_reminders(client, alice.headers, event["id"], 5)
    mine = (await client.get(f"/api/v1/events/{event['id']}", headers=alice.headers)).json()
    assert mine["my_reminders"] == [{"minutes_before": 5}]
    await put_reminders(client, alice.headers, event["id"])
    mine = (await client.get(f"/api/v1/events/{event['id']}", headers=alice.headers)).json()
    assert mine["my_reminders"] == []

    # A stranger: 404, as for the event itself.
    assert_problem(await put_reminders(client, eve.headers, event["id"], 5), 404, "event_not_found")


async def test_the_event_etag_follows_my_reminders_but_if_match_ignores_them(
    client: httpx.AsyncClient,
) -> None:
    """`my_reminders` is part of the object and changes no version: a GET revalidating
    with If-None-Match after a reminder change gets 200 and the new list, never a 304 with
    the old one; another holder's tag is untouched; If-Match still compares versions only."""
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    event = await create_event(client, alice)
    url = f"/api/v1/events/{event['id']}"
    await share(client, alice, event["id"], bob, "editor")
    first = await client.get(url, headers=alice.headers)
    assert first.headers["etag"] == '"1"'

    await put_reminders(client, alice.headers, event["id"], 1440, 10)
    again = await client.get(url, headers=alice.headers | {"If-None-Match": '"1"'})
    assert again.status_code == 200, again.text
    assert again.json()["my_reminders"] == [{"minutes_before": 10}, {"minutes_before": 1440}]
    assert again.json()["version"] == 1 and again.headers["etag"] == '"1-r10.1440"'
    cached = await client.get(url, headers=alice.headers | {"If-None-Match": '"1-r10.1440"'})
    assert cached.status_code == 304 and cached.headers["etag"] == '"1-r10.1440"'
    weak = await client.get(url, headers=alice.headers | {"If-None-Match": 'W/"1-r10.1440"'})
    assert weak.status_code == 304
    # bob's object did not change: his tag neither
    bobs = await client.get(url, headers=bob.headers | {"If-None-Match": '"1"'})
    assert bobs.status_code == 304 and bobs.headers["etag"] == '"1"'

    # alice's edit from the object she read before setting reminders: not a conflict
    edited = await client.patch(
        url, json={"title": "renamed"}, headers=alice.headers | {"If-Match": '"1"'}
    )
    assert edited.status_code == 200, edited.text
    assert edited.headers["etag"] == '"2-r10.1440"'
    assert edited.json()["my_reminders"] == [{"minutes_before": 10}, {"minutes_before": 1440}]
    # ...but bob's, from version 1, is: If-Match compares the version, whatever the suffix
    for stale in ('"1"', '"1-r10.1440"', 'W/"2"'):
        refused = await client.patch(
            url, json={"title": "bob's"}, headers=bob.headers | {"If-Match": stale}
        )
        assert_problem(refused, 412, "precondition_failed")
    ok = await client.patch(
        url, json={"title": "bob's"}, headers=bob.headers | {"If-Match": '"2-r5"'}
    )
    assert ok.status_code == 200 and ok.headers["etag"] == '"3"'

    # removing them: the tag is the bare version again, and a stale one revalidates
    await put_reminders(client, alice.headers, event["id"])
    cleared = await client.get(url, headers=alice.headers | {"If-None-Match": '"3-r10.1440"'})
    assert cleared.status_code == 200 and cleared.json()["my_reminders"] == []
    assert cleared.headers["etag"] == '"3"'


async def test_my_reminders_are_the_callers_in_every_view_of_the_event(
    client: httpx.AsyncClient,
) -> None:
    """The window listing, the plain listing, /sync and a rollback show the caller's own
    reminders — the window listing's cached event objects never carry another user's."""
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    event = await create_event(
        client, alice, is_recurring=True, recurrence_pattern="FREQ=DAILY;COUNT=3"
    )
    await share(client, alice, event["id"], bob, "editor")
    await put_reminders(client, alice.headers, event["id"], 15)
    await put_reminders(client, bob.headers, event["id"], 0, 60)
    window = "start_time=2026-03-29T00:00:00Z&end_time=2026-04-05T00:00:00Z"
    for who, expected in ((alice, [15]), (bob, [0, 60]), (alice, [15])):
        mine = [{"minutes_before": m} for m in expected]
        listed = (await client.get(f"/api/v1/events?{window}", headers=who.headers)).json()
        assert len(listed["items"]) == 3
        assert [item["my_reminders"] for item in listed["items"]] == [mine] * 3
        plain = (await client.get("/api/v1/events", headers=who.headers)).json()
        assert plain["items"][0]["my_reminders"] == mine
        synced = (await client.get("/api/v1/sync", headers=who.headers)).json()
        assert synced["changes"][0]["event"]["my_reminders"] == mine
    await client.patch(f"/api/v1/events/{event['id']}", json={"title": "x"}, headers=bob.headers)
    rolled = await client.post(f"/api/v1/events/{event['id']}/rollback/1", headers=bob.headers)
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["my_reminders"] == [{"minutes_before": 0}, {"minutes_before": 60}]
    assert rolled.headers["etag"] == '"3-r0.60"'
    base = f"/api/v1/events/{event['id']}/instances"
    edited = await client.put(
        f"{base}/2026-03-31T07:00:00Z", json={"title": "y"}, headers=bob.headers
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["my_reminders"] == [{"minutes_before": 0}, {"minutes_before": 60}]
    assert edited.headers["etag"] == '"4-r0.60"'
    instances = await client.get(f"{base}?{window}", headers=alice.headers)
    assert [i["my_reminders"] for i in instances.json()["items"]] == [[{"minutes_before": 15}]] * 3


@pytest.mark.parametrize(
    "body",
    [
        {"reminders": [{"minutes_before": m} for m in range(6)]},
        {"reminders": [{"minutes_before": -1}]},
        {"reminders": [{"minutes_before": 40_321}]},
        {"reminders": [{"minutes": 5}]},
        {},
    ],
)
async def test_invalid_reminders_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    alice = await register(client, "alice")
    event = await create_event(client, alice)
    response = await client.put(
        f"/api/v1/events/{event['id']}/reminders", json=body, headers=alice.headers
    )
    assert_problem(response, 422, "validation_error")
    got = (await client.get(f"/api/v1/events/{event['id']}", headers=alice.headers)).json()
    assert got["my_reminders"] == []


async def test_a_reminder_arrives_once_at_its_time_for_its_user_only(
    fast_app: FastAPI, fast_client: httpx.AsyncClient
) -> None:
    client = fast_client
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    start = soon(66)  # due 6 s from now with a 1-minute reminder
    event = await create_event(
        client,
        alice,
        title="Review",
        start_time=iso(start),
        end_time=iso(start + timedelta(hours=1)),
    )
    await share(client, alice, event["id"], bob, "viewer")
    assert (await put_reminders(client, alice.headers, event["id"], 1)).status_code == 200

    [due] = await wait_for_reminders(fast_app, alice.id, 1)
    arrived = datetime.now(UTC)
    assert due == {
        "type": "reminder.due",
        "event_id": event["id"],
        "occurrence_start": iso(start),
        "title": "Review",
        "minutes_before": 1,
        "seq": due["seq"],
    }
    assert arrived - (start - timedelta(minutes=1)) < timedelta(seconds=5)
    await asyncio.sleep(1)
    assert len(await reminders_due(fast_app, alice.id)) == 1
    assert await reminders_due(fast_app, bob.id) == []
    # A single event's reminder is spent: nothing is left scheduled.
    assert await jobs_of(fast_app) == []


async def test_a_recurring_reminder_rolls_forward_one_occurrence_at_a_time(
    fast_app: FastAPI, fast_client: httpx.AsyncClient
) -> None:
    client = fast_client
    alice = await register(client, "alice")
    start = soon(66)
    event = await daily(client, alice, start)
    await put_reminders(client, alice.headers, event["id"], 1)
    [job] = await jobs_of(fast_app)
    assert job.due_at == start - timedelta(minutes=1)
    [due] = await wait_for_reminders(fast_app, alice.id, 1)
    assert due["occurrence_start"] == iso(start)
    await asyncio.sleep(0.5)
    # One row per reminder, now pointing at tomorrow's occurrence.
    [job] = await jobs_of(fast_app)
    assert job.due_at == start + timedelta(days=1) - timedelta(minutes=1)
    assert job.payload["occurrence_start"] == iso(start + timedelta(days=1))


async def test_moving_cancelling_and_deleting_occurrences_move_or_drop_reminders(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice = await register(client, "alice")
    start = soon(3600 * 3)
    event = await daily(client, alice, start)
    await put_reminders(client, alice.headers, event["id"], 60)
    [job] = await jobs_of(app)
    assert job.due_at == start - timedelta(hours=1)

    # Move the series an hour later: the reminder follows, in the same transaction.
    response = await client.patch(
        f"/api/v1/events/{event['id']}",
        json={
            "start_time": iso(start + timedelta(hours=1)),
            "end_time": iso(start + timedelta(hours=1, minutes=30)),
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    start += timedelta(hours=1)
    [job] = await jobs_of(app)
    assert job.due_at == start - timedelta(hours=1)

    # Move just the next occurrence (an override): its reminder moves with it.
    moved = start + timedelta(hours=2)
    response = await client.put(
        f"/api/v1/events/{event['id']}/instances/{iso(start)}",
        json={"start_time": iso(moved), "end_time": iso(moved + timedelta(minutes=30))},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    [job] = await jobs_of(app)
    assert job.due_at == moved - timedelta(hours=1)
    assert job.payload["occurrence_start"] == iso(moved)

    # Cancel it: the reminder goes to the next day's occurrence.
    response = await client.delete(
        f"/api/v1/events/{event['id']}/instances/{iso(start)}", headers=alice.headers
    )
    assert response.status_code == 204, response.text
    [job] = await jobs_of(app)
    assert job.due_at == start + timedelta(days=1) - timedelta(hours=1)

    # Delete the event: nothing is left to remind of.
    response = await client.delete(f"/api/v1/events/{event['id']}", headers=alice.headers)
    assert response.status_code == 204
    assert await jobs_of(app) == []


async def test_a_split_series_keeps_everyones_reminders_on_both_parts(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """ "This and following" makes a new series of the rest: each holder's reminders hold
    for it too, and the first part keeps reminding of what is left of it."""
    alice, bob = await register(client, "alice"), await register(client, "bob")
    start = soon(3600 * 3)
    event = await daily(client, alice, start)
    await share(client, alice, event["id"], bob, "viewer")
    assert (await put_reminders(client, alice.headers, event["id"], 10, 60)).status_code == 200
    assert (await put_reminders(client, bob.headers, event["id"], 5)).status_code == 200
    third = start + timedelta(days=2)
    response = await client.put(
        f"/api/v1/events/{event['id']}/instances/{iso(third)}",
        params={"scope": "following"},
        json={"title": "Renamed from the third day"},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    successor = response.json()
    assert successor["id"] != event["id"] and successor["my_reminders"] == [
        {"minutes_before": 10},
        {"minutes_before": 60},
    ]
    again = await client.get(f"/api/v1/events/{successor['id']}", headers=bob.headers)
    assert again.json()["my_reminders"] == [{"minutes_before": 5}]
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(Reminder.id, Reminder.event_id, Reminder.minutes_before)
        )
        reminders = {row.id: (row.event_id, row.minutes_before) for row in rows}
    due = {reminders[j.payload["reminder_id"]]: j.due_at for j in await jobs_of(app)}
    for minutes in (10, 60):  # the first part's next occurrence, and the new series' first
        assert due[(event["id"], minutes)] == start - timedelta(minutes=minutes)
        assert due[(successor["id"], minutes)] == third - timedelta(minutes=minutes)
    assert due[(successor["id"], 5)] == third - timedelta(minutes=5)


async def test_losing_access_drops_the_reminder(
    fast_app: FastAPI, fast_client: httpx.AsyncClient
) -> None:
    client = fast_client
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    start = soon(66)
    event = await create_event(
        client, alice, start_time=iso(start), end_time=iso(start + timedelta(hours=1))
    )
    await share(client, alice, event["id"], bob, "viewer")
    await put_reminders(client, bob.headers, event["id"], 1)
    await put_reminders(client, alice.headers, event["id"], 1)
    response = await client.delete(
        f"/api/v1/events/{event['id']}/permissions/{bob.id}", headers=alice.headers
    )
    assert response.status_code == 204
    await wait_for_reminders(fast_app, alice.id, 1)
    await asyncio.sleep(0.5)
    assert await reminders_due(fast_app, bob.id) == []


async def invite_and_answer(
    client: httpx.AsyncClient,
    organizer: Any,
    guest: Any,
    event_id: int,
    response: str,
    occurrence: datetime | None = None,
) -> None:
    """Answer an invitation (for one occurrence, or the series), inviting first if needed."""
    listed = await client.get(f"/api/v1/events/{event_id}", headers=guest.headers)
    if not listed.json().get("attendees"):
        invited = await client.post(
            f"/api/v1/events/{event_id}/attendees",
            json={"users": [{"user_id": guest.id}]},
            headers=organizer.headers,
        )
        assert invited.status_code == 200, invited.text
    path = f"/api/v1/events/{event_id}"
    if occurrence is not None:
        path += f"/instances/{iso(occurrence)}"
    answered = await client.put(f"{path}/rsvp", json={"response": response}, headers=guest.headers)
    assert answered.status_code == 200, answered.text


async def test_declining_drops_reminders_and_accepting_brings_them_back(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    start = soon(3600 * 3)
    day = timedelta(days=1)
    event = await daily(client, alice, start)
    await invite_and_answer(client, alice, bob, event["id"], "accepted")
    assert (await put_reminders(client, bob.headers, event["id"], 60)).status_code == 200
    await put_reminders(client, alice.headers, event["id"], 30)

    async def due_times() -> list[datetime]:
        return sorted(j.due_at for j in await jobs_of(app))

    assert await due_times() == [start - timedelta(hours=1), start - timedelta(minutes=30)]

    # Bob declines today's and tomorrow's occurrences: his reminder waits for the third.
    await invite_and_answer(client, alice, bob, event["id"], "declined", start)
    await invite_and_answer(client, alice, bob, event["id"], "declined", start + day)
    [job] = [j for j in await jobs_of(app) if j.due_at != start - timedelta(minutes=30)]
    assert job.due_at == start + 2 * day - timedelta(hours=1)
    assert job.payload["occurrence_start"] == iso(start + 2 * day)

    # Accepting tomorrow's again brings that one back.
    await invite_and_answer(client, alice, bob, event["id"], "accepted", start + day)
    assert await due_times() == [start - timedelta(minutes=30), start + day - timedelta(hours=1)]

    # Declining the series: no job for bob's reminder (alice's stays), though it is still his.
    await invite_and_answer(client, alice, bob, event["id"], "declined")
    assert await due_times() == [start - timedelta(minutes=30)]
    bobs = (await client.get(f"/api/v1/events/{event['id']}", headers=bob.headers)).json()
    assert bobs["my_reminders"] == [{"minutes_before": 60}]
    # ... and an edit of the event that keeps its time does not bring it back.
    edited = await client.patch(
        f"/api/v1/events/{event['id']}", json={"transparency": "transparent"}, headers=alice.headers
    )
    assert edited.status_code == 200, edited.text
    assert await due_times() == [start - timedelta(minutes=30)]

    # Accepting the series again: the reminder is back at the next occurrence.
    await invite_and_answer(client, alice, bob, event["id"], "tentative")
    assert await due_times() == [start - timedelta(hours=1), start - timedelta(minutes=30)]

    # Declining the series but accepting one occurrence: only that one reminds.
    await invite_and_answer(client, alice, bob, event["id"], "declined")
    await invite_and_answer(client, alice, bob, event["id"], "accepted", start + 3 * day)
    assert await due_times() == [
        start - timedelta(minutes=30),
        start + 3 * day - timedelta(hours=1),
    ]

    # Taken off the list, his declines are gone: the reminder is back.
    removed = await client.delete(
        f"/api/v1/events/{event['id']}/attendees/{bob.id}", headers=alice.headers
    )
    assert removed.status_code == 204, removed.text
    assert await due_times() == [start - timedelta(hours=1), start - timedelta(minutes=30)]


async def test_a_declined_occurrence_sends_no_reminder_and_the_next_is_scheduled(
    fast_app: FastAPI, fast_client: httpx.AsyncClient
) -> None:
    """With the worker running: bob declined the first and second occurrences of a
    series whose first reminder is due in seconds; only alice is reminded, and bob's
    reminder rolls over both (the second declined one is skipped as the job fires)."""
    client = fast_client
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    start = soon(63)
    hour = timedelta(hours=1)
    event = await create_event(
        client,
        alice,
        start_time=iso(start),
        end_time=iso(start + timedelta(minutes=10)),
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=HOURLY",
    )
    await invite_and_answer(client, alice, bob, event["id"], "declined", start)
    await invite_and_answer(client, alice, bob, event["id"], "declined", start + hour)
    await put_reminders(client, alice.headers, event["id"], 1)
    assert (await put_reminders(client, bob.headers, event["id"], 1)).status_code == 200
    [due] = await wait_for_reminders(fast_app, alice.id, 1)
    assert due["occurrence_start"] == iso(start)
    await asyncio.sleep(1)
    assert await reminders_due(fast_app, bob.id) == []
    starts = sorted(j.payload["occurrence_start"] for j in await jobs_of(fast_app))
    assert starts == [iso(start + hour), iso(start + 2 * hour)]


async def test_a_declined_minutely_series_finds_the_one_accepted_occurrence_quickly(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """The worst series to walk: once a minute, declined, with one occurrence accepted 200
    days out. Only that occurrence is checked, so the answer stays cheap and the reminder
    points at it (not at a re-check somewhere in a year of declined minutes)."""
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    start = soon(3600)
    event = await create_event(
        client,
        alice,
        start_time=iso(start),
        end_time=iso(start + timedelta(minutes=1)),
        timezone="Europe/Berlin",
        is_recurring=True,
        recurrence_pattern="FREQ=MINUTELY",
    )
    await invite_and_answer(client, alice, bob, event["id"], "declined")
    minutes = [0, 5, 10, 30, 60]
    assert (await put_reminders(client, bob.headers, event["id"], *minutes)).status_code == 200
    assert await jobs_of(app) == []
    chosen = start + timedelta(days=200, minutes=7)
    began = asyncio.get_running_loop().time()
    await invite_and_answer(client, alice, bob, event["id"], "accepted", chosen)
    took = asyncio.get_running_loop().time() - began
    assert took < budget(2), f"the answer took {took:.2f} s"
    assert sorted(j.due_at for j in await jobs_of(app)) == sorted(
        chosen - timedelta(minutes=m) for m in minutes
    )


async def test_a_reminder_missed_while_down_comes_late_and_an_old_one_is_dropped(
    database_url: str, data_dir: Path
) -> None:
    """Everything "down" (no runner) past two due times: one missed by less than the drop
    limit arrives marked late, one missed by more is skipped."""
    settings = make_settings(
        database_url,
        data_dir,
        jobs_in_serve=False,
        jobs_poll_s=0.1,
        reminder_late_after_s=1,
        reminder_drop_after_s=5,
    )
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        early, late = soon(68), soon(74)  # reminders due in ~8 s and ~14 s
        first = await create_event(
            client, alice, start_time=iso(early), end_time=iso(early + timedelta(hours=1))
        )
        second = await create_event(
            client, alice, start_time=iso(late), end_time=iso(late + timedelta(hours=1))
        )
        await put_reminders(client, alice.headers, first["id"], 1)
        await put_reminders(client, alice.headers, second["id"], 1)
        await asyncio.sleep((late - datetime.now(UTC)).total_seconds() - 60 + 2)
        # Now: the first is ~8 s overdue (dropped), the second ~2 s (late).
        async with running(settings, app.state.sessionmaker, publish=app.state.hub.changed):
            [due] = await wait_for_reminders(app, alice.id, 1)
            await asyncio.sleep(0.5)
        assert due["event_id"] == second["id"] and due["late"] is True
        assert len(await reminders_due(app, alice.id)) == 1
        assert await jobs_of(app) == []


async def test_reminder_rows_in_the_feed_have_one_recipient(
    fast_app: FastAPI, fast_client: httpx.AsyncClient
) -> None:
    client = fast_client
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    start = soon(66)
    event = await create_event(
        client, alice, start_time=iso(start), end_time=iso(start + timedelta(hours=1))
    )
    await share(client, alice, event["id"], bob, "editor")
    await put_reminders(client, alice.headers, event["id"], 1)
    [due] = await wait_for_reminders(fast_app, alice.id, 1)
    async with fast_app.state.sessionmaker() as session:
        change = await session.get(Change, due["seq"])
        assert change is not None and change.type == "reminder.due"
        recipients = list(
            await session.scalars(
                select(ChangeRecipient.user_id).where(ChangeRecipient.seq == due["seq"])
            )
        )
    assert recipients == [alice.id]


async def test_an_idle_runner_wakes_for_the_earliest_due_job_not_at_its_next_poll(
    database_url: str, data_dir: Path
) -> None:
    """A runner that looks for work only every 30 s still sends a reminder due in ~3 s
    when it is due: it sleeps until the earliest job, not for the whole poll interval."""
    settings = make_settings(database_url, data_dir, jobs_in_serve=False, jobs_poll_s=30)
    async with serving(settings) as app, http_client(app) as client:
        alice = await register(client, "alice")
        start = soon(63)
        event = await create_event(
            client, alice, start_time=iso(start), end_time=iso(start + timedelta(hours=1))
        )
        await put_reminders(client, alice.headers, event["id"], 1)
        async with running(settings, app.state.sessionmaker, publish=app.state.hub.changed):
            [due] = await wait_for_reminders(app, alice.id, 1, within=15)
        assert due["event_id"] == event["id"] and "late" not in due
