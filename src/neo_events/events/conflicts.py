"""Overlap of half-open intervals: which busy intervals a set of occurrences runs into.

Pure: no FastAPI, no SQLAlchemy. [a, b) and [b, c) touch but do not overlap.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Busy:
    """One occurrence of one event in someone's calendar."""

    start: datetime
    end: datetime
    event_id: int
    title: str


def merge(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The union of intervals as sorted, disjoint intervals; touching intervals join, since
    together they are one busy stretch."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def find_conflicts(
    occurrences: Iterable[tuple[datetime, datetime]],
    calendar: Sequence[Busy],
    *,
    exclude_event: int | None = None,
    limit: int = 100,
) -> list[Busy]:
    """Calendar entries overlapping any of the occurrences, ordered by start, at most `limit`.

    O((n + m) log n): the occurrences are merged into disjoint intervals, and each calendar
    entry is checked with one binary search.
    """
    union = merge(occurrences)
    if not union:
        return []
    ends = [end for _, end in union]
    found: list[Busy] = []
    for busy in sorted(calendar, key=lambda b: (b.start, b.event_id)):
        if busy.event_id == exclude_event:
            continue
        # the first union interval that ends after this entry starts
        index = bisect_right(ends, busy.start)
        if index < len(union) and union[index][0] < busy.end:
            found.append(busy)
            if len(found) >= limit:
                break
    return found
