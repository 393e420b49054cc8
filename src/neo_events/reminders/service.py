"""Reminders: each user's own; one job per reminder holds its next due occurrence.

Setting reminders schedules them; every write of an event (through `record_version`, the
one place event writes go) recomputes that event's reminders just before the commit, in the
same transaction, so a moved, cancelled or deleted occurrence moves or drops its reminder
atomically with the change. When a job fires it checks the event as it is then, sends one
`reminder.due` through the change feed to its user, and rolls forward to the next
occurrence, all in one transaction guarded by the job's lease: exactly once.

An occurrence its user declined (an invitation's answer, for the series or for that
occurrence) is passed over: the reminder waits for the next one they did not decline. A
declined series keeps its reminder rows (still `my_reminders`) but schedules no job; an
answer is recomputed like an event write (`follow_event`), so accepting again brings the
reminders back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db
from neo_events.audit.service import Origin, record_all
from neo_events.errors import ValidationFailed
from neo_events.events.access import Role, get_event_for, touch
from neo_events.events.content import content_of, iso, series_of
from neo_events.events.recurrence import Occurrence, Series
from neo_events.invitations.responses import (
    DECLINED,
    declines,
    occurrence_answers,
    series_answers,
)
from neo_events.jobs import queue
from neo_events.live import feed
from neo_events.models import Event, EventPermission, Reminder, User
from neo_events.reminders.schemas import MAX_MINUTES_BEFORE, MAX_REMINDERS
from neo_events.reminders.timing import NextDue, next_answered, next_due, next_two

KIND = "reminder"
TICK = timedelta(microseconds=1)


def job_key(reminder_id: int) -> str:
    return f"reminder:{reminder_id}"


async def set_reminders(
    session: AsyncSession, *, actor: User, event_id: int, minutes: Sequence[int], origin: Origin
) -> list[int]:
    """Replace the caller's reminders on an event they can see (viewer+); 404 otherwise."""
    event, _ = await get_event_for(session, actor.id, event_id, Role.VIEWER, lock=True)
    await touch(session, event.id)  # an edit's answer shows the caller's reminders
    [wanted] = await _replace(session, actor.id, [(event, minutes)], origin)
    return wanted


async def set_new_reminders(
    session: AsyncSession,
    *,
    actor: User,
    reminders: Sequence[tuple[Event, Sequence[int]]],
    origin: Origin,
) -> None:
    """`set_reminders` for many events the caller created in this transaction (an import's
    VALARMs), written together: a few multi-row statements however many events, with the
    same checks, jobs and audit rows. Nobody else can see those events yet, so no row lock
    or touch is needed; they must be the caller's own."""
    if any(event.owner_id != actor.id for event, _ in reminders):
        raise ValueError("set_new_reminders takes only events the caller owns")
    await _replace(session, actor.id, reminders, origin)


def checked_minutes(minutes: Sequence[int]) -> list[int]:
    """A set of reminders as stored: distinct, sorted, at most MAX_REMINDERS, each within
    0-MAX_MINUTES_BEFORE (the API's schema and the iCalendar reader refuse the rest first;
    this is the service's own guard)."""
    wanted = sorted(set(minutes))
    if len(wanted) > MAX_REMINDERS:
        raise ValidationFailed.field(
            ["body", "reminders"], f"at most {MAX_REMINDERS} reminders per event"
        )
    if any(not 0 <= m <= MAX_MINUTES_BEFORE for m in wanted):
        raise ValidationFailed.field(
            ["body", "reminders"], f"minutes_before must be within 0-{MAX_MINUTES_BEFORE}"
        )
    return wanted


_REMINDERS = cast(Table, Reminder.__table__)
# Many rows in one multi-row INSERT … RETURNING (SQLAlchemy's "insertmanyvalues"); each row
# comes back with what identifies it, so their order does not matter.
_INSERT_REMINDERS = insert(_REMINDERS).returning(
    _REMINDERS.c.id, _REMINDERS.c.user_id, _REMINDERS.c.event_id, _REMINDERS.c.minutes_before
)


