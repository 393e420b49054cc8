"""Invite people to an event, remove them, list my invitations (their answers:
`invitations/answers.py`). An invitation is not a content change: no version, the same
ETag; it is in the changelog (from its audit row), the audit log, the change feed and
`/sync`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.db import utcnow
from neo_events.errors import Conflict, NotFound, ValidationFailed
from neo_events.events import check_windows, schedule
from neo_events.events.access import (
    Role,
    RoleTooLow,
    check_if_match,
    get_event_for,
    grant_all,
    touch,
)
from neo_events.events.content import content_of, iso, series_of
from neo_events.events.schedule import Clash, ConflictPolicy
from neo_events.events.sizes import MAX_PEOPLE, check_size
from neo_events.fields import bigint
from neo_events.invitations.responses import OrganizerStays, Response
from neo_events.invitations.schemas import Invitee
from neo_events.live import feed
from neo_events.models import Attendee, Event, EventPermission, OccurrenceResponse, User
from neo_events.pages import MAX_PAGE_BYTES, content_bytes, fitting, visible_in_order
from neo_events.protocol import cursor_fields, encode_cursor
from neo_events.reminders.service import follow_event

MAX_ATTENDEES = MAX_PEOPLE  # per event, the organizer included


class AlreadyInvited(Conflict):
    code = "already_invited"
    title = "That user is already invited"


class AttendeeNotFound(NotFound):
    code = "attendee_not_found"
    title = "That user is not invited to this event"


async def _attendees(session: AsyncSession, event_id: int) -> list[Attendee]:
    rows = await session.execute(select(Attendee).where(Attendee.event_id == event_id))
    return list(rows.scalars())


async def _record(
    session: AsyncSession,
    action: str,
    *,
    actor: User,
    event: Event,
    origin: Origin,
    details: dict[str, object],
    feed_type: str,
    also_notify: Sequence[int] = (),
) -> None:
    """One audit row and one change-feed entry for one invitation change."""
    await feed.announce(
        session,
        action=action,
        feed_type=feed_type,
        origin=origin,
        actor_id=actor.id,
        event=event,
        details=details,
        also_notify=also_notify,
    )


async def invite(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    invitees: Sequence[Invitee],
    origin: Origin,
    policy: ConflictPolicy = ConflictPolicy.WARN,
    if_match: str | None = None,
) -> tuple[Event, list[Clash]]:
    """Invite people (editor+). Someone with no role on the event gets `viewer`; the first
    invitation lists the organizer (the owner) too, as accepted. The event is checked
    against the calendars of the people it newly reaches."""
    event, _ = await get_event_for(
        session, actor.id, event_id, Role.EDITOR, lock=True, if_match=if_match
    )
    await touch(session, event.id)  # who is invited (and may hold a role) changes
    # Everything below costs in proportion to the people added (at most MAX_INVITES), not
    # to those already invited (up to MAX_ATTENDEES): a few set-based statements.
    wanted = [i.user_id for i in invitees]
    seen: set[int] = set()
    for index, user_id in enumerate(wanted):
        if user_id in seen:
            raise ValidationFailed.field(["users", index, "user_id"], "appears twice")
        seen.add(user_id)
    names: dict[int, str] = dict(
        (await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))).all()
    )
    for index, user_id in enumerate(wanted):
        if user_id not in names:
            raise ValidationFailed.field(["users", index, "user_id"], "no such user")
    listed = set(
        (
            await session.execute(
                select(Attendee.user_id).where(
                    Attendee.event_id == event.id,
                    Attendee.user_id.in_([*wanted, event.owner_id]),
                )
            )
        ).scalars()
    )
    organizer_listed = event.owner_id in listed
    for user_id in wanted:
        if user_id in listed or (not organizer_listed and user_id == event.owner_id):
            raise AlreadyInvited(
                f"User {user_id} is already invited to event {event.id}"
                + (" (as its organizer)." if user_id == event.owner_id else ".")
            )
    already = await session.scalar(
        select(func.count()).select_from(Attendee).where(Attendee.event_id == event.id)
    )
    people = (already or 0) + len(wanted) + (not organizer_listed)
    if people > MAX_ATTENDEES:
        raise ValidationFailed.field(["users"], f"an event has at most {MAX_ATTENDEES} attendees")
    # each override lists everyone again: the event's iCalendar must stay within its bound
    check_size(
        None, content_of(event), people, lambda _, msg: ValidationFailed.field(["users"], msg)
    )
    roles = dict(
        (
            await session.execute(
                select(EventPermission.user_id, EventPermission.role).where(
                    EventPermission.event_id == event.id, EventPermission.user_id.in_(wanted)
                )
            )
        ).all()
    )
    newcomers = [u for u in wanted if u not in roles]
    clashes: list[Clash] = []
    if newcomers and policy is not ConflictPolicy.IGNORE:
        # whose free time a suggestion needs: everyone on the event (a query only then)
        suggesting = policy is ConflictPolicy.SUGGEST
        holders = await feed.holders(session, event.id) if suggesting else []
        [clashes] = await schedule.check(
            session,
            policy=policy,
            candidates=[check_windows.Candidate(event.id, series_of(content_of(event)))],
            user_ids=newcomers,
            viewer_id=actor.id,
            concerned=[*holders, *newcomers] if suggesting else None,
        )
    await _add_attendees(session, actor, event, invitees, organizer_listed, newcomers)
    await feed.announce_all(  # one change listing them, for everyone once all are invited
        session,
        origin=origin,
        actor_id=actor.id,
        event=event,
        announcements=[
            feed.Announcement(
                "event.invited",
                "attendee.invited",
                {
                    "user_id": invitee.user_id,
                    "username": names[invitee.user_id],
                    "optional": invitee.optional,
                    "response": Response.NEEDS_ACTION.value,
                    "granted_role": None if invitee.user_id in roles else Role.VIEWER.value,
                },
            )
            for invitee in invitees
        ],
    )
    await session.flush()
    return event, clashes


async def _add_attendees(
    session: AsyncSession,
    actor: User,
    event: Event,
    invitees: Sequence[Invitee],
    organizer_listed: bool,
    newcomers: Sequence[int],
) -> None:
    """The invitees' rows (and the organizer's, on the first invitation), and a viewer's
    role for those who had none: one statement each."""
    now = utcnow()
    roles = [(user_id, Role.VIEWER) for user_id in newcomers]
    await grant_all(session, event.id, roles, granted_by_id=actor.id, at=now)

    def row(user_id: int, optional: bool, organizer: bool = False) -> dict[str, object]:
        return {
            "event_id": event.id,
            "user_id": user_id,
            "response": (Response.ACCEPTED if organizer else Response.NEEDS_ACTION).value,
            "optional": optional,
            "is_organizer": organizer,
            "invited_by_id": actor.id,
            "invited_at": now,
            "responded_at": now if organizer else None,
        }

    first = [] if organizer_listed else [row(event.owner_id, False, organizer=True)]
    rows = [*first, *(row(invitee.user_id, invitee.optional) for invitee in invitees)]
    await session.execute(insert(Attendee), rows)


async def remove_attendee(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    user_id: int,
    origin: Origin,
    if_match: str | None = None,
) -> None:
    """Take someone off the list (editor+, or the attendee themselves); their role stays
    until an owner removes it. The organizer goes only with the last other attendee."""
    event, role = await get_event_for(session, actor.id, event_id, lock=True)
    if user_id != actor.id and not role.at_least(Role.EDITOR):
        raise RoleTooLow(f"This needs the editor role; you are {role.value}.")
    check_if_match(event, if_match)  # after the 403, as `get_event_for` does
    current = {a.user_id: a for a in await _attendees(session, event.id)}
    attendee = current.get(user_id)
    if attendee is None:
        raise AttendeeNotFound(f"User {user_id} is not invited to event {event.id}.")
    others = [a for a in current.values() if a is not attendee and not a.is_organizer]
    if attendee.is_organizer and others:
        raise OrganizerStays("Remove the other attendees first, or keep the organizer.")
    gone = [attendee]
    if not others:  # nobody else is invited: the list, organizer included, goes away
        gone = list(current.values())
    await session.execute(
        delete(OccurrenceResponse).where(
            OccurrenceResponse.event_id == event.id,
            OccurrenceResponse.user_id.in_([a.user_id for a in gone]),
        )
    )
    for row in gone:
        await session.delete(row)
    user = await session.get(User, user_id)
    await _record(
        session,
        "event.uninvited",
        actor=actor,
        event=event,
        origin=origin,
        details={
            "user_id": user_id,
            "username": user.username if user else None,
            "old_response": attendee.response,
        },
        feed_type="attendee.removed",
        also_notify=[user_id],
    )
    # their declined answers gone: their reminders come back (nobody else's move)
    follow_event(session, event.id, holders=[a.user_id for a in gone])
    await session.flush()


async def my_invitations(
    session: AsyncSession,
    *,
    actor: User,
    response: Response | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[tuple[Event, Role]], str | None]:
    """Live events I am invited to (not those I organise), by start then id. Keys and sizes
    first, then the full rows of those that fit in MAX_PAGE_BYTES (`pages`), as the listing
    reads them: 500 invitations to events of 1 MB each were a 213 MB page, the loop held 1.1 s
    (an outside attack, 2026-12-04)."""
    query = (
        select(Event.id, Event.start_time, content_bytes())
        .join(Attendee, (Attendee.event_id == Event.id) & (Attendee.user_id == actor.id))
        .join(
            EventPermission,
            (EventPermission.event_id == Event.id) & (EventPermission.user_id == actor.id),
        )
        .where(Event.deleted_at.is_(None), Attendee.is_organizer.is_(False))
    )
    if response is not None:
        query = query.where(Attendee.response == response.value)
    if cursor:
        start, last_id = cursor_fields(cursor, ("s", datetime.fromisoformat), ("i", bigint))
        query = query.where(
            (Event.start_time > start) | ((Event.start_time == start) & (Event.id > last_id))
        )
    keys = (
        await session.execute(query.order_by(Event.start_time, Event.id).limit(limit + 1))
    ).all()
    count = fitting((size for _, _, size in keys[:limit]), MAX_PAGE_BYTES)
    page = await visible_in_order(session, actor.id, [key.id for key in keys[:count]])
    next_cursor = None
    if len(keys) > count:
        last = keys[count - 1]
        next_cursor = encode_cursor({"s": iso(last.start_time), "i": last.id})
    return page, next_cursor
