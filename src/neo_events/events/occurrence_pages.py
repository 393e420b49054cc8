"""A page of occurrences as JSON: the window listing's (`GET /events?start_time=…`) and
`/events/{id}/instances`' answer, each event object written once and copied per occurrence,
with the caller's answers to single occurrences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

import orjson
from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events.days import date_in, day_of
from neo_events.events.listing import EventLoader, occurrence_cursor
from neo_events.events.recurrence import Occurrence
from neo_events.events.rrule import zone_named
from neo_events.events.views import EventKey, EventObjects, event_objects
from neo_events.invitations.responses import occurrence_answers
from neo_events.pages import MAX_PAGE_BYTES

# A page of occurrences holds at most MAX_PAGE_BYTES of JSON (`pages`): one that would pass
# it ends early with a `next_cursor` (one item alone may be larger: it is then the whole page).
# The window listing and `/instances` repeat the event object in every item, and a series
# may carry 1,000 overrides, rdates and exdates (a quarter of a megabyte), so a count alone
# would allow pages of a hundred megabytes and seconds of CPU.
_ENVELOPE = len(b'{"items":[],"next_cursor":""}') + 600  # room for the longest cursor


# Event objects are loaded for a page in rounds of these many events, then twice as many,
# until the page's events are loaded or their objects alone fill MAX_PAGE_BYTES (every
# occurrence repeats its object): a page of 500 events carrying 1,000 of each exception
# (a quarter of a megabyte each, 125 MB in all) loads 64 of them, not 500; a page of up to
# 64 events is one round, as before.
FIRST_ROUND = 64


async def page_objects(
    session: AsyncSession,
    keys: Sequence[EventKey],
    load: EventLoader,
    cache: EventObjects | None,
    *,
    viewer_id: int,
) -> tuple[dict[int, dict[str, Any]], int]:
    """The JSON-ready objects (`views.event_objects`) of the first of `keys` (in page order)
    that a page can hold, and how many of the keys were loaded: the rest would not fit in
    MAX_PAGE_BYTES, and the page ends before its first occurrence of them."""
    objects: dict[int, dict[str, Any]] = {}
    loaded, size, round_size = 0, 0, FIRST_ROUND
    while loaded < len(keys) and (loaded == 0 or size <= MAX_PAGE_BYTES):
        chunk = keys[loaded : loaded + round_size]
        found = await event_objects(session, chunk, load, cache, viewer_id=viewer_id)
        objects |= found
        loaded += len(chunk)
        round_size *= 2
        if loaded < len(keys):  # a last round's size does not matter
            size += sum(len(orjson.dumps(o, option=orjson.OPT_UTC_Z)) for o in found.values())
    return objects, loaded


class Listed(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def is_recurring(self) -> bool: ...


async def my_occurrence_answers(
    session: AsyncSession,
    user_id: int,
    events: Sequence[Listed],
    objects: Mapping[int, Mapping[str, Any]],
) -> dict[int, dict[date | datetime, str]]:
    """The caller's answers to single occurrences of the series on a page where they are
    invited (at most MAX_OCCURRENCE_ANSWERS each), keyed as the page names occurrences: by
    instant, or by date for an all-day series."""
    invited = [e.id for e in events if e.is_recurring and objects.get(e.id, {}).get("my_response")]
    found = await occurrence_answers(session, {(event_id, user_id) for event_id in invited})
    return {
        event_id: {
            (day_of(rid) if objects[event_id]["all_day"] else rid): answer
            for rid, answer in found.get((event_id, user_id), {}).items()
        }
        for event_id in invited
    }


def occurrences_response(
    items: Iterable[tuple[dict[str, Any], Occurrence, bool]],
    next_cursor: str | None,
    zone: str | None = None,
    answers: Mapping[int, Mapping[date | datetime, str]] | None = None,
) -> Response:
    """An `OccurrenceList` as JSON, for (JSON-ready event object, occurrence, recurring?) in
    the listing's order (`listing._order`), `next_cursor` continuing after the last of them.

    Every item repeats its event object, exception lists included (a series may carry 1,000
    overrides, rdates and exdates), so a page is bounded by bytes as well as by count: it
    ends early, once MAX_PAGE_BYTES of it are written, with a cursor continuing right after
    its last item (always at least one item, so every page moves on). And it is written
    without repeating work per occurrence: an event object met again is serialised once
    (`_Template`), and each of its occurrences only writes its own fields and copies those
    bytes (one met once is written whole: a template of it would cost as much again).
    The output is byte-for-byte what `OccurrenceList` would give (tested).
    An all-day occurrence also carries its dates, and its date as `recurrence_id`: in
    `zone` (the caller's `timezone=`) where it was placed, else in the event's own zone.
    `answers`: the caller's answers to single occurrences, by event and recurrence id (a
    date for an all-day series), which replace `my_response` there.
    """
    parts: list[bytes] = [b'{"items":[']
    size = _ENVELOPE
    templates: dict[int, _Template] = {}
    once: set[int] = set()  # events met once so far: written whole, without a template
    last: tuple[int, Occurrence] | None = None
    for base, occurrence, recurring in items:
        template = templates.get(id(base))
        if template is not None:
            item = template.fields.copy()
        elif id(base) not in once:  # most events of a page occur once in it
            once.add(id(base))
            item = dict(base)
        else:
            template = templates[id(base)] = _Template(base)
            item = template.fields.copy()
        item["start_time"] = occurrence.start
        item["end_time"] = occurrence.end
        if occurrence.override is not None:
            item.update(occurrence.override.fields)
        rid: datetime | date = occurrence.recurrence_id
        if base.get("all_day"):
            placed = zone_named(zone or base["timezone"])
            item["start_date"] = date_in(occurrence.start, placed).isoformat()
            item["end_date"] = date_in(occurrence.end, placed).isoformat()
            rid = date_in(occurrence.recurrence_id, placed)
        item["recurrence_id"] = rid if recurring else None
        if answers and recurring and (answer := answers.get(base["id"], {}).get(rid)):
            item["my_response"] = answer
        written = orjson.dumps(item, option=orjson.OPT_UTC_Z)
        if last is not None and size + 1 + len(written) > MAX_PAGE_BYTES:
            next_cursor = occurrence_cursor(*last)  # the rest on the next page
            break
        if last is not None:
            parts.append(b",")
        parts.append(written)
        size += len(written) + 1
        last = (base["id"], occurrence)
    parts += (b'],"next_cursor":', orjson.dumps(next_cursor), b"}")
    return Response(b"".join(parts), media_type="application/json")


class _Template:
    """An event object ready to copy per occurrence: each list, object and string in it
    already serialised (an `orjson.Fragment`, copied as bytes), so an occurrence costs its
    own fields and a copy of the event's bytes, never a walk through its exception lists."""

    __slots__ = ("fields",)

    def __init__(self, base: Mapping[str, Any]) -> None:
        self.fields: dict[str, Any] = {
            name: orjson.Fragment(orjson.dumps(value, option=orjson.OPT_UTC_Z))
            if isinstance(value, list | dict | str)
            else value
            for name, value in base.items()
        }
