"""HTTP endpoints of SPEC §6: history, snapshots, rollback, changelog, diff."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import HTMLResponse

from neo_events.auth.dependencies import CurrentUser, RequestOrigin
from neo_events.conditional import NOT_MODIFIED, IfNoneMatch
from neo_events.errors import problems
from neo_events.events.answers import conflicts_json, read_one, with_etag
from neo_events.events.router import EventId, IfMatch, Limit, Policy
from neo_events.events.schedule import ConflictPolicy
from neo_events.events.schemas import EventCreated, UserRef
from neo_events.events.views import content_values, user_refs
from neo_events.fields import MAX_INT
from neo_events.history import service
from neo_events.history.diff import PAGE_STYLE, render_html
from neo_events.history.schemas import (
    Changelog,
    ChangelogEntry,
    Diff,
    FieldChange,
    VersionList,
    VersionRead,
    VersionSummary,
)
from neo_events.protocol import content_etag, etag_for, etag_matches
from neo_events.web import (
    Session,
    TransactionalRoute,
    inline_style_source,
)

router = APIRouter(prefix="/api/v1", tags=["history"], route_class=TransactionalRoute)

VersionId = Annotated[int, Path(ge=1, le=MAX_INT, description="the per-event version number")]
IMMUTABLE = "private, max-age=31536000, immutable"
# What a version's snapshot answer looks like, in its ETag: a fixed version's answer changes
# only with a new form, and its ETag with it, so a client revalidating its copy gets the new
# answer, not a 304 (form 2: every content field, as the event object shows it).
SNAPSHOT_FORM = "s2"
# The same for a diff of two versions: its answer changes only with a new form (and the page
# with the event's title, which it shows).
DIFF_FORM = "d1"
# The API's policy (`middleware.API_CSP`) plus the diff page's own inline style, by its hash:
# under `default-src 'none'` alone Chromium drops the style, highlighting and all.
DIFF_PAGE_CSP = (
    f"default-src 'none'; style-src {inline_style_source(PAGE_STYLE)}; frame-ancestors 'none'"
)


def _ref(user_id: int | None, refs: dict[int, UserRef]) -> UserRef | None:
    return refs[user_id] if user_id is not None else None


@router.get("/events/{event_id}/history")
async def list_history(
    event_id: EventId,
    user: CurrentUser,
    session: Session,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> VersionList:
    """Every version, newest first, with who, when, what kind and a one-line summary."""
    entries, next_cursor = await service.list_history(
        session, actor=user, event_id=event_id, limit=limit, cursor=cursor
    )
    refs = await user_refs(session, [e.row.changed_by_id for e in entries])
    return VersionList(
        items=[
            VersionSummary(
                version=e.row.version,
                changed_by=_ref(e.row.changed_by_id, refs),
                changed_at=e.row.changed_at,
                change_type=e.row.change_type,
                rolled_back_to=e.row.rolled_back_to,
                summary=e.summary,
            )
            for e in entries
        ],
        next_cursor=next_cursor,
    )


@router.get(
    "/events/{event_id}/history/{version}",
    response_model=VersionRead,
    responses=NOT_MODIFIED,
)
async def get_version(
    event_id: EventId,
    version: VersionId,
    response: Response,
    user: CurrentUser,
    session: Session,
    if_none_match: IfNoneMatch = None,
) -> VersionRead | Response:
    """One version's full snapshot; immutable, so clients may cache it for good
    (`If-None-Match` with its ETag gives 304, SPEC §2)."""
    past, row = await service.get_version(session, actor=user, event_id=event_id, version=version)
    headers = {"Cache-Control": IMMUTABLE, "ETag": etag_for(f"{row.version}-{SNAPSHOT_FORM}")}
    if etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    refs = await user_refs(session, [row.changed_by_id])
    response.headers.update(headers)
    return VersionRead(
        **content_values(past),
        event_id=row.event_id,
        version=row.version,
        changed_by=_ref(row.changed_by_id, refs),
        changed_at=row.changed_at,
        change_type=row.change_type,
        rolled_back_to=row.rolled_back_to,
    )


@router.post("/events/{event_id}/rollback/{version}", responses=problems(403, 409, 412))
async def rollback(
    event_id: EventId,
    version: VersionId,
    response: Response,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
    conflicts: Policy = ConflictPolicy.WARN,
) -> EventCreated:
    """Write a new version equal to an old one (editor+); history is never rewritten. A
    rollback that moves the event is checked for schedule conflicts as an edit is."""
    event, role, clashes = await service.rollback_event(
        session,
        actor=user,
        event_id=event_id,
        version=version,
        origin=origin,
        if_match=if_match,
        policy=conflicts,
    )
    read = await read_one(session, event, role, user.id)
    with_etag(response, read)
    return EventCreated(**dict(read), conflicts=conflicts_json(clashes))


@router.get("/events/{event_id}/changelog")
async def changelog(
    event_id: EventId,
    user: CurrentUser,
    session: Session,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Changelog:
    """Content versions and sharing changes, oldest first, each with a readable summary."""
    items, next_cursor = await service.changelog(
        session, actor=user, event_id=event_id, limit=limit, cursor=cursor
    )
    ids: list[int | None] = []
    for item in items:
        if item.version is not None:
            ids.append(item.version.changed_by_id)
        elif item.audit is not None:
            ids += [item.audit.actor_id, (item.audit.details or {}).get("user_id")]
    refs = await user_refs(session, ids)
    entries = []
    for item in items:
        changes = [FieldChange.model_validate(c) for c in item.changes]
        if item.version is not None:
            entries.append(
                ChangelogEntry(
                    version=item.version.version,
                    changed_by=_ref(item.version.changed_by_id, refs),
                    changed_at=item.at,
                    change_type=item.version.change_type,
                    summary=item.summary,
                    changes=changes,
                    rolled_back_to=item.version.rolled_back_to,
                )
            )
        elif item.audit is not None:
            details = item.audit.details or {}
            entries.append(
                ChangelogEntry(
                    version=None,
                    changed_by=_ref(item.audit.actor_id, refs),
                    changed_at=item.at,
                    change_type=service.SHARING_ACTIONS[item.audit.action],
                    summary=item.summary,
                    changes=changes,
                    user=_ref(details.get("user_id"), refs),
                )
            )
    return Changelog(items=entries, next_cursor=next_cursor)


@router.get(
    "/events/{event_id}/diff/{v1}/{v2}",
    response_model=Diff,
    responses={
        200: {"content": {"text/html": {}}, "description": "JSON, or a side-by-side page"},
        **NOT_MODIFIED,
    },
)
async def diff(
    event_id: EventId,
    v1: VersionId,
    v2: VersionId,
    response: Response,
    user: CurrentUser,
    session: Session,
    accept: Annotated[str | None, Header()] = None,
    if_none_match: IfNoneMatch = None,
) -> Diff | Response:
    """The content fields that differ from v1 to v2 (either order); `Accept: text/html` gives
    a readable page with removals struck through in red and additions in green.
    `If-None-Match` with its ETag gives 304, before any diff is made."""
    event, before, after = await service.versions_to_compare(
        session, actor=user, event_id=event_id, from_version=v1, to_version=v2
    )
    as_page = bool(accept and _prefers_html(accept))
    tag = f"diff-{v1}-{v2}-{DIFF_FORM}"  # two fixed versions: a fixed diff
    headers = {"ETag": content_etag(f"{tag}\n{event.title}".encode()) if as_page else etag_for(tag)}
    if as_page:  # it shows the event's title as it is now: revalidated (its ETag), not kept
        headers |= {"Cache-Control": "private, no-cache", "Content-Security-Policy": DIFF_PAGE_CSP}
    if etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    changes = await service.diff_versions(before, after)
    if as_page:
        page = await asyncio.to_thread(  # two 4 MB versions side by side held the loop 148 ms
            partial(
                render_html,
                event_id=event.id,
                title=event.title,
                from_version=v1,
                to_version=v2,
                changes=changes,
            )
        )
        return HTMLResponse(page, headers=headers)
    response.headers.update(headers)
    return Diff(
        event_id=event.id,
        from_version=v1,
        to_version=v2,
        changes=[FieldChange.model_validate(c) for c in changes],
    )


def _prefers_html(accept: str) -> bool:
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return "text/html" in kinds and (
        "application/json" not in kinds
        or kinds.index("text/html") < kinds.index("application/json")
    )
