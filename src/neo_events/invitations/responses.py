"""Attendees' answers as the rest of the service needs them: who declined what (for
calendars), and resetting answers when an event's time changes.

Imports only the models, the errors, the rule parser and the occurrence keys, so the
version writer, the conflict checker and sharing can use it without import cycles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import Conflict
from neo_events.events.content import moment
from neo_events.events.rrule import RecurrenceError, parse_rule
from neo_events.models import Attendee, OccurrenceResponse

# What moves an occurrence for everyone: a change here asks everyone again.
SHAPE_FIELDS = ("start_time", "end_time", "timezone", "is_recurring", "recurrence_pattern")
# Occurrence moves in one write asked again one by one; past this, the whole series is.
MAX_OCCURRENCE_RESETS = 2_000
# Per-occurrence answers one attendee may keep on one series (bounds a calendar read).
MAX_OCCURRENCE_ANSWERS = 1_000
ANSWERS_A_PART = 2_000  # answer rows made Python between two turns of the event loop


class OrganizerStays(Conflict):
    code = "organizer_stays"
    title = "The organizer stays while others are invited"


class Response(StrEnum):
    NEEDS_ACTION = "needs_action"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"


DECLINED = Response.DECLINED.value


def _rule_meaning(rule: str | None, timezone: str) -> tuple[Any, ...]:
    """What a rule's times are, but where it ends: ending a series sooner or later moves
    nothing, nor does writing the same rule otherwise (`INTERVAL=1`, `WKST=MO`, `BYDAY`
    in another order, lower case: a calendar app rewrites rules so)."""
    if rule is None:
        return ()
    try:
        parsed = parse_rule(rule, timezone)
    except RecurrenceError:  # a stored rule parses; compare the text of one that would not
        return (rule,)
    return tuple(
        sorted(
            (name, tuple(sorted(map(str, value))) if isinstance(value, tuple) else str(value))
            for name, value in parsed.kwargs.items()
            if name not in ("interval", "wkst")
        )
    ) + (parsed.interval, parsed.wkst)


def _series_moved(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    if any(before[name] != after[name] for name in SHAPE_FIELDS if name != "recurrence_pattern"):
        return True
    return _rule_meaning(before["recurrence_pattern"], before["timezone"]) != _rule_meaning(
        after["recurrence_pattern"], after["timezone"]
    )


def _moved_occurrences(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    """Recurrence ids whose times (an override's, or the occurrence's own where it has none)
    differ between two contents. An override of texts only, or one whose times are the
    occurrence's own (as a calendar app writes a renamed occurrence), moves nothing: compared
    with no override at all, it had counted as a move and asked everyone again (an outside
    attack)."""
    old, new = _override_times(before), _override_times(after)
    return {rid for rid in old.keys() | new.keys() if old.get(rid) != new.get(rid)}


def _override_times(content: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Where each overridden occurrence is, by recurrence id, if not where the series has it."""
    all_day = content["all_day"]
    parse: Any = date.fromisoformat if all_day else datetime.fromisoformat
    names = ("start_date", "end_date") if all_day else ("start_time", "end_time")
    length = parse(content[names[1]]) - parse(content[names[0]])
    moved = {}
    for override in content["overrides"]:
        at = parse(override["recurrence_id"])
        start, end = (override.get(name) for name in names)
        begins = parse(start) if start else at
        ends = parse(end) if end else None
        if begins == at and ends in (None, at + length):
            continue
        moved[override["recurrence_id"]] = (begins, ends)
    return moved


