"""An invitee's answers: for the whole series, or one occurrence (decline one week of a
weekly meeting). An answer is not a content change: no version, the same ETag; it is in the
changelog (from its audit row), the audit log, the change feed and `/sync`, and the
answerer's reminders follow it (SPEC §13, §14)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.db import utcnow
from neo_events.errors import Forbidden, ValidationFailed
from neo_events.events.access import get_event_for
from neo_events.events.content import content_of, iso
from neo_events.events.occurrences import check_occurrence
from neo_events.invitations.responses import MAX_OCCURRENCE_ANSWERS, Response
from neo_events.live import feed
from neo_events.models import Attendee, Event, OccurrenceResponse, User
from neo_events.reminders.service import follow_event


class NotAnAttendee(Forbidden):
    code = "not_an_attendee"
    title = "Only someone invited to this event can answer for themselves"


async def _my_attendance(
    session: AsyncSession, actor: User, event_id: int
) -> tuple[Event, Attendee]:
    event, _ = await get_event_for(session, actor.id, event_id, lock=True)
    attendee = await session.get(Attendee, (event.id, actor.id))
    if attendee is None:
        raise NotAnAttendee(f"You are not invited to event {event.id}.")
    return event, attendee


async def respond(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    response: Response,
    comment: str | None,
    origin: Origin,
) -> Attendee:
    """My answer for the whole series (replacing my per-occurrence answers). Writes nothing
    when it changes nothing."""
    event, attendee = await _my_attendance(session, actor, event_id)
    dropped = await session.execute(
        delete(OccurrenceResponse).where(
            OccurrenceResponse.event_id == event.id, OccurrenceResponse.user_id == actor.id
        )
    )
    if (
        attendee.response == response.value and attendee.comment == comment and not dropped.rowcount  # type: ignore[attr-defined]
    ):
        return attendee
    old = attendee.response
    attendee.response, attendee.comment = response.value, comment
    attendee.responded_at = utcnow()
    await _responded(session, actor, event, origin, response, old, comment, None)
    return attendee


async def _responded(
    session: AsyncSession,
    actor: User,
    event: Event,
    origin: Origin,
    response: Response,
    old: str,
    comment: str | None,
    recurrence_id: datetime | None,
) -> None:
    """An answer changed (for the series, or one occurrence): audit, feed, and the
    answerer's reminders follow it (declined occurrences drop theirs, SPEC §14)."""
    await feed.announce(
        session,
        action="event.responded",
        feed_type="attendee.responded",
        origin=origin,
        actor_id=actor.id,
        event=event,
        details={
            "user_id": actor.id,
            "username": actor.username,
            "response": response.value,
            "old_response": old,
            "comment": comment,
            "recurrence_id": iso(recurrence_id) if recurrence_id is not None else None,
        },
    )
    follow_event(session, event.id)
    await session.flush()


async def respond_to_occurrence(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    occurrence: date | datetime,
    response: Response,
    comment: str | None,
    origin: Origin,
) -> OccurrenceResponse:
    """My answer for one occurrence (decline one week of a weekly meeting); it overrides my
    series answer there. 404 if the series has no such occurrence."""
    event, attendee = await _my_attendance(session, actor, event_id)
    # an all-day series names its occurrences by date; the answer is kept at its instant
    _, _, recurrence_id = check_occurrence(event, content_of(event), occurrence)
    row = await session.get(OccurrenceResponse, (event.id, actor.id, recurrence_id))
    if row is not None and row.response == response.value and row.comment == comment:
        return row
    old = row.response if row is not None else attendee.response
    if row is None:
        count = await session.scalar(
            select(func.count()).where(
                OccurrenceResponse.event_id == event.id, OccurrenceResponse.user_id == actor.id
            )
        )
        if (count or 0) >= MAX_OCCURRENCE_ANSWERS:
            raise ValidationFailed.field(
                ["recurrence_id"],
                f"at most {MAX_OCCURRENCE_ANSWERS} occurrences answered one by one; "
                "answer for the series instead",
            )
        row = OccurrenceResponse(event_id=event.id, user_id=actor.id, recurrence_id=recurrence_id)
        session.add(row)
    row.response, row.comment, row.responded_at = response.value, comment, utcnow()
    await _responded(session, actor, event, origin, response, old, comment, recurrence_id)
    return row
