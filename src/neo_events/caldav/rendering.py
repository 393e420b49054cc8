"""Resource texts of the collection's items: stored ones where a client wrote them, else
rendered from the events (expanded to UTC occurrences when a report asks, an all-day event's
days at the reader's midnights: caldav/zones.py), in a worker thread and cached per worker
by everything the text depends on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.caldav import resources, service
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


def _stored(item: Item, text: tuple[str | None, int | None]) -> Stored:
    """What is kept of the item's resource, for its text: the client's last text is served
    as sent only to a reader of its UID (not where it is `shadowed`: there it lends the
    codec's text its extra properties only)."""
    body, version = text
    return Stored(item.name, item.uid, body, None if item.shadowed else version)


async def render(
    session: AsyncSession,
    items: Sequence[Item],
    *,
    expand: tuple[datetime, datetime] | None = None,
    caches: Caches | None = None,
    zone: str | None = None,
) -> dict[int, bytes]:
    """Each item's resource text (expanded to occurrences in UTC when asked), rendered in a
    worker thread: thousands of events take long enough to stall other requests."""
    texts, _ = await render_within(
        session, items, expand=expand, caches=caches, max_bytes=None, zone=zone
    )
    return texts


async def for_answer(
    state: Any,
    session: AsyncSession,
    items: Sequence[Item],
    *,
    expand: tuple[datetime, datetime] | None = None,
    zone: str | None = None,
) -> tuple[dict[int, bytes], int]:
    """`render_within` one answer's MAX_ANSWER_BYTES, with the worker's caches (`state`: the
    app's)."""
    return await render_within(
        session,
        items,
        max_bytes=service.MAX_ANSWER_BYTES,
        expand=expand,
        caches=Caches.of(state),
        zone=zone,
    )


async def render_within(
    session: AsyncSession,
    items: Sequence[Item],
    *,
    max_bytes: int | None,
    expand: tuple[datetime, datetime] | None = None,
    caches: Caches | None = None,
    zone: str | None = None,
) -> tuple[dict[int, bytes], int]:
    """`render`, within `max_bytes` of text in all (None: no bound): the texts of the items,
    from the first, that fit (the first always does; none is rendered past it), and how many
    those are. Expanded, an all-day event's occurrences are those whose days, from `zone`'s
    midnights (None: its own zone's), overlap the window. An expanded answer that would pass
    MAX_ANSWER_BYTES or MAX_EXPANDED_LINES is refused whole (`too_many_occurrences`), its
    occurrences counted before any is rendered (a daily series with 10 KB of texts expanded
    over 13 years was a 183 MB answer)."""
    done: dict[int, bytes] = {}
    # the reader's reminders and the answers are in the text: part of the key, as of the ETag
    keys = {
        item.event.id: (
            item.event.id,
            item.event.version,
            item.stamp,
            expand,
            zone if expand is not None and item.event.all_day else None,
            item.mine,
            item.people,
            item.answers_key,
            item.shadowed,
        )
        for item in items
    }
    if caches is not None:
        for item in items:
            hit = caches.texts.get(keys[item.event.id])
            if hit is not None:
                done[item.event.id] = hit
    # an expanded answer's cached texts count against its budget too (their VEVENTs' content
    # lines, a folded one once, and their bytes)
    lines, size = resources.MAX_EXPANDED_LINES, max_bytes or service.MAX_ANSWER_BYTES
    if expand is not None:
        lines -= sum(
            text.count(b"\n") - text.count(b"\n ") - resources.CALENDAR_LINES
            for text in done.values()
        )
        size -= sum(len(text) for text in done.values())
        if lines < 0 or size < 0:
            raise too_many_occurrences()
    missing = [item for item in items if item.event.id not in done]
    texts = await bodies(session, missing) if missing else {}
    events = await full_events(session, missing) if missing else {}
    jobs = {
        item.event.id: (
            item.outgoing(events[item.event.id]),
            _stored(item, texts.get(item.event.id, (None, None))),
            events[item.event.id].version,
        )
        for item in missing
        if item.event.id in events
    }
    # a text is cached under the version it was made from (a row read whole just now may be
    # newer than its listed head, on PostgreSQL's READ COMMITTED)
    keys |= {i: (i, version, *keys[i][2:]) for i, (_, _, version) in jobs.items()}
    order = [item.event.id for item in items]

    def run() -> tuple[dict[int, bytes], int]:
        if expand is not None:
            # every resource's occurrences are found first, each within what the others
            # left of the answer's lines and bytes (so a refusal renders nothing), then
            # rendered
            budget, room, found = lines, size, {}
            for i, (out, _, _) in jobs.items():
                weight = resources.lines_an_occurrence(out)
                heft = resources.bytes_an_occurrence(out)
                limit = min(budget // weight, room // heft)
                occurrences = resources.occurrences(out, *expand, limit=limit, zone=zone)
                budget -= weight * len(occurrences)
                room -= heft * len(occurrences)
                found[i] = (out, occurrences)
            made = {i: resources.expanded(out, o, zone) for i, (out, o) in found.items()}
            return made, len(order)
        made, total = {}, 0
        for count, i in enumerate(order):
            text = done.get(i)
            if text is None and i in jobs:
                out, stored, version = jobs[i]
                text = made[i] = resources.render(out, stored, version)
            total += len(text or b"")
            if max_bytes is not None and total > max_bytes and count > 0:
                return made, count  # the last one made is cached, not answered
        return made, len(order)

    try:
        made, fitted = await asyncio.to_thread(run) if jobs else run()
    except recurrence.ExpansionLimitExceeded:
        raise too_many_occurrences() from None
    if caches is not None:
        for event_id, text in made.items():
            caches.texts.put(keys[event_id], text)
    answered = done | made
    if fitted < len(order):
        answered = {i: answered[i] for i in order[:fitted] if i in answered}
    return answered, fitted


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
