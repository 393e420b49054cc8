"""An event many people hold, each with reminders (SPEC §14): moving it recomputes their
reminders once per distinct offset, written set-based, the loop not held for the walk; an
edit that changes no time (an occurrence's title) recomputes nothing."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, insert, select, update
from sqlalchemy import event as sa_event

from neo_events.events.content import content_of, series_of
from neo_events.models import (
    Attendee,
    Event,
    EventPermission,
    Job,
    OccurrenceResponse,
    Reminder,
    User,
)
from neo_events.reminders import firing, service
from neo_events.reminders.due import load_answers, own_zones
from neo_events.reminders.follow import follow
from tests.helpers import (
    Account,
    cpu_bound,
    create_event,
    created_many,
    loop_pauses,
    people,
    register,
    statements,
)
from tests.timing import budget

pytestmark = pytest.mark.anyio

HOLDERS = 1000
OFFSETS = (0, 5, 15, 60, 1440)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _held_series(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, holders: int = HOLDERS
) -> tuple[int, datetime, list[int]]:
    """A weekday series, HOLDERS viewers each with 5 reminders, their jobs scheduled (by a
    first move of the series)."""
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    start += timedelta(days=2)
    while start.weekday() >= 5:  # a weekday at 09:00: its first occurrence
        start += timedelta(days=1)
    event = await create_event(
        client,
        alice,
        start_time=iso(start),
        end_time=iso(start + timedelta(minutes=30)),
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    )
    users = await people(app, holders)
    async with app.state.sessionmaker() as session:
        await session.execute(
            insert(EventPermission),
            [{"event_id": event["id"], "user_id": u, "role": "viewer"} for u in users],
        )
        await session.execute(
            insert(Reminder),
            [
                {"event_id": event["id"], "user_id": u, "minutes_before": m, "created_at": start}
                for u in users
                for m in OFFSETS
            ],
        )
        await session.commit()
    return event["id"], start, users


async def _jobs(app: FastAPI) -> dict[str, tuple[datetime, dict[str, object]]]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(Job.key, Job.due_at, Job.payload).where(Job.kind == "reminder")
        )
        return {key: (due, payload) for key, due, payload in rows}


async def as_one_by_one(app: FastAPI, event_id: int) -> None:
    """Every reminder's job is where the reminder-by-reminder computation (the old way,
    `firing.reschedule`'s) puts it: working them all out again moves and drops nothing."""
    async with app.state.sessionmaker() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        reminders = list(
            await session.execute(
                select(*firing.REMINDER_COLUMNS).where(Reminder.event_id == event_id)
            )
        )
        jobs = {key: (due, payload) for key, (due, payload) in (await _jobs(app)).items()}
        answers = await load_answers(session, {(r.event_id, r.user_id) for r in reminders})
        spans = {event_id: firing._Span(event_id, event.span_end)}
        series = {event_id: series_of(content_of(event))}
        zones = await own_zones(session, series, reminders)  # (an all-day event's holders')
        moves, gone = firing._moves(
            spans, series, zones, reminders, jobs, answers, datetime.now(UTC), None
        )
    assert moves == []
    assert [key for key in gone if key in jobs] == []
    assert len(jobs) == len(reminders) - len(gone)


