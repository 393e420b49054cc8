"""What the CalDAV methods share over HTTP: the addresses of the tree (root, principal,
home, calendar, items), the media types and DAV header, reading a request's XML body and a UTC
time bound, and the 404 and 207 answers."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, unquote
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response

from neo_events.caldav import xml
from neo_events.caldav.service import DavError
from neo_events.caldav.xml import CALDAV
from neo_events.models import User

DAV_HEADER = "1, 3, calendar-access"
XML_TYPE = "application/xml; charset=utf-8"
ICS_TYPE = "text/calendar; charset=utf-8"
ROOT = "/dav/"


def principal_href(user: User) -> str:
    return f"/dav/principals/{quote(user.username)}/"


def home_href(user: User) -> str:
    return f"/dav/calendars/{quote(user.username)}/"


def calendar_href(user: User) -> str:
    return f"{home_href(user)}events/"


def item_href(user: User, name: str) -> str:
    return calendar_path(user.username) + segment(name)


@lru_cache(maxsize=1024)
def calendar_path(username: str) -> str:
    return f"/dav/calendars/{quote(username)}/events/"


_PLAIN = re.compile(r"[A-Za-z0-9._~@+-]+")


def segment(name: str) -> str:
    """A resource name as a path segment; most are plain and need no quoting (hot path)."""
    return name if _PLAIN.fullmatch(name) else quote(name)


def decoded_path(written: str) -> str | None:
    """A path's percent-escapes read as UTF-8 (RFC 3986 §2.5, as clients write them); None
    where they are not UTF-8, as such a path names no resource (`unquote` reads them as
    U+FFFD: `%FF%28.ics` named the resource `%C3%28.ics` had made, `\ufffd(.ics`)."""
    try:
        return unquote(written, errors="strict")
    except UnicodeDecodeError:
        return None


def check_path(request: Request, path: str) -> None:
    """A 400 for a request whose path is not UTF-8 once its escapes are read (`decoded_path`):
    the server has read those as U+FFFD (`path`), so the path names another resource than
    the one asked for. Only a path holding U+FFFD is checked again, from its raw bytes."""
    raw = request.scope.get("raw_path")
    if "\ufffd" not in path or not isinstance(raw, bytes):
        return
    written = raw.split(b"?", 1)[0].decode("latin-1")  # the request target's own characters
    if decoded_path(written) is None:
        raise DavError(
            400,
            None,
            "The path is not UTF-8 once its percent-escapes are read (RFC 3986 §2.5): "
            "it names no resource.",
            "invalid_name",
        )


def not_found() -> DavError:
    return DavError(404, None, "No such resource.", "not_found")


ON_LOOP_XML_BYTES = 32 * 1024  # a PROPFIND or a multiget of a few hundred hrefs: ~1-2 ms


async def read_body(request: Request) -> ET.Element | None:
    """The request's XML body (`xml.parse`); one past ON_LOOP_XML_BYTES is parsed in a worker
    thread (a 490 KB body of 55,000 attributes takes expat 0.1 s before any bound counts)."""
    body = await request.body()
    try:
        if len(body) > ON_LOOP_XML_BYTES:
            return await asyncio.to_thread(xml.parse, body)
        return xml.parse(body)
    except xml.BadXml as exc:
        raise DavError(400, None, f"The body cannot be read: {exc}", "invalid_xml") from None


def utc_instant(value: str | None) -> datetime | None:
    """A time-range or expand bound (RFC 4791 §9.9: a UTC date-time), None if absent."""
    if not value:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise DavError(
            403, (CALDAV, "valid-filter"), f"{value!r} is not a UTC date-time", "bad_time_range"
        ) from None


def multistatus_response(body: bytes) -> Response:
    return Response(body, status_code=207, media_type=XML_TYPE)
