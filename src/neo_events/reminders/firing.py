"""A reminder's job: pointed at its next due occurrence, and fired.

`reschedule` points each reminder's job at its next due occurrence (due.py) whenever the
reminders or their event are written (service.py). When a job fires (`fire`, the worker's
reminder lane) it checks the event as it is then, sends one `reminder.due` through the
change feed to its user, and rolls forward to the next occurrence, all in one transaction
guarded by the job's lease: exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db
from neo_events.events.content import content_of, iso, series_of
from neo_events.events.days import date_in, midnight
from neo_events.events.off_loop import off_the_loop
from neo_events.events.recurrence import Series
from neo_events.events.rrule import zone_named
from neo_events.events.series_types import zoned
from neo_events.jobs import queue
from neo_events.live import feed
from neo_events.models import Event, EventPermission, Reminder
from neo_events.reminders.due import (
    Answers,
    load_answers,
    next_for,
    next_two_for,
    own_zones,
)
from neo_events.reminders.timing import NextDue

KIND = "reminder"
TICK = timedelta(microseconds=1)
# What a reminder is read with wherever its next firing is worked out (`due.next_two_for`
# reads `reminded_day`).
REMINDER_COLUMNS = (
    Reminder.id,
    Reminder.user_id,
    Reminder.event_id,
    Reminder.minutes_before,
    Reminder.reminded_day,
)
_REMINDERS = cast(Table, Reminder.__table__)
# The all-day days `fire` reminded of: a plain executemany (Core), as `queue.reschedule_many`
_REMINDED = (
    update(_REMINDERS)
    .where(_REMINDERS.c.id == bindparam("r_id"))
    .values(reminded_day=bindparam("r_day"))
)


def job_key(reminder_id: int) -> str:
    return f"reminder:{reminder_id}"


def _payload(reminder_id: int, due: NextDue) -> dict[str, Any]:
    start = due.occurrence.start if due.occurrence is not None else None
    return {"reminder_id": reminder_id, "occurrence_start": iso(start) if start else None}


# Above this many reminders, `reschedule` works out their times in a worker thread.
ON_LOOP_REMINDERS = 200


async def reschedule(
    session: AsyncSession,
    events: Sequence[Any],  # Events, or rows of EVENT_ROW
    reminders: Sequence[Any],  # Reminders, or rows of REMINDER_COLUMNS
    *,
    now: datetime,
    drop_after: timedelta | None,
    first_days: Mapping[int, date] | None = None,
    locked: Mapping[str, queue.Held] | None = None,
) -> None:
    """Point each reminder's job at its next due occurrence from now, keeping the place of
    one that is due but not yet sent (a late worker must still send it); one of an all-day
    event in `first_days` (by reminder id) reminds of no day before its own there. A fixed
    number of statements however many reminders (the jobs are written by one multi-row
    upsert); the times of many are worked out off the event loop (`off_the_loop`).

    `events` are ORM objects or rows of `EVENT_ROW`; `locked`, the reminders' jobs if the
    caller locked them already (`queue.lock_keys`)."""
    if not reminders:
        return
    jobs = locked
    if jobs is None:
        jobs = await queue.lock_keys(session, [job_key(r.id) for r in reminders])
    series = {e.id: _series(e) for e in events if e.deleted_at is None}
    answers = await load_answers(session, {(r.event_id, r.user_id) for r in reminders})
    zones = await own_zones(session, series, reminders)
    # what the walk reads of each event, read here: no ORM attribute is loaded in a thread
    spans = {e.id: _Span(e.id, e.span_end) for e in events}
    work = partial(
        _moves, spans, series, zones, reminders, jobs, answers, now, drop_after, first_days
    )
    moves, gone = await off_the_loop(len(reminders) > ON_LOOP_REMINDERS, work)
    await queue.schedule_many(session, kind=KIND, jobs=moves)
    await queue.cancel(session, gone)


def _series(event: Any) -> Series:
    """The series of an event read as an ORM object or as a row (whose columns are named as
    `series_of` reads an event's content)."""
    return series_of(event._mapping) if isinstance(event, Row) else series_of(content_of(event))


class _Span(NamedTuple):
    id: int
    span_end: datetime | None


def _moves(
    events: Mapping[int, _Span],
    series: Mapping[int, Series],
    zones: Mapping[int, str],
    reminders: Sequence[Any],
    jobs: Mapping[str, tuple[datetime, dict[str, Any]]],
    answers: Mapping[tuple[int, int], Answers],
    now: datetime,
    drop_after: timedelta | None,
    first_days: Mapping[int, date] | None = None,
) -> tuple[list[tuple[str, datetime, dict[str, Any]]], list[str]]:
    """`reschedule`'s jobs to write and to cancel (CPU only: a worker thread's for many)."""
    memo: dict[Any, Any] = {}
    made: dict[tuple[int, str | None], Series] = {}
    gone = []
    moves: list[tuple[str, datetime, dict[str, Any]]] = []
    for reminder in reminders:
        event = events[reminder.event_id]
        key = job_key(reminder.id)
        if event.id not in series:
            gone.append(key)
            continue
        job = jobs.get(key)
        after = now
        if job is not None and job[0] <= now:
            after = job[0] - TICK
            if drop_after is not None:
                after = max(after, now - drop_after)
        zone = zones.get(reminder.user_id)
        rules = made.get((event.id, zone))  # the series where its holder lives, made once
        if rules is None:
            rules = made[event.id, zone] = zoned(series[event.id], zone)
        day = first_days.get(reminder.id) if first_days else None
        if day is not None and rules.all_day_zone is not None:  # that day's start there
            begins = midnight(day, zone_named(rules.all_day_zone))
            after = max(after, begins - timedelta(minutes=reminder.minutes_before) - TICK)
        due = next_for(event, rules, reminder, after, answers, memo)
        if due is None:
            gone.append(key)
            continue
        payload = _payload(reminder.id, due)
        if job is not None and job == (due.due_at, payload):
            continue  # unchanged: leave a claimed job with its worker
        moves.append((key, due.due_at, payload))
    return moves, gone


@dataclass(frozen=True, slots=True)
class Timing:
    late_after: timedelta
    drop_after: timedelta


# What firing reads of an event: enough for its recurrence, the message and the version.
FIRE_COLUMNS = (
    Event.id,
    Event.title,
    Event.version,
    Event.span_end,
    Event.all_day,
    Event.start_date,
    Event.end_date,
    Event.start_time,
    Event.end_time,
    Event.timezone,
    Event.is_recurring,
    Event.recurrence_pattern,
    Event.exdates,
    Event.rdates,
    Event.overrides,
    Event.count_end,  # where a COUNT rule ends: its plan is built without a scan
)
# What `reschedule` reads of an event given as a row: whether it is deleted, too.
EVENT_ROW = (*FIRE_COLUMNS, Event.deleted_at)


async def fire(session: AsyncSession, jobs: Sequence[queue.Claimed], timing: Timing) -> int:
    """Send the due reminders among these jobs, taken in this transaction (queue.take), and
    roll each forward; returns how many were sent. The caller commits (with db.commit, which
    numbers the feed): the messages and the jobs' moves commit together, or neither.

    Set-based: a fixed number of statements however many jobs (the reminders; their live
    events as plain rows; their grants; invitation answers; then one statement each to roll
    forward and to finish, and the feed's one insert at the commit).
    Each reminder's recurrence is walked once for what is due and what comes next."""
    now = db.utcnow()
    if not jobs:
        return 0
    rows = await session.execute(  # plain rows: loading ORM objects was a third of the cost
        select(*REMINDER_COLUMNS).where(
            queue.among(session, Reminder.id, {j.payload["reminder_id"] for j in jobs})
        )
    )
    reminders = {r.id: r for r in rows}
    event_ids = {r.event_id for r in reminders.values()}
    user_ids = {r.user_id for r in reminders.values()}
    events = {
        e.id: e
        for e in await session.execute(
            select(*FIRE_COLUMNS).where(
                queue.among(session, Event.id, event_ids), Event.deleted_at.is_(None)
            )
        )
    }
    grants = await session.execute(
        select(EventPermission.event_id, EventPermission.user_id).where(
            queue.among(session, EventPermission.event_id, events),
            queue.among(session, EventPermission.user_id, user_ids),
        )
    )
    holders = {(event_id, user_id) for event_id, user_id in grants}
    # A row's columns are named as series_of reads an event's content.
    series = {event_id: series_of(e._mapping) for event_id, e in events.items()}
    answers = await load_answers(session, {(r.event_id, r.user_id) for r in reminders.values()})
    zones = await own_zones(session, series, reminders.values())
    memo: dict[Any, Any] = {}
    done: list[queue.Claimed] = []  # finished: removed in one statement
    moved: list[tuple[queue.Claimed, datetime, dict[str, Any]]] = []  # one statement too
    reminded: list[dict[str, Any]] = []  # the all-day days reminded of: one statement too
    sent = 0
    for job in jobs:
        reminder = reminders.get(job.payload["reminder_id"])
        if (
            reminder is None
            or reminder.event_id not in series
            or (reminder.event_id, reminder.user_id) not in holders
        ):
            done.append(job)  # deleted, or no longer theirs to see
            continue
        event = events[reminder.event_id]
        rules = zoned(series[event.id], zones.get(reminder.user_id))  # an all-day one: theirs
        # What is due at or after this job's time, by the event as it is now; and the next.
        due, upcoming = next_two_for(event, rules, reminder, job.due_at - TICK, answers, memo)
        if due is None:
            done.append(job)
            continue
        if due.due_at > now:  # moved later since it was claimed
            moved.append((job, due.due_at, _payload(reminder.id, due)))
            continue
        lateness = now - due.due_at
        if due.occurrence is not None and lateness <= timing.drop_after:
            occurrence = due.occurrence
            title = event.title
            if occurrence.override is not None:
                title = str(occurrence.override.fields.get("title", title))
            details: dict[str, Any] = {
                "occurrence_start": iso(occurrence.start),
                "title": title,
                "minutes_before": reminder.minutes_before,
            }
            if rules.all_day_zone is not None:  # its date, where its holder's day begins
                day = date_in(occurrence.start, zone_named(rules.all_day_zone))
                details |= {"all_day": True, "start_date": day.isoformat()}
                reminded.append({"r_id": reminder.id, "r_day": day})
            if lateness > timing.late_after:
                details["late"] = True
            await feed.append(
                session,
                type=feed.REMINDER_DUE,
                event_id=event.id,
                version=event.version,
                actor_id=None,
                changes=details,
                known_holders=[reminder.user_id],
            )
            sent += 1
        if due.occurrence is None or lateness > timing.drop_after:
            # A re-check at the horizon, or dropped: on from there, or from drop_after ago.
            after = max(due.due_at, now - timing.drop_after)
            upcoming = next_for(event, rules, reminder, after, answers, memo)
        if upcoming is None:
            done.append(job)
        else:
            moved.append((job, upcoming.due_at, _payload(reminder.id, upcoming)))
    if reminded:
        await session.execute(_REMINDED, reminded)
    await queue.reschedule_many(session, moved)
    await queue.finish_many(session, done)
    return sent
