"""HTTP endpoint of SPEC §14 for reminders: set mine on an event."""

from __future__ import annotations

from fastapi import APIRouter

from neo_events.auth.dependencies import CurrentUser, RequestOrigin
from neo_events.errors import problems
from neo_events.events.router import EventId, IfMatch
from neo_events.reminders import service
from neo_events.reminders.schemas import ReminderRead, RemindersPut, RemindersRead
from neo_events.web import Session, TransactionalRoute

router = APIRouter(prefix="/api/v1", tags=["reminders"], route_class=TransactionalRoute)


@router.put("/events/{event_id}/reminders", responses=problems(412))
async def set_reminders(
    event_id: EventId,
    body: RemindersPut,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
) -> RemindersRead:
    """Replace my reminders on an event I can see (viewer+): at most 5, each 0–40,320
    minutes before every occurrence's start. Each occurrence then sends me one
    `reminder.due` (WebSocket, SSE and my webhooks) at its start minus that."""
    minutes = await service.set_reminders(
        session,
        actor=user,
        event_id=event_id,
        minutes=[r.minutes_before for r in body.reminders],
        origin=origin,
        if_match=if_match,
    )
    return RemindersRead(
        event_id=event_id, reminders=[ReminderRead(minutes_before=m) for m in minutes]
    )
