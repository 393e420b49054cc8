"""Where a CalDAV reader's all-day days begin: the zone a REPORT reads DATE values in.

An all-day event is its dates, the same days for every viewer (SPEC §4), so a time range
meets it where those days lie for the one asking. RFC 4791 §9.9: DATE values are read in the
zone of the request's CALDAV:timezone (a VCALENDAR holding a VTIMEZONE, §9.8) or
CALDAV:timezone-id (a TZID, RFC 7809 §5.2), else in the calendar's calendar-timezone (§5.2.2:
the account's own zone, `auth/preferences.py`). An account without one keeps each event's
own zone, as before there was a setting. A zone is named as a file's TZIDs are
(`ical/zones.py`: an IANA, Windows or vendor name, else the IANA zone whose offsets agree
with the VTIMEZONE's), within the bounds an import reads a VTIMEZONE by (`ical/bounds.py`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from xml.etree import ElementTree as ET

from icalendar import Timezone

from neo_events.caldav.service import DavError
from neo_events.caldav.xml import CALDAV, tag
from neo_events.db import utcnow
from neo_events.ical import bounds, parsing
from neo_events.ical.blocks import MalformedStream, split_stream
from neo_events.ical.zones import ZoneResolver, guessed_name, iana_name
from neo_events.models import User

# A CALDAV:timezone's text: a zone's whole history since 1970 is a few dozen observances, under
# 10 KiB (Thunderbird's full zones); past this it is refused before it is read (60,000 lines in
# 420 KiB cost 0.9 s of splitting). Within it, the worst a VTIMEZONE costs is what an import's
# costs (`ical/bounds.py`, `ZoneResolver`: ~0.5 s for 200 observances no zone matches), in a
# worker thread.
MAX_TIMEZONE_CHARS = 64 * 1024


def _named(tzid: str) -> str | None:
    """The IANA zone a TZID names by itself, if any (the length bounded first: a vendor id
    is tried suffix by suffix)."""
    tzid = tzid.strip()
    if not tzid or len(tzid) > bounds.MAX_TZID_CHARS:
        return None
    return iana_name(tzid) or guessed_name(tzid)


def _invalid(message: str, element: str = "valid-calendar-data") -> DavError:
    return DavError(403, (CALDAV, element), message, "bad_timezone")


def _of_vtimezone(text: str, year: int) -> str:
    """The zone of a CALDAV:timezone: its VCALENDAR's (one) VTIMEZONE, by its TZID, else
    by its offsets over two years from `year`."""
    if len(text) > MAX_TIMEZONE_CHARS:
        raise _invalid(f"CALDAV:timezone is over {MAX_TIMEZONE_CHARS >> 10} KiB.")
    try:
        calendars = split_stream(text)
    except MalformedStream as exc:
        raise _invalid(f"CALDAV:timezone is not a VCALENDAR: {exc}") from None
    found = [b for c in calendars for b in c.components if b.name == "VTIMEZONE"]
    if len(found) != 1:
        raise _invalid("CALDAV:timezone holds one VTIMEZONE (RFC 4791 §9.8).")
    [block] = found
    tzid = bounds.zone_id(block)
    named = _named(tzid)
    if named is not None:
        return named
    reason = bounds.oversized(block)
    if reason is not None:
        raise _invalid(f"The VTIMEZONE cannot be read ({reason}).")
    # its oddities are no import's notes; icalendar's zone of it unmade (its offsets are ours)
    with parsing.alone(make_zones=False):
        try:
            vtimezone = Timezone.from_ical(block.text)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise _invalid(f"The VTIMEZONE cannot be read: {exc}") from None
        if not isinstance(vtimezone, Timezone) or not tzid:
            raise _invalid("The VTIMEZONE cannot be read: it names no TZID.")
        matched, _ = ZoneResolver({tzid: vtimezone}).resolve(tzid, year)
    if matched is None:
        raise _invalid(f"No time zone known here has the offsets of {tzid!r}.")
    return matched


async def reader_zone(
    user: User, query: ET.Element | None = None, at: datetime | None = None
) -> str | None:
    """Where the reader's all-day days begin (see the module): the zone `query` (a
    calendar-query or a free-busy-query) names, else the account's, else None (each event's
    own). `at`: the time range's start, the year a custom VTIMEZONE is matched from."""
    if query is not None:
        by_id = query.find(tag(CALDAV, "timezone-id"))
        written = query.find(tag(CALDAV, "timezone"))
        if by_id is not None and written is not None:
            raise _invalid("CALDAV:timezone or CALDAV:timezone-id, not both (RFC 7809 §5.2).")
        if by_id is not None:
            named = _named(by_id.text or "")
            if named is None:
                named_as = (by_id.text or "").strip()[:100]
                raise _invalid(f"No time zone {named_as!r} here.", "valid-timezone")
            return named
        if written is not None:
            year = (at or utcnow()).year
            # off the loop: a custom VTIMEZONE is matched against the zone database (ms)
            return await asyncio.to_thread(_of_vtimezone, written.text or "", year)
    return user.timezone
