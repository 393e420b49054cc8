"""Event objects as clients read them: the row plus role, permissions and user names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events.access import Role
from neo_events.events.content import parse_iso
from neo_events.events.schemas import (
    EventRead,
    OccurrenceRead,
    OverrideRead,
    PermissionRead,
    UserRef,
)
from neo_events.models import Event, EventPermission, User


async def usernames(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {row.id: row.username for row in rows}


async def event_reads(
    session: AsyncSession, pairs: Sequence[tuple[Event, Role]]
) -> list[EventRead]:
    """Event objects for (event, caller's role) pairs, in two queries whatever their number."""
    if not pairs:
        return []
    event_ids = [event.id for event, _ in pairs]
    grants = (
        (
            await session.execute(
                select(EventPermission)
                .where(EventPermission.event_id.in_(event_ids))
                .order_by(
                    EventPermission.event_id, EventPermission.granted_at, EventPermission.user_id
                )
            )
        )
        .scalars()
        .all()
    )
    names = await usernames(
        session,
        [g.user_id for g in grants]
        + [g.granted_by_id for g in grants]
        + [
            uid
            for event, _ in pairs
            for uid in (event.owner_id, event.created_by_id, event.updated_by_id)
        ],
    )
    by_event: dict[int, list[PermissionRead]] = {}
    for grant in grants:
        by_event.setdefault(grant.event_id, []).append(permission_read(grant, names))
    return [_event_read(event, role, by_event.get(event.id, []), names) for event, role in pairs]


def permission_read(grant: EventPermission, names: dict[int, str]) -> PermissionRead:
    granted_by = user_ref(grant.granted_by_id, names) if grant.granted_by_id is not None else None
    return PermissionRead(
        user_id=grant.user_id,
        username=names.get(grant.user_id, ""),
        role=Role(grant.role),
        granted_by=granted_by,
        granted_at=grant.granted_at,
    )


async def permission_reads(
    session: AsyncSession, grants: Sequence[EventPermission]
) -> list[PermissionRead]:
    names = await usernames(
        session, [g.user_id for g in grants] + [g.granted_by_id for g in grants]
    )
    return [permission_read(g, names) for g in grants]


def user_ref(user_id: int, names: dict[int, str]) -> UserRef:
    """{id, username} from a name map built by `usernames`."""
    return UserRef(id=user_id, username=names.get(user_id, ""))


def _event_read(
    event: Event, role: Role, permissions: list[PermissionRead], names: dict[int, str]
) -> EventRead:
    return EventRead(
        id=event.id,
        title=event.title,
        description=event.description,
        start_time=event.start_time,
        end_time=event.end_time,
        timezone=event.timezone,
        location=event.location,
        is_recurring=event.is_recurring,
        recurrence_pattern=event.recurrence_pattern,
        exdates=[parse_iso(x) for x in event.exdates],
        overrides=[OverrideRead.model_validate(o) for o in event.overrides],
        version=event.version,
        owner=user_ref(event.owner_id, names),
        my_role=role,
        permissions=permissions,
        created_at=event.created_at,
        created_by=user_ref(event.created_by_id, names),
        updated_at=event.updated_at,
        updated_by=user_ref(event.updated_by_id, names),
    )


def occurrence_read(
    base: EventRead,
    *,
    start: datetime,
    end: datetime,
    recurrence_id: datetime | None,
    fields: dict[str, object] | None = None,
) -> OccurrenceRead:
    """The event object with one occurrence's times (and its override's fields, if any)."""
    data = dict(base)
    data.update(start_time=start, end_time=end, recurrence_id=recurrence_id)
    if fields:
        data.update(fields)
    return OccurrenceRead.model_construct(**data)
