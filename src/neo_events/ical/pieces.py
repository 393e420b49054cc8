"""Rendered events kept between feed polls: each event's VEVENTs (export.Piece) by a digest of
everything its text depends on, so a poll after a change renders what changed, not the whole
calendar (issue #16). Per process, least recently used out first, bounded in bytes. Pure:
neither the web framework nor the database.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime

from neo_events.ical.export import Piece
from neo_events.ical.people import Attendance


def piece_key(
    event_id: int,
    version: int,
    updated_at: datetime,
    people: Sequence[Attendance],
    mine: Sequence[int],
    answers: Mapping[datetime, Mapping[str, str]] | None,
) -> bytes:
    """What an event's piece depends on: its content (id and version: every content change
    makes a version; the last change's instant, written as DTSTAMP, too), and what changes no
    version: its people and their answers (for the series and per occurrence) and the
    reader's own reminders. A change to any of them is a new key, never a stale piece."""
    text = repr(
        (
            event_id,
            version,
            updated_at.isoformat(),
            tuple(people),
            tuple(mine),
            sorted((rid.isoformat(), sorted(by.items())) for rid, by in (answers or {}).items()),
        )
    )
    return hashlib.sha256(text.encode()).digest()


class PieceCache:
    """Pieces by key, evicting the least recently used past `max_bytes` of text. Used from
    the event loop only (rendering happens in threads; their results are put here after)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._pieces: OrderedDict[bytes, Piece] = OrderedDict()

    def get(self, key: bytes) -> Piece | None:
        found = self._pieces.get(key)
        if found is not None:
            self._pieces.move_to_end(key)
        return found

    def put(self, key: bytes, piece: Piece) -> None:
        if len(piece.text) > self.max_bytes or key in self._pieces:
            return
        self._pieces[key] = piece
        self.size += len(piece.text)
        while self.size > self.max_bytes:
            _, dropped = self._pieces.popitem(last=False)
            self.size -= len(dropped.text)

    def clear(self) -> None:
        self._pieces.clear()
        self.size = 0

    def __len__(self) -> int:
        return len(self._pieces)
