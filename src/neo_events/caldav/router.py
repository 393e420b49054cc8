"""CalDAV over HTTP (SPEC §15): discovery, PROPFIND, REPORT, GET, PUT, DELETE, OPTIONS.

Paths: `/dav/` (root), `/dav/principals/{user}/`, `/dav/calendars/{user}/` (the home) and its
one calendar `/dav/calendars/{user}/events/`, whose members are `{name}.ics`. Another user's
paths are 404, like any event the caller holds no role on. Errors are DAV:error bodies naming
the failed precondition (RFC 4918 §16), which is what CalDAV clients read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from neo_events.auth.dependencies import get_origin
from neo_events.caldav import auth, service, xml
from neo_events.caldav.service import DavError, Item
from neo_events.caldav.xml import CALDAV, CS, DAV, element, tag
from neo_events.events.access import Role
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
DAV_HEADER = "1, 3, calendar-access"
XML_TYPE = "application/xml; charset=utf-8"
ICS_TYPE = "text/calendar; charset=utf-8"
ITEM_TYPE = "text/calendar; charset=utf-8; component=vevent"
ROOT = "/dav/"


def principal_href(user: User) -> str:
    return f"/dav/principals/{quote(user.username)}/"


def home_href(user: User) -> str:
    return f"/dav/calendars/{quote(user.username)}/"


def calendar_href(user: User) -> str:
    return f"{home_href(user)}events/"


def item_href(user: User, name: str) -> str:
    return calendar_href(user) + quote(name)


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
    raise _not_found()


def _not_found() -> DavError:
    return DavError(404, None, "No such resource.", "not_found")


def _depth(request: Request) -> int:
    value = request.headers.get("depth", "infinity").strip().lower()
    if value == "0":
        return 0
    return 1  # "1", and "infinity" as 1: nothing here nests deeper (Radicale does the same)


async def _body(request: Request) -> ET.Element | None:
    try:
        return xml.parse(await request.body())
    except xml.BadXml as exc:
        raise DavError(400, None, f"The body cannot be read: {exc}", "invalid_xml") from None


def _multistatus(body: bytes) -> Response:
    return Response(body, status_code=207, media_type=XML_TYPE)


# PROPFIND


ALLPROP = {
    "root": [tag(DAV, "resourcetype"), tag(DAV, "displayname")],
    "principal": [tag(DAV, "resourcetype"), tag(DAV, "displayname")],
    "home": [tag(DAV, "resourcetype"), tag(DAV, "displayname")],
    "calendar": [
        tag(DAV, "resourcetype"),
        tag(DAV, "displayname"),
        tag(CS, "getctag"),
        tag(DAV, "sync-token"),
    ],
    "item": [
        tag(DAV, "resourcetype"),
        tag(DAV, "getetag"),
        tag(DAV, "getcontenttype"),
        tag(DAV, "getlastmodified"),
    ],
}


class Context:
    """What property values need, gathered once per request."""

    def __init__(self, request: Request, session: Any, user: User) -> None:
        self.request = request
        self.session = session
        self.user = user
        self._position: int | None = None
        self.texts: dict[int, bytes] = {}

    async def position(self) -> int:
        if self._position is None:
            self._position = await service.sync_position(self.session, self.user)
        return self._position


def _hrefs(*values: str) -> list[ET.Element]:
    return [xml.href(v) for v in values]


def _privileges(names: list[tuple[str, str]]) -> ET.Element:
    node = element(DAV, "current-user-privilege-set")
    for namespace, name in names:
        node.append(element(DAV, "privilege", None, element(namespace, name)))
    return node


ROLE_PRIVILEGES = {
    Role.VIEWER: [(DAV, "read"), (DAV, "read-current-user-privilege-set")],
    Role.EDITOR: [
        (DAV, "read"),
        (DAV, "read-current-user-privilege-set"),
        (DAV, "write-content"),
    ],
    Role.OWNER: [
        (DAV, "read"),
        (DAV, "read-current-user-privilege-set"),
        (DAV, "write"),
        (DAV, "write-content"),
        (DAV, "write-properties"),
        (DAV, "bind"),
        (DAV, "unbind"),
    ],
}
COLLECTION_PRIVILEGES = [
    (DAV, "read"),
    (DAV, "read-current-user-privilege-set"),
    (DAV, "bind"),
    (DAV, "unbind"),
    (DAV, "write-content"),
]


async def _value(ctx: Context, kind: str, item: Item | None, name: str) -> ET.Element | None:
    """One property of one resource; None when the resource has no such property."""
    user = ctx.user
    value: ET.Element | None = None
    if name == tag(DAV, "current-user-principal"):
        value = element(DAV, "current-user-principal", None, *_hrefs(principal_href(user)))
    elif name == tag(DAV, "resourcetype"):
        types = {
            "root": [element(DAV, "collection")],
            "principal": [element(DAV, "collection"), element(DAV, "principal")],
            "home": [element(DAV, "collection")],
            "calendar": [element(DAV, "collection"), element(CALDAV, "calendar")],
            "item": [],
        }[kind]
        value = element(DAV, "resourcetype", None, *types)
    elif name == tag(DAV, "displayname"):
        text = {
            "root": "Neo Events",
            "principal": user.username,
            "home": f"{user.username}'s calendars",
            "calendar": "Neo Events",
        }.get(kind)
        if text is None and item is not None:
            text = item.event.title
        value = element(DAV, "displayname", text)
    elif name == tag(DAV, "principal-URL") and kind == "principal":
        value = element(DAV, "principal-URL", None, *_hrefs(principal_href(user)))
    elif name == tag(DAV, "owner") and kind in ("home", "calendar", "principal"):
        value = element(DAV, "owner", None, *_hrefs(principal_href(user)))
    elif name == tag(CALDAV, "calendar-home-set") and kind in ("principal", "root"):
        value = element(CALDAV, "calendar-home-set", None, *_hrefs(home_href(user)))
    elif name == tag(CALDAV, "calendar-user-address-set") and kind == "principal":
        value = element(CALDAV, "calendar-user-address-set", None, *_hrefs(f"mailto:{user.email}"))
    elif name == tag(DAV, "principal-collection-set") and kind in ("root", "principal"):
        value = element(DAV, "principal-collection-set", None, *_hrefs("/dav/principals/"))
    elif kind == "calendar":
        value = await _calendar_value(ctx, name)
    elif kind in ("home", "root", "principal") and name == tag(DAV, "current-user-privilege-set"):
        value = _privileges([(DAV, "read"), (DAV, "read-current-user-privilege-set")])
    elif kind == "item" and item is not None:
        value = _item_value(ctx, item, name)
    return value


async def _calendar_value(ctx: Context, name: str) -> ET.Element | None:
    if name == tag(CS, "getctag"):
        return element(CS, "getctag", f'"{await ctx.position()}"')
    if name == tag(DAV, "sync-token"):
        return element(DAV, "sync-token", f"{service.SYNC_PREFIX}{await _fresh_token(ctx)}")
    if name == tag(CALDAV, "supported-calendar-component-set"):
        comp = ET.Element(tag(CALDAV, "comp"), {"name": "VEVENT"})
        return element(CALDAV, "supported-calendar-component-set", None, comp)
    if name == tag(CALDAV, "supported-calendar-data"):
        data = ET.Element(
            tag(CALDAV, "calendar-data"), {"content-type": "text/calendar", "version": "2.0"}
        )
        return element(CALDAV, "supported-calendar-data", None, data)
    if name == tag(DAV, "supported-report-set"):
        reports = [
            element(DAV, "supported-report", None, element(DAV, "report", None, element(ns, n)))
            for ns, n in (
                (CALDAV, "calendar-query"),
                (CALDAV, "calendar-multiget"),
                (DAV, "sync-collection"),
            )
        ]
        return element(DAV, "supported-report-set", None, *reports)
    if name == tag(DAV, "current-user-privilege-set"):
        return _privileges(COLLECTION_PRIVILEGES)
    if name == tag(CALDAV, "max-resource-size"):
        return element(
            CALDAV, "max-resource-size", str(ctx.request.app.state.settings.max_body_bytes)
        )
    if name == tag(DAV, "getcontenttype"):
        return element(DAV, "getcontenttype", "text/calendar; charset=utf-8")
    return None


async def _fresh_token(ctx: Context) -> str:
    """A sync token naming the feed's position now (the one live/sync.py would hand out)."""
    answer = await service.sync_token_now(ctx.session, ctx.user)
    return answer


