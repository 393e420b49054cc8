"""CalDAV over HTTP (SPEC §15): discovery, PROPFIND, REPORT, GET, PUT, DELETE, OPTIONS.

Paths: `/dav/` (root), `/dav/principals/{user}/`, `/dav/calendars/{user}/` (the home) and its
one calendar `/dav/calendars/{user}/events/`, whose members are `{name}.ics`. Another user's
paths are 404, like any event the caller holds no role on. Errors are DAV:error bodies naming
the failed precondition (RFC 4918 §16), which is what CalDAV clients read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from neo_events.auth.dependencies import get_origin
from neo_events.caldav import auth, http, proppatch, props, rendering, reports, service, writes, xml
from neo_events.caldav.http import DAV_HEADER, ICS_TYPE, ROOT, XML_TYPE
from neo_events.caldav.service import DavError
from neo_events.caldav.xml import CALDAV, element
from neo_events.models import User
from neo_events.web import Session, TransactionalRoute

router = APIRouter(route_class=TransactionalRoute, include_in_schema=False)

METHODS = [
    "OPTIONS",
    "GET",
    "HEAD",
    "PUT",
    "DELETE",
    "PROPFIND",
    "PROPPATCH",
    "REPORT",
    "MKCALENDAR",
    "MKCOL",
]


@router.api_route("/.well-known/caldav", methods=METHODS)
async def well_known(request: Request) -> Response:
    """RFC 6764 discovery: the context path is /dav/."""
    return RedirectResponse(ROOT, status_code=301)


@router.api_route("/", methods=["PROPFIND"])  # clients given just the server's address
@router.api_route("/dav", methods=METHODS)
@router.api_route("/dav/{path:path}", methods=METHODS)
async def dav(request: Request, session: Session, path: str = "") -> Response:
    if request.method == "OPTIONS":
        return Response(status_code=200, headers=_options_headers())
    http.check_path(request, path)  # before anything is looked up
    user = await auth.authenticate(request, session)
    if request.method in ("MKCALENDAR", "MKCOL"):
        return await _mkcalendar(request, session, user, "root", None)
    parts = [p for p in path.split("/") if p]
    kind, name = _locate(parts, user)
    handler = _HANDLERS.get(request.method)
    if handler is None:
        raise DavError(405, None, "Method not allowed here.", "method_not_allowed")
    return await handler(request, session, user, kind, name)


def _options_headers() -> dict[str, str]:
    return {"DAV": DAV_HEADER, "Allow": ", ".join(METHODS), "Content-Length": "0"}


def _locate(parts: list[str], user: User) -> tuple[str, str | None]:
    """The kind of resource a path names for this user; 404 for anyone else's."""
    mine = user.username_key
    if not parts:
        return "root", None
    if parts[0] == "principals" and len(parts) == 2 and parts[1].lower() == mine:
        return "principal", None
    if parts[0] == "calendars" and len(parts) >= 2 and parts[1].lower() == mine:
        if len(parts) == 2:
            return "home", None
        if parts[2] == "events":
            if len(parts) == 3:
                return "calendar", None
            if len(parts) == 4:
                return "item", parts[3]
    raise http.not_found()


# GET, PUT, DELETE and the refusals


async def _get(request: Request, session: Any, user: User, kind: str, name: str | None) -> Response:
    if kind != "item" or name is None:
        raise DavError(403, None, "Only calendar objects can be read with GET.", "not_a_resource")
    item = (await service.items_named(session, user, [name])).get(name)
    if item is None:
        raise http.not_found()
    headers = {"ETag": item.etag}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and item.etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    text = (await rendering.render(session, [item], caches=service.Caches.of(request.app.state)))[
        item.event.id
    ]
    if request.method == "HEAD":
        return Response(
            status_code=200,
            headers=headers | {"Content-Length": str(len(text))},
            media_type=ICS_TYPE,
        )
    return Response(text, headers=headers, media_type=ICS_TYPE)


async def _put(request: Request, session: Any, user: User, kind: str, name: str | None) -> Response:
    if kind != "item" or name is None:
        raise DavError(403, None, "Calendar objects go inside the calendar.", "not_a_resource")
    media = request.headers.get("content-type", "text/calendar").split(";")[0].strip().lower()
    if media not in ("text/calendar", "application/octet-stream", ""):
        raise DavError(
            415,
            (CALDAV, "supported-calendar-data"),
            "Send text/calendar.",
            "unsupported_media_type",
        )
    written = await writes.put_item(
        session,
        user=user,
        name=name,
        data=await request.body(),
        if_match=request.headers.get("if-match"),
        if_none_match=request.headers.get("if-none-match"),
        origin=await get_origin(request),
    )
    # an ETag only for a resource that is the body sent (RFC 4791 §5.3.4): else the client
    # reads what was kept
    headers = {"ETag": written.item.etag} if written.as_sent else {}
    return Response(status_code=201 if written.created else 204, headers=headers)


async def _delete(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    if kind != "item" or name is None:
        raise DavError(403, None, "Collections cannot be deleted.", "not_a_resource")
    await writes.delete_item(
        session,
        user=user,
        name=name,
        if_match=request.headers.get("if-match"),
        origin=await get_origin(request),
    )
    return Response(status_code=204)


async def _mkcalendar(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    raise DavError(
        403,
        (CALDAV, "calendar-collection-location-ok"),
        "There is one calendar per user, holding every event you have a role on.",
        "cannot_create_calendar",
    )


_HANDLERS = {
    "PROPFIND": props.propfind,
    "REPORT": reports.report,
    "GET": _get,
    "HEAD": _get,
    "PUT": _put,
    "DELETE": _delete,
    "PROPPATCH": proppatch.proppatch,
    "MKCALENDAR": _mkcalendar,
    "MKCOL": _mkcalendar,
}


async def dav_error_response(request: Request, exc: Exception) -> Response:
    """A DavError as the DAV:error body CalDAV clients read."""
    assert isinstance(exc, DavError)
    conditions = [element(*exc.condition)] if exc.condition is not None else []
    body = xml.error(conditions, exc.detail)
    headers = {"DAV": DAV_HEADER}
    if exc.status == 401:
        headers["WWW-Authenticate"] = auth.REALM
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    if exc.status == 405:
        headers["Allow"] = ", ".join(METHODS)
    return Response(body, status_code=exc.status, media_type=XML_TYPE, headers=headers)
