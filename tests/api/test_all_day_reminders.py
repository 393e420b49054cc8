"""A reminder on an all-day event fires before its holder's own midnight (SPEC §4: all-day
dates are the same days for every viewer, whatever their zone), for those who set a zone
(`/auth/me/settings`); the others keep the event's. A company holiday made in Los Angeles
reminded a colleague in Tokyo at 16:00 on the holiday itself, the evening before in LA time.

Each of the three ways a reminder is scheduled is tried: set one by one (`reschedule`), moved
with its event in a group (`follow`, GROUP_MIN of one offset), and fired (`fire`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from neo_events.reminders.follow import GROUP_MIN
from tests.api.test_reminders import (  # noqa: F401 (fixtures)
    fast_app,
    fast_client,
    iso,
    jobs_of,
    put_reminders,
    wait_for_reminders,
)
from tests.api.test_reminders_fanout import as_one_by_one
from tests.helpers import Account, created, people, register, statements

pytestmark = pytest.mark.anyio

LA, TOKYO, BERLIN = "America/Los_Angeles", "Asia/Tokyo", "Europe/Berlin"
HOLIDAY = date(2027, 1, 15)


def midnight(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def next_minute(zone: str) -> tuple[datetime, date, int]:
    """The whole minute 3-63 s from now, the day after it begins in `zone`, and a reminder
    as many whole minutes before that day's midnight as fire at that minute."""
    target = (datetime.now(UTC) + timedelta(seconds=63)).replace(second=0, microsecond=0)
    day = (target + timedelta(days=1)).astimezone(ZoneInfo(zone)).date()
    return target, day, int((midnight(day, zone) - target).total_seconds() // 60)


async def set_zone(client: httpx.AsyncClient, who: Account, zone: str | None) -> None:
    answer = await client.patch(
        "/api/v1/auth/me/settings", json={"timezone": zone}, headers=who.headers
    )
    assert answer.status_code == 200, answer.text


async def holiday(
    client: httpx.AsyncClient, owner: Account, holders: list[Account], day: date = HOLIDAY
) -> dict[str, Any]:
    """An all-day day in Los Angeles, shared with `holders` as viewers."""
    body = {"title": "Holiday", "all_day": True, "start_date": day.isoformat(), "timezone": LA}
    return await _shared(client, owner, holders, body)


async def daily(
    client: httpx.AsyncClient,
    owner: Account,
    holders: list[Account],
    first: date,
    count: int,
    zone: str = LA,
) -> dict[str, Any]:
    """`count` all-day days from `first` in `zone`, shared with `holders` as viewers."""
    body = {"title": "Daily", "all_day": True, "start_date": first.isoformat(), "timezone": zone}
    rule = {"is_recurring": True, "recurrence_pattern": f"FREQ=DAILY;COUNT={count}"}
    return await _shared(client, owner, holders, body | rule)


async def _shared(
    client: httpx.AsyncClient, owner: Account, holders: list[Account], body: dict[str, Any]
) -> dict[str, Any]:
    event = await created(client, owner, body)
    if holders:
        answer = await client.post(
            f"/api/v1/events/{event['id']}/share",
            json={"users": [{"user_id": h.id, "role": "viewer"} for h in holders]},
            headers=owner.headers,
        )
        assert answer.status_code == 200, answer.text
    return event


async def due_times(app: FastAPI) -> dict[int, tuple[datetime, str]]:
    """Each reminder job's (due, occurrence start), by reminder id."""
    return {
        job.payload["reminder_id"]: (job.due_at, job.payload["occurrence_start"])
        for job in await jobs_of(app)
    }


async def reminder_ids(app: FastAPI) -> dict[int, int]:
    """Reminder id by user id (one reminder each here)."""
    from sqlalchemy import select

    from neo_events.models import Reminder

    async with app.state.sessionmaker() as session:
        rows = await session.execute(select(Reminder.user_id, Reminder.id))
        return {user_id: reminder_id for user_id, reminder_id in rows}


def expected(day: date, zone: str) -> tuple[datetime, str]:
    start = midnight(day, zone)
    return start - timedelta(hours=1), iso(start)


async def test_each_holder_is_reminded_before_their_own_midnight(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    bob, carol = await register(client, "bob"), await register(client, "carol")
    await set_zone(client, alice, LA)
    await set_zone(client, bob, TOKYO)  # carol sets none: the event's zone
    event = await holiday(client, alice, [bob, carol])
    for who in (alice, bob, carol):
        assert (await put_reminders(client, who.headers, event["id"], 60)).status_code == 200
    ids = await reminder_ids(app)
    jobs = await due_times(app)
    assert jobs[ids[alice.id]] == expected(HOLIDAY, LA)
    assert jobs[ids[bob.id]] == expected(HOLIDAY, TOKYO)
    assert jobs[ids[carol.id]] == expected(HOLIDAY, LA)

    # a change of zone moves the reminders already set; unset, the event's zone again
    await set_zone(client, bob, BERLIN)
    assert (await due_times(app))[ids[bob.id]] == expected(HOLIDAY, BERLIN)
    await set_zone(client, bob, None)
    assert (await due_times(app))[ids[bob.id]] == expected(HOLIDAY, LA)


async def test_a_moved_holiday_moves_everyones_reminders_to_their_own_midnights(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """GROUP_MIN reminders of one offset are moved by one statement, as one: those in the
    event's zone (or none), and as many in one other zone (Tokyo); the few in another
    (Berlin) one by one. After each move every job is where the reminder-by-reminder
    computation puts it (`as_one_by_one`)."""
    people = [await register(client, f"holder{n}") for n in range(2 * GROUP_MIN + 2)]
    tokyo, berlin = people[:GROUP_MIN], people[GROUP_MIN : GROUP_MIN + 2]
    for who in tokyo:
        await set_zone(client, who, TOKYO)
    for who in berlin:
        await set_zone(client, who, BERLIN)
    event = await holiday(client, alice, people)
    for who in people:
        assert (await put_reminders(client, who.headers, event["id"], 60)).status_code == 200
    for days in (1, 3):
        moved_to = HOLIDAY + timedelta(days=days)
        answer = await client.patch(
            f"/api/v1/events/{event['id']}",
            json={"start_date": moved_to.isoformat()},
            headers=alice.headers,
        )
        assert answer.status_code == 200, answer.text
        ids, jobs = await reminder_ids(app), await due_times(app)
        for who in people:
            zone = TOKYO if who in tokyo else BERLIN if who in berlin else LA
            assert jobs[ids[who.id]] == expected(moved_to, zone), who.username
        await as_one_by_one(app, event["id"])


@pytest.mark.slow  # waits for the next whole minute
async def test_a_reminder_fires_before_the_holders_midnight(
    fast_app: FastAPI,  # noqa: F811
    fast_client: httpx.AsyncClient,  # noqa: F811
) -> None:
    """The job runner fires it and rolls it on in its holder's zone (`firing.fire`): at the
    event's zone's time it would have waited 17 hours. Waits for the next whole minute."""
    client = fast_client
    alice, bob = await register(client, "alice"), await register(client, "bob")
    await set_zone(client, bob, TOKYO)
    target, day, minutes = next_minute(TOKYO)
    start = midnight(day, TOKYO)
    event = await holiday(client, alice, [bob], day)
    assert (await put_reminders(client, bob.headers, event["id"], minutes)).status_code == 200
    [due] = await wait_for_reminders(fast_app, bob.id, 1, within=90)
    assert due["occurrence_start"] == iso(start)
    assert (due["all_day"], due["start_date"]) == (True, day.isoformat())  # the day, theirs
    assert datetime.now(UTC) - target < timedelta(seconds=20)
    await asyncio.sleep(0.5)
    assert await jobs_of(fast_app) == []  # a single day: nothing left to remind of


@pytest.mark.slow  # waits for the next whole minute
async def test_a_zone_further_west_does_not_remind_again_of_a_day_already_reminded(
    fast_app: FastAPI,  # noqa: F811
    fast_client: httpx.AsyncClient,  # noqa: F811
) -> None:
    """Bob in Tokyo is reminded of a day, then flies to Los Angeles, where that day begins 17
    hours later: the change of zone pointed his reminder at LA's midnight of the same day,
    so it fired again (a single day's, whose job was gone, and a daily series', whose job
    had rolled on to the next day). And once the change of zone had moved them on, a later
    write that moved them (the series' last day taken out, the single day made two) pointed
    them from now, at that same day in LA, again: each reminder keeps the day it reminded
    of (`Reminder.reminded_day`). Waits for the next whole minute."""
    client = fast_client
    alice, bob = await register(client, "alice"), await register(client, "bob")
    await set_zone(client, bob, TOKYO)
    target, day, minutes = next_minute(TOKYO)
    single = await holiday(client, alice, [bob], day)
    series = await daily(client, alice, [bob], day, 3)
    for event in (single, series):
        answer = await put_reminders(client, bob.headers, event["id"], minutes)
        assert answer.status_code == 200, answer.text
    fired = await wait_for_reminders(fast_app, bob.id, 2, within=90)
    assert {m["start_date"] for m in fired} == {day.isoformat()}
    await asyncio.sleep(0.5)  # the series' job rolled on to its next day
    assert {r.reminded_day for r in await _reminders(fast_app)} == {day}

    await set_zone(client, bob, LA)
    ids = {(r.event_id): r.id for r in await _reminders(fast_app)}
    jobs = await due_times(fast_app)
    assert ids[single["id"]] not in jobs  # that day was reminded of: nothing left
    next_day = day + timedelta(days=1)
    start = midnight(next_day, LA)
    assert jobs[ids[series["id"]]] == (start - timedelta(minutes=minutes), iso(start))
    # writes that move their reminders from now, in LA, where that day is still to come
    for event, change in (
        (series, {"exdates": [(day + timedelta(days=2)).isoformat()]}),
        (single, {"end_date": (day + timedelta(days=2)).isoformat()}),
    ):
        answer = await client.patch(
            f"/api/v1/events/{event['id']}", json=change, headers=alice.headers
        )
        assert answer.status_code == 200, answer.text
    jobs = await due_times(fast_app)
    assert jobs[ids[series["id"]]] == (start - timedelta(minutes=minutes), iso(start))
    assert ids[single["id"]] not in jobs
    # and back east: the next day is still the one to remind of
    await set_zone(client, bob, TOKYO)
    start = midnight(next_day, TOKYO)
    jobs = await due_times(fast_app)
    assert jobs[ids[series["id"]]] == (start - timedelta(minutes=minutes), iso(start))
    assert ids[single["id"]] not in jobs


async def _reminders(app: FastAPI) -> list[Any]:
    from sqlalchemy import select

    from neo_events.models import Reminder

    async with app.state.sessionmaker() as session:
        rows = select(Reminder.event_id, Reminder.id, Reminder.user_id, Reminder.reminded_day)
        return list(await session.execute(rows))


async def test_past_24_hours_west_the_day_before_is_not_reminded_again(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """Bob in Kiritimati (UTC+14) was reminded of a daily all-day series' days up to D (set
    in the database: what a firing writes), then moved to Pago Pago (UTC-11), where D-1
    begins an hour after D began in Kiritimati. Neither his change of zone nor a later
    write that moves his reminder points it at D-1 or D again: at D+1 in Pago Pago (an
    outside review found D-1 reminded twice when only D itself was passed over)."""
    from sqlalchemy import update

    from neo_events.models import Reminder

    east, west = "Pacific/Kiritimati", "Pacific/Pago_Pago"
    now = datetime.now(UTC)
    day = (now + timedelta(days=2)).astimezone(ZoneInfo(east)).date()
    # D's time to remind in Kiritimati came two minutes ago; D-1's in Pago Pago is to come
    minutes = int((midnight(day, east) - now).total_seconds() // 60) + 2
    assert midnight(day - timedelta(days=1), west) - timedelta(minutes=minutes) > now
    bob = await register(client, "bob")
    await set_zone(client, bob, east)
    series = await daily(client, alice, [bob], day - timedelta(days=3), 10, east)
    assert (await put_reminders(client, bob.headers, series["id"], minutes)).status_code == 200
    async with app.state.sessionmaker() as session:
        await session.execute(update(Reminder).values(reminded_day=day))
        await session.commit()
    start = midnight(day + timedelta(days=1), west)
    await set_zone(client, bob, west)
    [job] = (await due_times(app)).values()
    assert job == (start - timedelta(minutes=minutes), iso(start))
    answer = await client.patch(
        f"/api/v1/events/{series['id']}",
        json={"exdates": [(day + timedelta(days=5)).isoformat()]},
        headers=alice.headers,
    )
    assert answer.status_code == 200, answer.text
    [job] = (await due_times(app)).values()
    assert job == (start - timedelta(minutes=minutes), iso(start))


async def test_a_group_leaves_out_those_who_were_reminded_of_its_day(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """A daily all-day series held by GROUP_MIN + 2 people in the event's zone and GROUP_MIN
    in Tokyo, each group moved by one statement (`follow`). Some of each were reminded of
    its first day already and then moved west, where that day is still to come (what the
    test above reaches by a real firing and a change of zone, set here in the database):
    a write that moves the reminders points the groups at the first day, and those at the
    second, one by one, as the reminder-by-reminder computation does (`as_one_by_one`)."""
    from sqlalchemy import update

    from neo_events.models import Reminder

    here = [await register(client, f"here{n}") for n in range(GROUP_MIN + 2)]
    tokyo = [await register(client, f"tokyo{n}") for n in range(GROUP_MIN)]
    for who in tokyo:
        await set_zone(client, who, TOKYO)
    series = await daily(client, alice, here + tokyo, HOLIDAY, 5)
    for who in here + tokyo:
        assert (await put_reminders(client, who.headers, series["id"], 60)).status_code == 200
    reminded = {who.id for who in here[:3] + tokyo[:3]}
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Reminder).where(Reminder.user_id.in_(reminded)).values(reminded_day=HOLIDAY)
        )
        await session.commit()

    with statements(app) as seen:
        answer = await client.patch(
            f"/api/v1/events/{series['id']}",
            json={"exdates": [(HOLIDAY + timedelta(days=4)).isoformat()]},
            headers=alice.headers,
        )
    assert answer.status_code == 200, answer.text
    ids, jobs = await reminder_ids(app), await due_times(app)
    for who in here + tokyo:
        day = HOLIDAY + timedelta(days=1) if who.id in reminded else HOLIDAY
        assert jobs[ids[who.id]] == expected(day, TOKYO if who in tokyo else LA), who.username
    assert any(s.startswith("INSERT INTO jobs") and "reminded_day" in s for s in seen)  # groups
    await as_one_by_one(app, series["id"])


async def test_holders_in_many_zones_move_in_a_bounded_number_of_statements(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """A weekly all-day event held by 1,000 people in 50 zones, 20 in each, with 5 reminders:
    each (offset, zone) was a group of its own, a statement each, 271 statements and 2.4-3.3 s
    for one move (one by one, the same reminders in 500 zones took 1.4 s). The largest
    groups (`follow.MAX_GROUPS`) are statements; the others are done one by one, as small
    ones are."""
    from sqlalchemy import insert, update

    from neo_events.models import EventPermission, Reminder, User
    from neo_events.timezones import iana_zone_names

    now = datetime.now(UTC)
    day = (now + timedelta(days=3)).date()
    body = {"title": "Holiday", "all_day": True, "start_date": day.isoformat(), "timezone": LA}
    body |= {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY"}
    event = await created(client, alice, body)
    users = await people(app, 50 * GROUP_MIN)
    zones = sorted(z for z in iana_zone_names() if z.startswith("Europe/"))[:50]
    async with app.state.sessionmaker() as session:
        for n, zone in enumerate(zones):
            ids = users[n * GROUP_MIN : (n + 1) * GROUP_MIN]
            await session.execute(update(User).where(User.id.in_(ids)).values(timezone=zone))
        await session.execute(
            insert(EventPermission),
            [{"event_id": event["id"], "user_id": u, "role": "viewer"} for u in users],
        )
        await session.execute(
            insert(Reminder),
            [
                {"event_id": event["id"], "user_id": u, "minutes_before": m, "created_at": now}
                for u in users
                for m in (0, 15, 60, 1440, 2880)
            ],
        )
        await session.commit()
    for days in (1, 2):
        moved = {"start_date": (day + timedelta(days=days)).isoformat()}
        with statements(app) as ran:
            answer = await client.patch(
                f"/api/v1/events/{event['id']}", json=moved, headers=alice.headers
            )
        assert answer.status_code == 200, answer.text
        assert len(ran) <= 50, len(ran)  # 271 before
        await as_one_by_one(app, event["id"])
