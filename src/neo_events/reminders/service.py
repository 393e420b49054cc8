"""Reminders: each user's own, set on events they can see. One job per reminder holds its
next due occurrence (firing.py; due.py finds it).

Setting reminders schedules them; every write of an event (through `record_version`, the
one place event writes go) recomputes that event's reminders just before the commit, in the
same transaction, so a moved, cancelled or deleted occurrence moves or drops its reminder
atomically with the change. A declined series keeps its reminder rows (still
`my_reminders`) but schedules no job; an answer is recomputed like an event write
(`follow_event`), so accepting again brings the reminders back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Integer, Select, Table, delete, insert, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db
from neo_events.audit.service import Origin, record_all
from neo_events.db import UTCDateTime
from neo_events.errors import ValidationFailed
from neo_events.events.access import Role, get_event_for, touch
from neo_events.events.content import parse_iso
from neo_events.events.days import date_in
from neo_events.events.rrule import zone_named
from neo_events.jobs import queue
from neo_events.models import Event, Job, Reminder, User
from neo_events.reminders.firing import EVENT_ROW, REMINDER_COLUMNS, job_key, reschedule
from neo_events.reminders.follow import JOB_KEY, follow
from neo_events.reminders.schemas import MAX_MINUTES_BEFORE, MAX_REMINDERS


async def set_reminders(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    minutes: Sequence[int],
    origin: Origin,
    if_match: str | None = None,
) -> list[int]:
    """Replace the caller's reminders on an event they can see (viewer+); 404 otherwise."""
    event, _ = await get_event_for(
        session, actor.id, event_id, Role.VIEWER, lock=True, if_match=if_match
    )
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
        raise ValidationFailed.field(["reminders"], f"at most {MAX_REMINDERS} reminders per event")
    if any(not 0 <= m <= MAX_MINUTES_BEFORE for m in wanted):
        raise ValidationFailed.field(
            ["reminders"], f"minutes_before must be within 0-{MAX_MINUTES_BEFORE}"
        )
    return wanted


_REMINDERS = cast(Table, Reminder.__table__)
# Many rows in one multi-row INSERT … RETURNING (SQLAlchemy's "insertmanyvalues"); each row
# comes back with what identifies it, so their order does not matter.
_RETURNED = tuple(_REMINDERS.c[column.key] for column in REMINDER_COLUMNS)
_INSERT_REMINDERS = insert(_REMINDERS).returning(*_RETURNED)


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
    await _drop(session, [reminder_id for key, reminder_id in existing.items() if key not in kept])
    new = [
        {"user_id": user_id, "event_id": event.id, "minutes_before": m, "created_at": now}
        for event, wanted in sets
        for m in wanted
        if (event.id, m) not in existing
    ]
    added = list(await session.execute(_INSERT_REMINDERS, new)) if new else []
    await reschedule(session, [event for event, _ in sets], added, now=now, drop_after=None)
    await record_all(
        session,
        action="reminders.set",
        origin=origin,
        actor_id=user_id,
        target_type="event",
        targets=[(event.id, {"minutes_before": wanted}) for event, wanted in sets],
    )
    return [wanted for _, wanted in sets]


async def forget_reminders(session: AsyncSession, *, event_id: int, user_id: int) -> None:
    """A user's reminders on an event whose role they lost (left it, or were taken off it),
    and their jobs: they came back when it was shared with them again (an outside attack)."""
    rows = await session.execute(
        select(Reminder.id).where(Reminder.user_id == user_id, Reminder.event_id == event_id)
    )
    await _drop(session, list(rows.scalars()))


async def _drop(session: AsyncSession, gone: list[int]) -> None:
    """These reminders and their jobs."""
    await queue.cancel(session, [job_key(r) for r in gone])
    if gone:
        await session.execute(
            delete(Reminder).where(queue.among(session, Reminder.id, gone)),
            execution_options={"synchronize_session": False},
        )


async def continue_reminders(session: AsyncSession, *, original_id: int, successor: Event) -> None:
    """A series split at an occurrence ("this and following", events/occurrences.py): each
    user's reminders on it hold for the new series too, as its grants and invitations do
    (SPEC §14: only moving, cancelling or declining an occurrence moves or drops its
    reminders), each scheduled as `set_reminders` schedules one. Two statements however many
    people."""
    now = db.utcnow()
    copied = select(
        _REMINDERS.c.user_id,
        _REMINDERS.c.minutes_before,
        _REMINDERS.c.reminded_day,  # (the split's first day may be one reminded of)
        literal(successor.id, Integer),
        literal(now, UTCDateTime),
    ).where(_REMINDERS.c.event_id == original_id)
    names = ["user_id", "minutes_before", "reminded_day", "event_id", "created_at"]
    added = await session.execute(
        insert(_REMINDERS).from_select(names, copied).returning(*_RETURNED)
    )
    await reschedule(session, [successor], list(added), now=now, drop_after=None)