async def _replace(
    session: AsyncSession,
    user_id: int,
    reminders: Sequence[tuple[Event, Sequence[int]]],
    origin: Origin,
) -> list[list[int]]:
    """Replace the user's reminders on each of these events (already checked: theirs to
    see, locked where needed) with the given sets: the ones no longer wanted and their jobs
    go, the new ones are inserted and scheduled, one `reminders.set` audit row per event.
    A fixed number of statements however many events."""
    sets = [(event, checked_minutes(minutes)) for event, minutes in reminders]
    if not sets:
        return []
    now = db.utcnow()
    rows = await session.execute(
        select(Reminder.id, Reminder.event_id, Reminder.minutes_before).where(
            Reminder.user_id == user_id,
            queue.among(session, Reminder.event_id, [event.id for event, _ in sets]),
        )
    )
    existing = {(row.event_id, row.minutes_before): row.id for row in rows}
    kept = {(event.id, m) for event, wanted in sets for m in wanted}
    gone = [reminder_id for key, reminder_id in existing.items() if key not in kept]
    await queue.cancel(session, [job_key(r) for r in gone])
    if gone:
        await session.execute(
            delete(Reminder).where(queue.among(session, Reminder.id, gone)),
            execution_options={"synchronize_session": False},
        )
    new = [
        {"user_id": user_id, "event_id": event.id, "minutes_before": m, "created_at": now}
        for event, wanted in sets
        for m in wanted
        if (event.id, m) not in existing
    ]
    added = list(await session.execute(_INSERT_REMINDERS, new)) if new else []
    await _reschedule(session, [event for event, _ in sets], added, now=now, drop_after=None)
    await record_all(
        session,
        action="reminders.set",
        origin=origin,
        actor_id=user_id,
        target_type="event",
        targets=[(event.id, {"minutes_before": wanted}) for event, wanted in sets],
    )
    return [wanted for _, wanted in sets]


async def my_reminders(
    session: AsyncSession, user_id: int, event_ids: Sequence[int] | Select[Any]
) -> dict[int, list[int]]:
    """The user's reminders (minutes before) on each of these events (a list of ids, or a
    query of them: a whole feed)."""
    if isinstance(event_ids, Sequence):
        if not event_ids:
            return {}
        event_ids = list(event_ids)
    rows = await session.execute(
        select(Reminder.event_id, Reminder.minutes_before)
        .where(Reminder.user_id == user_id, Reminder.event_id.in_(event_ids))
        .order_by(Reminder.event_id, Reminder.minutes_before)
    )
    found: dict[int, list[int]] = {}
    for event_id, minutes in rows:
        found.setdefault(event_id, []).append(minutes)
    return found


@dataclass
class _Follow:
    """The events a transaction wrote, whose reminders are recomputed as it commits."""

    session: AsyncSession
    event_ids: set[int] = field(default_factory=set)

    async def __call__(self) -> None:
        ids, self.event_ids = self.event_ids, set()
        if not ids:
            return
        await self.session.flush()
        reminders = list(
            await self.session.scalars(select(Reminder).where(Reminder.event_id.in_(ids)))
        )
        if not reminders:
            return
        events = list(await self.session.scalars(select(Event).where(Event.id.in_(ids))))
        await _reschedule(self.session, events, reminders, now=db.utcnow(), drop_after=None)


def follow_event(session: AsyncSession, event_id: int) -> None:
    """Hook for the event write path: recompute this event's reminders before the commit.

    Runs ahead of the change feed's numbering (which takes the feed lock last), and sees the
    event as the transaction leaves it (a delete stamps `deleted_at` after its version)."""
    steps = db.unit_of_work(session).before_commit
    step = next((s for s in steps if isinstance(s, _Follow)), None)
    if step is None:
        step = _Follow(session)
        steps.insert(0, step)
    step.event_ids.add(event_id)


@dataclass(frozen=True, slots=True)
class _Answers:
    """One invited user's answers on one event: for the series, and occurrence by occurrence
    (at most MAX_OCCURRENCE_ANSWERS of those, bounded by the RSVP)."""

    series: str | None
    occurrences: Mapping[datetime, str]

    def skips(self, occurrence: Occurrence) -> bool:
        return declines(self.series, self.occurrences, occurrence.recurrence_id)

    @property
    def accepted_alone(self) -> list[datetime] | None:
        """With the series declined, the occurrences not declined one by one (the only
        ones that remind); None when the series is not declined."""
        if self.series != DECLINED:
            return None
        return [rid for rid, answer in self.occurrences.items() if answer != DECLINED]


async def _answers(
    session: AsyncSession, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], _Answers]:
    """The answers of those (event_id, user_id) pairs that are invitations; two queries."""
    series = await series_answers(session, pairs)
    per_occurrence = await occurrence_answers(session, series)
    return {pair: _Answers(answer, per_occurrence.get(pair, {})) for pair, answer in series.items()}


def _next(
    event: Any,  # an Event, or a row of its columns
    series: Series,
    reminder: Any,  # a Reminder or a row with its user_id and minutes_before
    after: datetime,
    answers: Mapping[tuple[int, int], _Answers],
    memo: dict[Any, Any],
) -> NextDue | None:
    """The reminder's next due occurrence after `after`, passing over what its user
    declined; None when nothing is left (or they declined the whole series)."""
    return _next_two(event, series, reminder, after, answers, memo, two=False)[0]


