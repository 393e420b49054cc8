"""HTTP endpoints of SPEC §5: share, list, change and remove roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from neo_events.auth.dependencies import CurrentUser, RequestOrigin
from neo_events.errors import problems
from neo_events.events.answers import conflicts_json
from neo_events.events.router import EventId, IfMatch, Policy
from neo_events.events.schedule import ConflictPolicy
from neo_events.events.schemas import PermissionRead
from neo_events.events.views import permission_reads
from neo_events.fields import MAX_BIGINT
from neo_events.sharing import service
from neo_events.sharing.schemas import PermissionList, RoleChange, ShareRequest, ShareResult
from neo_events.web import Session, TransactionalRoute

router = APIRouter(prefix="/api/v1", tags=["sharing"], route_class=TransactionalRoute)

UserId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


@router.post("/events/{event_id}/share", responses=problems(403, 409, 412))
async def share_event(
    event_id: EventId,
    body: ShareRequest,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    conflicts: Policy = ConflictPolicy.WARN,
    if_match: IfMatch = None,
) -> ShareResult:
    """Grant roles (owner only); existing grants are updated. Returns the full list, and the
    event's overlaps with the new people's calendars (someone's private event shows as
    "busy")."""
    _, grants, clashes = await service.share_event(
        session,
        actor=user,
        event_id=event_id,
        grants=body.users,
        origin=origin,
        policy=conflicts,
        if_match=if_match,
    )
    return ShareResult(
        items=await permission_reads(session, grants), conflicts=conflicts_json(clashes)
    )


@router.get("/events/{event_id}/permissions")
async def list_permissions(
    event_id: EventId, user: CurrentUser, session: Session
) -> PermissionList:
    """Who holds which role (viewer+)."""
    grants = await service.list_permissions(session, actor=user, event_id=event_id)
    return PermissionList(items=await permission_reads(session, grants))


@router.put("/events/{event_id}/permissions/{user_id}", responses=problems(403, 409, 412))
async def change_role(
    event_id: EventId,
    user_id: UserId,
    body: RoleChange,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
) -> PermissionRead:
    """Change one user's role (owner only); the last owner cannot be demoted (409)."""
    grant = await service.change_role(
        session,
        actor=user,
        event_id=event_id,
        user_id=user_id,
        role=body.role,
        origin=origin,
        if_match=if_match,
    )
    return (await permission_reads(session, [grant]))[0]


@router.delete(
    "/events/{event_id}/permissions/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(403, 409, 412),
)
async def remove_role(
    event_id: EventId,
    user_id: UserId,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: IfMatch = None,
) -> Response:
    """Remove one user's role (owner only), or your own (any role: leave the event); the
    last owner cannot be removed (409)."""
    await service.remove_role(
        session, actor=user, event_id=event_id, user_id=user_id, origin=origin, if_match=if_match
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
