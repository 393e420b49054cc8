"""What a write's conflict check covers (events/schedule.py checks it): the occurrences its
event has afterwards and did not have before (`added_occurrences`), in its horizon — 366
days from the series' first occurrence, or from yesterday for a series begun earlier that
runs on — and around each occurrence it moves beyond that (`windows`); each series to
CHECK_LIMIT occurrences, a batch's together to BATCH_CHECK_LIMIT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, TypeVar

from neo_events.events import recurrence
from neo_events.events.calendar_cuts import shortened
from neo_events.events.content import series_of, span_of
from neo_events.events.listing import MAX_OCCURRENCES, too_many_occurrences
from neo_events.events.off_loop import off_the_loop

HORIZON = timedelta(days=366)
MOVED_CHECKED = 20  # occurrences a write moves past its horizon that its check covers
_AROUND = timedelta(days=2)  # around a moved occurrence (an all-day one is placed in its zone)
Span = tuple[datetime, datetime]
T = TypeVar("T")
CHECK_LIMIT = 2_000  # occurrences of one series a write checks: a daily one's year is 366
# ...all of one check's series together (a batch's), each an equal share: 500 minutely series
# checked a million, 3-4 s (an eighth outside attack); a share of 400 holds a daily year.
BATCH_CHECK_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Candidate:
    """An event a write makes or changes (`event_id` None if new): its series now, and as it
    was before the write, whose occurrences are not checked again. A transparent event
    (free time) adds nothing to check; one that was transparent had nothing checked."""

    event_id: int | None
    series: recurrence.Series
    before: recurrence.Series | None = None
    transparent: bool = False

    @classmethod
    def of(
        cls, event_id: int | None, content: Mapping[str, Any], before: Mapping[str, Any] | None
    ) -> Candidate:
        was_busy = before is not None and before.get("transparency", "opaque") == "opaque"
        return cls(
            event_id,
            series_of(content),
            series_of(before) if was_busy and before is not None else None,
            transparent=content["transparency"] == "transparent",
        )


def horizon(series: recurrence.Series, now: datetime | None = None) -> Span:
    """HORIZON from the series' first occurrence (to its last, if sooner); for a series
    begun before yesterday that runs on, from yesterday: the coming year of a weekly
    meeting begun years ago is checked, not its first year (an outside attack: `reject`
    let every clash through), and a past clash concerns nobody. A series wholly in the
    past is checked as it was (a diary written up afterwards)."""
    start, last = span_of(series)
    yesterday = (now or datetime.now(UTC)) - timedelta(days=1)
    if start < yesterday and (last is None or last > yesterday):
        start = yesterday
    end = start + HORIZON
    return start, min(end, last) if last is not None else end


def windows(candidate: Candidate) -> list[Span]:
    """The spans a check of the candidate covers: its horizon, and around each occurrence
    it moves past it, to MOVED_CHECKED (an override it adds or changes: moving the 80th week
    of a series checks that week, which its horizon does not hold)."""
    series, before = candidate.series, candidate.before
    window = horizon(series)
    if not series.overrides:
        return [window]
    had = {(o.recurrence_id, o.start, o.end) for o in before.overrides} if before else set()
    found = [window]
    for override in series.overrides:
        if override.start is None or (override.recurrence_id, override.start, override.end) in had:
            continue  # texts only, or where it was
        around = (override.start - _AROUND, (override.end or override.start) + _AROUND)
        if window[0] <= around[0] and around[1] <= window[1]:
            continue
        found.append(around)
        if len(found) > MOVED_CHECKED:
            break
    return found


def occurrences(
    series: recurrence.Series, window: Span, *, strict: bool = False, limit: int = CHECK_LIMIT
) -> list[Span]:
    """Occurrences in the window. In a check over the horizon, a series too dense for it is
    checked up to where it reaches `limit`, so a check is always bounded. `strict`, for a
    window the caller chose: too many is a 422, so an answer is never shortened."""
    return _bounded(recurrence.spans, _span, series, window, strict=strict, limit=limit)


def identified(
    series: recurrence.Series, window: Span, *, limit: int = CHECK_LIMIT
) -> list[recurrence.Occurrence]:
    """`occurrences`, each with its recurrence id (which occurrence it is), bounded alike."""
    return _bounded(recurrence.expand, lambda o: o, series, window, strict=False, limit=limit)


def _span(o: recurrence.Occurrence) -> Span:
    return o.start, o.end


def _bounded(
    expand: Callable[..., list[T]],
    pick: Callable[[recurrence.Occurrence], T],
    series: recurrence.Series,
    window: Span,
    *,
    strict: bool,
    limit: int,
) -> list[T]:
    start, end = window
    while True:
        try:
            return expand(series, start, end, limit=MAX_OCCURRENCES if strict else limit)
        except recurrence.ExpansionLimitExceeded as exc:
            if strict:
                raise too_many_occurrences() from None
            before, end = shortened(exc, start, end)
            if before is None or len(before) > limit:
                continue
            return [pick(o) for o in before]


def added_occurrences(candidate: Candidate, limit: int = CHECK_LIMIT) -> list[Span]:
    """The candidate's occurrences in its `windows` (to `limit` in all) that it did not have
    before, in order."""
    if candidate.transparent:
        return []
    spans = windows(candidate)
    found: list[Span] = []
    for window in spans:
        mine = _not_had(candidate.series, candidate.before, window, limit)
        if len(spans) == 1:
            return mine
        found.extend(mine)
        if len(found) >= limit:
            break
    return sorted(set(found))


def _not_had(
    series: recurrence.Series, before: recurrence.Series | None, window: Span, limit: int
) -> list[Span]:
    """The series' occurrences in the window that `before` did not have, each known by its
    recurrence id and times: one moved to where another of its series is, or was, is new.
    Without overrides their times alone tell (an occurrence no override moved starts at its
    recurrence id), and a series' spans are expanded faster than its occurrences."""
    if before is None:
        return occurrences(series, window, limit=limit)
    if series.overrides or before.overrides:
        had = {o[:3] for o in identified(before, window, limit=limit)}
        return [
            (o.start, o.end) for o in identified(series, window, limit=limit) if o[:3] not in had
        ]
    spans = set(occurrences(before, window, limit=limit))
    return [o for o in occurrences(series, window, limit=limit) if o not in spans]


