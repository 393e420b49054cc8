"""HTTP endpoints of SPEC §10: an event as .ics, the per-user feed, feed tokens, import."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, StringConstraints
from starlette.datastructures import UploadFile

from neo_events.auth.dependencies import CurrentUser, RequestOrigin
from neo_events.conditional import (
    NOT_MODIFIED,
    IfNoneMatch,
    ResourceIfMatch,
    conditional_json,
    require_match,
)
from neo_events.encoding import media_type_of
from neo_events.errors import UnsupportedMediaType, ValidationFailed, problems
from neo_events.events.access import Role
from neo_events.events.router import EventId
from neo_events.events.schemas import TimeZoneName
from neo_events.events.views import event_reads
from neo_events.fields import NO_NUL
from neo_events.ical import feeds, importing, service
from neo_events.ical.schemas import (
    FeedTokenCreate,
    FeedTokenCreated,
    FeedTokenList,
    FeedTokenRead,
    ImportedEvent,
    ImportResult,
    ImportSkipped,
    ImportWarning,
)
from neo_events.infra.idempotency import Idempotent
from neo_events.web import (
    Session,
    TransactionalRoute,
)

router = APIRouter(prefix="/api/v1", tags=["icalendar"], route_class=TransactionalRoute)

CALENDAR = "text/calendar; charset=utf-8"
FeedToken = Annotated[str, StringConstraints(min_length=1, max_length=200), NO_NUL]
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# What a calendar file may arrive as: its own type, or what tools send for "a file".
CALENDAR_TYPES = frozenset({"text/calendar", "text/plain", "application/octet-stream"})
ICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {"schema": {"type": "string"}}}}
}


def _calendar_response(file: service.CalendarFile, filename: str | None = None) -> Response:
    headers = {"ETag": file.etag, "Cache-Control": "private, no-cache"}
    if file.body is None:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(file.body, media_type=CALENDAR, headers=headers)


@router.get(
    "/events/{event_id}.ics",
    response_class=Response,
    responses={**ICS_RESPONSE, **NOT_MODIFIED},
)
async def export_event(
    event_id: EventId,
    user: CurrentUser,
    session: Session,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The event as an RFC 5545 VCALENDAR (viewer+): RRULE, EXDATE, overridden occurrences
    as RECURRENCE-ID VEVENTs, and the VTIMEZONE of its zone."""
    file = await service.event_calendar(
        session, actor=user, event_id=event_id, if_none_match=if_none_match
    )
    return _calendar_response(file, f"event-{event_id}.ics")


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={**ICS_RESPONSE, **NOT_MODIFIED, **problems(404)},
)
async def calendar_feed(
    session: Session,
    token: Annotated[FeedToken, Query(description="a feed token")],
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Every live event the token's owner holds a role on, for calendar apps to subscribe to.
    No access token: the feed token in the URL is the credential (404 if unknown or revoked)."""
    file = await feeds.calendar_feed(session, token=token, if_none_match=if_none_match)
    return _calendar_response(file)


@router.post("/feed-tokens", status_code=status.HTTP_201_CREATED, responses=problems(409))
async def create_feed_token(
    request: Request,
    response: Response,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    body: FeedTokenCreate | None = None,
) -> FeedTokenCreated:
    """A new secret feed URL; the token is shown only in this response."""
    token, secret = await feeds.create_feed_token(
        session, actor=user, name=body.name if body else None, origin=origin
    )
    url = request.url_for("calendar_feed").include_query_params(token=secret)
    response.headers["Location"] = f"{request.url_for('list_feed_tokens').path}/{token.id}"
    return FeedTokenCreated(
        id=token.id, name=token.name, created_at=token.created_at, token=secret, url=str(url)
    )


@router.get("/feed-tokens")
async def list_feed_tokens(user: CurrentUser, session: Session) -> FeedTokenList:
    """Your feed tokens, without their secrets."""
    tokens = await feeds.list_feed_tokens(session, actor=user)
    return FeedTokenList(
        items=[FeedTokenRead.model_validate(t, from_attributes=True) for t in tokens]
    )


@router.get("/feed-tokens/{token_id}", response_model=FeedTokenRead, responses=NOT_MODIFIED)
async def get_feed_token(
    token_id: TokenId, user: CurrentUser, session: Session, if_none_match: IfNoneMatch = None
) -> Response:
    """One of your feed tokens, without its secret (where `POST` said it is)."""
    token = await feeds.get_feed_token(session, actor=user, token_id=token_id)
    return conditional_json(
        FeedTokenRead.model_validate(token, from_attributes=True), if_none_match
    )


@router.delete(
    "/feed-tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(412)
)
async def revoke_feed_token(
    token_id: TokenId,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: ResourceIfMatch = None,
) -> Response:
    """Revoke a token: its feed URL stops working at once. `If-Match` with its ETag: a 412
    if it changed since (its last use)."""
    if if_match is not None:
        token = await feeds.get_feed_token(session, actor=user, token_id=token_id, lock=True)
        require_match(if_match, FeedTokenRead.model_validate(token, from_attributes=True))
    await feeds.revoke_feed_token(session, actor=user, token_id=token_id, origin=origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _calendar_bytes(request: Request) -> bytes:
    media_type = media_type_of(request.headers.get("content-type", ""))
    if media_type == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ValidationFailed.field(["file"], "send the calendar as field `file`")
            return await upload.read()
    if media_type in CALENDAR_TYPES:
        return await request.body()
    raise UnsupportedMediaType(
        "Send the calendar as text/calendar, or as the field `file` of a multipart form."
    )


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/calendar": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post(
    "/events/import",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Idempotent],
    openapi_extra=IMPORT_BODY,
    responses=problems(409),
    response_model=ImportResult,
)
async def import_events(
    request: Request,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    timezone: Annotated[
        TimeZoneName | None,
        Query(
            max_length=64,
            description="IANA zone for floating times and all-day dates when the file has "
            "no X-WR-TIMEZONE (default: your own, `/auth/me/settings`, else UTC)",
        ),
    ] = None,
) -> Response:
    """Create the events of an iCalendar file, all in one transaction. Components that are
    not events, or that the event rules refuse, are listed in `skipped` with the reason;
    repairs and guesses in `warnings`. A file that cannot be read at all is a 422, and so is
    one whose import would take longer than a request may (`import_over_budget`)."""
    report = await importing.import_calendar(
        session,
        actor=user,
        data=await _calendar_bytes(request),
        origin=origin,
        default_timezone=timezone,
        budget=importing.IMPORT_BUDGET,
    )
    pairs = [(event, Role.OWNER) for event, _ in report.created]
    reads = []
    for chunk in range(0, len(pairs), importing.WRITE_CHUNK):  # the loop runs between chunks
        reads += await event_reads(session, pairs[chunk : chunk + importing.WRITE_CHUNK], user.id)

    def answer() -> bytes:
        # 5,000 items are about 4 MB of JSON: written off the event loop, and one item at a
        # time, as no single call may hold the GIL (which the loop needs) for long: pydantic
        # writing the whole answer at once holds it for a fifth of a second. The reads are
        # valid already (model_construct: not validated again).
        items = (
            ImportedEvent.model_construct(**dict(read), ical_uid=uid)
            for read, (_, uid) in zip(reads, report.created, strict=True)
        )
        skipped = (
            ImportSkipped(uid=s.uid, component=s.component, line=s.line, reason=s.reason)
            for s in report.skipped
        )
        warnings = (ImportWarning(uid=n.uid, line=n.line, message=n.message) for n in report.notes)
        return b'{"items":%b,"skipped":%b,"warnings":%b}' % (
            _json_list(items),
            _json_list(skipped),
            _json_list(warnings),
        )

    return Response(
        await asyncio.to_thread(answer),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
    )


def _json_list(models: Iterable[BaseModel]) -> bytes:
    """A JSON array of the models, as pydantic writes a list of them."""
    return b"[" + b",".join(model.model_dump_json().encode() for model in models) + b"]"
