"""An invitee's answers: for the whole series, or one occurrence (decline one week of a
weekly meeting). An answer is not a content change: no version, the same ETag; it is in the
changelog (from its audit row), the audit log, the change feed and `/sync`, and the
answerer's reminders follow it (SPEC §13, §14)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.db import utcnow
from neo_events.errors import Forbidden, ValidationFailed
from neo_events.events.access import check_if_match, get_event_for
from neo_events.events.content import content_of, iso
from neo_events.events.occurrences import check_occurrences
from neo_events.invitations.responses import MAX_OCCURRENCE_ANSWERS, Response
from neo_events.live import feed
from neo_events.models import Attendee, Event, OccurrenceResponse, User
from neo_events.reminders.service import follow_event


class NotAnAttendee(Forbidden):
    code = "not_an_attendee"
    title = "Only someone invited to this event can answer for themselves"


async def _my_attendance(
    session: AsyncSession, actor: User, event_id: int, if_match: str | None
) -> tuple[Event, Attendee]:
    event, _ = await get_event_for(session, actor.id, event_id, lock=True)
    attendee = await session.get(Attendee, (event.id, actor.id))
    if attendee is None:
        raise NotAnAttendee(f"You are not invited to event {event.id}.")
    check_if_match(event, if_match)  # after the 403, as `get_event_for` does
    return event, attendee


async def respond(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    response: Response,
    comment: str | None,
    origin: Origin,
    if_match: str | None = None,
) -> Attendee:
    """My answer for the whole series (replacing my per-occurrence answers). Writes nothing
    when it changes nothing."""
    event, attendee = await _my_attendance(session, actor, event_id, if_match)
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
    await _responded(
        session, actor, event, origin, [_answered(actor, response, old, comment, None)]
    )
    return attendee


def _answered(
    actor: User,
    response: Response,
    old: str,
    comment: str | None,
    recurrence_id: datetime | None,
) -> feed.Announcement:
    """An answer that changed (for the series, or one occurrence), as its audit row and
    change-feed entry carry it."""
    return feed.Announcement(
        action="event.responded",
        feed_type="attendee.responded",
        details={
            "user_id": actor.id,
            "username": actor.username,
            "response": response.value,
            "old_response": old,
            "comment": comment,
            "recurrence_id": iso(recurrence_id) if recurrence_id is not None else None,
        },
    )


async def _responded(
    session: AsyncSession,
    actor: User,
    event: Event,
    origin: Origin,
    answered: Sequence[feed.Announcement],
) -> None:
    """Answers changed: audit, feed (written together), and the answerer's reminders follow
    them (declined occurrences drop theirs, SPEC §14)."""
    await feed.announce_all(  # one change listing them, one answer or many alike
        session, origin=origin, actor_id=actor.id, event=event, announcements=answered
    )
    follow_event(session, event.id, holders=[actor.id])  # their own answers: their reminders
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
    if_match: str | None = None,
) -> tuple[str, OccurrenceResponse]:
    """My answer for one occurrence (decline one week of a weekly meeting), with the key
    the event names that occurrence by (a date for an all-day series, however it was
    asked for); it overrides my series answer there. 404 if the series has no such
    occurrence."""
    [answer] = await respond_to_occurrences(
        session,
        actor=actor,
        event_id=event_id,
        answers=[(occurrence, response, comment)],
        origin=origin,
        if_match=if_match,
    )
    return answer


async def respond_to_occurrences(
    session: AsyncSession,
    *,
    actor: User,
    event_id: int,
    answers: Sequence[tuple[date | datetime, Response, str | None]],
    origin: Origin,
    if_match: str | None = None,
) -> list[tuple[str, OccurrenceResponse]]:
    """My answers for several occurrences at once, each as `respond_to_occurrence` gives it
    alone: the event locked and its series built once, my answers read once, the audit rows
    and changes written together, my reminders followed once (a CalDAV PUT of 1,000 answers
    made each its own locked write: 5.7 s, every other write waiting, an outside attack).
    404 for an occurrence the series does not have, before anything is written."""
    event, attendee = await _my_attendance(session, actor, event_id, if_match)
    # an all-day series names its occurrences by date; the answer is kept at its instant
    _, found = check_occurrences(
        event, content_of(event), [occurrence for occurrence, *_ in answers]
    )
    rows = {
        row.recurrence_id: row
        for row in await session.scalars(
            select(OccurrenceResponse).where(
                OccurrenceResponse.event_id == event.id, OccurrenceResponse.user_id == actor.id
            )
        )
    }
    if len(rows | dict.fromkeys(at for _, at in found)) > MAX_OCCURRENCE_ANSWERS:
        raise ValidationFailed.field(
            ["recurrence_id"],
            f"at most {MAX_OCCURRENCE_ANSWERS} occurrences answered one by one; "
            "answer for the series instead",
        )
    written, answered = [], []
    for (key, at), (_, response, comment) in zip(found, answers, strict=True):
        row = rows.get(at)
        if row is None or row.response != response.value or row.comment != comment:
            old = row.response if row is not None else attendee.response
            if row is None:
                row = rows[at] = OccurrenceResponse(
                    event_id=event.id, user_id=actor.id, recurrence_id=at
                )
                session.add(row)
            row.response, row.comment, row.responded_at = response.value, comment, utcnow()
            answered.append(_answered(actor, response, old, comment, at))
        written.append((key, row))
    if answered:
        await _responded(session, actor, event, origin, answered)
    return written