async def test_moving_an_event_of_1000_holders_with_5_reminders_each_keeps_the_loop(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """The old way walked and wrote each of the 5,000 reminders on the loop: 0.37-0.48 s of
    CPU, the loop held 0.1-0.35 s. Now five walks, five statements."""
    event_id, start, _ = await _held_series(app, client, alice)
    url = f"/api/v1/events/{event_id}"

    async def move(hours: int) -> httpx.Response:
        begin = start + timedelta(hours=hours)
        body = {"start_time": iso(begin), "end_time": iso(begin + timedelta(minutes=30))}
        return await client.patch(url, json=body, headers=alice.headers)

    assert (await move(1)).status_code == 200  # schedules the 5,000 jobs
    gc.collect()
    gc.disable()
    try:
        async with loop_pauses() as pauses:
            with cpu_bound(0.25, "the move"):  # before: 0.42-0.48 s
                response = await move(2)
    finally:
        gc.enable()
    assert response.status_code == 200, response.text
    assert pauses.worst_held < budget(0.06), pauses  # before: 0.08-0.19 s; now 0.005-0.01 s
    jobs = await _jobs(app)
    assert len(jobs) == HOLDERS * len(OFFSETS)
    first = start + timedelta(hours=2)  # its first occurrence, moved two hours later
    assert {payload["occurrence_start"] for _, payload in jobs.values()} == {iso(first)}
    assert {due for due, _ in jobs.values()} == {first - timedelta(minutes=m) for m in OFFSETS}
    await as_one_by_one(app, event_id)


async def test_moves_by_groups_are_what_one_by_one_gives(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """Differential: viewers (one group per offset), invitees who declined the series or some
    occurrences or nothing, a job due but not yet sent, an offset only a few hold: after each
    move every job is what the reminder-by-reminder computation gives. (A move asks the
    invitees again, so their answers are written back and the reminders followed again.)"""
    event_id, start, users = await _held_series(app, client, alice, holders=60)
    invited, viewers = users[:30], users[30:]
    async with app.state.sessionmaker() as session:
        await session.execute(
            insert(Attendee),
            [{"event_id": event_id, "user_id": u, "response": "needs_action"} for u in invited],
        )
        await session.execute(  # a few hold an offset of their own: a small group
            insert(Reminder),
            [{"event_id": event_id, "user_id": u, "minutes_before": 7, "created_at": start}
             for u in viewers[:3]],
        )  # fmt: skip
        await session.commit()
    url = f"/api/v1/events/{event_id}"
    for hours in (0, 1, -1, 3):
        begin = start + timedelta(hours=hours, minutes=1)
        body = {"start_time": iso(begin), "end_time": iso(begin + timedelta(minutes=30))}
        response = await client.patch(url, json=body, headers=alice.headers)
        assert response.status_code == 200, response.text
        await as_one_by_one(app, event_id)
        async with app.state.sessionmaker() as session:
            for n, user in enumerate(invited):
                await session.execute(
                    update(Attendee)
                    .where(Attendee.event_id == event_id, Attendee.user_id == user)
                    .values(response=["declined", "accepted", "needs_action"][n % 3])
                )
            await session.execute(delete(OccurrenceResponse))
            answered = [
                {"event_id": event_id, "user_id": u, "recurrence_id": begin + timedelta(days=d),
                 "response": "declined" if n % 2 else "accepted", "responded_at": start}
                for n, u in enumerate(invited) for d in range(n % 4)
            ]  # fmt: skip
            await session.execute(insert(OccurrenceResponse), answered)
            if hours == 1:  # one job falls due, not yet sent (no worker runs here)
                await session.execute(
                    update(Job)
                    .where(Job.key == f"reminder:{min(await _reminder_ids(app))}")
                    .values(due_at=datetime.now(UTC) - timedelta(minutes=5))
                )
            await follow(session, [event_id], now=datetime.now(UTC))
            await session.commit()
        await as_one_by_one(app, event_id)


async def _reminder_ids(app: FastAPI) -> list[int]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(Reminder.id)))


