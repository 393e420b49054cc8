"""Pages bounded by bytes as well as by count.

SPEC §2 gives a page `limit` items at most (default 50, at most 500) and an opaque cursor; it
never promises `limit` items while more exist. Items can be large (an event's content may
weigh megabytes: `events.sizes`), so a count alone would let one page decode or write
hundreds of megabytes. A page therefore also stops at a byte budget, one per kind of work,
read from sizes stored with the rows before anything large is decoded: it then holds fewer
than `limit` items, and its cursor continues right after the last of them. It always holds
at least one, so every page moves on (one item over the budget comes alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events.access import Role, visible_events
from neo_events.models import Event, EventVersion

# The most a page of event objects may hold, in bytes of JSON: the listing (with a window or
# without), `/events/{id}/instances` and sync (SPEC §4, §8). 4 MiB is tens of milliseconds of
# reading and writing, where 500 events of a megabyte each were 0.6 s to 1.5 s on the loop.
MAX_PAGE_BYTES = 4 * 1024 * 1024

# The most a page of history or changelog may decode, in bytes of snapshots (each version's
# and the one before it, to say what changed; SPEC §6). A page's cost is linear in it: 8 MiB
# of versions that each changed 3,000 small items (exdates, rdates, overrides) was ~80 ms of
# decoding alone and 0.2-0.4 s in all, a 16.5 MB changelog; 2 MiB is a quarter of that. A
# page of 500 versions of a 0.9 MB event once decoded 1,000 of them, 1.9 s to 6 s.
MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024


def fitting(costs: Iterable[int], budget: int) -> int:
    """How many of a page's items, in order, it holds: as many as fit in `budget` with their
    `costs` added up, and always the first. `costs` is read no further than needed."""
    total, count = 0, 0
    for cost in costs:
        total += cost
        if count and total > budget:
            break
        count += 1
    return count


def content_bytes(event_id: Any = Event.id, version: Any = Event.version) -> Any:
    """An event's content in bytes of JSON, as a column of a query on `Event` (or on other
    columns that hold its id and version): its latest version's snapshot (written with the
    content, in the same transaction), read by index."""
    latest = (
        select(EventVersion.snapshot_bytes)
        .where(EventVersion.event_id == event_id, EventVersion.version == version)
        .scalar_subquery()
    )
    return func.coalesce(latest, 0)


async def visible_in_order(
    session: AsyncSession, user_id: int, ids: Sequence[int]
) -> list[tuple[Event, Role]]:
    """The full rows of the events of `ids` the user can see, with their role, in the order
    of `ids`: a page's items, once their sizes (`content_bytes`) chose which ones it holds."""
    if not ids:
        return []
    rows = await session.execute(visible_events(user_id).where(Event.id.in_(list(ids))))
    found = {event.id: (event, Role(role)) for event, role in rows}
    return [found[i] for i in ids if i in found]