def _next_two(
    event: Any,
    series: Series,
    reminder: Any,
    after: datetime,
    answers: Mapping[tuple[int, int], _Answers],
    memo: dict[Any, Any],
    *,
    two: bool = True,
) -> tuple[NextDue | None, NextDue | None]:
    """`_next` after `after`, and (with `two`) `_next` after that one's due time, from one
    walk of the recurrence where it can be (timing.next_two). Memoised per (event, user if
    invited, minutes, after): a meeting's reminders for its many guests are one walk."""
    mine = answers.get((event.id, reminder.user_id))
    key = (event.id, reminder.user_id if mine else None, reminder.minutes_before, after, two)
    if key not in memo:
        only = mine.accepted_alone if mine is not None else None
        if only is not None:
            first = next_answered(
                series, minutes_before=reminder.minutes_before, after=after, recurrence_ids=only
            )
            second = None
            if two and first is not None:
                second = next_answered(
                    series,
                    minutes_before=reminder.minutes_before,
                    after=first.due_at,
                    recurrence_ids=only,
                )
            memo[key] = (first, second)
        elif two:
            memo[key] = next_two(
                series,
                minutes_before=reminder.minutes_before,
                after=after,
                until=event.span_end,
                skip=mine.skips if mine else None,
            )
        else:
            due = next_due(
                series,
                minutes_before=reminder.minutes_before,
                after=after,
                until=event.span_end,
                skip=mine.skips if mine else None,
            )
            memo[key] = (due, None)
    result: tuple[NextDue | None, NextDue | None] = memo[key]
    return result


def _payload(reminder_id: int, due: NextDue) -> dict[str, Any]:
    start = due.occurrence.start if due.occurrence is not None else None
    return {"reminder_id": reminder_id, "occurrence_start": iso(start) if start else None}


async def _reschedule(
    session: AsyncSession,
    events: Sequence[Event],
    reminders: Sequence[Any],  # Reminders, or rows of their id, user_id, event_id, minutes
    *,
    now: datetime,
    drop_after: timedelta | None,
) -> None:
    """Point each reminder's job at its next due occurrence from now, keeping the place of
    one that is due but not yet sent (a late worker must still send it). A fixed number of
    statements however many reminders (the jobs are written by one multi-row upsert)."""
    if not reminders:
        return
    by_id = {e.id: e for e in events}
    jobs = await queue.lock_keys(session, [job_key(r.id) for r in reminders])
    series = {e.id: series_of(content_of(e)) for e in events if e.deleted_at is None}
    answers = await _answers(session, {(r.event_id, r.user_id) for r in reminders})
    memo: dict[Any, Any] = {}
    gone = []
    moves: list[tuple[str, datetime, dict[str, Any]]] = []
    for reminder in reminders:
        event = by_id[reminder.event_id]
        key = job_key(reminder.id)
        if event.id not in series:
            gone.append(key)
            continue
        job = jobs.get(key)
        after = now
        if job is not None and job.due_at <= now:
            after = job.due_at - TICK
            if drop_after is not None:
                after = max(after, now - drop_after)
        due = _next(event, series[event.id], reminder, after, answers, memo)
        if due is None:
            gone.append(key)
            continue
        payload = _payload(reminder.id, due)
        if job is not None and job.due_at == due.due_at and job.payload == payload:
            continue  # unchanged: leave a claimed job with its worker
        moves.append((key, due.due_at, payload))
    await queue.schedule_many(session, kind=KIND, jobs=moves)
    await queue.cancel(session, gone)


@dataclass(frozen=True, slots=True)
class Timing:
    late_after: timedelta
    drop_after: timedelta


# What firing reads of an event: enough for its recurrence, the message and the version.
_FIRE_COLUMNS = (
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
)


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
        select(Reminder.id, Reminder.user_id, Reminder.event_id, Reminder.minutes_before).where(
            queue.among(session, Reminder.id, {j.payload["reminder_id"] for j in jobs})
        )
    )
    reminders = {r.id: r for r in rows}
    event_ids = {r.event_id for r in reminders.values()}
    user_ids = {r.user_id for r in reminders.values()}
    events = {
        e.id: e
        for e in await session.execute(
            select(*_FIRE_COLUMNS).where(
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
    answers = await _answers(session, {(r.event_id, r.user_id) for r in reminders.values()})
    memo: dict[Any, Any] = {}
    done: list[queue.Claimed] = []  # finished: removed in one statement
    moved: list[tuple[queue.Claimed, datetime, dict[str, Any]]] = []  # one statement too
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
        rules = series[event.id]
        # What is due at or after this job's time, by the event as it is now; and the next.
        due, upcoming = _next_two(event, rules, reminder, job.due_at - TICK, answers, memo)
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
            upcoming = _next(event, rules, reminder, after, answers, memo)
        if upcoming is None:
            done.append(job)
        else:
            moved.append((job, upcoming.due_at, _payload(reminder.id, upcoming)))
    await queue.reschedule_many(session, moved)
    await queue.finish_many(session, done)
    return sent