def _added_each(candidates: Sequence[Candidate]) -> list[list[Span]]:
    """`added_occurrences` of each candidate, within its share of BATCH_CHECK_LIMIT,
    expanded once for equal candidates (a batch of copies of one series makes one expansion,
    not 500); the lists are shared, not copied."""
    limit = max(1, min(CHECK_LIMIT, BATCH_CHECK_LIMIT // max(len(candidates), 1)))
    known: dict[Candidate, list[Span]] = {}
    added = []
    for candidate in candidates:
        if candidate.series.overrides or (candidate.before and candidate.before.overrides):
            added.append(added_occurrences(candidate, limit))  # an override holds a dict
            continue
        found = known.get(candidate)
        if found is None:
            found = known[candidate] = added_occurrences(candidate, limit)
        added.append(found)
    return added


async def added_by(candidates: Sequence[Candidate]) -> list[list[Span]]:
    """The occurrences each candidate adds (`added_occurrences`, within its share of the
    batch's limit), worked out off the event loop for a batch."""
    return await off_the_loop(len(candidates) > 1, lambda: _added_each(candidates))


def distinct_added(added: list[list[Span]]) -> list[list[Span]]:
    # (a batch's lists are shared between equal candidates, `_added_each`: each looked at once)
    return list({id(occ): occ for occ in added if occ}.values())


def window_of(added: list[list[Span]]) -> Span | None:
    """The span of the calendars a check of these occurrences reads (None: nothing to
    check)."""
    return spanned(distinct_added(added))


def spanned(distinct: list[list[Span]]) -> Span | None:
    # by C-level min/max, not a generator over a batch's 183,000 pairs
    if not distinct:
        return None
    lo = min(min(occ, key=itemgetter(0))[0] for occ in distinct)
    return lo, max(max(occ, key=itemgetter(1))[1] for occ in distinct)


APART = timedelta(days=31)  # a gap between occurrences past which they are read apart


def apart(distinct: list[list[Span]]) -> list[Span]:
    """The spans of the calendars to read for these occurrences (at most CHECK_LIMIT of
    them): one for each run of occurrences with no gap of APART between them. A check of a
    series' year and of occurrences it moves years away reads around each, not the years
    between (whose occurrences counted towards the read's limit, so that past a busy year
    the moved ones went unchecked: an outside attack). At most 12 runs hold a horizon's
    occurrences, and MOVED_CHECKED more the moved ones'."""
    runs: list[Span] = []
    for start, end in sorted(o for occ in distinct for o in occ):
        if runs and start - runs[-1][1] <= APART:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs
