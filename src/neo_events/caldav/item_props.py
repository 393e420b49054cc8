"""The properties of a listing's items (PROPFIND Depth 1, calendar-query, calendar-multiget,
sync-collection), written straight as text: one pass an item and no element built, for a
collection of up to `listing.MAX_LISTED` items, each of every property a client asks for
(up to `xml.MAX_PROPS`). Each response is the text `xml.multistatus` would write of the
elements `props.describe` gives (tests/caldav/test_listing_props.py holds them equal);
a property no item has is written once for all. Past ON_LOOP_ITEMS items the pass runs in
a worker thread (`off_the_loop`): 10,000 items asked for 20 properties held the event loop
1-2 s when each was described as elements (an outside attack)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import NamedTuple
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from neo_events.caldav import multistatus, xml
from neo_events.caldav.http import calendar_path, principal_href, segment
from neo_events.caldav.service import Item
from neo_events.caldav.xml import CALDAV, DAV, element, tag
from neo_events.events.access import Role
from neo_events.events.off_loop import off_the_loop
from neo_events.models import User

ITEM_TYPE = "text/calendar; charset=utf-8; component=vevent"
# A listing of more items than this is written in a worker thread.
ON_LOOP_ITEMS = 500

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


def privileges(names: list[tuple[str, str]]) -> ET.Element:
    node = element(DAV, "current-user-privilege-set")
    for namespace, name in names:
        node.append(element(DAV, "privilege", None, element(namespace, name)))
    return node


ETAG, DATA = tag(DAV, "getetag"), tag(CALDAV, "calendar-data")
CONTENT_TYPE, MODIFIED = tag(DAV, "getcontenttype"), tag(DAV, "getlastmodified")
PRIVILEGES = tag(DAV, "current-user-privilege-set")
RESOURCE_TYPE, NAME = tag(DAV, "resourcetype"), tag(DAV, "displayname")
PRINCIPAL = tag(DAV, "current-user-principal")
# what an item has (`props._value`): any other property is written once, as missing
ITEM_PROPS = frozenset(
    (ETAG, DATA, CONTENT_TYPE, MODIFIED, PRIVILEGES, RESOURCE_TYPE, NAME, PRINCIPAL)
)


class _Row(NamedTuple):
    """What the pass reads of an item, taken on the event loop (no ORM attribute is read
    in a worker thread)."""

    name: str
    etag: str
    event_id: int
    title: str
    changed: datetime
    role: Role


async def describe_items(
    user: User, texts: Mapping[int, bytes], items: Sequence[Item], names: list[str]
) -> list[xml.Response]:
    """The items' responses, each with the properties `names` (their calendar-data from
    `texts`)."""
    rows = [
        _Row(
            i.name,
            i.etag,
            i.event.id,
            i.event.title,
            max(i.event.updated_at, i.stamp or i.event.updated_at),
            i.role,
        )
        for i in items
    ]
    data = await multistatus.escaped(texts) if DATA in names else {}
    principal = principal_href(user)
    base = calendar_path(user.username)
    return await off_the_loop(
        len(rows) > ON_LOOP_ITEMS, lambda: _written(rows, names, data, principal, base)
    )


def _written(
    rows: list[_Row], names: list[str], data: Mapping[int, str], principal: str, base: str
) -> list[xml.Response]:
    prefixes = dict(xml.PREFIXES)
    closing = {name: f"</{xml.qualified(name, prefixes)}>" for name in names}
    opening = {name: f"<{xml.qualified(name, prefixes)}>" for name in names}
    empty = {name: f"<{xml.qualified(name, prefixes)}/>" for name in names}
    # a property no item has (up to xml.MAX_PROPS of them): written once, not once an item;
    # one of a namespace `multistatus` does not declare declares its own
    absent = "".join(_absent(name, empty[name]) for name in names if name not in ITEM_PROPS)
    names = [name for name in names if name in ITEM_PROPS]
    granted = {role: xml.text_of(privileges(p)) for role, p in ROLE_PRIVILEGES.items()}
    constant = {  # the same for every item
        CONTENT_TYPE: xml.text_of(element(DAV, "getcontenttype", ITEM_TYPE)),
        RESOURCE_TYPE: xml.text_of(element(DAV, "resourcetype")),
        PRINCIPAL: xml.text_of(element(DAV, "current-user-principal", None, xml.href(principal))),
    }
    ok, missing_head = xml.PROPSTAT_OK, xml.PROPSTAT_MISSING
    out: list[xml.Response] = []
    for row in rows:
        found: list[str] = []
        missing: list[str] = []
        for name in names:
            if name == ETAG:
                found.append(f"{opening[name]}{escape(row.etag)}{closing[name]}")
            elif name == DATA:
                text = data.get(row.event_id)
                if text is None:
                    missing.append(empty[name])
                else:
                    found.append(f"{opening[name]}{text}{closing[name]}")
            elif name == PRIVILEGES:
                found.append(granted[row.role])
            elif name == MODIFIED:
                stamp = format_datetime(row.changed.astimezone(UTC), usegmt=True)
                found.append(f"{opening[name]}{stamp}{closing[name]}")
            elif name == NAME:
                found.append(f"{opening[name]}{escape(row.title)}{closing[name]}")
            else:
                found.append(constant[name])
        href = escape(base + segment(row.name))
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
