"""Schedule conflicts: do the occurrences a write adds overlap the calendars concerned?

A user's calendar is every live event they hold any role on. A write is checked for what it
changes: the occurrences its event has afterwards and did not have before (a title edit
checks nothing, moving one occurrence checks that one, and a clash that existed before is
never the write's own), over a horizon of 366 days from the series' first occurrence (the
whole series if it ends sooner), so a clash on the 40th week is found. A batch is checked
against the calendar and against itself in one sweep (`conflicts.sweep_conflicts`).

Bounds: a series is expanded for a check up to CHECK_LIMIT occurrences (a denser one is checked
up to where it reaches them), and at most CALENDAR_LIMIT occurrences of the calendars are loaded
(past that the window checked ends where the limit is reached, or is halved until it fits;
an expansion stopped by a limit hands over what it met, so nothing is expanded twice) — so a
check costs tens of ms at most, whatever the rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from sqlalchemy import Executable, bindparam, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events.errors import Conflict
from neo_events.events import recurrence
from neo_events.events.access import get_event_for
from neo_events.events.conflicts import Busy, merge, sweep_conflicts
from neo_events.events.content import content_of, iso, series_of, span_of
from neo_events.events.expansions import Expansions, expand_in_blocks
from neo_events.events.listing import MAX_OCCURRENCES, too_many_occurrences
from neo_events.events.rrule import zone_named as recurrence_zone
from neo_events.invitations.responses import busy_people, occurrence_answers
from neo_events.models import Attendee, Event, EventPermission, User
from neo_events.scheduling import slots

HORIZON = timedelta(days=366)
CALENDAR_LIMIT = 5_000  # occurrences of the calendars a write is checked against
CHECK_LIMIT = 2_000  # occurrences of one series a write checks: a daily one's year is 366


# Built once: an alias made per call costs more than the query's compilation cache saves.
_HELD = aliased(EventPermission, name="held")
_MINE, _THEIRS = aliased(EventPermission, name="mine"), aliased(EventPermission, name="theirs")


def _calendar_query(*, seen: bool) -> Executable:
    """Every occurrence-bearing row of the events users (`:ids`) hold a role on that can
    reach [`:lo`, `:hi`), with whether `:viewer` sees each: built once, as binding its
    values costs far less than building it (about a millisecond) on every write."""
    sees = (
        exists().where(
            EventPermission.event_id == Event.id, EventPermission.user_id == bindparam("viewer")
        )
        if seen
        else false()
    )
    held = _HELD
    return (
        select(
            Event.id,
            Event.version,
            Event.title,
            Event.start_time,
            Event.end_time,
            Event.timezone,
            Event.all_day,
            Event.start_date,
            Event.end_date,
            Event.is_recurring,
            Event.recurrence_pattern,
            Event.exdates,
            Event.rdates,
            Event.overrides,
            held.user_id,
            sees.label("visible"),
            Attendee.response,
        )
        .join(held, held.event_id == Event.id)
        .outerjoin(Attendee, (Attendee.event_id == Event.id) & (Attendee.user_id == held.user_id))
        .where(
            held.user_id.in_(bindparam("ids", expanding=True)),
            Event.deleted_at.is_(None),
            Event.transparency == "opaque",  # free time is never busy, never a conflict
            Event.span_start < bindparam("hi"),
            or_(Event.span_end.is_(None), Event.span_end > bindparam("lo")),
        )
    )


_CALENDAR, _CALENDAR_SEEN = _calendar_query(seen=False), _calendar_query(seen=True)


class ConflictPolicy(StrEnum):
    WARN = "warn"
    REJECT = "reject"
    SUGGEST = "suggest"  # reject, with the nearest slots where everyone concerned is free
    IGNORE = "ignore"


SUGGESTIONS = 5
SUGGEST_WITHIN = timedelta(days=14)
SUGGEST_GRANULARITY = timedelta(minutes=15)
# Suggestions keep to a waking day on the event's own clock, unless the requested time
# itself lies outside it (then any hour will do).
SUGGEST_HOURS = slots.WorkingHours(time(8), time(20), frozenset(range(1, 8)))


class ScheduleConflict(Conflict):
    code = "schedule_conflict"
    title = "This overlaps other events"


@dataclass(frozen=True, slots=True)
class Clash:
    """A conflicting occurrence as the caller may see it: details only of events they see,
    times only of their contacts' calendars; a stranger is just `user_id` and busy."""

    event_id: int | None
    title: str
    start: datetime | None
    end: datetime | None
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An event a write makes or changes (`event_id` None if new): its series now, and as it
    was before the write, whose occurrences are not checked again. A transparent event
    (free time) adds nothing to check; one that was transparent had nothing checked."""

    event_id: int | None
    series: recurrence.Series
    before: recurrence.Series | None = None
    transparent: bool = False

    @classmethod
    def of(
        cls, event_id: int | None, content: Mapping[str, Any], before: Mapping[str, Any] | None
    ) -> Candidate:
        was_busy = before is not None and before.get("transparency", "opaque") == "opaque"
        return cls(
            event_id,
            series_of(content),
            series_of(before) if was_busy and before is not None else None,
            transparent=content["transparency"] == "transparent",
        )


def horizon(series: recurrence.Series) -> tuple[datetime, datetime]:
    start, last = span_of(series)
    end = start + HORIZON
    return start, min(end, last) if last is not None else end


def occurrences(
    series: recurrence.Series, window: tuple[datetime, datetime], *, strict: bool = False
) -> list[tuple[datetime, datetime]]:
    """Occurrences in the window. In a check over the horizon, a series too dense for it is
    checked up to where it reaches CHECK_LIMIT, so a check is always bounded. `strict`,
    for a window the caller chose: too many is a 422, so an answer is never shortened."""
    start, end = window
    while True:
        try:
            found = recurrence.expand(
                series, start, end, limit=MAX_OCCURRENCES if strict else CHECK_LIMIT
            )
        except recurrence.ExpansionLimitExceeded as exc:
            if strict:
                raise too_many_occurrences() from None
            before, end = _shortened(exc, start, end)
            if before is None or len(before) > CHECK_LIMIT:
                continue
            found = before
        return [(o.start, o.end) for o in found]


def _shortened(
    exc: recurrence.ExpansionLimitExceeded, lo: datetime, hi: datetime
) -> tuple[list[recurrence.Occurrence] | None, datetime]:
    """Where a check cut short by a limit now ends, and the occurrences up to there if the
    expansion that stopped already knows them (None: expand the shorter window again)."""
    reached = exc.reached
    if reached is not None and lo < reached < hi:
        return exc.before, reached
    return None, lo + (hi - lo) / 2


def added_occurrences(candidate: Candidate) -> list[tuple[datetime, datetime]]:
    """The candidate's occurrences within its horizon that it did not have before."""
    if candidate.transparent:
        return []
    window = horizon(candidate.series)
    mine = occurrences(candidate.series, window)
    if candidate.before is None:
        return mine
    had = set(occurrences(candidate.before, window))
    return [o for o in mine if o not in had]


