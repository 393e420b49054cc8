"""HTTP endpoints of SPEC §4 for single events: CRUD, batch, listing."""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response, status
from pydantic import SkipValidation, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.audit.service import Origin
from neo_events.auth.dependencies import Claims, CurrentUser, RequestOrigin
from neo_events.auth.service import principal_of
from neo_events.auth.tokens import TokenClaims
from neo_events.conditional import NOT_MODIFIED, IfNoneMatch
from neo_events.errors import ValidationFailed, problems
from neo_events.events import creation, listing, past_listing, service
from neo_events.events.access import Role
from neo_events.events.answers import clash_dict, etag_of, read_one, written
from neo_events.events.occurrence_pages import (
    my_occurrence_answers,
    occurrences_response,
    page_objects,
)
from neo_events.events.reads import read_event, read_written
from neo_events.events.schedule import ConflictPolicy
from neo_events.events.schemas import (
    BatchCreate,
    EventBatch,
    EventCreate,
    EventCreated,
    EventList,
    EventRead,
    EventUpdate,
    EventUpdated,
    OccurrenceList,
    TimeZoneName,
    UserRef,
    model_fields_set,
)
from neo_events.events.views import event_reads, new_event_reads
from neo_events.fields import MAX_BIGINT, NO_NUL, QueryInstant
from neo_events.history.service import event_as_of
from neo_events.infra.idempotency import Idempotent
from neo_events.protocol import etag_matches, event_etag
from neo_events.reminders.service import my_reminders
from neo_events.web import (
    Session,
    TransactionalRoute,
    get_session,
    read_engine,
    resource_path,
    validated_off_loop,
)

router = APIRouter(prefix="/api/v1", tags=["events"], route_class=TransactionalRoute)

EventId = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="the event's id")]
# Every unsafe request on an event's URL space takes it (`access.check_if_match`).
IfMatch = Annotated[
    str | None,
    Header(
        description='the event\'s ETag or `"<version>"` as last read (or `*`): 412'
        " `precondition_failed`, nothing written, if the event is at another version"
    ),
]
Limit = Annotated[int, Query(ge=1, le=500, description="page size (default 50, max 500)")]
# A viewer may not write (403); a write may clash (409); If-Match may fail (412) or be due (428).
WRITE_PROBLEMS = problems(403, 409, 412, 428)
Policy = Annotated[
    ConflictPolicy,
    Query(
        description="schedule conflicts: warn (list them), reject (409), suggest (409 with"
        " the nearest free slots) or ignore"
    ),
]


@router.post(
    "/events",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Idempotent],
    responses=problems(409),
    response_model=EventCreated,
)
async def create_event(
    body: EventCreate,
    request: Request,
    claims: Claims,
    session: Session,
    origin: RequestOrigin,
    conflicts: Policy = ConflictPolicy.WARN,
) -> Response:
    """Create an event; the caller becomes its owner, at version 1. Overlaps with the
    caller's calendar are listed (`warn`), refused (`reject`: 409) or not checked (`ignore`)."""
    # The caller is known by the token's claims: their sign-in session is checked by the
    # statement that writes the event, which also reads their name (no user query).
    request.state.user_id = claims.user_id
    event, clashes, name = await creation.create_event(
        session,
        actor_id=claims.user_id,
        data=body,
        origin=origin,
        policy=conflicts,
        sign_in=claims.session_id,
        alone=True,
    )
    [read] = new_event_reads([event], UserRef(id=claims.user_id, username=name))
    return written(
        read.model_dump(mode="json"),
        etag_of(read),
        status.HTTP_201_CREATED,
        {"Location": resource_path(request, f"{router.prefix}/events/{event.id}")},
        conflicts=clashes,
    )


@router.post(
    "/events/batch",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Idempotent],
    responses=problems(409),
    response_model=EventBatch,
)
async def create_events(
    body: Annotated[BatchCreate, SkipValidation, Body(title="BatchCreate")],
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    conflicts: Policy = ConflictPolicy.WARN,
) -> Response:
    """Up to 500 events, all or nothing; an error names the item (`["events", 3, "end_time"]`)."""
    batch = await validated_off_loop(BatchCreate, body)
    created = await creation.create_events(
        session, actor=user, items=batch.events, origin=origin, policy=conflicts
    )

    def answer() -> bytes:
        # Up to 100 clashes per item, 50,000 in all: written as JSON directly (as
        # `EventBatch` would write them), not built as 50,000 models first; off the loop.
        reads = new_event_reads(
            [e for e, _ in created], UserRef(id=user.id, username=user.username)
        )
        items = [
            read.model_dump(mode="json") | {"conflicts": [clash_dict(c) for c in clashes]}
            for read, (_, clashes) in zip(reads, created, strict=True)
        ]
        return orjson.dumps({"items": items}, option=orjson.OPT_UTC_Z)

    return Response(
        await asyncio.to_thread(answer),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
    )


