"""HTTP endpoints for app passwords (SPEC §15): create (shown once), list, read, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from neo_events.auth import app_passwords
from neo_events.auth.dependencies import CurrentUser, RequestOrigin
from neo_events.conditional import (
    NOT_MODIFIED,
    IfNoneMatch,
    ResourceIfMatch,
    conditional_json,
    require_match,
    tag_of,
)
from neo_events.errors import problems
from neo_events.fields import NO_CONTROLS, NO_NUL
from neo_events.web import (
    Session,
    TransactionalRoute,
)

router = APIRouter(prefix="/api/v1", tags=["caldav"], route_class=TransactionalRoute)

PasswordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PasswordName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NO_NUL, NO_CONTROLS
]


class AppPasswordCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: PasswordName = Field(description='which device or app uses it ("Phone", "vdirsyncer")')


class AppPasswordRead(BaseModel):
    """An app password as listed: never its secret."""

    id: int
    name: str
    created_at: datetime


class AppPasswordCreated(AppPasswordRead):
    """Shown once: the secret, and where a CalDAV client points."""

    password: str = Field(description="the password to give the calendar app, with your username")
    username: str
    caldav_url: str = Field(description="the server URL to give the calendar app")


class AppPasswordList(BaseModel):
    items: list[AppPasswordRead]


@router.post("/app-passwords", status_code=status.HTTP_201_CREATED, responses=problems(409))
async def create_app_password(
    body: AppPasswordCreate,
    request: Request,
    response: Response,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
) -> AppPasswordCreated:
    """A new password for one calendar app; the secret is shown only in this response."""
    row, secret = await app_passwords.create_app_password(
        session, actor=user, name=body.name, origin=origin
    )
    response.headers["Location"] = f"{request.url_for('list_app_passwords').path}/{row.id}"
    # its GET's tag (without the secret)
    response.headers["ETag"] = tag_of(AppPasswordRead.model_validate(row, from_attributes=True))
    return AppPasswordCreated(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        password=secret,
        username=user.username,
        caldav_url=str(request.base_url.replace(path="/dav/")),
    )


@router.get("/app-passwords")
async def list_app_passwords(user: CurrentUser, session: Session) -> AppPasswordList:
    """Your app passwords, without their secrets."""
    rows = await app_passwords.list_app_passwords(session, actor=user)
    return AppPasswordList(
        items=[AppPasswordRead.model_validate(r, from_attributes=True) for r in rows]
    )


@router.get(
    "/app-passwords/{password_id}",
    response_model=AppPasswordRead,
    responses={**NOT_MODIFIED, **problems(404)},
)
async def get_app_password(
    password_id: PasswordId,
    user: CurrentUser,
    session: Session,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One of your app passwords, without its secret (where `POST` said it is)."""
    row = await app_passwords.get_app_password(session, actor=user, password_id=password_id)
    return conditional_json(
        AppPasswordRead.model_validate(row, from_attributes=True), if_none_match
    )


@router.delete(
    "/app-passwords/{password_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(404, 412),
)
async def revoke_app_password(
    password_id: PasswordId,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: ResourceIfMatch = None,
) -> Response:
    """Revoke an app password: the calendar app using it is signed out at once. `If-Match`
    with its ETag: a 412 if it changed since (its last use)."""
    if if_match is not None:
        row = await app_passwords.get_app_password(
            session, actor=user, password_id=password_id, lock=True
        )
        require_match(if_match, AppPasswordRead.model_validate(row, from_attributes=True))
    await app_passwords.revoke_app_password(
        session, actor=user, password_id=password_id, origin=origin
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
