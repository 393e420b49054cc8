"""free-busy-query REPORT (RFC 4791 §7.10) on the calendar: the caller's busy time in a window
as one VFREEBUSY, from the busy intervals `GET /api/v1/freebusy` answers with
(events/schedule.py busy_intervals: opaque events only, declined invitations and cancelled
occurrences free, merged and clipped to the window), and bounded like it: a window of at most
366 days holding at most 10,000 occurrences, else 403 DAV:number-of-matches-within-limits.
An all-day event's days are the reader's (RFC 4791 §9.9, RFC 7809: in the query's own
CALDAV:timezone or CALDAV:timezone-id, else the calendar-timezone, the account's zone; read as a
calendar-query reads them, caldav/zones.py), where the API's place it in its own zone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from icalendar import Calendar, FreeBusy
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from neo_events.caldav.http import ICS_TYPE, utc_instant
from neo_events.caldav.service import DavError
from neo_events.caldav.xml import CALDAV, DAV, tag
from neo_events.caldav.zones import reader_zone
from neo_events.db import utcnow
from neo_events.errors import ValidationFailed
from neo_events.events import listing, schedule
from neo_events.events.expansions import Expansions
from neo_events.ical.export import PRODID
from neo_events.ical.folding import to_ical
from neo_events.models import User


async def report(
    session: AsyncSession, user: User, root: ET.Element, *, cache: Expansions | None = None
) -> Response:
    start, end = _window(root)
    zone = await reader_zone(user, root, start)  # the query's zone, else the account's
    try:
        busy = await schedule.busy_intervals(
            session, user_id=user.id, window=(start, end), cache=cache, zone=zone
        )
    except listing.WindowTooLarge as exc:  # more occurrences than the API answers for
        raise _too_much(exc.detail) from None
    text = await asyncio.to_thread(vfreebusy, start, end, busy, utcnow())
    return Response(text, status_code=200, media_type=ICS_TYPE)


def _window(root: ET.Element) -> tuple[datetime, datetime]:
    node = root.find(tag(CALDAV, "time-range"))
    if node is None:
        raise DavError(400, None, "A free-busy-query holds a time-range.", "invalid_xml")
    start, end = utc_instant(node.get("start")), utc_instant(node.get("end"))
    if start is None or end is None:
        raise _too_much("Ask for a time-range with a start and an end.")
    try:
        window = listing.Window(start, end)  # the API's bounds: end after start, ≤ 366 days
    except listing.WindowTooLarge as exc:
        raise _too_much(exc.detail) from None
    except ValidationFailed:
        raise DavError(
            403, (CALDAV, "valid-filter"), "The time-range ends before it starts.", "bad_time_range"
        ) from None
    return window.start, window.end


def _too_much(detail: str) -> DavError:
    return DavError(403, (DAV, "number-of-matches-within-limits"), detail, "window_too_large")


def vfreebusy(
    start: datetime, end: datetime, busy: list[tuple[datetime, datetime]], now: datetime
) -> bytes:
    """One VFREEBUSY for [start, end) with a FREEBUSY period (in UTC) per busy interval."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    component = FreeBusy()
    component.add("dtstamp", now.astimezone(UTC))
    component.add("dtstart", start.astimezone(UTC))
    component.add("dtend", end.astimezone(UTC))
    for lo, hi in busy:
        component.add("freebusy", (lo.astimezone(UTC), hi.astimezone(UTC)))
    calendar.add_component(component)
    return to_ical(calendar)
