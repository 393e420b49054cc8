"""A write's own clashes, less those its occurrences had before it (SPEC §7: "a conflict
that already existed before the change is never reported as the change's own").

An occurrence a write moves or resizes replaces the one it was: a single event's one
occurrence, or the occurrence of a series with the same recurrence id while the series' rule
and first start stay as they were (an occurrence edit, a series made longer or shorter).
A calendar entry that overlapped the occurrence replaced overlapped the event before the
write, so it is not the write's clash through the one replacing it, though it still
overlaps (an event resized that already overlapped another one). An occurrence no earlier
one is known to have been (a new rdate, an exdate taken back, any occurrence of a series
whose rule or start changed) has every clash its own, as a create's has.

A clash is matched to the occurrence that had it, never by times alone: an occurrence moved
to where another occurrence of its series already clashes (saved there under `warn`) meets
that clash anew, as its own; where several occurrences the write adds share their times,
a clash there is older only if each of them replaced one that had it.

Pure: no FastAPI, no SQLAlchemy.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from neo_events.events import recurrence
from neo_events.events.conflicts import Busy, find_conflicts, sweep_conflicts
from neo_events.events.recurrence import Series
from neo_events.events.rrule import utc

Span = tuple[datetime, datetime]


Replaced = Mapping[Span, tuple[Span, ...]]


def predecessors(
    series: Series, before: Series | None, window: Span, limit: int
) -> dict[Span, tuple[Span, ...]]:
    """For the times of the occurrences of `series` in the window that it did not have in
    `before` (by recurrence id and times), the spans of the occurrences they replace there
    (module doc); absent where one of them replaced none, or none is known, or either series
    has more than `limit` occurrences there."""
    if before is None:
        return {}
    try:
        if _single(series) and _single(before):
            [now] = recurrence.expand(series, *_whole(series), limit=1)
            [then] = recurrence.expand(before, *_whole(before), limit=1)
            if now[1:3] == then[1:3]:
                return {}
            return {(now.start, now.end): ((then.start, then.end),)}
        if not _same_rule(series, before):
            return {}
        had = {
            o.recurrence_id: (o.start, o.end)
            for o in recurrence.expand(before, *window, limit=limit)
        }
        found: dict[Span, tuple[Span, ...]] = {}
        for o in recurrence.expand(series, *window, limit=limit):
            span, replaced = (o.start, o.end), had.get(o.recurrence_id)
            if replaced == span:
                continue  # the same occurrence where it was: not added
            known = found.get(span)
            # () marks times that an occurrence replacing none has too
            found[span] = () if replaced is None or known == () else (*(known or ()), replaced)
        return {span: spans for span, spans in found.items() if spans}
    except recurrence.ExpansionLimitExceeded:
        return {}


def _single(series: Series) -> bool:
    return series.rule is None and not series.rdates


def _whole(series: Series) -> Span:
    """A window that holds a single event's occurrence (an all-day one's is placed at its
    zone's midnights, up to 14 hours from its dates' UTC ones)."""
    return utc(series.start) - _AROUND, utc(series.end) + _AROUND


_AROUND = timedelta(days=2)


def _same_rule(series: Series, before: Series) -> bool:
    """Whether the two name their occurrences alike: the same recurrence ids, so that each
    occurrence replaces the one of its id (an occurrence's length may differ)."""
    keep = ("start", "timezone", "rule", "rdates", "all_day_zone")
    return all(getattr(series, name) == getattr(before, name) for name in keep)


def met_before(replaced: Replaced, calendar: Sequence[Busy], event_id: int | None) -> set[int]:
    """The calendar entries (by identity) that overlapped an occurrence replaced."""
    if not replaced:
        return set()
    spans = [span for spans in replaced.values() for span in spans]
    found = find_conflicts(spans, calendar, exclude_event=event_id, limit=len(calendar))
    return {id(b) for b in found}


def own(
    found: Sequence[Busy], added: Sequence[Span], replaced: Replaced, prior: set[int]
) -> list[Busy]:
    """Those of a candidate's clashes (`found`, from its `added` occurrences) that are its
    own: an entry that overlapped an occurrence replaced (`prior`) is kept only if an added
    occurrence it overlaps replaced none, or one it did not overlap (at times several added
    occurrences share, if any of them did)."""
    if not prior:
        return list(found)
    spans = sorted(added)
    starts = [s for s, _ in spans]
    longest = max(e - s for s, e in spans)
    kept = []
    for busy in found:
        if id(busy) not in prior:
            kept.append(busy)
            continue
        for start, end in spans[
            bisect_left(starts, busy.start - longest) : bisect_left(starts, busy.end)
        ]:
            if not (start < busy.end and busy.start < end):
                continue
            was = replaced.get((start, end), ())
            if not was or not all(s < busy.end and busy.start < e for s, e in was):
                kept.append(busy)
                break
    return kept


def sweep(
    moves: Sequence[tuple[Series, Series | None, Sequence[Span]]],
    added: Sequence[Sequence[Span]],
    calendar: Sequence[Busy],
    excluded: Sequence[int | None],
    listed: int,
    limit: int,
) -> list[list[Busy]]:
    """`sweep_conflicts` of each candidate's added occurrences, at most `listed` each, less
    what its occurrences replaced overlapped (module doc): each candidate is (its series,
    as it was before the write or None, the windows its added occurrences were found in)."""
    replaced = [
        {
            now: then
            for window in windows
            for now, then in predecessors(series, before, window, limit).items()
        }
        if before is not None
        else {}
        for series, before, windows in moves
    ]
    prior = [met_before(r, calendar, e) for r, e in zip(replaced, excluded, strict=True)]
    most = listed + max(map(len, prior), default=0)  # room for the clashes taken out
    found = sweep_conflicts(added, calendar, excluded=excluded, limit=most)
    if most == listed:
        return found
    return [own(*parts)[:listed] for parts in zip(found, added, replaced, prior, strict=True)]