async def window_query(
    start_time: QueryInstant | None = None,
    end_time: QueryInstant | None = None,
    start_time_alias: Annotated[QueryInstant | None, Query(alias="startTime")] = None,
    end_time_alias: Annotated[QueryInstant | None, Query(alias="endTime")] = None,
    timezone: Annotated[
        TimeZoneName | None,
        Query(description="IANA zone whose days all-day events occupy (default: each event's)"),
    ] = None,
) -> listing.Window | None:
    """A half-open window from `start_time`/`end_time` (or the challenge's camelCase aliases);
    none if neither is given, 422 if only one is, or `timezone` alone (it places a window's)."""
    start, end = start_time or start_time_alias, end_time or end_time_alias
    if start is None and end is None:
        if timezone is not None:  # an event listed as itself is in its own zone (SPEC §4)
            raise ValidationFailed.field(["query", "timezone"], "needs start_time and end_time")
        return None
    if start is None or end is None:
        missing = "start_time" if start is None else "end_time"
        raise ValidationFailed.field(
            ["query", missing], "a window needs both start_time and end_time"
        )
    return listing.Window(start, end, timezone)


async def required_window(
    window: Annotated[listing.Window | None, Depends(window_query)],
) -> listing.Window:
    if window is None:
        raise ValidationFailed.field(["query", "start_time"], "a window is required")
    return window


SearchText = Annotated[str, StringConstraints(max_length=200), NO_NUL]  # characters
OptionalWindow = Annotated[listing.Window | None, Depends(window_query)]
RequiredWindow = Annotated[listing.Window, Depends(required_window)]


@router.get("/events", response_model=EventList | OccurrenceList)
async def list_events(
    request: Request,
    user: CurrentUser,
    session: Session,
    window: OptionalWindow,
    q: Annotated[SearchText | None, Query(description="text in title or description")] = None,
    location: Annotated[SearchText | None, Query()] = None,
    role: Role | None = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    as_of: Annotated[
        QueryInstant | None, Query(description="list as things stood at this instant")
    ] = None,
) -> EventList | Response:
    """Without a window: events by (start_time, id). With one: its occurrences, by start."""
    filters = listing.Filters(q=q or None, location=location or None, role=role)
    if window is None:
        if as_of is None:
            pairs, next_cursor = await listing.list_events(
                session, user_id=user.id, filters=filters, limit=limit, cursor=cursor
            )
        else:
            pairs, next_cursor = await past_listing.list_events_as_of(
                session, user_id=user.id, at=as_of, filters=filters, limit=limit, cursor=cursor
            )
        return EventList(items=await event_reads(session, pairs, user.id), next_cursor=next_cursor)
    state = request.app.state
    if as_of is None:
        rows, next_cursor = await listing.list_occurrences(
            session,
            user_id=user.id,
            window=window,
            filters=filters,
            limit=limit,
            cursor=cursor,
            cache=state.expansions,
        )
        load, objects_cache = listing.loader_for(session), state.event_objects
    else:
        rows, load, next_cursor = await past_listing.list_occurrences_as_of(
            session,
            user_id=user.id,
            at=as_of,
            window=window,
            filters=filters,
            limit=limit,
            cursor=cursor,
            cache=state.expansions,
        )
        # A past version's updated_at is its version row's, not the live row's: not cached.
        objects_cache = None
    keys = list({row.event.id: row.event for row in rows}.values())
    objects, loaded = await page_objects(session, keys, load, objects_cache, viewer_id=user.id)
    if loaded < len(keys):  # the rest would not fit: the page ends before them
        unloaded = {key.id for key in keys[loaded:]}
        rows = rows[: next(i for i, row in enumerate(rows) if row.event.id in unloaded)]
        next_cursor = listing.occurrence_cursor(rows[-1].event.id, rows[-1].occurrence)
    return occurrences_response(
        (
            (objects[row.event.id], row.occurrence, row.event.is_recurring)
            for row in rows
            if row.event.id in objects
        ),
        next_cursor,
        window.zone,
        await my_occurrence_answers(session, user.id, keys[:loaded], objects),
    )


