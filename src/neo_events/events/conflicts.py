"""Overlap of half-open intervals: which busy intervals a set of occurrences runs into.

Pure: no FastAPI, no SQLAlchemy. [a, b) and [b, c) touch but do not overlap.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T", bound=tuple[Any, ...])


class Busy(NamedTuple):
    """One occurrence of one event in someone's calendar (a tuple: a calendar read of
    twenty people makes thousands)."""

    start: datetime
    end: datetime
    event_id: int  # its title, where a clash shows it, is read for what clashes
    holders: frozenset[int] = frozenset()  # whose calendars it is in


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


class Checked:
    """The times a conflict check asks about, merged (`merge`): a calendar read given them
    keeps only the occurrences that meet or touch them (`among`), since no other can clash.
    A year's read for a weekly series then sweeps the few occurrences near its 52 weeks,
    not every occurrence of the caller's series in the year (`calendars._Read.collect`).
    A superset of what overlaps, never less: closed comparisons, so an occurrence that only
    touches one, or lasts no time, is kept for the sweep to decide."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, occurrences: Iterable[tuple[datetime, datetime]]) -> None:
        union = merge(occurrences)
        self._starts = [start for start, _ in union]
        self._ends = [end for _, end in union]

    def meets(self, start: datetime, end: datetime) -> bool:
        """Whether [start, end] meets one of the times (closed: touching counts)."""
        # the first of the disjoint, ordered times that ends at or after `start`: if any
        # meets [start, end], this one starts no later, so it meets it too
        i = bisect_left(self._ends, start)
        return i < len(self._ends) and self._starts[i] <= end

    def among(self, found: Sequence[T]) -> list[T]:
        """Those of a calendar read's occurrences (recurrence id, start, end, ...) that
        meet the times."""
        starts, ends, n = self._starts, self._ends, len(self._ends)
        # `meets`, inline: a year of a daily series is 365 of them a check
        return [o for o in found if (i := bisect_left(ends, o[1])) < n and starts[i] <= o[2]]


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


# A candidate's occurrence still running at the sweep's position: (end, candidate, start),
# a plain tuple so that heaps of them order by end at C speed.
_Open = tuple[datetime, int, datetime]


def sweep_conflicts(
    candidates: Sequence[Sequence[tuple[datetime, datetime]]],
    calendar: Sequence[Busy],
    *,
    excluded: Sequence[int | None],
    limit: int = 100,
) -> list[list[Busy]]:
    """For each candidate (its occurrences), the calendar entries and the other candidates'
    occurrences it overlaps — a batch must not clash with itself either — ordered by start,
    at most `limit` each, calendar entries of `excluded[i]` (the candidate's own event)
    left out. Another candidate j's occurrence appears as Busy(…, event_id=-(j + 1)).

    One sweep over everything sorted by start, O((n + m) log(n + m)) plus the pairs found:
    only candidates' occurrences are kept open, and a candidate with `limit` pairs stops
    collecting. Which of more than `limit` overlapping entries are listed is unspecified.
    """
    found: list[list[Busy]] = [[] for _ in candidates]
    seen: list[set[object]] = [set() for _ in candidates]
    # (start, kind, index, end): kind 0 an occurrence of candidate `index`, kind 1 the
    # calendar entry calendar[index].
    points: list[tuple[datetime, int, int, datetime]] = [
        (start, 0, i, end) for i, occurrences in enumerate(candidates) for start, end in occurrences
    ]
    points += ((b.start, 1, j, b.end) for j, b in enumerate(calendar))
    points.sort(key=itemgetter(0))  # stable: equal starts keep candidates first
    # Heaps by end of what overlaps the sweep's position: every candidate occurrence, the
    # occurrences of candidates still collecting (pruned lazily), and calendar entries.
    running: list[_Open] = []
    wanting: list[_Open] = []
    busy_running: list[tuple[datetime, int]] = []
    collecting = len(candidates)

    def add(candidate: int, key: object, busy: Busy) -> None:
        nonlocal collecting
        if len(found[candidate]) < limit and key not in seen[candidate]:
            seen[candidate].add(key)
            found[candidate].append(busy)
            collecting -= len(found[candidate]) == limit

    heappush, heappop = heapq.heappush, heapq.heappop
    latest = None  # the latest end of anything opened so far
    for start, kind, index, end in points:
        if not collecting:
            break  # every candidate has its `limit`
        if latest is None or start >= latest:  # all of it has ended (the commonest case)
            running.clear()
            wanting.clear()
            busy_running.clear()
            latest = end
        else:
            if end > latest:
                latest = end
            while running and running[0][0] <= start:
                heappop(running)
            while wanting and wanting[0][0] <= start:
                heappop(wanting)
            while busy_running and busy_running[0][0] <= start:
                heappop(busy_running)
            # mostly full candidates (by a sample of 8, when there are more): drop them
            if len(wanting) > 8 and sum(len(found[o[1]]) >= limit for o in wanting[:8]) > 4:
                wanting = [o for o in wanting if len(found[o[1]]) < limit]
                heapq.heapify(wanting)
        if kind == 1:
            busy = calendar[index]
            for o in wanting:
                if busy.event_id != excluded[o[1]]:
                    add(o[1], index, busy)
            heappush(busy_running, (end, index))
            continue
        if wanting:
            mine = Busy(start, end, -(index + 1))
            for o in wanting:
                if o[1] != index:
                    add(o[1], (index, start), mine)
        for o_end, other, o_start in running:
            if len(found[index]) >= limit:
                break
            if other != index:
                add(index, (other, o_start), Busy(o_start, o_end, -(other + 1)))
        for _, j in busy_running:
            if len(found[index]) >= limit:
                break
            if calendar[j].event_id != excluded[index]:
                add(index, j, calendar[j])
        entry = (end, index, start)
        heappush(running, entry)
        if len(found[index]) < limit:
            heappush(wanting, entry)
    for clashes in found:
        clashes.sort(key=lambda b: (b.start, b.event_id))
    return found
