"""HTTP endpoints of SPEC §13: invite, remove, answer (series or occurrence), my invitations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from neo_events.auth.dependencies import CurrentUser, RequestOrigin
from neo_events.errors import problems
from neo_events.events import days
from neo_events.events.answers import conflicts_json
from neo_events.events.occurrences_router import RecurrenceId
from neo_events.events.router import EventId, IfMatch, Limit, Policy
from neo_events.events.schedule import ConflictPolicy
from neo_events.events.views import attendee_reads, event_reads
from neo_events.fields import MAX_BIGINT
from neo_events.invitations import answers, service
from neo_events.invitations.responses import Response as Answer
from neo_events.invitations.schemas import (
    AttendeeList,
    InvitationList,
    InviteRequest,
    Rsvp,
    RsvpResult,
)
from neo_events.web import Session, TransactionalRoute

router = APIRouter(prefix="/api/v1", tags=["invitations"], route_class=TransactionalRoute)

UserId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


@router.post("/events/{event_id}/attendees", responses=problems(403, 409, 412))
async def invite(
    event_id: EventId,
    body: InviteRequest,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    conflicts: Policy = ConflictPolicy.WARN,
    if_match: IfMatch = None,
) -> AttendeeList:
    """Invite people (editor+); someone with no role gets `viewer`. Returns everyone
    invited, and the event's overlaps with the calendars of the people it newly reaches."""
    event, clashes = await service.invite(
        session,
        actor=user,
        event_id=event_id,
        invitees=body.users,
        origin=origin,
        policy=conflicts,
        if_match=if_match,
    )
    attendees = await attendee_reads(session, [event.id])
    return AttendeeList(items=attendees.get(event.id, []), conflicts=conflicts_json(clashes))


@router.delete(
    "/events/{event_id}/attendees/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 409, 412),
)
async def remove_attendee(
    event_id: EventId,
    user_id: UserId,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
) -> Response:
    """Take someone off the invitation (editor+, or the attendee themselves); the role they
    were given stays until an owner removes it."""
    await service.remove_attendee(
        session, actor=user, event_id=event_id, user_id=user_id, origin=origin, if_match=if_match
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/events/{event_id}/rsvp", responses=problems(403, 412))
async def respond(
    event_id: EventId,
    body: Rsvp,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
) -> RsvpResult:
    """My answer for the whole series (the attendee only); it replaces my answers for single
    occurrences. No new version, the same ETag."""
    row = await answers.respond(
        session,
        actor=user,
        event_id=event_id,
        response=body.response,
        comment=body.comment,
        origin=origin,
        if_match=if_match,
    )
    return RsvpResult(
        event_id=row.event_id,
        user_id=row.user_id,
        response=Answer(row.response),
        comment=row.comment,
    )


@router.put("/events/{event_id}/instances/{recurrence_id}/rsvp", responses=problems(403, 412))
async def respond_to_occurrence(
    event_id: EventId,
    recurrence_id: RecurrenceId,
    body: Rsvp,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
) -> RsvpResult:
    """My answer for one occurrence (the attendee only): it overrides my series answer
    there — a declined occurrence is free time in my calendar."""
    key, row = await answers.respond_to_occurrence(
        session,
        actor=user,
        event_id=event_id,
        occurrence=recurrence_id,
        response=body.response,
        comment=body.comment,
        origin=origin,
        if_match=if_match,
    )
    return RsvpResult(
        event_id=row.event_id,
        user_id=row.user_id,
        response=Answer(row.response),
        comment=row.comment,
        # as the event names it: an all-day series' by its date, however the path named it
        recurrence_id=days.parse_day(key) or row.recurrence_id,
    )


@router.get("/invitations")
async def my_invitations(
    user: CurrentUser,
    session: Session,
    response: Answer | None = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> InvitationList:
    """The live events I am invited to (not those I organise), by start, optionally only
    those I answered a given way (`?response=needs_action`)."""
    pairs, next_cursor = await service.my_invitations(
        session, actor=user, response=response, limit=limit, cursor=cursor
    )
    return InvitationList(items=await event_reads(session, pairs, user.id), next_cursor=next_cursor)
