"""Who holds which role on an event; an event always keeps at least one owner, and anyone
may give up their own role (leave an event someone shared with them)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.db import utcnow
from neo_events.errors import Conflict, NotFound, ValidationFailed
from neo_events.events import check_windows, schedule
from neo_events.events.access import Role, get_event_for, grant_all, touch
from neo_events.events.content import content_of
from neo_events.events.schedule import Clash, ConflictPolicy
from neo_events.invitations.responses import (
    OrganizerStays,
    forget_attendee,
    organizes_for_others,
)
from neo_events.live import feed
from neo_events.models import Event, EventPermission, User
from neo_events.reminders.service import forget_reminders
from neo_events.sharing.schemas import Grant


class LastOwner(Conflict):
    code = "last_owner"
    title = "An event must keep at least one owner"


class PermissionNotFound(NotFound):
    code = "permission_not_found"
    title = "That user holds no role on this event"


async def _grants(session: AsyncSession, event_id: int) -> list[EventPermission]:
    result = await session.execute(
        select(EventPermission)
        .where(EventPermission.event_id == event_id)
        .order_by(EventPermission.granted_at, EventPermission.user_id)
    )
    return list(result.scalars())


def _keep_an_owner(event: Event, grants: Sequence[EventPermission]) -> None:
    """409 unless someone still owns the event; `owner` follows the longest-standing owner."""
    owners = [g for g in grants if g.role == Role.OWNER.value]
    if not owners:
        raise LastOwner("Make someone else an owner first.")
    if event.owner_id not in {g.user_id for g in owners}:
        event.owner_id = owners[0].user_id


FEED_TYPES = {
    "event.shared": "event.shared",
    "event.permission_changed": "permission.changed",
    "event.unshared": "event.unshared",
}


async def _record(
    session: AsyncSession,
    action: str,
    *,
    actor: User,
    event: Event,
    origin: Origin,
    user: User | None,
    user_id: int,
    role: str | None,
    old_role: str | None = None,
) -> None:
    """Audit a role change and append it to the change feed (whoever lost their role is
    told too)."""
    await feed.announce(
        session,
        action=action,
        feed_type=FEED_TYPES[action],
        origin=origin,
        actor_id=actor.id,
        event=event,
        details=_details(user_id, user.username if user else None, role, old_role),
        also_notify=[user_id] if role is None else [],
    )


def _details(
    user_id: int, username: str | None, role: str | None, old_role: str | None
) -> dict[str, object]:
    """What a role change's audit row and change say."""
    return {"user_id": user_id, "username": username, "role": role, "old_role": old_role}


async def share_event(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    grants: Sequence[Grant],
    origin: Origin,
    policy: ConflictPolicy = ConflictPolicy.WARN,
    if_match: str | None = None,
) -> tuple[Event, list[EventPermission], list[Clash]]:
    """Grant roles (owner only); an existing grant is updated to the new role. The event is
    checked against the calendars of the people it is newly shared with. The new grants,
    audit rows and changes are written together (`feed.announce_all`), not a flush and a
    read of the event's holders per person: an audit row a person, and one change a kind
    (`event.shared`, `permission.changed`) listing them, for everyone holding a role once
    all are granted."""
    event, _ = await get_event_for(
        session, actor.id, event_id, Role.OWNER, lock=True, if_match=if_match
    )
    await touch(session, event.id)  # whom its edits are for changes: see `access.touch`
    seen: set[int] = set()
    for index, grant in enumerate(grants):
        if grant.user_id in seen:
            raise ValidationFailed.field(["users", index, "user_id"], "appears twice")
        seen.add(grant.user_id)
    names: dict[int, str] = dict(
        (await session.execute(select(User.id, User.username).where(User.id.in_(seen)))).all()
    )
    for index, grant in enumerate(grants):
        if grant.user_id not in names:
            raise ValidationFailed.field(["users", index, "user_id"], "no such user")
    current = {g.user_id: g for g in await _grants(session, event.id)}
    newcomers = [g.user_id for g in grants if g.user_id not in current]
    clashes: list[Clash] = []
    if newcomers:
        [clashes] = await schedule.check(
            session,
            policy=policy,
            candidates=[check_windows.Candidate.of(event.id, content_of(event), None)],
            user_ids=newcomers,
            viewer_id=actor.id,
        )
    now = utcnow()
    added: list[EventPermission] = []
    told: list[feed.Announcement] = []
    for grant in grants:
        existing, role = current.get(grant.user_id), grant.role.value
        if existing is None:  # inserted below, not added to the session
            current[grant.user_id] = EventPermission(
                event_id=event.id,
                user_id=grant.user_id,
                role=role,
                granted_by_id=actor.id,
                granted_at=now,
            )
            added.append(current[grant.user_id])
            details = _details(grant.user_id, names[grant.user_id], role, None)
            action = "event.shared"
            told.append(feed.Announcement(action, FEED_TYPES[action], details))
        elif existing.role != role:
            old_role, existing.role = existing.role, role
            existing.granted_by_id, existing.granted_at = actor.id, now
            action = "event.permission_changed"
            details = _details(grant.user_id, names[grant.user_id], role, old_role)
            told.append(feed.Announcement(action, FEED_TYPES[action], details))
    ordered = sorted(current.values(), key=lambda g: (g.granted_at, g.user_id))
    _keep_an_owner(event, ordered)
    roles = [(g.user_id, Role(g.role)) for g in added]
    await grant_all(session, event.id, roles, granted_by_id=actor.id, at=now)
    await feed.announce_all(
        session, origin=origin, actor_id=actor.id, event=event, announcements=told
    )
    await session.flush()
    return event, ordered, clashes