async def calendar(
    session: AsyncSession,
    user_ids: Iterable[int],
    window: tuple[datetime, datetime],
    *,
    viewer_id: int | None,
    strict: bool = False,
    cache: Expansions | None = None,
) -> tuple[list[Busy], set[int], datetime]:
    """Occurrences in the window of every event the users hold a role on (each with which of
    those users hold it), which of those events `viewer_id` may see (None: busy time only,
    nobody asks, and the query skips a subquery a row), and up to when that is
    complete: past CALENDAR_LIMIT occurrences the window is cut short where the limit was
    reached (each event is expanded once, within what is left of the limit), or, if
    `strict` (a window the caller chose), it is a 422. With `cache`, expansions are kept
    by (event, version, week) (see `expansions.expand_in_blocks`)."""
    rows = await session.execute(
        _CALENDAR_SEEN if viewer_id is not None else _CALENDAR,
        {"ids": list(set(user_ids)), "viewer": viewer_id, "lo": window[0], "hi": window[1]},
    )
    events: dict[int, tuple[str, int, Mapping[Any, Any]]] = {}
    holders: dict[int, set[int]] = {}
    answers: dict[int, dict[int, str | None]] = {}  # invitees' series answers, by event
    visible: set[int] = set()
    for row in rows:
        if row.id not in events:
            events[row.id] = (row.title, row.version, row._mapping)
        holders.setdefault(row.id, set()).add(row.user_id)
        if row.response is not None:
            answers.setdefault(row.id, {})[row.user_id] = row.response
        if row.visible:
            visible.add(row.id)
    # Declined invitations are free time (SPEC §13), per occurrence too.
    per_occurrence = await occurrence_answers(
        session, ((e, u) for e, people in answers.items() for u in people)
    )
    lo, hi = window
    limit = MAX_OCCURRENCES if strict else CALENDAR_LIMIT
    busy: list[Busy] = []
    for event_id, (title, version, content) in events.items():
        while True:
            try:
                found = expand_in_blocks(
                    cache,
                    (event_id, version),
                    partial(series_of, content),
                    lo,
                    hi,
                    limit=limit - len(busy),
                )
                break
            except recurrence.ExpansionLimitExceeded as exc:
                if strict:
                    raise too_many_occurrences() from None
                before, hi = _shortened(exc, lo, hi)
                busy = [b for b in busy if b.start < hi]
                if before is not None and len(busy) + len(before) <= limit:
                    found = before
                    break
        people = frozenset(holders[event_id])
        if event_id not in answers:
            busy.extend(Busy(o.start, o.end, event_id, title, people) for o in found)
            continue
        mine = {u: per_occurrence.get((event_id, u), {}) for u in people}
        for o in found:
            busy_for = busy_people(list(people), answers[event_id], mine, o.recurrence_id)
            if busy_for:
                busy.append(Busy(o.start, o.end, event_id, title, busy_for))
    return busy, visible, hi


