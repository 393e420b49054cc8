"""PROPPATCH (RFC 4918 §9.2): only the calendar's DAV:displayname can be set or removed
(SPEC §15); every other property is refused with 403, and the request is all or nothing.

What a client is told, per property, in the 207 (RFC 4918 §9.2.1):
- a property this server computes (DAV:getetag, DAV:resourcetype, CS:getctag, the home's or
  an item's DAV:displayname, …): 403 with DAV:cannot-modify-protected-property;
- any other property set (Apple's and Thunderbird's calendar-color, calendar-order, …): 403,
  because no property is stored but the calendar's name; CALDAV:calendar-timezone is the
  account's own zone, set through the API (its 403 says where);
- a display name the calendar cannot take (empty, too long, control characters): 409;
- removing a property that is not there: done, 200 ("not an error", RFC 4918 §14.23);
- when anything failed, every other property 424, and nothing is changed.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response

from neo_events.caldav import http, naming, service, xml
from neo_events.caldav.service import DavError
from neo_events.caldav.xml import CALDAV, CS, DAV, Refusal, tag
from neo_events.models import User

DISPLAYNAME = tag(DAV, "displayname")
MAX_CHANGES = 100  # properties in one PROPPATCH

# Every property the server computes: PROPFIND answers them from the data, so they cannot be
# written (DAV:displayname can, on the calendar only).
COMPUTED = frozenset(
    tag(namespace, name)
    for namespace, name in (
        (DAV, "displayname"),
        (DAV, "resourcetype"),
        (DAV, "getetag"),
        (DAV, "getcontenttype"),
        (DAV, "getcontentlength"),
        (DAV, "getlastmodified"),
        (DAV, "creationdate"),
        (DAV, "sync-token"),
        (DAV, "supported-report-set"),
        (DAV, "current-user-principal"),
        (DAV, "current-user-privilege-set"),
        (DAV, "principal-URL"),
        (DAV, "principal-collection-set"),
        (DAV, "owner"),
        (DAV, "lockdiscovery"),
        (DAV, "supportedlock"),
        (CS, "getctag"),
        (CALDAV, "calendar-home-set"),
        (CALDAV, "calendar-user-address-set"),
        (CALDAV, "supported-calendar-component-set"),
        (CALDAV, "supported-calendar-data"),
        (CALDAV, "max-resource-size"),
        (CALDAV, "calendar-data"),
    )
)
NOT_STORED = (
    "Only the calendar's displayname can be changed; no other property is stored (SPEC §15)."
)
# The calendar's time zone is the account's (auth/preferences.py): set where the account is.
ZONE = tag(CALDAV, "calendar-timezone")
ZONE_ELSEWHERE = (
    "The calendar's time zone is your account's: set it in the web client's settings "
    "(PATCH /api/v1/auth/me/settings)."
)


async def proppatch(
    request: Request, session: Any, user: User, kind: str, name: str | None
) -> Response:
    changes = _changes(await http.read_body(request))
    if kind == "item":
        assert name is not None
        if name not in await service.items_named(session, user, [name]):
            raise http.not_found()
    protected: list[str] = []
    not_stored: list[str] = []
    elsewhere: list[str] = []
    conflicts: list[tuple[str, str]] = []
    for prop, value in changes:
        if kind == "calendar" and prop == DISPLAYNAME:
            problem = None if value is None else naming.calendar_name_problem(value)
            if problem is not None:
                conflicts.append((prop, problem))
        elif prop in COMPUTED:
            protected.append(prop)
        elif prop == ZONE and (value is not None or user.timezone is not None):
            elsewhere.append(prop)
        elif value is not None:
            not_stored.append(prop)
        # else: removing a property that is not there, which is done already
    href = request.url.path
    names = list(dict.fromkeys(prop for prop, _ in changes))
    refused = [
        Refusal(403, protected, (DAV, "cannot-modify-protected-property")),
        Refusal(403, not_stored, None, NOT_STORED),
        Refusal(403, elsewhere, None, ZONE_ELSEWHERE),
        *(Refusal(409, [prop], None, problem) for prop, problem in conflicts),
    ]
    refused = [r for r in refused if r.names]
    if refused:
        failed = {n for r in refused for n in r.names}
        others = [n for n in names if n not in failed]
        if others:
            refused.append(Refusal(424, others))
        response = xml.Response(href, refused=refused)
        return http.multistatus_response(xml.multistatus([response]))
    for prop, value in changes:
        if prop == DISPLAYNAME:
            await naming.rename_calendar(session, user, value)
    done = [ET.Element(n) for n in names]
    return http.multistatus_response(xml.multistatus([xml.Response(href, found=done)]))


def _changes(root: Any) -> list[tuple[str, str | None]]:
    """(property, value) in document order, value None for a remove."""
    if root is None or root.tag != tag(DAV, "propertyupdate"):
        raise DavError(400, None, "A PROPPATCH body is a DAV:propertyupdate.", "invalid_xml")
    changes: list[tuple[str, str | None]] = []
    for action in root:
        if action.tag not in (tag(DAV, "set"), tag(DAV, "remove")):
            continue
        prop = action.find(tag(DAV, "prop"))
        removing = action.tag == tag(DAV, "remove")
        for node in prop if prop is not None else []:
            changes.append((node.tag, None if removing else (node.text or "")))
    if not changes:
        raise DavError(400, None, "The propertyupdate names no property.", "invalid_xml")
    if len(changes) > MAX_CHANGES:
        raise DavError(400, None, f"At most {MAX_CHANGES} properties at once.", "invalid_xml")
    return changes