def _item_value(ctx: Context, item: Item, name: str) -> ET.Element | None:
    if name == tag(DAV, "getetag"):
        return element(DAV, "getetag", item.etag)
    if name == tag(DAV, "getcontenttype"):
        return element(DAV, "getcontenttype", ITEM_TYPE)
    if name == tag(DAV, "getlastmodified"):
        changed = max(item.event.updated_at, item.stamp or item.event.updated_at)
        return element(
            DAV, "getlastmodified", format_datetime(changed.astimezone(UTC), usegmt=True)
        )
    if name == tag(DAV, "current-user-privilege-set"):
        return _privileges(ROLE_PRIVILEGES[item.role])
    if name == tag(CALDAV, "calendar-data"):
        text = ctx.texts.get(item.event.id)
        if text is None:
            return None
        return element(CALDAV, "calendar-data", text.decode())
    if name == tag(DAV, "owner"):
        return None
    return None


async def _describe(
    ctx: Context, kind: str, href: str, item: Item | None, mode: str, names: list[str]
) -> xml.Response:
    if mode == "propname":
        wanted = ALLPROP[kind]
        return xml.Response(href, found=[ET.Element(n) for n in wanted])
    wanted = ALLPROP[kind] if mode == "allprop" else names
    response = xml.Response(href)
    for name in wanted:
        value = await _value(ctx, kind, item, name)
        if value is None:
            response.missing.append(name)
        else:
            response.found.append(value)
    return response