async def _calendar_for(
    session: AsyncSession,
    user_ids: set[int],
    added: list[list[tuple[datetime, datetime]]],
    viewer_id: int,
) -> tuple[list[Busy], set[int], list[list[tuple[datetime, datetime]]]]:
    """The calendars over the span of the occurrences to check, and those occurrences that
    fall where the calendars are complete (see `calendar`: all of them, unless the calendars
    hold more than CALENDAR_LIMIT occurrences in that span)."""
    if not any(added):
        return [], set(), added
    lo = min(s for occ in added for s, _ in occ)
    hi = max(e for occ in added for _, e in occ)
    busy, visible, until = await calendar(session, user_ids, (lo, hi), viewer_id=viewer_id)
    if until < hi:
        added = [[(s, e) for s, e in occ if s < until] for occ in added]
    return busy, visible, added


async def contacts_of(session: AsyncSession, viewer_id: int, user_ids: set[int]) -> set[int]:
    """Those of the users who hold a role on a live event the viewer holds one on too."""
    if not user_ids:
        return set()
    mine, theirs = _MINE, _THEIRS
    rows = await session.execute(
        select(theirs.user_id)
        .distinct()
        .join(mine, mine.event_id == theirs.event_id)
        .join(Event, Event.id == theirs.event_id)
        .where(
            mine.user_id == viewer_id,
            theirs.user_id.in_(user_ids),
            Event.deleted_at.is_(None),
        )
    )
    return set(rows.scalars()) | ({viewer_id} & user_ids)


async def check(
    session: AsyncSession,
    *,
    policy: ConflictPolicy,
    candidates: Sequence[Candidate],
    user_ids: Iterable[int],
    viewer_id: int,
    concerned: Iterable[int] | None = None,
) -> list[list[Clash]]:
    """For each candidate, what the occurrences it adds clash with.

    `reject` raises ScheduleConflict when anything clashes; `suggest` too, with the nearest
    free slots of everyone `concerned` (default: the users checked and the viewer);
    `ignore` checks nothing. Other candidates of the same call count too, so a batch that
    overlaps itself is caught.
    """
    nothing: list[list[Clash]] = [[] for _ in candidates]
    if policy is ConflictPolicy.IGNORE:
        return nothing
    if len(candidates) > 1:  # a batch: up to 500 expansions, not on the event loop
        added = await asyncio.to_thread(lambda: [added_occurrences(c) for c in candidates])
    else:
        added = [added_occurrences(c) for c in candidates]
    if not any(added):
        return nothing
    busy, visible, added = await _calendar_for(session, set(user_ids), added, viewer_id)
    excluded = [c.event_id for c in candidates]
    if len(candidates) > 1:
        found = await asyncio.to_thread(sweep_conflicts, added, busy, excluded=excluded)
    else:
        found = sweep_conflicts(added, busy, excluded=excluded)
    hidden = {
        u for clashes in found for b in clashes if b.event_id not in visible for u in b.holders
    }
    contacts = await contacts_of(session, viewer_id, hidden)
    results = [_clashes(clashes, visible, contacts) for clashes in found]
    if policy in (ConflictPolicy.REJECT, ConflictPolicy.SUGGEST) and any(results):
        flat = [c for clashes in results for c in clashes]
        extra: dict[str, Any] = {}
        if policy is ConflictPolicy.SUGGEST:
            people = set(concerned) if concerned is not None else set(user_ids) | {viewer_id}
            index, free = await _suggest(session, candidates, added, found, people)
            extra["suggestions"] = [{"start_time": iso(s), "end_time": iso(e)} for s, e in free]
            if len(candidates) > 1:
                extra["suggestions_for"] = index
        raise ScheduleConflict(
            f"{len(flat)} overlapping occurrence(s); ?conflicts=warn or ignore saves anyway.",
            conflicts=[clash_json(c) for c in flat],
            **extra,
        )
    return results