async def reset_after_move(
    session: AsyncSession,
    *,
    event_id: int,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    actor_id: int,
    at: datetime,
) -> list[int]:
    """Ask every attendee but the actor and the organizer again after a change of time or
    recurrence (the organizer's answer is theirs: an editor's move leaves it, as calendar
    apps do; SPEC §13 lists the organizer as accepted): a moved
    series resets their series answers (and drops their per-occurrence ones); a moved
    occurrence resets their answer for that occurrence only. A title edit changes nothing,
    nor does ending a series sooner or later (COUNT/UNTIL: no occurrence moves). Returns
    whose answers were reset."""
    shape_moved = _series_moved(before, after)
    moved = set() if shape_moved else _moved_occurrences(before, after)
    if not shape_moved and not moved:
        return []
    others = list(
        (
            await session.execute(
                select(Attendee.user_id, Attendee.response).where(
                    Attendee.event_id == event_id,
                    Attendee.user_id != actor_id,
                    Attendee.is_organizer.is_(False),
                )
            )
        ).all()
    )
    if not others:
        return []
    if len(moved) * len(others) > MAX_OCCURRENCE_RESETS:
        shape_moved = True
    ids = [row.user_id for row in others]
    if shape_moved:
        await session.execute(
            delete(OccurrenceResponse).where(
                OccurrenceResponse.event_id == event_id, OccurrenceResponse.user_id.in_(ids)
            )
        )
        await session.execute(
            update(Attendee)
            .where(Attendee.event_id == event_id, Attendee.user_id.in_(ids))
            .values(response=Response.NEEDS_ACTION.value, responded_at=None)
        )
        return sorted(ids)
    rids = [moment(rid) for rid in moved]  # an all-day series' dates: their floating instants
    await session.execute(
        delete(OccurrenceResponse).where(
            OccurrenceResponse.event_id == event_id,
            OccurrenceResponse.user_id.in_(ids),
            OccurrenceResponse.recurrence_id.in_(rids),
        )
    )
    session.add_all(
        OccurrenceResponse(
            event_id=event_id,
            user_id=uid,
            recurrence_id=rid,
            response=Response.NEEDS_ACTION.value,
            responded_at=at,
        )
        for uid in ids
        for rid in rids
    )
    return sorted(ids)


async def occurrence_answers(
    session: AsyncSession,
    pairs: Iterable[tuple[int, int]],
    *,
    differing: bool = False,
    within: tuple[datetime, datetime, Collection[datetime]] | None = None,
) -> dict[tuple[int, int], dict[datetime, str]]:
    """Per-occurrence answers of (event_id, user_id) pairs, by recurrence id. At most
    MAX_OCCURRENCE_ANSWERS rows per pair exist (the RSVP refuses more). `differing`: only
    those that make the occurrence free where the series answer keeps the person busy, or
    the other way round: all a calendar read needs (`BusyPeople` falls back to the series
    answer for the rest; someone who accepted a series and each of its occurrences again
    had those read for every calendar read). `within` (lo, hi, more): only the answers of
    recurrence ids from lo to hi, or in `more` (a calendar read's window, `answered`). The
    rows are read a part at a time, the event loop running between parts."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rid = OccurrenceResponse.recurrence_id
    query = select(
        OccurrenceResponse.event_id, OccurrenceResponse.user_id, rid, OccurrenceResponse.response
    ).where(
        OccurrenceResponse.event_id.in_({e for e, _ in wanted}),
        OccurrenceResponse.user_id.in_({u for _, u in wanted}),
    )
    if within is not None:
        lo, hi, more = within
        query = query.where(
            or_(rid.between(lo, hi), rid.in_(more)) if more else rid.between(lo, hi)
        )
    if differing:
        series = (  # looked up by key for each answer (a join made SQLite scan each event's)
            select(Attendee.response)
            .where(
                Attendee.event_id == OccurrenceResponse.event_id,
                Attendee.user_id == OccurrenceResponse.user_id,
            )
            .scalar_subquery()
        )
        query = query.where((OccurrenceResponse.response == DECLINED) != (series == DECLINED))
    answers: dict[tuple[int, int], dict[datetime, str]] = {}
    for part in (await session.execute(query)).partitions(ANSWERS_A_PART):
        for row in part:
            if (row.event_id, row.user_id) in wanted:
                answers.setdefault((row.event_id, row.user_id), {})[row.recurrence_id] = (
                    row.response
                )
        await asyncio.sleep(0)
    return answers


async def series_answers(
    session: AsyncSession, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], str]:
    """Series answers of (event_id, user_id) pairs; a pair that is not invited is absent."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Attendee.event_id, Attendee.user_id, Attendee.response).where(
            Attendee.event_id.in_({e for e, _ in wanted}),
            Attendee.user_id.in_({u for _, u in wanted}),
        )
    )
    return {
        (row.event_id, row.user_id): row.response
        for row in rows
        if (row.event_id, row.user_id) in wanted
    }


