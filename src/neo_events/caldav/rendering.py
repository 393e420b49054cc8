"""Resource texts of the collection's items: stored ones where a client wrote them, else
rendered from the events (expanded to UTC occurrences when a report asks), in a worker
thread and cached per worker by everything the text depends on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.caldav import resources
from neo_events.caldav.resources import Stored
from neo_events.caldav.service import Caches, DavError, Item, full_events
from neo_events.events import recurrence
from neo_events.models import CalendarResource


async def bodies(session: AsyncSession, items: Sequence[Item]) -> dict[int, tuple[str, int | None]]:
    """The stored texts of the items that have one, with the version each describes."""
    ids = [item.event.id for item in items if item.stored is not None]
    if not ids:
        return {}
    rows = await session.execute(
        select(
            CalendarResource.event_id, CalendarResource.body, CalendarResource.body_version
        ).where(CalendarResource.event_id.in_(ids), CalendarResource.body.is_not(None))
    )
    return {event_id: (body, version) for event_id, body, version in rows.all() if body is not None}


async def render(
    session: AsyncSession,
    items: Sequence[Item],
    *,
    expand: tuple[datetime, datetime] | None = None,
    caches: Caches | None = None,
) -> dict[int, bytes]:
    """Each item's resource text (expanded to occurrences in UTC when asked), rendered in a
    worker thread: thousands of events take long enough to stall other requests."""
    done: dict[int, bytes] = {}
    # the reader's reminders and the answers are in the text: part of the key, as of the ETag
    keys = {
        item.event.id: (
            item.event.id,
            item.event.version,
            item.stamp,
            expand,
            item.mine,
            item.people,
            item.answers_key,
        )
        for item in items
    }
    if caches is not None:
        for item in items:
            hit = caches.texts.get(keys[item.event.id])
            if hit is not None:
                done[item.event.id] = hit
        items = [item for item in items if item.event.id not in done]
    # an expanded answer's cached texts count against its budget too (their VEVENTs' lines)
    left = resources.MAX_EXPANDED_LINES
    if expand is not None:
        left -= sum(text.count(b"\n") - resources.CALENDAR_LINES for text in done.values())
        if left < 0:
            raise too_many_occurrences()
    if not items:
        return done
    texts = await bodies(session, items)
    events = await full_events(session, items)
    jobs = [
        (
            item.event.id,
            item.outgoing(events[item.event.id]),
            Stored(item.name, item.uid, *texts.get(item.event.id, (None, None))),
            events[item.event.id].version,
        )
        for item in items
        if item.event.id in events
    ]
    # a text is cached under the version it was made from (a row read whole just now may be
    # newer than its listed head, on PostgreSQL's READ COMMITTED)
    keys |= {i: (i, version, *keys[i][2:]) for i, _, _, version in jobs}

    def run() -> dict[int, bytes]:
        if expand is None:
            return {i: resources.render(out, stored, v) for i, out, stored, v in jobs}
        # every resource's occurrences are found first, each within what the others left of
        # the answer's lines (so a refusal renders nothing), then rendered
        budget, found = left, []
        for i, out, _, _ in jobs:
            weight = resources.lines_an_occurrence(out)
            occurrences = resources.occurrences(out, *expand, limit=budget // weight)
            budget -= weight * len(occurrences)
            found.append((i, out, occurrences))
        return {i: resources.expanded(out, occurrences) for i, out, occurrences in found}

    try:
        made = await asyncio.to_thread(run)
    except recurrence.ExpansionLimitExceeded:
        raise too_many_occurrences() from None
    if caches is not None:
        for event_id, text in made.items():
            caches.texts.put(keys[event_id], text)
    return done | made


def too_many_occurrences() -> DavError:
    """An expand whose answer would pass MAX_EXPANDED_LINES: refused whole, as RFC 4791 §7.8
    lets a server refuse a report past its limits."""
    return DavError(
        403,
        ("DAV:", "number-of-matches-within-limits"),
        "The expanded answer would hold too many occurrences; ask for a shorter time range "
        "or fewer resources.",
        "too_many_occurrences",
    )
