"""HTTP endpoint of SPEC §7 for finding a time with others."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from neo_events.auth.dependencies import CurrentUser
from neo_events.events.rrule import zone_named
from neo_events.scheduling import service
from neo_events.scheduling.schemas import FindTime, Slot, Slots
from neo_events.scheduling.slots import ALL_DAY, WorkingHours
from neo_events.web import Session, TransactionalRoute, reads_only

router = APIRouter(prefix="/api/v1", tags=["scheduling"], route_class=TransactionalRoute)


@router.post("/scheduling/find-time")
@reads_only
async def find_time(body: FindTime, user: CurrentUser, session: Session, request: Request) -> Slots:
    """The earliest slots of `duration_minutes`, on the granularity, inside the working
    hours on `timezone`'s wall clock (every hour of every day without them), where the
    caller and every listed user are free. Someone who is not your contact is a 422."""
    hours = ALL_DAY
    if body.working_hours is not None:
        start, end = body.working_hours.wall_times()
        hours = WorkingHours(start, end, frozenset(body.working_hours.days))
    slots = await service.find_time(
        session,
        actor=user,
        user_ids=body.user_ids,
        window=(body.start_time, body.end_time),
        duration=timedelta(minutes=body.duration_minutes),
        zone=zone_named(body.timezone),
        hours=hours,
        granularity=timedelta(minutes=body.granularity_minutes),
        limit=body.limit,
        cache=request.app.state.expansions,
    )
    return Slots(slots=[Slot(start_time=s, end_time=e) for s, e in slots])
