"""Single occurrences of a series: list them, change or cancel one, or split the series there.

Overrides and exdates live on the series (as RFC 5545 RECURRENCE-ID components do), so an
occurrence edit is a new version of the series. `scope=following` splits atomically: the
series ends before the occurrence and a new series, with its own history and the same
people, starts at it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin, record
from neo_events.db import utcnow
from neo_events.errors import NotFound, ValidationFailed
from neo_events.events import check_windows, recurrence, schedule, splits
from neo_events.events.access import Role, get_event_for
from neo_events.events.content import (
    Content,
    apply_content,
    canonical_value,
    content_of,
    iso,
    moment,
    occurrence_key,
    series_of,
)
from neo_events.events.expansions import Expansions
from neo_events.events.listing import (
    Candidate,
    OccurrenceRow,
    Window,
    expand_all,
    of_events,
    preloaded,
)
from neo_events.events.schedule import Clash, ConflictPolicy
from neo_events.events.service import check_move, delete_event
from neo_events.events.sizes import within_size
from neo_events.events.validation import build_content
from neo_events.history.versions import record_version
from neo_events.invitations.responses import continue_invitation
from neo_events.live import feed
from neo_events.models import Event, EventPermission, User
from neo_events.reminders.service import continue_reminders


class Scope(StrEnum):
    THIS = "this"
    FOLLOWING = "following"


class OccurrenceNotFound(NotFound):
    code = "occurrence_not_found"
    title = "The series has no such occurrence"


@dataclass(frozen=True, slots=True)
class OccurrenceEdit:
    """The result of an occurrence write: the series the caller should look at next."""

    event: Event
    role: Role
    clashes: list[Clash]


def check_occurrence(
    event: Event, content: Content, value: date | datetime
) -> tuple[recurrence.Series, str, datetime]:
    """The series, the occurrence's key (an instant, or an all-day series' date) and where
    the series has it; 404 if it has no such occurrence."""
    series, [(key, at)] = check_occurrences(event, content, [value])
    return series, key, at


def check_occurrences(
    event: Event, content: Content, values: Sequence[date | datetime]
) -> tuple[recurrence.Series, list[tuple[str, datetime]]]:
    """`check_occurrence` for several occurrences of one event, its series built once: the
    key and the instant of each; 404 for the first the series does not have."""
    series = series_of(content)
    found = []
    exdates = set(content["exdates"])
    for value in values:
        try:
            key, at = occurrence_key(content, value)
        except ValueError:
            raise OccurrenceNotFound(f"Event {event.id} has no occurrence on {value}.") from None
        if not event.is_recurring or key in exdates or not recurrence.occurrence_at(series, at):
            raise OccurrenceNotFound(f"Event {event.id} has no occurrence starting {key}.")
        found.append((key, at))
    return series, found


def _rule_before(series: recurrence.Series, at: datetime) -> tuple[bool, str | None]:
    """Whether any occurrence precedes `at`, and the series' rule cut to end before it."""
    if at <= series.start:
        return False, None
    return True, None if series.rule is None else splits.split_rule(series, at)


def _rule_from(series: recurrence.Series, at: datetime) -> str | None:
    """The rule of a series continuing from occurrence `at`: one of the rule's own, since
    an added occurrence (an rdate) would anchor the rule somewhere else."""
    if series.rule is None:
        return None
    if not recurrence.occurrence_at(replace(series, rdates=()), at):
        raise ValidationFailed.field(
            ["path", "recurrence_id"],
            "a series with a rule splits at one of the rule's occurrences, not an rdate",
        )
    return splits.following_rule(series, at)


async def list_instances(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    window: Window,
    cache: Expansions | None = None,
) -> tuple[Event, Role, list[OccurrenceRow]]:
    """The occurrences of one event inside a window (viewer+), ordered as the listing orders
    them; an all-day event's placed in the window's zone if it has one. The expansion is the
    listing's, cached alike (by event, version and window), so the pages of one window expand
    the series once; past MAX_OCCURRENCES occurrences a 422."""
    event, role = await get_event_for(session, actor.id, event_id)
    rows = await expand_all(
        [Candidate.of(event, role)], window, of_events(preloaded([event])), cache
    )
    return event, role, rows


