"""Occurrence expansions kept per worker (`app.state.expansions`), content-addressed.

An entry is the expansion of one event at one version into one window, or the event's
series: the key names everything the value depends on, so no entry is ever stale and nothing
is invalidated on a write. The window listing keeps its windows, as Occurrences, under (event
id, version, window start, window end, all-day zone or None); a calendar read (conflicts,
free/busy, find-time) keeps aligned weeks under (event id, version, week start), as plain
tuples (`Kept`), so that windows starting on different days share entries, and the series it
built them from under (event id, version). Bounded in entries and in bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from dateutil import rrule as du
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db
from neo_events.events import recurrence
from neo_events.events.plans import plan_of
from neo_events.events.rrule import HIGHEST, LOWEST, utc, values
from neo_events.infra.cache import LruCache

Expansions = LruCache[tuple[recurrence.Occurrence, ...]]
# An occurrence as a calendar read keeps it: (recurrence_id, start, end, override), a plain
# tuple. The collector stops tracking a plain tuple of datetimes the first time it looks at
# it, but walks every NamedTuple (`Occurrence`) on every full pass: a cache of weeks held as
# Occurrences made each full collection cost 20 ms at 40,000 of them (BENCHMARKS.md).
Kept = tuple[datetime, datetime, datetime, recurrence.Override | None]


def keep_series(cache: LruCache[Any], key: tuple[int, int], series: recurrence.Series) -> None:
    """Keep `series` as the series of the event `key` (id, version), for `Weeks.known_series`,
    weighed by its exceptions (`series_bytes`): a series of many overrides is the one most
    worth keeping (400 series of 380 overrides were read, decoded and parsed again for every
    window not cached, ~1 s of CPU each time: a profile, 2026-12-04)."""
    if cache.size > 0:
        cache.put(key, (series,))


def known_series(
    cache: LruCache[Any] | None, keys: Iterable[tuple[int, int]]
) -> dict[int, recurrence.Series | None]:
    """The series of each event `key` (id, version) as an earlier read built it, or None, by
    id: kept in the cache under the two-part key, as a one-tuple (`keep_series`), so that a
    cold window or week of a series seen before needs neither its content read nor its series
    built (a calendar read's, a listing's). One lookup of the cache for all (one each, with
    its lock and its metric, cost a check of a calendar of 400 series a fifth of its CPU)."""
    keys = list(keys)
    if cache is None or cache.size == 0:
        return {key[0]: None for key in keys}
    found = cast("list[tuple[recurrence.Series] | None]", cache.get_many(keys))
    pairs = zip(keys, found, strict=True)
    return {key[0]: None if kept is None else kept[0] for key, kept in pairs}


def keep_title(cache: LruCache[Any], key: tuple[int, int], title: str) -> None:
    """Keep the title of the event `key` (id, version), for `kept_titles`."""
    if cache.size > 0:
        cache.put(("title", *key), (title,))


def kept_titles(cache: LruCache[Any], shown: Mapping[int, int]) -> dict[int, str]:
    """The titles kept (`keep_title`) of these events, each at its version, by id."""
    found = cache.get_many([("title", e, v) for e, v in shown.items()])
    return {e: kept[0] for e, kept in zip(shown, found, strict=True) if kept is not None}


# A series written is kept only with at most this many exceptions: weighing one walks its
# overrides, and a batch of 500 series of 1,000 would take that long on the loop (a calendar
# read keeps the others, in its worker thread when heavy).
WRITTEN_EXCEPTIONS = 8


def keep_written(
    session: AsyncSession, written: Iterable[tuple[int, int, recurrence.Series]]
) -> None:
    """Once the request has committed, keep the series of the events it wrote, each (id,
    version, series): the worker's next calendar read that meets one (its owner's next
    create, above all) neither reads its content back nor builds its series again. After
    the commit, never before: on SQLite the id of an insert rolled back is given again, and a
    series kept under it would answer for another event."""
    cache = of_session(session)
    if cache is None or cache.size == 0:
        return
    kept = list(written)

    async def keep() -> None:  # on the loop: series of few exceptions, quick to weigh
        for event_id, version, series in kept:
            exceptions = len(series.exdates) + len(series.rdates) + len(series.overrides)
            if exceptions <= WRITTEN_EXCEPTIONS:
                keep_series(cache, (event_id, version), series)

    db.after_commit(session, keep)


def attach(session: AsyncSession, cache: Expansions) -> None:
    """Let this session's calendar reads (conflict checks, suggestions, free/busy) use the
    worker's cache: a request's session carries it (`web.get_session`)."""
    session.info[_SESSION_KEY] = cache


def of_session(session: AsyncSession) -> Expansions | None:
    """The cache `attach` gave this session, if any (a job's or the CLI's has none)."""
    cache: Expansions | None = session.info.get(_SESSION_KEY)
    return cache


_SESSION_KEY = "neo.expansions"


def expansion_bytes(expansion: tuple[recurrence.Occurrence, ...] | tuple[Any]) -> int:
    """About what an entry of the expansions cache holds (measured with tracemalloc on
    weeks of daily and weekly series): its key, the cache's own bookkeeping and the tuple,
    about 600 bytes; and per occurrence a 4-tuple and two datetimes, about 200. A series
    kept (`keep_series`, a one-tuple) weighs what `series_bytes` says."""
    if len(expansion) == 1 and isinstance(expansion[0], recurrence.Series):
        return 600 + series_bytes(expansion[0])
    if len(expansion) == 1 and isinstance(expansion[0], str):  # a title (`keep_title`)
        return 650 + len(expansion[0])
    return 600 + 200 * len(expansion)


def series_bytes(series: recurrence.Series) -> int:
    """About what a series holds: 400 bytes, each exdate or rdate about 50, each override
    about 200 and the texts of the fields it changes."""
    texts = sum(
        len(value)
        for o in series.overrides
        for value in o.fields.values()
        if isinstance(value, str)
    )
    exceptions = 50 * (len(series.exdates) + len(series.rdates)) + 200 * len(series.overrides)
    return 400 + exceptions + texts


# A calendar read (conflicts, free/busy, find-time) expands each event into the aligned
# weeks its window touches, so that windows starting on different days share entries.
BLOCK = timedelta(days=7)
_EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday
MAX_BLOCKS = 10  # longer windows (a conflict check's year) are expanded directly
BLOCK_LIMIT = 2_000  # a series denser than this in a week is expanded directly, not kept
_TICK = timedelta(microseconds=1)


class Weeks:
    """The aligned weeks a window touches, worked out once for all the events a calendar read
    expands into it (conflicts, free/busy, find-time): each event's occurrences are built
    from the expansions of those weeks, each cached under (id, version, week start) as plain
    tuples (`Kept`), and the series under (id, version) (`series`, `keep_series`). A version
    names one content, so an entry is never stale. Without a cache, or for a window too long
    or too near the ends of time, there are no weeks and each event is expanded directly."""

    __slots__ = ("_blocks", "_cache", "_first", "_inner", "_tag", "end", "start", "zone")

    def __init__(
        self, cache: Expansions | None, start: datetime, end: datetime, zone: str | None = None
    ) -> None:
        self.start, self.end, self.zone = start, end, zone
        # a read placing all-day days in a reader's zone keeps its weeks apart (the series
        # built stay the events' own: `calendar_series.series` places them)
        self._tag: tuple[str, ...] = () if zone is None else (zone,)
        self._cache = cast("LruCache[tuple[Kept, ...]] | None", cache)
        self._first = _EPOCH + BLOCK * ((start - _EPOCH) // BLOCK)
        self._blocks: list[datetime] = []
        if (
            cache is not None
            and cache.size > 0
            and LOWEST + BLOCK < start < end < HIGHEST - BLOCK
            and end - start <= BLOCK * (MAX_BLOCKS - 1)
        ):
            count = (end - self._first + BLOCK - _TICK) // BLOCK
            self._blocks = [self._first + BLOCK * i for i in range(count)]
        # Weeks wholly inside the window: what starts in them needs no test against it.
        self._inner = [start <= b and b + BLOCK <= end for b in self._blocks]

    def over(self, start: datetime, end: datetime) -> Weeks:
        """The weeks of another window, in the same cache and zone."""
        return Weeks(cast("Expansions | None", self._cache), start, end, self.zone)

    def keep_series(self, key: tuple[int, int], series: recurrence.Series) -> None:
        """Keep what `series` returns (`keep_series`)."""
        if self._cache is not None:
            keep_series(self._cache, key, series)

    def known_series(self, keys: Iterable[tuple[int, int]]) -> dict[int, recurrence.Series | None]:
        """`known_series` of this read's cache."""
        return known_series(self._cache, keys)

    def look_up(self, key: tuple[int, int]) -> list[tuple[Kept, ...] | None]:
        """What the cache holds of the event `key` (id, version), a week at a time (None: not
        cached); empty if this window is not kept by weeks."""
        return self.look_up_all({key[0]: key[1]})[key[0]]

    def look_up_all(self, events: Mapping[int, int]) -> dict[int, list[tuple[Kept, ...] | None]]:
        """`look_up` of each event (version by id), by id, in one lookup of the cache."""
        blocks = self._blocks
        if not blocks:
            return {event_id: [] for event_id in events}
        assert self._cache is not None
        tag = self._tag
        found = self._cache.get_many([(e, v, b, *tag) for e, v in events.items() for b in blocks])
        n = len(blocks)
        return {e: found[i * n : i * n + n] for i, e in enumerate(events)}

    @staticmethod
    def complete(parts: list[tuple[Kept, ...] | None]) -> bool:
        """Whether `look_up` found every week (then `expand` needs no series)."""
        return bool(parts) and None not in parts

    def expand(
        self,
        key: tuple[int, int],
        series: Callable[[], recurrence.Series],
        parts: list[tuple[Kept, ...] | None],
        *,
        limit: int,
    ) -> Sequence[Kept]:
        """`recurrence.expand(series(), start, end, limit=limit)` for the event `key`, from
        the weeks `look_up` found (`parts`); the weeks missing are expanded in one go, split
        and kept. Past the limit it is the direct expansion that raises, as it would have."""
        start, end, blocks = self.start, self.end, self._blocks
        if not blocks:
            return recurrence.expand(series(), start, end, limit=limit)
        parts = list(parts)
        missing = [i for i, part in enumerate(parts) if part is None]
        if missing:
            assert self._cache is not None
            built = series()
            if most_a_week(built) > BLOCK_LIMIT:  # never kept: no week tried to find that out
                return recurrence.expand(built, start, end, limit=limit)
            lo, hi = blocks[missing[0]], blocks[missing[-1]] + BLOCK
            try:
                span = recurrence.expand(built, lo, hi, limit=BLOCK_LIMIT * len(missing))
            except recurrence.ExpansionLimitExceeded:
                return recurrence.expand(built, start, end, limit=limit)
            split = _split(span, lo, missing[-1] - missing[0] + 1)
            for i in missing:
                part = split[i - missing[0]]
                if len(part) > BLOCK_LIMIT:
                    return recurrence.expand(built, start, end, limit=limit)
                self._cache.put((*key, blocks[i], *self._tag), part)
                parts[i] = part
            if len(missing) == len(blocks):  # the span is the window's weeks: no assembly
                inside = [o for o in span if recurrence.overlaps(o.start, o.end, start, end)]
                if len(inside) > limit:
                    return recurrence.expand(built, start, end, limit=limit)  # raises
                return inside
        # Each occurrence once, from the first week it reaches: one that starts before a
        # week and reaches into it reached the week before too. So the parts, each ordered
        # by (start, recurrence_id), follow one another in that order.
        found: list[Kept] = []
        first = self._first
        for b, inner, kept in zip(blocks, self._inner, parts, strict=True):
            if not kept:
                continue
            if inner:  # what starts in the week lies in the window
                found += kept if b == first or kept[0][1] >= b else _from(kept, b)
            else:
                found += (
                    o
                    for o in kept
                    if (b == first or o[1] >= b) and recurrence.overlaps(o[1], o[2], start, end)
                )
        if len(found) > limit:
            return recurrence.expand(series(), start, end, limit=limit)  # raises
        return found


