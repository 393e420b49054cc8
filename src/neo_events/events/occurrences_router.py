"""HTTP endpoints about time: one event's occurrences (list, change, cancel, split), its
conflicts, and the caller's free/busy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel

from neo_events.auth.dependencies import CurrentUser, RequestOrigin
from neo_events.errors import ValidationFailed, problems
from neo_events.events import occurrences, schedule
from neo_events.events.answers import conflicts_json, read_one, with_etag
from neo_events.events.listing import paginate_occurrences
from neo_events.events.occurrence_pages import my_occurrence_answers, occurrences_response
from neo_events.events.router import EventId, IfMatch, OptionalWindow, Policy, RequiredWindow
from neo_events.events.schedule import ConflictPolicy
from neo_events.events.schemas import (
    ConflictRead,
    DayOrInstant,
    OccurrenceEdited,
    OccurrenceList,
    OccurrenceUpdate,
    model_fields_set,
)
from neo_events.fields import MAX_BIGINT
from neo_events.scheduling.service import MAX_USERS, busy_by_user
from neo_events.web import Session, TransactionalRoute

router = APIRouter(prefix="/api/v1", tags=["occurrences"], route_class=TransactionalRoute)


@router.get("/events/{event_id}/instances", response_model=OccurrenceList)
async def list_instances(
    request: Request,
    event_id: EventId,
    user: CurrentUser,
    session: Session,
    window: RequiredWindow,
    limit: Annotated[int, Query(ge=1, le=500, description="page size (default and max 500)")] = 500,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The occurrences of one event inside a window (viewer+), overrides applied, ordered by
    start and paginated like the window listing (`limit`, `cursor`, `next_cursor`), 500 to a
    page unless asked for fewer: a window of one event usually comes whole."""
    event, role, rows = await occurrences.list_instances(
        session,
        actor=user,
        event_id=event_id,
        window=window,
        cache=request.app.state.expansions,
    )
    page, next_cursor = paginate_occurrences(rows, limit=limit, cursor=cursor)
    read = await read_one(session, event, role, user.id)
    base = read.model_dump(mode="json")
    return occurrences_response(
        ((base, row.occurrence, event.is_recurring) for row in page),
        next_cursor,
        window.zone,
        await my_occurrence_answers(session, user.id, [event], {event.id: base}),
    )


RecurrenceId = Annotated[
    DayOrInstant,
    Path(
        description="the occurrence's original start (RFC 3339, any offset); "
        "for an all-day series its date (YYYY-MM-DD)"
    ),
]
ScopeQuery = Annotated[
    occurrences.Scope,
    Query(description="this occurrence, or this and all following (splits the series)"),
]


@router.put("/events/{event_id}/instances/{recurrence_id}", responses=problems(403, 409, 412))
async def edit_occurrence(
    event_id: EventId,
    recurrence_id: RecurrenceId,
    body: OccurrenceUpdate,
    response: Response,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    scope: ScopeQuery = occurrences.Scope.THIS,
    conflicts: Policy = ConflictPolicy.WARN,
    if_match: IfMatch = None,
) -> OccurrenceEdited:
    """Change one occurrence (editor+): a new version of the series. With
    `scope=following` the series ends before it and the returned new series starts there."""
    edit = await occurrences.edit_occurrence(
        session,
        actor=user,
        event_id=event_id,
        recurrence_id=recurrence_id,
        changes=model_fields_set(body),
        scope=scope,
        policy=conflicts,
        origin=origin,
        if_match=if_match,
    )
    read = await read_one(session, edit.event, edit.role, user.id)
    with_etag(response, read)
    return OccurrenceEdited(**dict(read), conflicts=conflicts_json(edit.clashes))


@router.delete(
    "/events/{event_id}/instances/{recurrence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 412),
)
async def cancel_occurrence(
    event_id: EventId,
    recurrence_id: RecurrenceId,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    scope: ScopeQuery = occurrences.Scope.THIS,
    if_match: IfMatch = None,
) -> Response:
    """Cancel one occurrence (editor+: an exdate, a new version), or with `scope=following`
    end the series before it (cancelling from the first occurrence deletes the event: owner)."""
    await occurrences.cancel_occurrence(
        session,
        actor=user,
        event_id=event_id,
        recurrence_id=recurrence_id,
        scope=scope,
        origin=origin,
        if_match=if_match,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class BusyInterval(BaseModel):
    start: datetime
    end: datetime


class FreeBusy(BaseModel):
    busy: list[BusyInterval]


class UserFreeBusy(BaseModel):
    """One user's busy intervals, or `errors: ["not_found"]` for anyone who is not the
    caller's contact (a user who does not exist looks the same)."""

    busy: list[BusyInterval] | None = None
    errors: list[str] | None = None


class FreeBusyCalendars(BaseModel):
    calendars: dict[str, UserFreeBusy]


def _user_ids(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        ids = [int(part) for part in value.split(",")]
    except ValueError:
        raise ValidationFailed.field(
            ["query", "user_ids"], "a comma-separated list of user ids"
        ) from None
    if not ids or len(ids) > MAX_USERS or any(not 1 <= i <= MAX_BIGINT for i in ids):
        raise ValidationFailed.field(
            ["query", "user_ids"], f"1 to {MAX_USERS} user ids, each a positive integer"
        )
    return list(dict.fromkeys(ids))


class ConflictList(BaseModel):
    items: list[ConflictRead]


@router.get(
    "/freebusy", response_model=FreeBusy | FreeBusyCalendars, response_model_exclude_none=True
)
async def freebusy(
    request: Request,
    user: CurrentUser,
    session: Session,
    window: RequiredWindow,
    user_ids: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="comma-separated ids: your contacts' busy times instead of yours",
        ),
    ] = None,
) -> FreeBusy | FreeBusyCalendars:
    """The caller's busy intervals in a window, merged (touching ones join), clipped to it.
    With `user_ids`, each of those users' busy intervals — for the caller's contacts only —
    and never what fills them."""
    ids = _user_ids(user_ids)
    if ids is not None:
        per_user = await busy_by_user(
            session,
            actor=user,
            user_ids=ids,
            window=(window.start, window.end),
            cache=request.app.state.expansions,
        )
        return FreeBusyCalendars(
            calendars={
                str(uid): UserFreeBusy(errors=["not_found"])
                if busy is None
                else UserFreeBusy(busy=[BusyInterval(start=s, end=e) for s, e in busy])
                for uid, busy in per_user.items()
            }
        )
    busy = await schedule.busy_intervals(
        session,
        user_id=user.id,
        window=(window.start, window.end),
        cache=request.app.state.expansions,
    )
    return FreeBusy(busy=[BusyInterval(start=s, end=e) for s, e in busy])


@router.get("/events/{event_id}/conflicts")
async def event_conflicts(
    event_id: EventId,
    user: CurrentUser,
    session: Session,
    window: OptionalWindow,
) -> ConflictList:
    """What in the caller's calendar overlaps this event's occurrences (viewer+), in the
    window if given, else over the conflict horizon (366 days from the first occurrence)."""
    clashes = await schedule.event_conflicts(
        session,
        actor=user,
        event_id=event_id,
        window=(window.start, window.end) if window else None,
    )
    return ConflictList(items=conflicts_json(clashes))