async def my_reminders(
    session: AsyncSession, user_id: int, event_ids: Sequence[int] | Select[Any]
) -> dict[int, list[int]]:
    """The user's reminders (minutes before) on each of these events (a list of ids, or a
    query of them: a whole feed)."""
    params: dict[str, Any] = {}
    if isinstance(event_ids, Sequence):
        if not event_ids:
            return {}
        # one statement whatever the count (`db.one_of`), as a page's other reads
        among = db.one_of(session.get_bind().dialect.name, Reminder.event_id, "ids")
        params["ids"] = list(event_ids)
    else:
        among = Reminder.event_id.in_(event_ids)
    rows = await session.execute(
        select(Reminder.event_id, Reminder.minutes_before)
        .where(Reminder.user_id == user_id, among)
        .order_by(Reminder.event_id, Reminder.minutes_before),
        params,
    )
    found: dict[int, list[int]] = {}
    for event_id, minutes in rows:
        found.setdefault(event_id, []).append(minutes)
    return found


# A change of zone moves at most this many of the user's reminders on all-day events, the
# soonest due first: each of the others is moved when it fires (a later time) or, where its
# day now begins earlier, fires for the next occurrence instead of this one.
ZONE_MOVES = 1_000


async def follow_own_zone(session: AsyncSession, user_id: int, before: str | None) -> None:
    """The user's reminders on all-day events pointed at their days as their zone (just
    changed from `before`, auth/preferences.py) places them (`series_types.zoned`). Each
    goes on from the day its job is at, as `before` placed it: a day it reminded of already
    (or whose time to remind passed) is not reminded of again where that day begins later,
    further west. One with no job has nothing left to remind of, and is left so."""
    rows = (
        await session.execute(
            select(*REMINDER_COLUMNS)
            .join(Event, Event.id == Reminder.event_id)
            .join(Job, Job.key == JOB_KEY)
            .where(Reminder.user_id == user_id, Event.all_day.is_(True))
            .where(Event.deleted_at.is_(None))
            .order_by(Job.due_at, Reminder.id)
            .limit(ZONE_MOVES)
        )
    ).all()
    if not rows:
        return
    # Their jobs locked first, then their events read: an edit of one that commits
    # meanwhile has moved its jobs already (by the zone before) and is read as it left it,
    # never the job pointed at the event as it was before that edit.
    jobs = await queue.lock_keys(session, [job_key(r.id) for r in rows])
    rows = [r for r in rows if job_key(r.id) in jobs]  # (one sent meanwhile: nothing left)
    ids = {r.event_id for r in rows}
    events = (
        await session.execute(select(*EVENT_ROW).where(queue.among(session, Event.id, ids)))
    ).all()
    was = {e.id: zone_named(before or e.timezone) for e in events}
    first_days = {
        r.id: date_in(parse_iso(start), was[r.event_id])
        for r in rows
        if (start := jobs[job_key(r.id)].payload.get("occurrence_start")) is not None
    }
    await reschedule(
        session, events, rows, now=db.utcnow(), drop_after=None, first_days=first_days, locked=jobs
    )


@dataclass
class _Follow:
    """The events a transaction wrote, whose reminders are recomputed as it commits: every
    holder's (`event_ids`), or only some holders' (`holders`, (event, user) pairs)."""

    session: AsyncSession
    event_ids: set[int] = field(default_factory=set)
    holders: set[tuple[int, int]] = field(default_factory=set)

    async def __call__(self) -> None:
        ids, self.event_ids = self.event_ids, set()
        pairs, self.holders = [p for p in self.holders if p[0] not in ids], set()
        if not ids and not pairs:
            return
        await self.session.flush()
        now = db.utcnow()
        if ids:
            await follow(self.session, ids, now=now)
        if pairs:  # as a user's own reminders are set: theirs alone
            rows = await self.session.execute(
                select(*REMINDER_COLUMNS).where(
                    tuple_(Reminder.event_id, Reminder.user_id).in_(sorted(pairs))
                )
            )
            held = {event_id for event_id, _ in pairs}
            events = await self.session.scalars(select(Event).where(Event.id.in_(held)))
            await reschedule(self.session, list(events), list(rows), now=now, drop_after=None)


def follow_event(
    session: AsyncSession, event_id: int, *, holders: Iterable[int] | None = None
) -> None:
    """Hook for the event write path: recompute this event's reminders before the commit;
    with `holders`, only theirs (their own answers changed: nobody else's firings move).

    Runs ahead of the change feed's numbering (which takes the feed lock last), and sees the
    event as the transaction leaves it (a delete stamps `deleted_at` after its version)."""
    steps = db.unit_of_work(session).before_commit
    step = next((s for s in steps if isinstance(s, _Follow)), None)
    if step is None:
        step = _Follow(session)
        steps.insert(0, step)
    if holders is not None:
        step.holders.update((event_id, user_id) for user_id in holders)
    else:
        step.event_ids.add(event_id)