_WEEK_STEPS = {du.HOURLY: 7 * 24, du.MINUTELY: 7 * 24 * 60}  # periods a week, at INTERVAL=1


def most_a_week(series: recurrence.Series) -> int:
    """At least as many occurrences as `series` can have starting in any one week, from its
    rule alone: the periods of a sub-daily rule a week times the times in each (BYMINUTE,
    BYSECOND), else seven days times the BYHOUR x BYMINUTE x BYSECOND times of a day; plus a
    seventh for a fold's repeated hour, and every rdate and override. A series denser than a
    week's BLOCK_LIMIT was found out by expanding a week until the limit (2,000 occurrences,
    ~5 ms): 500 minutely series made each conflict check and free/busy read cost 2.5 s."""
    extra = len(series.rdates) + len(series.overrides)
    if series.rule is None:
        return 1 + extra
    plan = plan_of(series.rule, utc(series.start), series.timezone)
    explicit, rule = plan.explicit, plan.rule
    seconds = len(values(explicit["bysecond"]))
    if rule.freq in _WEEK_STEPS:
        minutes = 1 if rule.freq == du.MINUTELY else len(values(explicit["byminute"]))
        most = -(-_WEEK_STEPS[rule.freq] // rule.interval) * minutes * seconds
    else:
        most = 7 * len(values(explicit["byhour"])) * len(values(explicit["byminute"])) * seconds
    return most + most // 7 + extra


def _split(span: list[recurrence.Occurrence], lo: datetime, weeks: int) -> list[tuple[Kept, ...]]:
    """The occurrences of a span of whole weeks from `lo` that reach each week, in one pass,
    in the span's order, as plain tuples: an occurrence reaches the week it starts in (or the
    first, if it starts before `lo`) and each week up to the last one its end passes into
    (`recurrence.overlaps`: a zero-length one only the week it starts in)."""
    split: list[list[Kept]] = [[] for _ in range(weeks)]
    for occurrence in span:
        o: Kept = (occurrence.recurrence_id, occurrence.start, occurrence.end, occurrence.override)
        first = (o[1] - lo) // BLOCK
        last = -((lo - o[2]) // BLOCK) - 1  # the last week that begins before its end
        if o[1] >= lo:
            last = max(last, first)
        for i in range(max(first, 0), min(last, weeks - 1) + 1):
            split[i].append(o)
    return [tuple(part) for part in split]


def _from(kept: tuple[Kept, ...], at: datetime) -> tuple[Kept, ...]:
    """The occurrences from the first that starts at or after `at` (they are in order)."""
    i = 0
    while i < len(kept) and kept[i][1] < at:
        i += 1
    return kept[i:]
