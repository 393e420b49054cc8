"""Request dependencies that identify the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from neo_events.audit.service import Origin
from neo_events.auth import service
from neo_events.auth.tokens import TokenClaims
from neo_events.errors import NotAuthenticated
from neo_events.models import User
from neo_events.web import Session


async def get_authenticator(request: Request) -> service.Authenticator:
    auth: service.Authenticator = request.app.state.authenticator
    return auth


Authenticator = Annotated[service.Authenticator, Depends(get_authenticator)]


class _BearerClaims(HTTPBearer):
    """The bearer token's checked claims. Its session is not yet known to be open: a route
    that takes these instead of `CurrentUser` checks `service.signed_in` in its own query
    (one round trip for a read) and sets `request.state.user_id` once it has.

    One dependency, the OpenAPI scheme itself, rather than a function of the scheme and of
    `Authenticator`: FastAPI solves each dependency of a request at 30-80 µs of CPU, and
    every authenticated request takes these (issue #16)."""

    async def __call__(self, request: Request) -> TokenClaims:  # type: ignore[override]
        credentials = await super().__call__(request)  # None unless a Bearer credential
        if credentials is None:
            raise NotAuthenticated("Send an access token: 'Authorization: Bearer <token>'.")
        return service.access_claims(request.app.state.authenticator, credentials.credentials)


get_claims = _BearerClaims(
    auto_error=False, scheme_name="HTTPBearer", description="An access token from /auth/login"
)
Claims = Annotated[TokenClaims, Depends(get_claims)]


async def get_principal(request: Request, session: Session, claims: Claims) -> service.Principal:
    """The caller, whose sign-in session is open: read once a request, by whichever of its
    dependencies asks first (an idempotency key's owner, the route's user)."""
    principal: service.Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = request.state.principal = await service.principal_of(session, claims)
        request.state.user_id = principal.user.id
    return principal


Principal = Annotated[service.Principal, Depends(get_principal)]


async def get_current_user(principal: Principal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_origin(request: Request) -> Origin:
    return Origin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


RequestOrigin = Annotated[Origin, Depends(get_origin)]