def declines(
    series_answer: str | None, occurrence: Mapping[datetime, str], recurrence_id: datetime
) -> bool:
    """Whether someone declined an occurrence: their answer for it if they gave one, else
    their series answer."""
    return occurrence.get(recurrence_id, series_answer) == DECLINED


class BusyPeople:
    """Of an event's holders, those each occurrence keeps busy: all but those who declined it
    (`declines`). Worked out once from the series answers; an occurrence someone answered on
    its own is worked out afresh, the others share one set. (Per occurrence and person, a
    minutely series held by 51 people cost a free/busy read 0.35 s.)"""

    __slots__ = ("_base", "_holders", "_occurrence", "_series", "_special")

    def __init__(
        self,
        holders: Iterable[int],
        series_answers: Mapping[int, str | None],
        occurrence: Mapping[int, Mapping[datetime, str]],
    ) -> None:
        self._holders = tuple(holders)
        self._series, self._occurrence = series_answers, occurrence
        self._base = frozenset(u for u in self._holders if series_answers.get(u) != DECLINED)
        self._special = {rid for u in self._holders for rid in occurrence.get(u, {})}

    def __call__(self, recurrence_id: datetime) -> frozenset[int]:
        if recurrence_id not in self._special:
            return self._base
        return frozenset(
            u
            for u in self._holders
            if not declines(self._series.get(u), self._occurrence.get(u, {}), recurrence_id)
        )


async def continue_invitation(
    session: AsyncSession,
    *,
    original_id: int,
    successor_id: int,
    at: datetime,
    moved: bool,
    actor_id: int,
) -> None:
    """A series split at `at` ("this and following"): the new series has the same
    attendees, and their answers for the occurrences from `at` on move with it. If the split
    also moved the time, everyone but the actor is asked again."""
    rows = list(
        (await session.execute(select(Attendee).where(Attendee.event_id == original_id)))
        .scalars()
        .all()
    )
    if not rows:
        return
    for row in rows:
        asked_again = moved and row.user_id != actor_id and not row.is_organizer
        session.add(
            Attendee(
                event_id=successor_id,
                user_id=row.user_id,
                response=Response.NEEDS_ACTION.value if asked_again else row.response,
                comment=row.comment,
                optional=row.optional,
                is_organizer=row.is_organizer,
                invited_by_id=row.invited_by_id,
                invited_at=row.invited_at,
                responded_at=None if asked_again else row.responded_at,
            )
        )
    await session.flush()
    later = list(
        (
            await session.execute(
                select(OccurrenceResponse).where(
                    OccurrenceResponse.event_id == original_id,
                    OccurrenceResponse.recurrence_id >= at,
                )
            )
        )
        .scalars()
        .all()
    )
    for answer in later:
        if not moved:
            session.add(
                OccurrenceResponse(
                    event_id=successor_id,
                    user_id=answer.user_id,
                    recurrence_id=answer.recurrence_id,
                    response=answer.response,
                    comment=answer.comment,
                    responded_at=answer.responded_at,
                )
            )
        await session.delete(answer)


async def organizes_for_others(session: AsyncSession, *, event_id: int, user_id: int) -> bool:
    """Whether the user is the event's organizer while others are invited: SPEC §13 lists
    the organizer beside any attendee, so their role cannot go before the others do (as
    taking them off the list cannot, `invitations.service.OrganizerStays`)."""
    organizer = await session.scalar(
        select(Attendee.user_id).where(
            Attendee.event_id == event_id, Attendee.is_organizer.is_(True)
        )
    )
    return organizer == user_id


async def forget_attendee(session: AsyncSession, *, event_id: int, user_id: int) -> None:
    """Someone who lost their role on an event is no longer invited to it (they could not
    see it to answer); a list left with only its organizer goes away."""
    for table in (OccurrenceResponse, Attendee):
        await session.execute(
            delete(table).where(table.event_id == event_id, table.user_id == user_id)
        )
    guests = await session.scalar(
        select(func.count()).where(Attendee.event_id == event_id, Attendee.is_organizer.is_(False))
    )
    if not guests:
        for table in (OccurrenceResponse, Attendee):
            await session.execute(delete(table).where(table.event_id == event_id))