async def _propfind(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    root = await _body(request)
    try:
        mode, names = xml.requested_props(root)
    except xml.BadXml as exc:
        raise DavError(400, None, str(exc), "invalid_xml") from None
    ctx = Context(request, session, user)
    depth = _depth(request)
    hrefs = {
        "root": request.url.path,
        "principal": principal_href(user),
        "home": home_href(user),
        "calendar": calendar_href(user),
    }
    responses: list[xml.Response] = []
    if kind == "item":
        assert name is not None
        item = (await service.items_named(session, user, [name])).get(name)
        if item is None:
            raise _not_found()
        if tag(CALDAV, "calendar-data") in names:
            ctx.texts = await service.render(session, [item])
        responses.append(await _describe(ctx, kind, item_href(user, item.name), item, mode, names))
        return _multistatus(xml.multistatus(responses))
    responses.append(await _describe(ctx, kind, hrefs[kind], None, mode, names))
    if depth == 1:
        if kind == "root":
            responses.append(
                await _describe(ctx, "principal", hrefs["principal"], None, mode, names)
            )
            responses.append(await _describe(ctx, "home", hrefs["home"], None, mode, names))
        elif kind == "home":
            responses.append(await _describe(ctx, "calendar", hrefs["calendar"], None, mode, names))
        elif kind == "calendar":
            items = await service.list_items(session, user)
            if tag(CALDAV, "calendar-data") in names:
                ctx.texts = await service.render(session, items)
            for item in items:
                responses.append(
                    await _describe(ctx, "item", item_href(user, item.name), item, mode, names)
                )
    return _multistatus(xml.multistatus(responses))


# REPORT


def _names_and_data(root: ET.Element) -> tuple[list[str], tuple[datetime, datetime] | None]:
    """The requested properties, and the expand window of calendar-data, if any."""
    prop = root.find(tag(DAV, "prop"))
    names = [e.tag for e in prop] if prop is not None else [tag(DAV, "getetag")]
    expand = None
    if prop is not None:
        data = prop.find(tag(CALDAV, "calendar-data"))
        node = data.find(tag(CALDAV, "expand")) if data is not None else None
        if node is not None:
            start, end = _instant(node.get("start")), _instant(node.get("end"))
            if start is None or end is None or end <= start:
                raise DavError(
                    403,
                    (CALDAV, "valid-filter"),
                    "expand needs a start before its end",
                    "bad_expand",
                )
            expand = (start, end)
    return names, expand


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise DavError(
            403, (CALDAV, "valid-filter"), f"{value!r} is not a UTC date-time", "bad_time_range"
        ) from None


async def _report(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    root = await _body(request)
    if root is None:
        raise DavError(400, None, "A REPORT needs a body.", "invalid_xml")
    if kind != "calendar":
        raise DavError(
            403, (DAV, "supported-report"), "Reports run on the calendar.", "unsupported_report"
        )
    if root.tag == tag(DAV, "sync-collection"):
        return await _sync_collection(request, session, user, root)
    if root.tag == tag(CALDAV, "calendar-multiget"):
        names, expand = _names_and_data(root)
        wanted = []
        base = calendar_href(user)
        for node in root.findall(tag(DAV, "href")):
            path = unquote(urlsplit((node.text or "").strip()).path)
            wanted.append(path)
        if len(wanted) > service.SYNC_PAGE:
            raise DavError(
                403, (DAV, "number-of-matches-within-limits"), "Too many hrefs.", "too_many_hrefs"
            )
        member = {
            p: p[len(base) :] for p in wanted if p.startswith(base) and "/" not in p[len(base) :]
        }
        found = await service.items_named(session, user, [n for n in member.values() if n])
        items = [found[member[p]] for p in wanted if member.get(p) in found]
        ctx = Context(request, session, user)
        if tag(CALDAV, "calendar-data") in names:
            ctx.texts = await service.render(session, items, expand=expand)
        responses = []
        for path in wanted:
            item = found.get(member.get(path, ""))
            if item is None:
                responses.append(xml.Response(quote(path), status=404))
            else:
                responses.append(
                    await _describe(ctx, "item", item_href(user, item.name), item, "prop", names)
                )
        return _multistatus(xml.multistatus(responses))
    if root.tag == tag(CALDAV, "calendar-query"):
        return await _calendar_query(request, session, user, root)
    raise DavError(
        403, (DAV, "supported-report"), "This report is not supported.", "unsupported_report"
    )


def _query_filter(
    root: ET.Element,
) -> tuple[bool, datetime | None, datetime | None, list[tuple[str, str, bool, bool]]]:
    """(matches any VEVENT at all, window start, window end, prop text filters)."""
    filt = root.find(tag(CALDAV, "filter"))
    if filt is None:
        return True, None, None, []
    calendar = filt.find(tag(CALDAV, "comp-filter"))
    if calendar is None or calendar.get("name", "").upper() != "VCALENDAR":
        raise DavError(
            403, (CALDAV, "valid-filter"), "The filter starts with VCALENDAR.", "bad_filter"
        )
    inner = calendar.findall(tag(CALDAV, "comp-filter"))
    if not inner:
        return True, None, None, []
    if len(inner) > 1:
        raise DavError(
            403,
            (CALDAV, "supported-filter"),
            "One component filter at a time.",
            "unsupported_filter",
        )
    comp = inner[0]
    if comp.get("name", "").upper() != "VEVENT":
        return False, None, None, []  # this calendar holds VEVENTs only
    if comp.find(tag(CALDAV, "is-not-defined")) is not None:
        return False, None, None, []
    start = end = None
    window = comp.find(tag(CALDAV, "time-range"))
    if window is not None:
        start, end = _instant(window.get("start")), _instant(window.get("end"))
    texts = []
    for prop in comp.findall(tag(CALDAV, "prop-filter")):
        prop_name = prop.get("name", "").upper()
        if prop_name not in _TEXT_PROPS:
            raise DavError(
                403,
                (CALDAV, "supported-filter"),
                f"No filter on {prop_name}.",
                "unsupported_filter",
            )
        if prop.find(tag(CALDAV, "is-not-defined")) is not None:
            texts.append((prop_name, "", False, True))
            continue
        match = prop.find(tag(CALDAV, "text-match"))
        if match is None:
            texts.append((prop_name, "", False, False))
            continue
        negate = match.get("negate-condition", "no").lower() == "yes"
        texts.append((prop_name, match.text or "", negate, False))
    if comp.find(tag(CALDAV, "comp-filter")) is not None:
        raise DavError(
            403, (CALDAV, "supported-filter"), "No filter on subcomponents.", "unsupported_filter"
        )
    return True, start, end, texts


_TEXT_PROPS = {"UID", "SUMMARY", "DESCRIPTION", "LOCATION"}


def _text_of(item: Item, prop_name: str) -> str | None:
    event = item.event
    return {
        "UID": item.uid,
        "SUMMARY": event.title,
        "DESCRIPTION": event.description,
        "LOCATION": event.location,
    }[prop_name]


def _passes(item: Item, texts: list[tuple[str, str, bool, bool]]) -> bool:
    for prop_name, needle, negate, undefined in texts:
        value = _text_of(item, prop_name)
        if undefined:
            if value is not None:
                return False
            continue
        if value is None:
            return False
        found = needle.casefold() in value.casefold()
        if found == negate:
            return False
    return True


async def _calendar_query(request: Request, session: Any, user: User, root: ET.Element) -> Response:
    names, expand = _names_and_data(root)
    matches, start, end, texts = _query_filter(root)
    items = await service.list_items(session, user, start=start, end=end) if matches else []
    items = [item for item in items if _passes(item, texts)]
    ctx = Context(request, session, user)
    if tag(CALDAV, "calendar-data") in names:
        ctx.texts = await service.render(session, items, expand=expand)
    responses = [
        await _describe(ctx, "item", item_href(user, item.name), item, "prop", names)
        for item in items
    ]
    return _multistatus(xml.multistatus(responses))


async def _sync_collection(
    request: Request, session: Any, user: User, root: ET.Element
) -> Response:
    token_node = root.find(tag(DAV, "sync-token"))
    token = (token_node.text or "").strip() if token_node is not None else ""
    level = root.find(tag(DAV, "sync-level"))
    if level is not None and (level.text or "").strip() not in ("1", "infinite"):
        raise DavError(400, None, "sync-level is 1.", "invalid_xml")
    names, _ = _names_and_data(root)
    answer = await service.sync_collection(session, user, token or None)
    ctx = Context(request, session, user)
    if tag(CALDAV, "calendar-data") in names:
        ctx.texts = await service.render(session, answer.present)
    responses = [
        await _describe(ctx, "item", item_href(user, item.name), item, "prop", names)
        for item in answer.present
    ]
    responses += [xml.Response(item_href(user, gone), status=404) for gone in answer.gone]
    if answer.truncated:
        responses.append(xml.Response(calendar_href(user), status=507))
    return _multistatus(xml.multistatus(responses, sync_token=answer.token))


# GET, PUT, DELETE and the refusals


async def _get(request: Request, session: Any, user: User, kind: str, name: str | None) -> Response:
    if kind != "item" or name is None:
        raise DavError(403, None, "Only calendar objects can be read with GET.", "not_a_resource")
    item = (await service.items_named(session, user, [name])).get(name)
    if item is None:
        raise _not_found()
    headers = {"ETag": item.etag}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and item.etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    text = (await service.render(session, [item]))[item.event.id]
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
    item, created = await service.put_item(
        session,
        user=user,
        name=name,
        data=await request.body(),
        if_match=request.headers.get("if-match"),
        if_none_match=request.headers.get("if-none-match"),
        origin=await get_origin(request),
    )
    return Response(status_code=201 if created else 204, headers={"ETag": item.etag})


async def _delete(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    if kind != "item" or name is None:
        raise DavError(403, None, "Collections cannot be deleted.", "not_a_resource")
    await service.delete_item(
        session,
        user=user,
        name=name,
        if_match=request.headers.get("if-match"),
        origin=await get_origin(request),
    )
    return Response(status_code=204)


async def _proppatch(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    root = await _body(request)
    names: list[str] = []
    if root is not None:
        for action in root:
            prop = action.find(tag(DAV, "prop"))
            if prop is not None:
                names.extend(e.tag for e in prop)
    href = request.url.path
    return _multistatus(xml.multistatus([xml.Response(href, forbidden=names)]))


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
    "PROPFIND": _propfind,
    "REPORT": _report,
    "GET": _get,
    "HEAD": _get,
    "PUT": _put,
    "DELETE": _delete,
    "PROPPATCH": _proppatch,
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
