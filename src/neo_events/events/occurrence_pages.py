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
from neo_events.events.recurrence import Occurrence
from neo_events.events.rrule import zone_named
from neo_events.invitations.responses import occurrence_answers


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
    """An `OccurrenceList` as JSON, for (JSON-ready event object, occurrence, recurring?).

    A week's page repeats a few hundred events up to 500 times, so each event object is
    serialised once and copied per occurrence with that occurrence's times (and its
    override's fields); building and validating a model per occurrence cost more than the
    query. The output is byte-for-byte what `OccurrenceList` would give (tested).
    An all-day occurrence also carries its dates, and its date as `recurrence_id`: in
    `zone` (the caller's `timezone=`) where it was placed, else in the event's own zone.
    `answers`: the caller's answers to single occurrences, by event and recurrence id (a
    date for an all-day series), which replace `my_response` there.
    """
    rendered = []
    for base, occurrence, recurring in items:
        item = base.copy()
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
        rendered.append(item)
    body = {"items": rendered, "next_cursor": next_cursor}
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")