async def _suggest(
    session: AsyncSession,
    candidates: Sequence[Candidate],
    added: list[list[tuple[datetime, datetime]]],
    found: list[list[Busy]],
    people: set[int],
) -> tuple[int, list[tuple[datetime, datetime]]]:
    """Up to SUGGESTIONS slots as long as the first clashing occurrence (of the first
    candidate that clashes), starting from it and within SUGGEST_WITHIN, where everyone
    concerned is free. Bounded like any check: one calendar read of at most CALENDAR_LIMIT
    occurrences (the search stops where that read was cut short), then one pass over it."""
    index = next(i for i, clashes in enumerate(found) if clashes)
    clashes = found[index]
    start, end = min(
        o for o in added[index] if any(b.start < o[1] and b.end > o[0] for b in clashes)
    )
    duration = end - start
    window = (start, start + SUGGEST_WITHIN + duration)
    busy, _, until = await calendar(session, people, window, viewer_id=None)
    own = candidates[index].event_id
    taken = [(b.start, b.end) for b in busy if own is None or b.event_id != own]
    taken += [o for j, occ in enumerate(added) if j != index for o in occ]
    zone = recurrence_zone(candidates[index].series.timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    waking = (
        local_start.date() == local_end.date()
        and SUGGEST_HOURS.start <= local_start.time()
        and local_end.time() <= SUGGEST_HOURS.end
    )
    free = slots.free_slots(
        merge(taken),
        (start, min(window[1], until)),
        duration=duration,
        zone=zone,
        hours=SUGGEST_HOURS if waking else slots.ALL_DAY,
        granularity=SUGGEST_GRANULARITY,
        limit=SUGGESTIONS,
    )
    return index, free


def _clashes(found: Sequence[Busy], visible: set[int], contacts: set[int]) -> list[Clash]:
    clashes: list[Clash] = []
    strangers: set[int] = set()
    for busy in found:
        if busy.event_id < 0:
            clashes.append(Clash(None, "another event in this batch", busy.start, busy.end))
        elif busy.event_id in visible:
            clashes.append(Clash(busy.event_id, busy.title, busy.start, busy.end))
        elif busy.holders & contacts:  # a contact's private event: busy, when
            clashes.append(Clash(None, "busy", busy.start, busy.end))
        else:  # only strangers hold it: that they are busy, nothing more
            strangers |= busy.holders
    return clashes + [Clash(None, "busy", None, None, user_id=u) for u in sorted(strangers)]


def clash_json(clash: Clash) -> dict[str, object]:
    if clash.start is None or clash.end is None:
        return {"user_id": clash.user_id, "busy": True}
    return {
        "event_id": clash.event_id,
        "title": clash.title,
        "start_time": iso(clash.start),
        "end_time": iso(clash.end),
    }


async def busy_intervals(
    session: AsyncSession,
    *,
    user_id: int,
    window: tuple[datetime, datetime],
    cache: Expansions | None = None,
) -> list[tuple[datetime, datetime]]:
    """The user's calendar in the window as merged busy intervals, clipped to the window."""
    busy, _, _ = await calendar(
        session, [user_id], window, viewer_id=None, strict=True, cache=cache
    )
    clipped = (
        (max(b.start, window[0]), min(b.end, window[1]))
        for b in busy
        if b.start < window[1] and b.end > window[0]
    )
    return merge(clipped)


async def event_conflicts(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    window: tuple[datetime, datetime] | None,
) -> list[Clash]:
    """What in the caller's own calendar overlaps an event's occurrences: in the window if
    given (strictly: 422 past MAX_OCCURRENCES), else over the horizon a write checks."""
    event, _ = await get_event_for(session, actor.id, event_id)
    if event.transparency == "transparent":
        return []  # free time conflicts with nothing
    series = series_of(content_of(event))
    strict = window is not None
    span = window or horizon(series)
    mine = occurrences(series, span, strict=strict)
    if strict:
        busy, visible, _ = await calendar(
            session, [actor.id], span, viewer_id=actor.id, strict=True
        )
    else:
        busy, visible, [mine] = await _calendar_for(session, {actor.id}, [mine], actor.id)
    [found] = sweep_conflicts([mine], busy, excluded=[event.id])
    return _clashes(found, visible, {actor.id})
