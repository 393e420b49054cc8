"""Moving every reminder of events a transaction wrote (SPEC §14; `service._Follow`).

An event many people hold carries many reminders, but few distinct offsets: the next firing
of every reminder with one offset, of users whose answers decline nothing, is one and the
same. So each such group (at least GROUP_MIN reminders of one event and offset) is worked
out once and its jobs written by one statement (`_write`): an upsert from the reminders'
rows, which leaves alone a job due but not yet sent and one already at that time. What is
left is done reminder by reminder, as a user's own reminders are (`firing.reschedule`, its
walks off the loop when many): small groups, the reminders of those who declined something
(their answers make their firings their own), those who live in another zone than an
all-day event's (its days begin at their own midnights) but in fewer than GROUP_MIN of one
zone (more are a group of their own), the groups past the MAX_GROUPS largest, and jobs due
but not yet sent (each keeps its place from where it was due). A fixed number of
statements, and one per large group.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    Text,
    and_,
    delete,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events.content import content_of, iso, series_of
from neo_events.events.days import date_in
from neo_events.events.off_loop import off_the_loop
from neo_events.events.recurrence import Series
from neo_events.events.rrule import zone_named
from neo_events.events.series_types import zoned
from neo_events.jobs import queue
from neo_events.models import Attendee, Event, Job, Reminder, User
from neo_events.reminders.due import load_answers
from neo_events.reminders.firing import KIND, REMINDER_COLUMNS, reschedule
from neo_events.reminders.timing import NextDue, next_due

# Reminders of one event and one offset worked out once and written by one statement.
GROUP_MIN = 20
# At most this many groups, the largest: each is a statement, whose cost grows with the
# event's reminders; past a score of them one by one costs less (an outside attack: 1,000
# holders in 50 zones, 20 of each, 5 offsets, were 250 groups, 271 statements, 2.4-3.3 s).
MAX_GROUPS = 20
# Above this many groups, their walks are done in a worker thread.
ON_LOOP_GROUPS = 10

# A reminder's user's zone, and its event's: each looked up by primary key, a row at a time.
# (As an EXISTS inside an OR, PostgreSQL may plan a test of this kind as one hashed subplan:
# with statistics taken when the tables were small, the join of every user with a zone and
# every all-day event, 1.9 million rows and 1 s for one RSVP in an outside attack.)
_USER_ZONE = select(User.timezone).where(User.id == Reminder.user_id).scalar_subquery()
_ALL_DAY_ZONE = (
    select(Event.timezone)
    .where(Event.id == Reminder.event_id, Event.all_day.is_(True))
    .scalar_subquery()
)
# A reminder whose user lives in another zone than its all-day event's (`series_types.zoned`): its
# firings are its own, before that user's midnights (a correlated test: no list of them).
# (false, not NULL, for a user without a zone or a timed event: negated, it is true)
_ELSEWHERE = func.coalesce(_USER_ZONE.op("<>", is_comparison=True)(_ALL_DAY_ZONE), false())
_JOBS = cast(Table, Job.__table__)
JOB_KEY = literal("reminder:") + sql_cast(Reminder.id, String)  # firing.job_key, in SQL


async def follow(session: AsyncSession, event_ids: Collection[int], *, now: datetime) -> None:
    """Point the job of every reminder of these events at its next due occurrence from now
    (`firing.reschedule`'s rules), by groups where they share it."""
    counts = await session.execute(
        select(Reminder.event_id, Reminder.minutes_before, func.count())
        .where(queue.among(session, Reminder.event_id, event_ids))
        .group_by(Reminder.event_id, Reminder.minutes_before)
    )
    sizes = {(event_id, minutes): n for event_id, minutes, n in counts}
    if not sizes:
        return
    held = sorted({event_id for event_id, _ in sizes})
    if session.get_bind().dialect.name == "postgresql":
        # Their jobs, locked in one order (as `queue.lock_keys`): a writer waits for a worker
        # firing one, then sees what it wrote.
        await session.execute(
            select(Job.id)
            .where(
                Job.key.in_(select(JOB_KEY).where(queue.among(session, Reminder.event_id, held)))
            )
            .order_by(Job.id)
            .with_for_update()
        )
    events = list(await session.scalars(select(Event).where(queue.among(session, Event.id, held))))
    live = {e.id: e for e in events if e.deleted_at is None}
    if deleted := [e.id for e in events if e.id not in live]:  # every job of theirs goes
        await _delete(session, Reminder.event_id.in_(deleted))
    if not live:
        return
    special = await _declining(session, list(live))
    # (event, offset, zone): those in the event's zone (None), and holders of an all-day event
    # living elsewhere, as many together; the largest MAX_GROUPS of them. An (event, offset)'s
    # count holds its zones' (and comes first of equals), so a zone group kept has its own.
    found: list[tuple[tuple[int, int, str | None], int]] = [
        ((e, m, None), n) for (e, m), n in sizes.items() if e in live and n >= GROUP_MIN
    ]
    found += await _zone_groups(session, live)
    largest = [key for key, _ in sorted(found, key=lambda kn: -kn[1])[:MAX_GROUPS]]
    every = sorted(largest, key=lambda k: (k[0], k[1], k[2] or ""))
    groups = [(e, m) for e, m, z in every if z is None]
    zoned_groups = [(e, m, z) for e, m, z in every if isinstance(z, str)]
    spans = {e.id: (series_of(content_of(e)), e.span_end) for e in live.values()}

    def walks() -> list[NextDue | None]:
        return [
            next_due(zoned(spans[e][0], z), minutes_before=m, after=now, until=spans[e][1])
            for e, m, z in every
        ]

    dues = await off_the_loop(len(every) > ON_LOOP_GROUPS, walks)
    # The all-day days the groups' next firings remind of: a reminder that reminded of one
    # of them, or a later day, already (its holder's zone, or the event's, moved west since)
    # is not the group's but is moved one by one, past its day (`due.reminded_skipper`);
    # those that reminded of a day before the earliest of them are the groups'.
    first = min(_days_of(every, dues, spans, live), default=None)
    fresh: Any = literal(True)
    if first is not None:
        fresh = or_(Reminder.reminded_day.is_(None), Reminder.reminded_day < first)
    for (event_id, minutes, zone), due in zip(every, dues, strict=True):
        users = special.get(event_id)
        where: Any = literal(True)  # a timed event's holders, wherever they live
        if zone is not None:
            where = _in_zone(zone)
        elif live[event_id].all_day:
            where = ~_ELSEWHERE
        await _write(
            session,
            Reminder.event_id == event_id,
            Reminder.minutes_before == minutes,
            ~Reminder.user_id.in_(users) if users else literal(True),
            where,
            fresh,
            due=due,
            now=now,
        )
    # The rest one by one, as reschedule does: their jobs due but not yet sent keep their place.
    job_due = select(Job.due_at).where(Job.key == JOB_KEY).scalar_subquery()  # by key, a row
    one_by_one: list[Any] = [func.coalesce(job_due.op("<=", is_comparison=True)(now), false())]
    if groups:
        one_by_one.append(~tuple_(Reminder.event_id, Reminder.minutes_before).in_(groups))
    else:
        one_by_one = [literal(True)]
    if special:
        pairs = [(e, u) for e, users in special.items() for u in users]
        one_by_one.append(tuple_(Reminder.event_id, Reminder.user_id).in_(pairs))
    if any(e.all_day for e in live.values()):
        grouped = [
            and_(Reminder.event_id == e, Reminder.minutes_before == m, _in_zone(z))
            for e, m, z in zoned_groups
        ]
        one_by_one.append(and_(_ELSEWHERE, ~or_(*grouped)) if grouped else _ELSEWHERE)
    if first is not None:
        one_by_one.append(Reminder.reminded_day >= first)
    rows = await session.execute(
        select(*REMINDER_COLUMNS).where(
            queue.among(session, Reminder.event_id, live), or_(*one_by_one)
        )
    )
    await reschedule(session, list(live.values()), list(rows), now=now, drop_after=None)


def _days_of(
    groups: Sequence[tuple[int, int, str | None]],
    dues: Sequence[NextDue | None],
    spans: Mapping[int, tuple[Series, datetime | None]],
    live: Mapping[int, Event],
) -> set[date]:
    """The days the groups of all-day events remind of next, each where the group's holders'
    days begin (`series_types.zoned`)."""
    found = set()
    for (event_id, _, zone), due in zip(groups, dues, strict=True):
        if live[event_id].all_day and due is not None and due.occurrence is not None:
            rules = zoned(spans[event_id][0], zone)
            if rules.all_day_zone is not None:
                found.add(date_in(due.occurrence.start, zone_named(rules.all_day_zone)))
    return found


def _in_zone(zone: str) -> Any:
    """A reminder whose user lives in `zone`."""
    return func.coalesce(_USER_ZONE.op("=", is_comparison=True)(zone), false())


async def _zone_groups(
    session: AsyncSession, live: Mapping[int, Event]
) -> list[tuple[tuple[int, int, str | None], int]]:
    """(event, offset, zone) of at least GROUP_MIN reminders on one of these all-day events
    whose users live in one zone other than the event's (`_ELSEWHERE`), with their count:
    each such group is one walk and one statement, as those in the event's zone are. One
    query, or none."""
    all_day = [e.id for e in live.values() if e.all_day]
    if not all_day:
        return []
    # each reminder's zones looked up by key, as `_ELSEWHERE` does (a join of the three
    # tables, planned from statistics of small ones, took 2.3 s for 2,500 reminders)
    elsewhere = (
        select(Reminder.event_id, Reminder.minutes_before, _USER_ZONE.label("zone"))
        .where(queue.among(session, Reminder.event_id, all_day), _ELSEWHERE)
        .subquery()
    )
    found = (elsewhere.c.event_id, elsewhere.c.minutes_before, elsewhere.c.zone)
    rows = await session.execute(select(*found, func.count()).group_by(*found))
    return [((e, m, z), n) for e, m, z, n in rows if z is not None and n >= GROUP_MIN]


async def _declining(session: AsyncSession, event_ids: list[int]) -> dict[int, set[int]]:
    """Of those invited to these events who hold reminders on them, those whose answers
    decline something (`Answers.kind`), by event: at most MAX_ATTENDEES each."""
    invited = await session.execute(
        select(Attendee.event_id, Attendee.user_id).where(
            queue.among(session, Attendee.event_id, event_ids),
            exists().where(
                Reminder.event_id == Attendee.event_id, Reminder.user_id == Attendee.user_id
            ),
        )
    )
    answers = await load_answers(session, [(e, u) for e, u in invited])
    found: dict[int, set[int]] = {}
    for (event_id, user_id), mine in answers.items():
        if mine.kind is not None:
            found.setdefault(event_id, set()).add(user_id)
    return found


async def _write(session: AsyncSession, *where: Any, due: NextDue | None, now: datetime) -> None:
    """Point the jobs of the reminders `where` names at `due` (None: drop them), in one
    statement: a new job for one that has none; one due but not yet sent, or already there,
    is left as it is."""
    if due is None:
        await _delete(session, *where, jobs=Job.due_at > now)
        return
    start = iso(due.occurrence.start) if due.occurrence is not None else None
    postgresql = session.get_bind().dialect.name == "postgresql"
    build = func.jsonb_build_object if postgresql else func.json_object

    def value(given: Any, kind: Any) -> Any:  # PostgreSQL asks a select list's types
        bound = literal(given, kind)
        return sql_cast(bound, kind) if postgresql else bound

    payload = build(
        literal_column("'reminder_id'"),
        Reminder.id,
        literal_column("'occurrence_start'"),
        value(start, Text()),
    )
    moment = _JOBS.c.due_at.type
    rows = select(
        JOB_KEY,
        value(KIND, String()),
        payload,
        value(due.due_at, moment),
        value(due.due_at, moment),
        literal(0),
        value(now, moment),
    ).where(*where)
    columns = ["key", "kind", "payload", "due_at", "run_at", "attempts", "created_at"]
    statement = queue.insert_for(session)(_JOBS).from_select(columns, rows)
    fresh = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[_JOBS.c.key],
            set_={
                "payload": fresh.payload,
                "due_at": fresh.due_at,
                "run_at": fresh.run_at,
                "attempts": 0,
                "locked_by": None,
                "last_error": None,
            },
            where=(_JOBS.c.due_at > now)
            & or_(
                _JOBS.c.due_at != fresh.due_at,
                _JOBS.c.payload["occurrence_start"].as_string().is_distinct_from(start),
            ),
        )
    )


async def _delete(session: AsyncSession, *where: Any, jobs: Any = None) -> None:
    """Drop the jobs of the reminders `where` names (those of them `jobs` names)."""
    await session.execute(
        delete(Job).where(
            Job.key.in_(select(JOB_KEY).where(*where)), *([] if jobs is None else [jobs])
        ),
        execution_options={"synchronize_session": False},
    )
