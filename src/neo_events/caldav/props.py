"""PROPFIND: the properties of the root, the principal, the calendar home, the calendar and
its items, as RFC 4918, RFC 4791, RFC 6578 and CalendarServer's getctag name them; REPORTs
write their items' properties through here too (describe_items). The addresses and request
reading the methods share are in caldav/http.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from neo_events.caldav import listing, multistatus, naming, rendering, service, sync, xml
from neo_events.caldav.http import (
    calendar_href,
    calendar_path,
    home_href,
    item_href,
    not_found,
    principal_href,
    read_body,
    segment,
)
from neo_events.caldav.service import DavError, Item
from neo_events.caldav.xml import CALDAV, CS, DAV, element, tag
from neo_events.db import utcnow
from neo_events.events.access import Role
from neo_events.ical.export import zone_calendar
from neo_events.models import User

ITEM_TYPE = "text/calendar; charset=utf-8; component=vevent"


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
        value = _privileges([(DAV, "read"), (DAV, "read-current-user-privilege-set")])
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
        return _privileges(COLLECTION_PRIVILEGES)
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
        return _privileges(ROLE_PRIVILEGES[item.role])
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


async def describe_items(
    ctx: Context, items: Sequence[Item], names: list[str]
) -> list[xml.Response]:
    """The items' responses for a listing (calendar-query, multiget, sync-collection, PROPFIND
    Depth 1): when only item properties are asked for (what clients ask: getetag,
    calendar-data, getcontenttype), each response is written straight as text, one pass per
    item with no element built (thousands per listing), a property no item has written once
    for all; when one of _ITEM_OTHER_PROPS is asked for, one `describe` each."""
    if any(name in _ITEM_OTHER_PROPS for name in names):
        return [
            await describe(ctx, "item", item_href(ctx.user, item.name), item, "prop", names)
            for item in items
        ]
    base = calendar_path(ctx.user.username)
    prefixes = dict(xml.PREFIXES)
    closing = {name: f"</{xml.qualified(name, prefixes)}>" for name in names}
    opening = {name: f"<{xml.qualified(name, prefixes)}>" for name in names}
    empty = {name: f"<{xml.qualified(name, prefixes)}/>" for name in names}
    # a property no item has (up to xml.MAX_PROPS of them): written once, not once an item;
    # one of a namespace `multistatus` does not declare declares its own
    absent = "".join(_absent(name, empty[name]) for name in names if name not in _ITEM_PROPS)
    names = [name for name in names if name in _ITEM_PROPS]
    privileges = {role: xml.text_of(_privileges(p)) for role, p in ROLE_PRIVILEGES.items()}
    ok, missing_head = xml.PROPSTAT_OK, xml.PROPSTAT_MISSING
    texts = await multistatus.escaped(ctx.texts) if _DATA in names else {}
    out: list[xml.Response] = []
    for item in items:
        found: list[str] = []
        missing: list[str] = []
        for name in names:
            if name == _ETAG:
                found.append(f"{opening[name]}{escape(item.etag)}{closing[name]}")
            elif name == _DATA:
                text = texts.get(item.event.id)
                if text is None:
                    missing.append(empty[name])
                else:
                    found.append(f"{opening[name]}{text}{closing[name]}")
            elif name == _CONTENT_TYPE:
                found.append(f"{opening[name]}{ITEM_TYPE}{closing[name]}")
            elif name == _PRIVILEGES:
                found.append(privileges[item.role])
            elif name == _MODIFIED:
                changed = max(item.event.updated_at, item.stamp or item.event.updated_at)
                stamp = format_datetime(changed.astimezone(UTC), usegmt=True)
                found.append(f"{opening[name]}{stamp}{closing[name]}")
        href = escape(base + segment(item.name))
        parts = [f"<d:response><d:href>{href}</d:href>"]
        if found:
            parts.append(ok[0] + "".join(found) + ok[1])
        if missing or absent:
            parts.append(missing_head[0] + "".join(missing) + absent + missing_head[1])
        parts.append("</d:response>")
        out.append(xml.Response(href, text="".join(parts)))
    return out


def _absent(name: str, known: str) -> str:
    """A property no item has, as an empty element `multistatus` can hold as it is."""
    namespace, _, local = name[1:].partition("}") if name.startswith("{") else ("", "", name)
    if namespace in xml.PREFIXES:
        return known
    return f"<x:{local} xmlns:x={quoteattr(namespace)}/>" if namespace else f"<{local}/>"


# the other properties `_value` answers for an item (it answers no other): a listing asking
# for one of them describes each item with `describe`
_ITEM_OTHER_PROPS = frozenset(
    tag(*n)
    for n in (
        (DAV, "current-user-principal"),
        (DAV, "resourcetype"),
        (DAV, "displayname"),
    )
)
_ETAG, _DATA = tag(DAV, "getetag"), tag(CALDAV, "calendar-data")
_CONTENT_TYPE, _MODIFIED = tag(DAV, "getcontenttype"), tag(DAV, "getlastmodified")
_PRIVILEGES = tag(DAV, "current-user-privilege-set")


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
            if mode == "prop":
                responses += await describe_items(ctx, items, names)
            else:
                for item in items:
                    responses.append(
                        await describe(ctx, "item", item_href(user, item.name), item, mode, names)
                    )
            if truncated:
                responses.append(xml.Response(hrefs["calendar"], status=507))
    return await multistatus.answer(ctx.texts, responses)