async def test_an_occurrence_title_edit_reschedules_nothing(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """An occurrence's new title moves no occurrence: no reminder job is read or written
    (the old way recomputed all 5,000 of them)."""
    event_id, start, _ = await _held_series(app, client, alice, holders=100)
    url = f"/api/v1/events/{event_id}"
    body = {"start_time": iso(start), "end_time": iso(start + timedelta(minutes=45))}
    assert (await client.patch(url, json=body, headers=alice.headers)).status_code == 200
    before = await _jobs(app)
    assert len(before) == 500
    first = start  # the series' first occurrence
    with statements(app) as seen:
        edited = await client.put(
            f"{url}/instances/{iso(first)}", json={"title": "renamed"}, headers=alice.headers
        )
    assert edited.status_code == 200, edited.text
    assert [s for s in seen if " jobs" in s] == []
    assert await _jobs(app) == before
    # ...but moving that occurrence moves its reminders
    moved = first + timedelta(minutes=10)
    body = {"start_time": iso(moved), "end_time": iso(moved + timedelta(minutes=45))}
    edited = await client.put(f"{url}/instances/{iso(first)}", json=body, headers=alice.headers)
    assert edited.status_code == 200, edited.text
    after = await _jobs(app)
    assert {p["occurrence_start"] for _, p in after.values()} == {iso(moved)}
    await as_one_by_one(app, event_id)


async def test_an_answer_moves_the_answerers_reminders_alone(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invitee's answer changes their own firings and nobody else's: their reminders are
    worked out again, not the event's every holder's (an outside attack: one RSVP to an
    all-day series of 499 invitees living in 400 zones, 5 reminders each, worked out all
    2,495 of them: 140-240 ms of CPU). Declining drops theirs; accepting brings them back."""
    event_id, start, users = await _held_series(app, client, alice, holders=60)
    async with app.state.sessionmaker() as session:
        await session.execute(
            insert(Attendee),
            [{"event_id": event_id, "user_id": u, "response": "accepted"} for u in users],
        )
        await session.commit()
    url = f"/api/v1/events/{event_id}"
    body = {"start_time": iso(start), "end_time": iso(start + timedelta(minutes=45))}
    assert (await client.patch(url, json=body, headers=alice.headers)).status_code == 200
    bob = await register(client, "bob")
    invited = await client.post(
        f"{url}/attendees", json={"users": [{"user_id": bob.id}]}, headers=alice.headers
    )
    assert invited.status_code == 200, invited.text
    wanted = {"reminders": [{"minutes_before": m} for m in (10, 60)]}
    assert (await client.put(f"{url}/reminders", json=wanted, headers=bob.headers)).is_success
    before = await _jobs(app)
    assert len(before) == 60 * len(OFFSETS) + 2
    worked_out: list[int] = []  # whose reminders each answer worked out
    reschedule = firing.reschedule

    async def counted(session: object, events: object, reminders: list, **kw: object) -> None:
        worked_out.extend(r.user_id for r in reminders)
        await reschedule(session, events, reminders, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "reschedule", counted)
    monkeypatch.setattr(service, "follow", None)  # the event's every holder: not called
    async with app.state.sessionmaker() as session:
        mine = await session.scalars(select(Reminder.id).where(Reminder.user_id == bob.id))
        bobs = {f"reminder:{r}" for r in mine}
    others = {k: v for k, v in before.items() if k not in bobs}
    for answer, kept in (("declined", {}), ("accepted", before)):
        worked_out.clear()
        answered = await client.put(f"{url}/rsvp", json={"response": answer}, headers=bob.headers)
        assert answered.status_code == 200, answered.text
        assert worked_out == [bob.id, bob.id]
        assert await _jobs(app) == others | {k: v for k, v in kept.items() if k in bobs}
    await as_one_by_one(app, event_id)


def _joins_of(plan: dict[str, Any]) -> list[set[str]]:
    """The tables under each join and each hashed subplan of a plan (`EXPLAIN (FORMAT
    JSON)`), those with more than one table or a hashed one."""
    found: list[set[str]] = []

    def walk(node: dict[str, Any]) -> set[str]:
        tables = {node["Relation Name"]} if "Relation Name" in node else set()
        for child in node.get("Plans", []):
            tables |= walk(child)
        joined = node["Node Type"] in ("Nested Loop", "Hash Join", "Merge Join")
        hashed = str(node.get("Subplan Name", "")).startswith("hashed")
        if (joined and len(tables) > 1) or hashed:
            found.append(tables)
        return tables

    walk(plan["Plan"])
    return found


@pytest.mark.postgres
async def test_reminders_of_people_in_many_zones_are_found_by_key(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """Holders of an all-day event who live in zones of their own are moved apart from the
    others, found by their zone and the event's, each looked up by key a reminder. A join of
    users and events for it (an EXISTS inside an OR, a grouped join) was planned by
    PostgreSQL from whatever statistics it had: taken while those tables were small, one
    hashed join of every user with a zone and every all-day event (an outside attack: 1.9
    million rows, 1-4 s of PostgreSQL's CPU for one answer or move; under this suite's other
    tests, 2.3 s). So no statement the move makes of reminders joins users with events, or
    hashes either, whatever the plan (`EXPLAIN` of each, as it was sent)."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc"))
    rows = [
        {"username": f"z{n}", "username_key": f"z{n}", "email": f"z{n}@example.com",
         "email_key": f"z{n}@example.com", "password_hash": "x",
         "timezone": zones[n % len(zones)]}
        for n in range(300)
    ]  # fmt: skip
    async with app.state.sessionmaker() as session:
        users = list((await session.execute(insert(User).returning(User.id), rows)).scalars())
        await session.commit()
    day = {"title": "d", "all_day": True, "start_date": "2027-03-01", "timezone": "UTC"}
    event_id = (await created_many(client, alice, [day] * 20))[0]
    async with app.state.sessionmaker() as session:
        await session.execute(
            insert(EventPermission),
            [{"event_id": event_id, "user_id": u, "role": "viewer"} for u in users],
        )
        await session.execute(
            insert(Reminder),
            [
                {
                    "event_id": event_id,
                    "user_id": u,
                    "minutes_before": m,
                    "created_at": datetime.now(UTC),
                }
                for u in users
                for m in OFFSETS
            ],  # fmt: skip
        )
        await session.commit()
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.startswith(("SELECT reminders.", "SELECT anon_1.")):  # `follow`'s
            sent.append((statement, parameters))

    engine = app.state.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        moved = {"start_date": "2027-03-02", "end_date": "2027-03-03"}
        answer = await client.patch(f"/api/v1/events/{event_id}", json=moved, headers=alice.headers)
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert answer.status_code == 200, answer.text
    assert len(sent) >= 3  # the counts, the zone groups, those moved one by one
    async with app.state.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        for statement, parameters in sent:
            plan = await raw.fetchval(f"EXPLAIN (FORMAT JSON) {statement}", *parameters)
            joins = _joins_of((json.loads(plan) if isinstance(plan, str) else plan)[0])
            assert not [t for t in joins if {"users", "events"} & t], (statement, joins)
    await as_one_by_one(app, event_id)
