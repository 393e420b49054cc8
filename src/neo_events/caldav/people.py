"""A CalDAV resource's ORGANIZER and ATTENDEEs written back (SPEC §13, §15): the .ics import's
rule for who is who (ical/importing.py split_people, with_guests) and the API's invitation
functions (invitations/service.py invite, remove_attendee, respond), so a PUT's people are
exactly the API's writes.

- An ATTENDEE whose email is a user's is that user: one the event does not list yet is
  invited (editor+), one it lists and the resource no longer does is taken off the list
  (editor+, or the attendee themselves). The organizer is the event's owner, whatever the
  resource says.
- The writer's own PARTSTAT is their answer for the series (the RSVP endpoint's function);
  their PARTSTAT in a RECURRENCE-ID VEVENT is their answer for that occurrence (the
  per-occurrence RSVP's function), sent only where it differs from what the occurrence has
  now (their answer for it, else for the series, after this write's series answer). A
  component with no ATTENDEE line for the writer, or no component for an occurrence they
  answered, leaves that answer as it is. Everyone else's PARTSTAT (and ROLE of someone
  already listed) is the server's: what a client sends for others is ignored, as RFC 6638
  servers do.
- Addresses that are not users are kept as text in the description, one line each, replaced
  rather than repeated when written again (a client that puts back what it got changes
  nothing).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.caldav import resources
from neo_events.caldav.service import DavError
from neo_events.errors import NotFound
from neo_events.events import days
from neo_events.events.schedule import ConflictPolicy
from neo_events.ical.importing import split_people, users_by_email, with_guests
from neo_events.ical.people import answer_of
from neo_events.invitations import answers
from neo_events.invitations import service as invitations
from neo_events.invitations.responses import Response
from neo_events.invitations.schemas import MAX_INVITES, Invitee
from neo_events.invitations.service import MAX_ATTENDEES
from neo_events.models import Attendee, Event, OccurrenceResponse, User

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
    # the writer's new answers for single occurrences: (occurrence, answer, comment kept)
    occurrences: tuple[tuple[date | datetime, Response, str | None], ...] = ()

    def allowed_below_editor(self, user: User) -> bool:
        """Whether a viewer may write this: no invitations, nobody taken off but themselves."""
        return not self.invite and set(self.remove) <= {user.id}


async def plan(
    session: AsyncSession, user: User, incoming: resources.Incoming, event: Event | None
) -> Plan:
    """The plan of a PUT that creates (`event` None: the writer organises) or replaces an
    event. Refused (nothing written yet) when it lists more users than an event holds."""
    people = incoming.people
    # One read for every address of the resource: the series' people and each occurrence's
    # (where the writer's own answers are found, `_occurrence_answers`).
    addresses = [p.email for p in people]
    addresses += [p.email for said in incoming.occurrence_people.values() for p in said]
    known = await users_by_email(session, addresses)
    organizer_id = user.id if event is None else event.owner_id
    wanted, guests = split_people(people, known, organizer_id)
    listed = {known[p.email] for p in people if p.email in known} - {organizer_id}
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
        return Plan(content, _within_one_write(wanted), [])
    current = {
        a.user_id: a
        for a in await session.scalars(select(Attendee).where(Attendee.event_id == event.id))
    }
    invite = _within_one_write([i for i in wanted if i.user_id not in current])
    remove = [
        user_id
        for user_id, attendee in current.items()
        if not attendee.is_organizer and user_id not in listed
    ]
    answer, comment = None, None
    mine = next((p for p in people if known.get(p.email) == user.id), None)
    if mine is not None and user.id not in remove:
        if user.id in current:
            before, comment = current[user.id].response, current[user.id].comment
        else:
            before = Response.NEEDS_ACTION.value  # invited by this very write
        if user.id in current or user.id in listed:
            answer = Response(mine.response) if mine.response != before else None
            mine_written = {address for address, id_ in known.items() if id_ == user.id}
            occurrences = await _occurrence_answers(
                session,
                user,
                event.id,
                incoming,
                mine_written,
                answer or Response(before),
                answer is not None,
            )
            return Plan(content, invite, remove, answer, comment, occurrences)
    return Plan(content, invite, remove, answer, comment)


def _within_one_write(invite: list[Invitee]) -> list[Invitee]:
    """The people a write newly invites, at most as many as one invitation request takes
    (their calendars checked, their rows written): when each invitation was a change for
    everyone on the event, a PUT naming 499 users at once made ~250,000 and cost ~1.3 s (an
    outside attack, 2026-12-04); since 2026-12-08 a request's invitations are one change."""
    if len(invite) > MAX_INVITES:
        raise DavError(
            403,
            ("urn:ietf:params:xml:ns:caldav", "valid-calendar-data"),
            f"{len(invite)} people invited at once; a write invites at most {MAX_INVITES}, "
            "as an invitation request does (invite the others in further writes).",
            "too_many_invitations",
        )
    return invite


async def _occurrence_answers(
    session: AsyncSession,
    user: User,
    event_id: int,
    incoming: resources.Incoming,
    mine: Collection[str],
    series: Response,
    replaced: bool,
) -> tuple[tuple[date | datetime, Response, str | None], ...]:
    """The writer's PARTSTATs in the resource's RECURRENCE-ID VEVENTs that differ from what
    the occurrence has (their answer for it; none after a new series answer, which replaces
    them all; else the series answer): the per-occurrence answers to give."""
    said = {
        key: answer
        for key, people in incoming.occurrence_people.items()
        if (answer := answer_of(people, mine)) is not None
    }
    if not said:
        return ()
    rows = (
        {}
        if replaced
        else {
            row.recurrence_id: row
            for row in await session.scalars(
                select(OccurrenceResponse).where(
                    OccurrenceResponse.event_id == event_id, OccurrenceResponse.user_id == user.id
                )
            )
        }
    )
    found = []
    for key, answer in sorted(said.items(), key=lambda pair: _instant(pair[0])):
        row = rows.get(_instant(key))
        if answer != (row.response if row is not None else series.value):
            found.append((key, Response(answer), row.comment if row is not None else None))
    return tuple(found)


def _instant(key: date | datetime) -> datetime:
    """Where an occurrence's answer is kept: its instant, an all-day one's floating one."""
    return key if isinstance(key, datetime) else days.floating(key)


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
            policy=ConflictPolicy.IGNORE,
        )
    for user_id in todo.remove:
        await invitations.remove_attendee(
            session, actor=user, event_id=event_id, user_id=user_id, origin=origin
        )
    if todo.answer is not None:
        await answers.respond(
            session,
            actor=user,
            event_id=event_id,
            response=todo.answer,
            comment=todo.comment,
            origin=origin,
        )
    if todo.occurrences:
        try:  # together: one locked read, one series, the changes written at once
            await answers.respond_to_occurrences(
                session, actor=user, event_id=event_id, answers=todo.occurrences, origin=origin
            )
        except NotFound as exc:  # the write moved or cancelled it
            raise DavError(
                403,
                ("urn:ietf:params:xml:ns:caldav", "valid-calendar-data"),
                f"An answer for an occurrence the event does not have: {exc}",
                "occurrence_not_found",
            ) from None