def _audit(
    session: AsyncSession, action: str, event: Event, actor: User, origin: Origin, **details: Any
) -> None:
    record(
        session,
        action=action,
        origin=origin,
        actor_id=actor.id,
        target_type="event",
        target_id=event.id,
        details={"version": event.version, **details},
    )


async def edit_occurrence(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    recurrence_id: date | datetime,
    changes: Mapping[str, Any],
    scope: Scope,
    policy: ConflictPolicy,
    origin: Origin,
    if_match: str | None = None,
) -> OccurrenceEdit:
    """Change one occurrence (an override), or it and all that follow (a split)."""
    event, role = await get_event_for(
        session, actor.id, event_id, Role.EDITOR, lock=True, if_match=if_match
    )
    current = content_of(event)
    series, rid, at = check_occurrence(event, current, recurrence_id)
    if scope is Scope.FOLLOWING:
        return await _split(
            session, event, role, current, series, (rid, at), changes, actor, policy, origin
        )
    overrides = {o["recurrence_id"]: dict(o) for o in current["overrides"]}
    override = overrides.get(rid, {"recurrence_id": rid})
    for name, value in changes.items():
        if value is None:
            override.pop(name, None)  # back to the series' value
        else:
            override[name] = canonical_value(name, value)
    overrides[rid] = override
    try:
        content = build_content(current, {"overrides": list(overrides.values())})
    except ValidationFailed as refused:
        raise _as_sent(refused, ["overrides", list(overrides).index(rid)]) from None
    await within_size(session, event.id, current, content)
    clashes = await check_move(
        session, event=event, before=current, after=content, actor_id=actor.id, policy=policy
    )
    apply_content(event, content)
    await record_version(
        session, event, change_type="occurrence_updated", actor_id=actor.id, previous=current
    )
    _audit(session, "event.occurrence_updated", event, actor, origin, recurrence_id=rid)
    return OccurrenceEdit(event, role, clashes)


