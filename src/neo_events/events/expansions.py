"""Occurrence expansions kept per worker (`app.state.expansions`), content-addressed.

An entry is the expansion of one event at one version into one window: the key (event id,
version, window start, window end, all-day zone or None) names everything the value depends
on, so no entry is ever stale and nothing is invalidated on a write. The window listing keeps
its windows; a calendar read (conflicts, free/busy, find-time) keeps aligned weeks, so that
windows starting on different days share entries. Bounded in entries and in bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from neo_events.events import recurrence
from neo_events.events.rrule import HIGHEST, LOWEST
from neo_events.infra.cache import LruCache

Expansions = LruCache[tuple[recurrence.Occurrence, ...]]


def expansion_bytes(expansion: tuple[recurrence.Occurrence, ...]) -> int:
    """About what an entry of the expansions cache holds (measured with tracemalloc on
    weeks of daily and weekly series): its key, the cache's own bookkeeping and the tuple,
    about 600 bytes; and per occurrence a 4-tuple and two datetimes, about 200."""
    return 600 + 200 * len(expansion)


# A calendar read (conflicts, free/busy, find-time) expands each event into the aligned
# weeks its window touches, so that windows starting on different days share entries.
BLOCK = timedelta(days=7)
_EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday
MAX_BLOCKS = 10  # longer windows (a conflict check's year) are expanded directly
BLOCK_LIMIT = 2_000  # a series denser than this in a week is expanded directly, not kept
_TICK = timedelta(microseconds=1)


def expand_in_blocks(
    cache: Expansions | None,
    key: tuple[int, int],
    series: Callable[[], recurrence.Series],
    start: datetime,
    end: datetime,
    *,
    limit: int,
) -> list[recurrence.Occurrence]:
    """`recurrence.expand(series(), start, end, limit=limit)` for the event `key` (id,
    version), built from the expansions of the aligned weeks the window touches, each cached
    under the same key as a listing's window (id, version, start, end, zone None): a version
    names one content, so an entry is never stale. The weeks not cached are expanded in one
    go and split. Past the limit it is the direct expansion that raises, as it would have."""
    if (
        cache is None
        or cache.size == 0
        or not LOWEST + BLOCK < start < end < HIGHEST - BLOCK
        or end - start > BLOCK * (MAX_BLOCKS - 1)
    ):
        return recurrence.expand(series(), start, end, limit=limit)
    first = _EPOCH + BLOCK * ((start - _EPOCH) // BLOCK)
    blocks = [first + BLOCK * i for i in range((end - first + BLOCK - _TICK) // BLOCK)]
    parts = cache.get_many([(*key, b, b + BLOCK, None) for b in blocks])
    missing = [b for b, part in zip(blocks, parts, strict=True) if part is None]
    if missing:
        built = series()
        lo, hi = missing[0], missing[-1] + BLOCK
        try:
            span = recurrence.expand(built, lo, hi, limit=BLOCK_LIMIT * len(missing))
        except recurrence.ExpansionLimitExceeded:
            return recurrence.expand(built, start, end, limit=limit)
        for i, b in enumerate(blocks):
            if parts[i] is None:  # what reaches the week, in the span's order
                part = tuple(o for o in span if recurrence.overlaps(o.start, o.end, b, b + BLOCK))
                if len(part) > BLOCK_LIMIT:
                    return recurrence.expand(built, start, end, limit=limit)
                cache.put((*key, b, b + BLOCK, None), part)
                parts[i] = part
    # Each occurrence once, from the first week it reaches: one that starts before a week
    # and reaches into it reached the week before too. So the parts, each ordered by
    # (start, recurrence_id), follow one another in that order.
    found: list[recurrence.Occurrence] = []
    for b, kept in zip(blocks, parts, strict=True):
        found += (
            o
            for o in kept or ()
            if (b == first or o.start >= b) and recurrence.overlaps(o.start, o.end, start, end)
        )
    if len(found) > limit:
        return recurrence.expand(series(), start, end, limit=limit)  # raises
    return found