async def list_permissions(
    session: AsyncSession, *, actor: User, event_id: int
) -> list[EventPermission]:
    """Everyone's role on the event (any role may look)."""
    event, _ = await get_event_for(session, actor.id, event_id, Role.VIEWER)
    return await _grants(session, event.id)


async def _grant_of(
    session: AsyncSession,
    actor: User,
    event_id: int,
    user_id: int,
    if_match: str | None,
    needed: Role = Role.OWNER,
) -> tuple[Event, EventPermission, list[EventPermission]]:
    """The event (the actor holding the `needed` role), the user's grant and every grant,
    under the row's lock."""
    event, _ = await get_event_for(
        session, actor.id, event_id, needed, lock=True, if_match=if_match
    )
    await touch(session, event.id)  # a role changes or goes: see `access.touch`
    grants = await _grants(session, event.id)
    grant = next((g for g in grants if g.user_id == user_id), None)
    if grant is None:
        raise PermissionNotFound(f"User {user_id} holds no role on event {event_id}.")
    return event, grant, grants


async def change_role(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    user_id: int,
    role: Role,
    origin: Origin,
    if_match: str | None = None,
) -> EventPermission:
    """Set one user's role (owner only); demoting the last owner is a 409."""
    event, grant, grants = await _grant_of(session, actor, event_id, user_id, if_match)
    if grant.role != role.value:
        old_role, grant.role = grant.role, role.value
        grant.granted_by_id, grant.granted_at = actor.id, utcnow()
        _keep_an_owner(event, grants)
        user = await session.get(User, user_id)
        await _record(
            session,
            "event.permission_changed",
            actor=actor,
            event=event,
            origin=origin,
            user=user,
            user_id=user_id,
            role=role.value,
            old_role=old_role,
        )
        await session.flush()
    return grant


async def remove_role(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    user_id: int,
    origin: Origin,
    if_match: str | None = None,
) -> None:
    """Take a user's role away: the owner's to do, or anyone's own (leaving an event shared
    with them unasked: it made them busy and a contact of its owner, SPEC §7); removing the
    last owner is a 409. Their invitation goes with it; either way it is `event.unshared`."""
    needed = Role.VIEWER if user_id == actor.id else Role.OWNER
    event, grant, grants = await _grant_of(session, actor, event_id, user_id, if_match, needed)
    _keep_an_owner(event, [g for g in grants if g is not grant])
    if await organizes_for_others(session, event_id=event.id, user_id=user_id):
        raise OrganizerStays(
            "The organizer keeps their role while others are invited: take the attendees "
            "off first (DELETE /events/{id}/attendees/{userId})."
        )
    user = await session.get(User, user_id)
    await session.delete(grant)
    await forget_attendee(session, event_id=event.id, user_id=user_id)
    await forget_reminders(session, event_id=event.id, user_id=user_id)
    await session.flush()  # the feed must not count them as a holder any more
    await _record(
        session,
        "event.unshared",
        actor=actor,
        event=event,
        origin=origin,
        user=user,
        user_id=user_id,
        role=None,
        old_role=grant.role,
    )
    await session.flush()