@router.get(
    "/events/{event_id}",
    response_model=EventRead,
    responses=NOT_MODIFIED,
)
async def get_event(
    event_id: EventId,
    request: Request,
    claims: Claims,
    if_none_match: IfNoneMatch = None,
    as_of: Annotated[
        QueryInstant | None, Query(description="the event as it was at this instant")
    ] = None,
) -> Response:
    """The event with its permissions (viewer+); `If-None-Match` with its ETag gives 304.

    With `as_of`, its content as of that instant (404 if it did not exist then); permissions
    and `my_role` are always today's."""
    # Every answer a `Response` made here, none through a `Response` parameter: so the
    # route's dependencies are solved by its plan (`solving.Plan`), not FastAPI's solver.
    if as_of is None:  # one statement, with the worker's parts (`held_parts`)
        held = request.app.state.held_parts
        document = await read_event(read_engine(request), claims, event_id, held)
        request.state.user_id = claims.user_id
        if etag_matches(if_none_match, document.etag):
            return Response(status_code=304, headers={"ETag": document.etag})
        return Response(
            document.json(request.app.state.event_objects),
            media_type="application/json",
            headers={"ETag": document.etag},
        )
    session = await get_session(request)
    user = (await principal_of(session, claims)).user
    request.state.user_id = user.id
    event, role = await event_as_of(session, actor=user, event_id=event_id, at=as_of)
    # My reminders are part of the object and change no version: they are in its ETag.
    mine = await my_reminders(session, user.id, [event.id])
    etag = event_etag(event.version, mine.get(event.id, []))
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    read = await read_one(session, event, role, user.id, mine)
    return written(read.model_dump(mode="json"), etag, status.HTTP_200_OK, {}, conflicts=None)


async def _update(
    event_id: int,
    body: EventUpdate,
    claims: TokenClaims,
    session: AsyncSession,
    origin: Origin,
    request: Request,
    if_match: str | None,
    policy: ConflictPolicy,
) -> Response:
    # The caller is known by the token's claims: their sign-in session is checked by the
    # statement that reads the event's row (a 401 before any 404), not by loading their user.
    # The request's log line names the token's user whatever the answer (a 409 or 412 too).
    request.state.user_id = claims.user_id
    result = await service.update_event(
        session,
        actor_id=claims.user_id,
        event_id=event_id,
        changes=model_fields_set(body),
        origin=origin,
        preconditions=service.Preconditions(
            if_match=if_match,
            base_version=body.base_version,
            required=request.app.state.settings.require_if_match,
        ),
        policy=policy,
        sign_in=claims.session_id,
        alone=True,
    )
    # The object as the writer now sees it: the document read before the write (under the
    # row's lock, or with its xmin), edited, or else one statement in the write's transaction.
    document = result.before.after(result.event) if result.before is not None else None
    if document is None:
        document = await read_written(session, claims.user_id, claims.session_id, event_id)
    return written(
        document.object(request.app.state.event_objects),
        document.etag,
        status.HTTP_200_OK,
        {},
        merged=result.merged,
        conflicts=result.clashes,
    )


@router.put("/events/{event_id}", responses=WRITE_PROBLEMS, response_model=EventUpdated)
async def replace_event(
    event_id: EventId,
    body: EventUpdate,
    request: Request,
    claims: Claims,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
    conflicts: Policy = ConflictPolicy.WARN,
) -> Response:
    """Change any subset of fields (editor+); each change is a new version. A move is
    checked against the calendars of everyone holding a role on the event."""
    return await _update(event_id, body, claims, session, origin, request, if_match, conflicts)


@router.patch("/events/{event_id}", responses=WRITE_PROBLEMS, response_model=EventUpdated)
async def patch_event(
    event_id: EventId,
    body: EventUpdate,
    request: Request,
    claims: Claims,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
    conflicts: Policy = ConflictPolicy.WARN,
) -> Response:
    """Same as PUT: a partial update."""
    return await _update(event_id, body, claims, session, origin, request, if_match, conflicts)


@router.delete(
    "/events/{event_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(403, 412)
)
async def delete_event(
    event_id: EventId,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
) -> Response:
    """Owner only; the event stays as a tombstone for history, audit and sync."""
    await service.delete_event(
        session, actor=user, event_id=event_id, origin=origin, if_match=if_match
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
