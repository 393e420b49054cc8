"""A CalDAV resource's ORGANIZER and ATTENDEEs written back (SPEC §13, §15): the .ics import's
rule for who is who (ical/service.py split_people, with_guests) and the API's invitation
functions (invitations/service.py invite, remove_attendee, respond), so a PUT's people are
exactly the API's writes.

- An ATTENDEE whose email is a user's is that user: one the event does not list yet is
  invited (editor+), one it lists and the resource no longer does is taken off the list
  (editor+, or the attendee themselves). The organizer is the event's owner, whatever the
  resource says.
- The writer's own PARTSTAT is their answer for the series (the RSVP endpoint's function);
  everyone else's PARTSTAT (and ROLE of someone already listed) is the server's: what a
  client sends for others is ignored, as RFC 6638 servers do.
- Addresses that are not users are kept as text in the description, one line each, replaced
  rather than repeated when written again (a client that puts back what it got changes
  nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.caldav import resources
from neo_events.caldav.service import DavError
from neo_events.events.schedule import ConflictPolicy
from neo_events.ical.service import split_people, users_by_email, with_guests
from neo_events.invitations import service as invitations
from neo_events.invitations.responses import Response
from neo_events.invitations.schemas import Invitee
from neo_events.invitations.service import MAX_ATTENDEES
from neo_events.models import Attendee, Event, User

GUESTS_HEADING = "Other attendees (not users of this service):\n"


@dataclass(frozen=True, slots=True)
class Plan:
    """What a resource's people ask of the event: its content (the description listing the
    guests), who to invite and to take off, and the writer's own new answer."""

    content: dict[str, Any]
    invite: list[Invitee]
    remove: list[int]
    answer: Response | None = None
    comment: str | None = None  # the writer's comment, kept with a new answer

    def allowed_below_editor(self, user: User) -> bool:
        """Whether a viewer may write this: no invitations, nobody taken off but themselves."""
        return not self.invite and set(self.remove) <= {user.id}


async def plan(
    session: AsyncSession, user: User, incoming: resources.Incoming, event: Event | None
) -> Plan:
    """The plan of a PUT that creates (`event` None: the writer organises) or replaces an
    event. Refused (nothing written yet) when it lists more users than an event holds."""
    people = incoming.people
    known = await users_by_email(session, {p.email.lower() for p in people})
    organizer_id = user.id if event is None else event.owner_id
    wanted, guests = split_people(people, known, organizer_id)
    listed = {known[p.email.lower()] for p in people if p.email.lower() in known} - {organizer_id}
    if len(listed) > MAX_ATTENDEES - 1:
        raise DavError(
            403,
            ("urn:ietf:params:xml:ns:caldav", "valid-calendar-data"),
            f"{len(listed) + 1} attendees; an event has at most {MAX_ATTENDEES}, "
            "its organizer included.",
            "too_many_attendees",
        )
    content = dict(incoming.content)
    if guests:
        content["description"] = with_guests(content["description"], guests, GUESTS_HEADING)
    if event is None:
        return Plan(content, wanted, [])
    current = {
        a.user_id: a
        for a in await session.scalars(select(Attendee).where(Attendee.event_id == event.id))
    }
    invite = [i for i in wanted if i.user_id not in current]
    remove = [
        user_id
        for user_id, attendee in current.items()
        if not attendee.is_organizer and user_id not in listed
    ]
    answer, comment = None, None
    mine = next((p for p in people if known.get(p.email.lower()) == user.id), None)
    if mine is not None and user.id not in remove:
        if user.id in current:
            before, comment = current[user.id].response, current[user.id].comment
        else:
            before = Response.NEEDS_ACTION.value  # invited by this very write
        if user.id in current or user.id in listed:
            answer = Response(mine.response) if mine.response != before else None
    return Plan(content, invite, remove, answer, comment)


async def apply(
    session: AsyncSession, user: User, event_id: int, todo: Plan, origin: Origin
) -> None:
    """Invite, take off, answer: each through the API's own function (its audit row, change
    feed entry and live message). Invitations first, so the list is not emptied on the way."""
    if todo.invite:
        await invitations.invite(
            session,
            actor=user,
            event_id=event_id,
            invitees=todo.invite,
            origin=origin,
            policy=ConflictPolicy.WARN,
        )
    for user_id in todo.remove:
        await invitations.remove_attendee(
            session, actor=user, event_id=event_id, user_id=user_id, origin=origin
        )
    if todo.answer is not None:
        await invitations.respond(
            session,
            actor=user,
            event_id=event_id,
            response=todo.answer,
            comment=todo.comment,
            origin=origin,
        )