def _as_sent(refused: ValidationFailed, at: list[str | int]) -> ValidationFailed:
    """A refusal of the override an occurrence edit makes, named as its request sent it:
    the body's own `start_time`, not the series' `overrides.3.start_time`."""
    errors = [
        {**e, "loc": list(e["loc"])[len(at) :]} if list(e["loc"])[: len(at)] == at else e
        for e in refused.errors or []
    ]
    if not errors:
        return refused
    first = errors[0]
    return ValidationFailed(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", errors=errors)


async def cancel_occurrence(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    recurrence_id: date | datetime,
    scope: Scope,
    origin: Origin,
    if_match: str | None = None,
) -> None:
    """Cancel one occurrence (an exdate), or it and all that follow (the series ends before)."""
    event, role = await get_event_for(
        session, actor.id, event_id, Role.EDITOR, lock=True, if_match=if_match
    )
    current = content_of(event)
    series, rid, at = check_occurrence(event, current, recurrence_id)
    if scope is Scope.FOLLOWING:
        anything_before, truncated = _rule_before(series, at)
        if not anything_before:  # nothing stays: that is deleting the event, an owner's right
            await delete_event(session, actor=actor, event_id=event.id, origin=origin)
            return
        apply_content(event, build_content(current, _before(current, at, truncated)))
        await record_version(
            session, event, change_type="updated", actor_id=actor.id, previous=current
        )
        _audit(session, "event.updated", event, actor, origin, ended_before=rid)
        return
    content = build_content(
        current,
        {
            "exdates": [*current["exdates"], rid],
            "overrides": [o for o in current["overrides"] if o["recurrence_id"] != rid],
        },
    )
    apply_content(event, content)
    await record_version(
        session, event, change_type="occurrence_cancelled", actor_id=actor.id, previous=current
    )
    _audit(session, "event.occurrence_cancelled", event, actor, origin, recurrence_id=rid)


def _before(content: Content, at: datetime, rule: str | None) -> Content:
    """The part of a series before `at`: truncated rule, rdates and exceptions before it
    (an rdate-only series left with no rdate is a single event)."""
    rdates = [x for x in content["rdates"] if moment(x) < at]
    return {
        "is_recurring": rule is not None or bool(rdates),
        "recurrence_pattern": rule,
        "rdates": rdates,
        "exdates": [x for x in content["exdates"] if moment(x) < at],
        "overrides": [o for o in content["overrides"] if moment(o["recurrence_id"]) < at],
    }


async def _split(
    session: AsyncSession,
    event: Event,
    role: Role,
    current: Content,
    series: recurrence.Series,
    occurrence: tuple[str, datetime],
    changes: Mapping[str, Any],
    actor: User,
    policy: ConflictPolicy,
    origin: Origin,
) -> OccurrenceEdit:
    key, at = occurrence
    anything_before, truncated = _rule_before(series, at)
    pattern = _rule_from(series, at)
    rdates = [x for x in current["rdates"] if moment(x) > at]
    tail: Content = {
        **current,
        "is_recurring": pattern is not None or bool(rdates),
        "recurrence_pattern": pattern,
        "rdates": rdates,
        "exdates": [x for x in current["exdates"] if moment(x) >= at],
        "overrides": [o for o in current["overrides"] if moment(o["recurrence_id"]) >= at],
    }
    if current["all_day"]:
        length = date.fromisoformat(current["end_date"]) - date.fromisoformat(current["start_date"])
        tail |= {"start_date": key, "end_date": (date.fromisoformat(key) + length).isoformat()}
    else:
        tail |= {"start_time": key, "end_time": iso(at + (series.end - series.start))}
    if {"start_time", "start_date"} & changes.keys():
        # Exceptions name occurrences by their original start: a moved series has none of those.
        tail |= {"exdates": [], "overrides": []}
    new_content = build_content(tail, changes)
    if pattern is not None:  # moved to another weekday: the rule's weekdays move with it
        moved = splits.weekdays_moved_with(pattern, current, (key, at), new_content)
        if moved != pattern:
            new_content = build_content(tail | {"recurrence_pattern": moved}, changes)
    if not anything_before:  # the first occurrence: the whole series changes, no split
        clashes = await check_move(
            session,
            event=event,
            before=current,
            after=new_content,
            actor_id=actor.id,
            policy=policy,
        )
        apply_content(event, new_content)
        await record_version(
            session, event, change_type="updated", actor_id=actor.id, previous=current
        )
        _audit(session, "event.updated", event, actor, origin)
        return OccurrenceEdit(event, role, clashes)
    people = await feed.holders(session, event.id)
    [clashes] = await schedule.check(
        session,
        policy=policy,
        candidates=[check_windows.Candidate.of(event.id, new_content, current)],
        user_ids=people,
        viewer_id=actor.id,
    )
    apply_content(event, build_content(current, _before(current, at, truncated)))
    await record_version(session, event, change_type="updated", actor_id=actor.id, previous=current)
    successor = await _copy_series(session, event, new_content, actor)
    await continue_reminders(session, original_id=event.id, successor=successor)
    await continue_invitation(
        session,
        original_id=event.id,
        successor_id=successor.id,
        at=at,
        moved="start_time" in changes or "end_time" in changes,
        actor_id=actor.id,
    )
    _audit(
        session,
        "event.updated",
        event,
        actor,
        origin,
        ended_before=key,
        continued_as=successor.id,
    )
    _audit(session, "event.created", successor, actor, origin, split_from=event.id)
    return OccurrenceEdit(successor, role, clashes)  # its split_from names the original


async def _copy_series(
    session: AsyncSession, original: Event, content: Content, actor: User
) -> Event:
    """A new series with the original's owner and people, and a history of its own."""
    now = utcnow()
    successor = Event(
        owner_id=original.owner_id,
        version=1,
        split_from_id=original.id,
        created_at=now,
        created_by_id=actor.id,
        updated_at=now,
        updated_by_id=actor.id,
    )
    apply_content(successor, content)
    session.add(successor)
    await session.flush()
    grants = (
        (
            await session.execute(
                select(EventPermission).where(EventPermission.event_id == original.id)
            )
        )
        .scalars()
        .all()
    )
    for grant in grants:
        session.add(
            EventPermission(
                event_id=successor.id,
                user_id=grant.user_id,
                role=grant.role,
                granted_by_id=grant.granted_by_id,
                granted_at=grant.granted_at,
            )
        )
    await record_version(session, successor, change_type="created", actor_id=actor.id)
    return successor
