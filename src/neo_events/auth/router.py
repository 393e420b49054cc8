"""HTTP endpoints of SPEC §3: register, login, refresh, logout, me, user lookup."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, StringConstraints, ValidationError

from neo_events.auth import preferences, service
from neo_events.auth.dependencies import Authenticator, CurrentUser, Principal, RequestOrigin
from neo_events.auth.login_form import FORM_TYPES, login_form
from neo_events.auth.schemas import (
    AccountSettings,
    AccountSettingsPatch,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenResponse,
    UserList,
    UserPublic,
    UserRead,
)
from neo_events.conditional import (
    NOT_MODIFIED,
    IfNoneMatch,
    ResourceIfMatch,
    conditional_json,
    require_match,
)
from neo_events.encoding import body_media_type
from neo_events.errors import BadRequest, UnsupportedMediaType, ValidationFailed, problems
from neo_events.fields import NO_NUL
from neo_events.web import (
    Session,
    TransactionalRoute,
    is_json,
    resource_path,
)

router = APIRouter(prefix="/api/v1", tags=["auth"], route_class=TransactionalRoute)


def _token_response(issued: service.IssuedTokens) -> TokenResponse:
    return TokenResponse(
        user=UserRead.model_validate(issued.user),
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
    )


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, responses=problems(409))
async def register(
    body: RegisterRequest,
    request: Request,
    response: Response,
    session: Session,
    auth: Authenticator,
    origin: RequestOrigin,
) -> TokenResponse:
    """A new account, signed in. `Location` is `/auth/me`, where the new user's token reads
    the user this answer shows (the API has no other address for a user)."""
    issued = await service.register(
        session,
        auth,
        username=body.username,
        email=str(body.email),
        password=body.password,
        origin=origin,
    )
    response.headers["Location"] = resource_path(request, f"{router.prefix}/auth/me")
    return _token_response(issued)


async def _login_body(request: Request) -> LoginRequest:
    data: Any
    if body_media_type(request.scope["headers"]) in FORM_TYPES:
        # bounded, and parsed once: with rate limits on, the login budget's peek already did
        data = await login_form(request.scope, request.body)
    elif is_json(request):
        try:
            data = await request.json()
        except (ValueError, RecursionError):  # nested past the parser's depth: a 500 before
            raise BadRequest("The body is not valid JSON.", code="invalid_json") from None
    else:
        raise UnsupportedMediaType("Send JSON or an OAuth2 password form.")
    try:
        return LoginRequest.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            errors=[
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
            ]
        ) from None


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


@router.post(
    "/auth/login",
    responses=problems(401),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": _schema(LoginRequest)},
                "application/json": {"schema": _schema(LoginRequest)},
            },
        }
    },
)
async def login(
    request: Request, session: Session, auth: Authenticator, origin: RequestOrigin
) -> TokenResponse:
    """OAuth2 password flow (form) or JSON; `username` may be the email address."""
    body = await _login_body(request)
    issued = await service.login(
        session, auth, identifier=body.username, password=body.password, origin=origin
    )
    return _token_response(issued)


@router.post("/auth/refresh", responses=problems(401))
async def refresh(
    body: RefreshRequest, session: Session, auth: Authenticator, origin: RequestOrigin
) -> TokenResponse:
    issued = await service.refresh(session, auth, refresh_token=body.refresh_token, origin=origin)
    return _token_response(issued)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    principal: Principal,
    session: Session,
    auth: Authenticator,
    origin: RequestOrigin,
    body: LogoutRequest | None = None,
) -> Response:
    await service.logout(
        session,
        auth,
        principal=principal,
        refresh_token=body.refresh_token if body else None,
        origin=origin,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/me", response_model=UserRead, responses=NOT_MODIFIED)
async def me(user: CurrentUser, if_none_match: IfNoneMatch = None) -> Response:
    """The signed-in user; `If-None-Match` with its ETag gives 304."""
    return conditional_json(UserRead.model_validate(user), if_none_match)


@router.get("/auth/me/settings", response_model=AccountSettings, responses=NOT_MODIFIED)
async def my_settings(user: CurrentUser, if_none_match: IfNoneMatch = None) -> Response:
    """My own settings: `timezone`, where my all-day events from calendar apps (CalDAV) and
    imports fall when they name no zone (null: not set, UTC). `If-None-Match` gives 304."""
    return conditional_json(preferences.settings_of(user), if_none_match)


@router.patch("/auth/me/settings", response_model=AccountSettings, responses=problems(412))
async def change_my_settings(
    body: AccountSettingsPatch,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: ResourceIfMatch = None,
) -> Response:
    """Change my settings: the fields sent (`timezone`: an IANA name, or null to unset).
    Events keep the zone they were written with. `If-Match` with the ETag of a GET: a 412
    if they changed since (a client setting a zone only where none is set)."""
    if if_match is not None:
        require_match(if_match, await preferences.locked_settings(session, user))
    changed = await preferences.change_settings(session, user, body, origin)
    return conditional_json(changed, None)


@router.get("/users")
async def find_users(
    user: CurrentUser,
    session: Session,
    q: Annotated[
        str,
        StringConstraints(min_length=1, max_length=254),
        NO_NUL,
        Query(description="exact username or email"),
    ],
) -> UserList:
    """Exact, case-insensitive lookup, to find whom to share with without listing everyone."""
    users = await service.find_users(session, q)
    return UserList(items=[UserPublic.model_validate(u) for u in users])
