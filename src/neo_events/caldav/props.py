"""PROPFIND: the properties of the root, the principal, the calendar home, the calendar and
its items, as RFC 4918, RFC 4791, RFC 6578 and CalendarServer's getctag name them; REPORTs
write their items' properties through here too (describe_items). The addresses and request
reading the methods share are in caldav/http.py."""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response

from neo_events.caldav import listing, multistatus, naming, rendering, service, sync, xml
from neo_events.caldav.http import (
    calendar_href,
    home_href,
    item_href,
    not_found,
    principal_href,
    read_body,
)
from neo_events.caldav.item_props import ITEM_TYPE, ROLE_PRIVILEGES, describe_items, privileges
from neo_events.caldav.service import DavError, Item
from neo_events.caldav.xml import CALDAV, CS, DAV, element, tag
from neo_events.db import utcnow
from neo_events.ical.export import zone_calendar
from neo_events.models import User


def depth_of(request: Request) -> int:
    value = request.headers.get("depth", "infinity").strip().lower()
    if value == "0":
        return 0
    return 1  # "1", and "infinity" as 1: nothing here nests deeper (Radicale does the same)


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
            self._position = await sync.sync_position(self.session, self.user)
        return self._position


def _hrefs(*values: str) -> list[ET.Element]:
    return [xml.href(v) for v in values]


COLLECTION_PRIVILEGES = [
    (DAV, "read"),
    (DAV, "read-current-user-privilege-set"),
    (DAV, "bind"),
    (DAV, "unbind"),
    (DAV, "write-content"),
]


async def _value(ctx: Context, kind: str, item: Item | None, name: str) -> ET.Element | None:
    """One property of one resource; None when the resource has no such property."""
    if kind == "item" and item is not None and name in _ITEM_PROPS:
        return _item_value(ctx, item, name)  # the hot path: thousands per listing
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
        }.get(kind)
        if kind == "calendar":
            text = await naming.calendar_name(ctx.session, user)
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
        value = privileges([(DAV, "read"), (DAV, "read-current-user-privilege-set")])
    elif kind == "item" and item is not None:
        value = _item_value(ctx, item, name)
    return value


async def _calendar_value(ctx: Context, name: str) -> ET.Element | None:
    if name == tag(CS, "getctag"):
        mark = service.generation_mark()
        position = await ctx.position()
        return element(CS, "getctag", f'"{mark}-{position}"' if mark else f'"{position}"')
    if name == tag(DAV, "sync-token"):
        return element(DAV, "sync-token", f"{sync.token_prefix()}{await _fresh_token(ctx)}")
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
                (CALDAV, "free-busy-query"),
                (DAV, "sync-collection"),
            )
        ]
        return element(DAV, "supported-report-set", None, *reports)
    if name == tag(DAV, "current-user-privilege-set"):
        return privileges(COLLECTION_PRIVILEGES)
    if name == tag(CALDAV, "max-resource-size"):
        return element(
            CALDAV, "max-resource-size", str(ctx.request.app.state.settings.max_body_bytes)
        )
    if name == tag(DAV, "getcontenttype"):
        return element(DAV, "getcontenttype", "text/calendar; charset=utf-8")
    if name == tag(CALDAV, "calendar-timezone") and ctx.user.timezone is not None:
        # where the writer's floating dates fall (auth/preferences.py), this year on
        text = zone_calendar(ctx.user.timezone, utcnow().year)
        return element(CALDAV, "calendar-timezone", text)
    return None


async def _fresh_token(ctx: Context) -> str:
    """A sync token naming the feed's position now (the one live/sync.py would hand out)."""
    answer = await sync.sync_token_now(ctx.session, ctx.user)
    return answer


_ITEM_PROPS = frozenset(
    tag(*n)
    for n in (
        (DAV, "getetag"),
        (DAV, "getcontenttype"),
        (DAV, "getlastmodified"),
        (DAV, "current-user-privilege-set"),
        (CALDAV, "calendar-data"),
    )
)


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
        return privileges(ROLE_PRIVILEGES[item.role])
    if name == tag(CALDAV, "calendar-data"):
        text = ctx.texts.get(item.event.id)
        if text is None:
            return None
        return element(CALDAV, "calendar-data", text.decode())
    if name == tag(DAV, "owner"):
        return None
    return None


async def describe(
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


async def propfind(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    root = await read_body(request)
    try:
        mode, names = xml.requested_props(root)
    except xml.BadXml as exc:
        raise DavError(400, None, str(exc), "invalid_xml") from None
    ctx = Context(request, session, user)
    depth = depth_of(request)
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
            raise not_found()
        if tag(CALDAV, "calendar-data") in names:
            ctx.texts = await rendering.render(
                session, [item], caches=service.Caches.of(request.app.state)
            )
        responses.append(await describe(ctx, kind, item_href(user, item.name), item, mode, names))
        return await multistatus.answer(ctx.texts, responses)
    responses.append(await describe(ctx, kind, hrefs[kind], None, mode, names))
    if depth == 1:
        if kind == "root":
            responses.append(
                await describe(ctx, "principal", hrefs["principal"], None, mode, names)
            )
            responses.append(await describe(ctx, "home", hrefs["home"], None, mode, names))
        elif kind == "home":
            responses.append(await describe(ctx, "calendar", hrefs["calendar"], None, mode, names))
        elif kind == "calendar":
            data = tag(CALDAV, "calendar-data") in names
            limit = listing.MAX_RENDERED if data else listing.MAX_LISTED
            items, truncated = await listing.list_items(session, user, limit=limit)
            if data:
                ctx.texts, fitted = await rendering.for_answer(request.app.state, session, items)
                if fitted < len(items):  # past MAX_ANSWER_BYTES: a 507, as past MAX_RENDERED
                    items, truncated = items[:fitted], True
            if mode == "propname":
                for item in items:
                    responses.append(
                        await describe(ctx, "item", item_href(user, item.name), item, mode, names)
                    )
            else:  # an item's allprop is the properties it has (ALLPROP), all found
                wanted = names if mode == "prop" else ALLPROP["item"]
                responses += await describe_items(user, ctx.texts, items, wanted)
            if truncated:
                responses.append(xml.Response(hrefs["calendar"], status=507))
    return await multistatus.answer(ctx.texts, responses)
