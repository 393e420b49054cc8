"""How much text a search may read: the listing's `q=` and `location=` (SPEC §4).

A search compares its text with the title, description and location of the caller's events in
the database (`text_search.contains`), with no index: its cost is the bytes of text it reads,
times up to the needle's length for a needle made to be compared whole at every position
(`b` and 199 of the text's character: PostgreSQL 62 ns a byte, against 3.5 for a plain word).
Before this bound a search read every text of every event the caller held: 5,000 events of
40 KB cost PostgreSQL 0.62-0.77 s, and 12.5-13.5 s for such a needle (an eighth outside attack,
2026-12-04). Now a request reads at most SEARCH_BYTES (`searched_bytes`; for `as_of` a past
version's whole snapshot, which is read to compare its fields; each byte counted once per
Unicode form the search text is compared in, `text_search.forms`, each form being a pass):

- **Without a window** the events are read in the listing's order and the reading stops at
  SEARCH_BYTES, or after SEARCH_ROWS events: the page holds the matches found until then,
  fewer than `limit` or none, and its `next_cursor` continues where the reading stopped
  (SPEC §2 never promises `limit` items while more exist; a client follows `next_cursor`
  until it is null, as for any page). The first event of a page is always read, so every
  page moves on.
- **With a window** the occurrences are ordered by start across events, so there is no place
  to stop: when the events in the window hold more than SEARCH_BYTES of text to search, the
  request is refused whole, before any is read: 422 `search_too_broad` (a narrower window, or
  the listing without one, answers).

Sizes are read without the texts (`searched_bytes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.errors import ValidationFailed
from neo_events.events.content import iso
from neo_events.models import Event
from neo_events.pages import content_bytes
from neo_events.protocol import encode_cursor

# The most text one search request reads: 1 MiB is ~5 ms of PostgreSQL's CPU for a plain word
# and ~60 ms for the worst needle of SearchText's 200 characters (2 MiB: 0.11-0.19 s, over
# issue #16's 100 ms: a ninth outside attack).
SEARCH_BYTES = 1024 * 1024
# ...and at most this many events: a row costs PostgreSQL ~3 µs to read and compare, however
# short its texts (5,000: ~15 ms).
SEARCH_ROWS = 5_000


class SearchTooBroad(ValidationFailed):
    code = "search_too_broad"
    title = "The search would read too much text"


def too_broad(total: int, what: str = "the events in this window") -> SearchTooBroad:
    mib = SEARCH_BYTES // (1024 * 1024)
    return SearchTooBroad(
        f"A search reads at most {mib} MiB a request, and {what} hold {total:,} bytes to"
        " search. Narrow the window, or search without one (the listing by start reads a page"
        " at a time: follow next_cursor).",
        searched_bytes=total,
        max_bytes=SEARCH_BYTES,
    )


def searched_bytes(dialect: str) -> Any:
    """What searching an event reads, in bytes, as a column of a query on `Event`: on
    PostgreSQL the bytes of its title, description and location (`octet_length` reads a
    stored value's header, not the value); on SQLite, where a text's length is read by
    reading the text, its content's stored size (`pages.content_bytes`, by index), which
    holds those texts and a little more."""
    if dialect != "postgresql":
        return content_bytes()
    texts = (Event.title, Event.description, Event.location)
    return sum((func.coalesce(func.octet_length(text), 0) for text in texts), literal(0))


def in_order(
    keys: Select[*tuple[Any, ...]], order: Sequence[Any], names: Sequence[str], size: str
) -> Subquery:
    """The first SEARCH_ROWS + 1 of `keys` (the rows a search may read, its text filters not
    applied; `size` names the column of a row's bytes) in `order` (whose columns `names`
    names), with `before`: the bytes of the rows before each, or SEARCH_BYTES for the row
    past SEARCH_ROWS, which is not read either (the first row a page does not read says
    where its cursor continues, `Scan`). The rows are counted too: 120,000 events titled
    "x" are 1.4 MB, read at ~3 µs a row (an outside attack, 2026-12-05)."""
    held = keys.order_by(*order).limit(SEARCH_ROWS + 1).subquery("held")
    ordering = [held.c[name] for name in names]
    read = func.sum(held.c[size]).over(order_by=ordering, rows=(None, 0)) - held.c[size]
    past = func.row_number().over(order_by=ordering) > SEARCH_ROWS
    before = case((past, literal(SEARCH_BYTES)), else_=read)
    return select(held, before.label("before")).subquery("scanned")


def matching_within(before: Any, matches: ColumnElement[bool]) -> ColumnElement[bool]:
    """A condition that is `matches` for a row read within SEARCH_BYTES, and true for the
    rows past it (none of their text read: the first of them says where a page stops,
    `Scan`). `matches` is evaluated only for the rows within: a CASE, not an AND the
    planner may reorder."""
    return case((before < SEARCH_BYTES, matches), else_=true())


async def within_budget(
    session: AsyncSession, candidates: Select[*tuple[Any, ...]], scanned: Any
) -> None:
    """422 `search_too_broad` unless the candidates' texts (`scanned`: a row's bytes) hold at
    most SEARCH_BYTES: a window listing's search, which cannot stop part way."""
    total = await session.scalar(candidates.with_only_columns(func.coalesce(func.sum(scanned), 0)))
    if total is not None and total > SEARCH_BYTES:
        raise too_broad(total)


@dataclass(frozen=True, slots=True)
class Scan:
    """A keyset page's rows (in order, as `matching_within` chose them, with `before`),
    split into the matches and the first row not read, if the reading stopped short."""

    hits: list[Any]
    unread: Any | None

    @classmethod
    def of(cls, rows: Sequence[Any]) -> Scan:
        hits = [row for row in rows if row.before < SEARCH_BYTES]
        return cls(hits, rows[len(hits)] if len(hits) < len(rows) else None)

    def cursor_before_unread(self, start: datetime, event_id: int) -> str | None:
        """The cursor of a page that holds every hit: just before the first row not read
        (`unread`, whose key is `start`, `event_id`), None if every row was read. Keys are
        (start, id) with integer ids, so (start, id - 1) continues at that row exactly."""
        if self.unread is None:
            return None
        return encode_cursor({"s": iso(start), "i": event_id - 1})
