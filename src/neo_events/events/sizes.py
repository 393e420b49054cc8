"""How large an event's iCalendar may grow: each override is written as a whole VEVENT with
the series' texts and its attendee list again (RFC 5545 §3.8.4.4), so overrides, texts and
attendees multiply, each within its own limit. The size is estimated before anything is
written (`rendered_bytes`), refused by a content write (`validation.build_content`, without
people), an invitation (`invitations.service.invite`) or an edit or rollback of an event
with people (`within_size`), and the export fills only the room left with occurrences
answered one by one (`ical/export.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import ValidationFailed
from neo_events.events.content import TEXT_FIELDS, Content
from neo_events.models import Attendee

# What one event's iCalendar may weigh, estimated before anything is written (bytes): each
# override is written as a whole VEVENT, with the series' texts and its attendee list again
# (RFC 5545 §3.8.4.4), so overrides, texts and attendees multiply, each within its own limit
# (1,000 overrides x 10,000 characters x 500 people: 52 MB, 13 s of writing each export of
# it, paid by everyone invited). 4 MiB is about 0.5 s of writing.
MAX_RENDERED_BYTES = 4 * 1024 * 1024
MAX_PEOPLE = 500  # an event's organizer and attendees (invitations.service.MAX_ATTENDEES)
_VEVENT_BYTES = 400  # UID, DTSTAMP, CREATED, LAST-MODIFIED, SEQUENCE, times, TRANSP...
_PERSON_BYTES = 100  # an ATTENDEE line: its address, CN, ROLE and PARTSTAT


def rendered_bytes(content: Mapping[str, Any], people: int = 0) -> int:
    """About what the event's iCalendar takes: the master and each override, each with the
    texts it shows and a line per person (organizer and attendees)."""
    return _bytes(weight(content), people)


def weight(content: Mapping[str, Any]) -> tuple[int, int]:
    """The event's VEVENTs (the master and each override) and the bytes of the texts they
    show, each text measured once however many VEVENTs show it (five sizings of an event
    of 1,000 overrides with their own descriptions held an occurrence edit's loop ~50 ms)."""
    measured: dict[str, int] = {}

    def size(text: str | None) -> int:
        if not text:
            return 0
        found = measured.get(text)
        if found is None:
            found = measured[text] = text_bytes(text)
        return found

    own = {name: size(content.get(name)) for name in TEXT_FIELDS}
    each = sum(own.values())
    overrides = content.get("overrides") or ()
    total = each
    for override in overrides:
        total += each
        for name in TEXT_FIELDS & override.keys():  # those it shows instead of the series'
            total += size(override[name]) - own[name]
    return 1 + len(overrides), total


def _bytes(weighed: tuple[int, int], people: int) -> int:
    vevents, texts = weighed
    return vevents * (_VEVENT_BYTES + _PERSON_BYTES * people) + texts


def vevent_bytes(values: Mapping[str, Any], people: int = 0) -> int:
    """About what one VEVENT with these texts and people takes."""
    texts = sum(text_bytes(values.get(name) or "") for name in TEXT_FIELDS)
    return _VEVENT_BYTES + _PERSON_BYTES * people + texts


def text_bytes(text: str) -> int:
    """What a TEXT value takes as iCalendar writes it (ical/texts.py): its UTF-8 bytes, a
    backslash before each comma, semicolon, backslash and line break, and a fold (CR LF and
    a space) every 75 bytes or so. A text of `&,` takes 1.5 times its length."""
    # (`isascii` is a flag of the string, `count` of one character a byte scan: no pass of
    # Python over the characters; `isalnum`, tried first before, took 5 µs a 900-character text)
    written = len(text) if text.isascii() else len(text.encode())
    written += sum(map(text.count, (",", ";", "\\", "\n")))
    return written + written // 75 * 3


def check_size(
    current: Mapping[str, Any] | None, content: Mapping[str, Any], people: int, fail: Any
) -> None:
    """Refuse content whose iCalendar, with `people` listed, would pass MAX_RENDERED_BYTES
    (`rendered_bytes`), unless it grows no larger than it was (an event written
    before the bound can still be edited)."""
    size = rendered_bytes(content, people)
    if size <= MAX_RENDERED_BYTES or (
        current is not None and size <= rendered_bytes(current, people)
    ):
        return
    where = ["overrides"] if content.get("overrides") else ["description"]
    raise fail(
        where,
        f"the event would take about {size / 2**20:.1f} MB as iCalendar (each override "
        f"repeats its texts and attendees); at most {MAX_RENDERED_BYTES // 2**20} MB: fewer "
        "overrides, shorter texts or fewer attendees",
    )


async def within_size(
    session: AsyncSession, event_id: int, current: Content, content: Content
) -> None:
    """`check_size` with the event's people, who are counted only where they could
    take a content that grows past the bound (`build_content` checked it without them)."""
    weighed = weight(content)
    if _bytes(weighed, MAX_PEOPLE) <= MAX_RENDERED_BYTES or _bytes(weighed, 0) <= rendered_bytes(
        current
    ):
        return
    people = await session.scalar(
        select(func.count()).select_from(Attendee).where(Attendee.event_id == event_id)
    )
    check_size(current, content, people or 0, ValidationFailed.field)
