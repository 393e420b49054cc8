"""Single occurrences of a series: list them, change or cancel one, or split the series there.

Overrides and exdates live on the series (as RFC 5545 RECURRENCE-ID components do), so an
occurrence edit is a new version of the series. `scope=following` splits atomically: the
series ends before the occurrence and a new series, with its own history and the same
people, starts at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin, record
from neo_events.db import utcnow
from neo_events.errors import NotFound
from neo_events.events import recurrence, schedule
from neo_events.events.access import Role, get_event_for
from neo_events.events.content import (
    Content,
    apply_content,
    build_content,
    canonical_value,
    content_of,
    iso,
    parse_iso,
    series_of,
)
from neo_events.events.listing import WindowTooLarge
from neo_events.events.schedule import Clash, ConflictPolicy
from neo_events.events.service import check_move, delete_event
from neo_events.history.service import record_version
from neo_events.invitations.responses import continue_invitation
from neo_events.live import feed
from neo_events.models import Event, EventPermission, User

MAX_INSTANCES = 10_000


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
    split_from: int | None = None


def check_occurrence(event: Event, content: Content, rid: datetime) -> recurrence.Series:
    series = series_of(content)
    cancelled = iso(rid) in content["exdates"]
    if not event.is_recurring or cancelled or not recurrence.occurrence_at(series, rid):
        raise OccurrenceNotFound(f"Event {event.id} has no occurrence starting {iso(rid)}.")
    return series


async def list_instances(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    window_start: datetime,
    window_end: datetime,
) -> tuple[Event, Role, list[recurrence.Occurrence]]:
    """The occurrences of one event inside a window (viewer+)."""
    event, role = await get_event_for(session, actor.id, event_id)
    try:
        found = recurrence.expand(
            series_of(content_of(event)), window_start, window_end, limit=MAX_INSTANCES
        )
    except recurrence.ExpansionLimitExceeded:
        raise WindowTooLarge(
            f"This window holds more than {MAX_INSTANCES} occurrences; ask for a shorter one."
        ) from None
    return event, role, found


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
    recurrence_id: datetime,
    changes: Mapping[str, Any],
    scope: Scope,
    policy: ConflictPolicy,
    origin: Origin,
) -> OccurrenceEdit:
    """Change one occurrence (an override), or it and all that follow (a split)."""
    event, role = await get_event_for(session, actor.id, event_id, Role.EDITOR, lock=True)
    current = content_of(event)
    series = check_occurrence(event, current, recurrence_id)
    if scope is Scope.FOLLOWING:
        return await _split(
            session, event, role, current, series, recurrence_id, changes, actor, policy, origin
        )
    rid = iso(recurrence_id)
    overrides = {o["recurrence_id"]: dict(o) for o in current["overrides"]}
    override = overrides.get(rid, {"recurrence_id": rid})
    for name, value in changes.items():
        if value is None:
            override.pop(name, None)  # back to the series' value
        else:
            override[name] = canonical_value(name, value)
    overrides[rid] = override
    content = build_content(current, {"overrides": list(overrides.values())})
    clashes = await check_move(
        session, event=event, before=current, after=content, actor=actor, policy=policy
    )
    apply_content(event, content)
    await record_version(
        session, event, change_type="occurrence_updated", actor_id=actor.id, previous=current
    )
    _audit(session, "event.occurrence_updated", event, actor, origin, recurrence_id=rid)
    return OccurrenceEdit(event, role, clashes)


async def cancel_occurrence(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    recurrence_id: datetime,
    scope: Scope,
    origin: Origin,
) -> None:
    """Cancel one occurrence (an exdate), or it and all that follow (the series ends before)."""
    event, role = await get_event_for(session, actor.id, event_id, Role.EDITOR, lock=True)
    current = content_of(event)
    series = check_occurrence(event, current, recurrence_id)
    rid = iso(recurrence_id)
    if scope is Scope.FOLLOWING:
        truncated = recurrence.split_rule(series, recurrence_id)
        if truncated is None:  # nothing stays: that is deleting the event, an owner's right
            await delete_event(session, actor=actor, event_id=event.id, origin=origin)
            return
        apply_content(event, build_content(current, _before(current, recurrence_id, truncated)))
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


def _before(content: Content, at: datetime, rule: str) -> Content:
    """The part of a series before `at`: truncated rule, exceptions before it."""
    return {
        "recurrence_pattern": rule,
        "exdates": [x for x in content["exdates"] if parse_iso(x) < at],
        "overrides": [o for o in content["overrides"] if parse_iso(o["recurrence_id"]) < at],
    }


async def _split(
    session: AsyncSession,
    event: Event,
    role: Role,
    current: Content,
    series: recurrence.Series,
    at: datetime,
    changes: Mapping[str, Any],
    actor: User,
    policy: ConflictPolicy,
    origin: Origin,
) -> OccurrenceEdit:
    truncated = recurrence.split_rule(series, at)
    tail: Content = {
        **current,
        "start_time": iso(at),
        "end_time": iso(at + (series.end - series.start)),
        "recurrence_pattern": recurrence.following_rule(series, at),
        "exdates": [x for x in current["exdates"] if parse_iso(x) >= at],
        "overrides": [o for o in current["overrides"] if parse_iso(o["recurrence_id"]) >= at],
    }
    if "start_time" in changes:
        # Exceptions name occurrences by their original start: a moved series has none of those.
        tail |= {"exdates": [], "overrides": []}
    new_content = build_content(tail, changes)
    if truncated is None:  # the first occurrence: the whole series changes, no split
        clashes = await check_move(
            session, event=event, before=current, after=new_content, actor=actor, policy=policy
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
        candidates=[schedule.Candidate(event.id, series_of(new_content), before=series)],
        user_ids=people,
        viewer_id=actor.id,
    )
    apply_content(event, build_content(current, _before(current, at, truncated)))
    await record_version(session, event, change_type="updated", actor_id=actor.id, previous=current)
    successor = await _copy_series(session, event, new_content, actor)
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
        ended_before=iso(at),
        continued_as=successor.id,
    )
    _audit(session, "event.created", successor, actor, origin, split_from=event.id)
    return OccurrenceEdit(successor, role, clashes, split_from=event.id)


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
