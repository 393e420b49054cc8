"""The expansions cache: a window built from cached weeks is exactly the direct expansion,
and the cache keeps to its bounds in entries and bytes."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neo_events.events import recurrence
from neo_events.events.expansions import (
    BLOCK_LIMIT,
    Expansions,
    Kept,
    Weeks,
    expansion_bytes,
)
from neo_events.events.recurrence import Override, Series
from neo_events.infra.cache import LOCKED_LOOKUPS, LruCache

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
RULES = [
    None,
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=MONTHLY;BYDAY=1MO",
    "FREQ=HOURLY;INTERVAL=7",
    "FREQ=DAILY;COUNT=9",
]
BASE = datetime(2026, 3, 20, tzinfo=UTC)  # DST changes in Europe and America nearby


def expand_in_blocks(
    cache: Expansions | None,
    key: tuple[int, int],
    series: Callable[[], Series],
    start: datetime,
    end: datetime,
    *,
    limit: int,
) -> Sequence[Kept]:
    """One event's window through the cache of its weeks, as a calendar read expands each
    of its events (events/calendars.py)."""
    weeks = Weeks(cache, start, end)
    return weeks.expand(key, series, weeks.look_up(key), limit=limit)


def _cache() -> Expansions:
    return LruCache(
        "test", size=10_000, on_lookup=lambda *_: None, max_bytes=1 << 24, weigh=expansion_bytes
    )


@st.composite
def series(draw: st.DrawFn) -> Series:
    start = BASE + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 20)))
    length = timedelta(minutes=draw(st.sampled_from([0, 30, 90, 60 * 24 * 9])))
    rule = draw(st.sampled_from(RULES))
    originals = recurrence.expand(
        Series(start, start + length, draw(st.sampled_from(ZONES)), rule),
        start,
        start + timedelta(days=40),
        limit=1_000,
    )
    picked = draw(st.lists(st.sampled_from(originals), max_size=3, unique=True))
    exdates = tuple(o.recurrence_id for o in picked[:1])
    overrides = tuple(  # moved by up to 10 days either way, some to another week
        Override(o.recurrence_id, o.start + timedelta(hours=draw(st.integers(-240, 240))))
        for o in picked[1:]
    )
    zone = draw(st.sampled_from(ZONES))
    all_day = draw(st.booleans()) and length > timedelta(0)
    return Series(
        start,
        start + length,
        zone,
        rule,
        exdates=exdates,
        overrides=overrides,
        all_day_zone=draw(st.sampled_from(ZONES)) if all_day else None,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    series(),
    st.integers(-24 * 4, 24 * 40),
    st.integers(1, 24 * 62),
    st.lists(st.tuples(st.integers(-24 * 4, 24 * 40), st.integers(1, 24 * 20)), max_size=3),
)
def test_a_window_from_cached_weeks_is_the_direct_expansion(
    s: Series, offset: int, hours: int, earlier: list[tuple[int, int]]
) -> None:
    cache = _cache()
    for o, h in earlier:  # other windows first: what they left in the cache is reused
        lo = BASE + timedelta(hours=o)
        expand_in_blocks(cache, (1, 1), lambda: s, lo, lo + timedelta(hours=h), limit=10_000)
    lo = BASE + timedelta(hours=offset)
    hi = lo + timedelta(hours=hours)
    direct = recurrence.expand(s, lo, hi, limit=10_000)
    assert expand_in_blocks(cache, (1, 1), lambda: s, lo, hi, limit=10_000) == direct
    assert expand_in_blocks(cache, (1, 1), lambda: s, lo, hi, limit=10_000) == direct  # hits


def test_past_the_limit_it_raises_as_the_direct_expansion_does() -> None:
    s = Series(BASE, BASE + timedelta(minutes=30), "UTC", "FREQ=DAILY")
    lo, hi = BASE + timedelta(days=2), BASE + timedelta(days=16)
    with pytest.raises(recurrence.ExpansionLimitExceeded) as direct:
        recurrence.expand(s, lo, hi, limit=5)
    cache = _cache()
    expand_in_blocks(cache, (1, 1), lambda: s, lo, hi, limit=100)  # the weeks are cached
    with pytest.raises(recurrence.ExpansionLimitExceeded) as blocked:
        expand_in_blocks(cache, (1, 1), lambda: s, lo, hi, limit=5)
    assert blocked.value.reached == direct.value.reached


def test_a_series_too_dense_for_a_week_is_expanded_directly_and_not_kept() -> None:
    monday = datetime(2026, 3, 16, tzinfo=UTC)  # a week starts: each week holds 2,016
    s = Series(monday, monday + timedelta(minutes=1), "UTC", "FREQ=MINUTELY;INTERVAL=5")
    lo, hi = monday, monday + timedelta(days=8)
    cache = _cache()
    found = expand_in_blocks(cache, (1, 1), lambda: s, lo, hi, limit=10_000)
    assert len(found) > BLOCK_LIMIT
    assert found == recurrence.expand(s, lo, hi, limit=10_000)
    assert len(cache) == 0


def test_the_version_is_part_of_the_key() -> None:
    """A new version of an event is a new key: what the old one cached is never served."""
    old = Series(BASE, BASE + timedelta(hours=1), "UTC", "FREQ=DAILY")
    new = Series(BASE + timedelta(hours=3), BASE + timedelta(hours=4), "UTC", "FREQ=DAILY")
    lo, hi = BASE, BASE + timedelta(days=14)
    cache = _cache()
    assert expand_in_blocks(cache, (1, 1), lambda: old, lo, hi, limit=100) == recurrence.expand(
        old, lo, hi
    )
    assert expand_in_blocks(cache, (1, 2), lambda: new, lo, hi, limit=100) == recurrence.expand(
        new, lo, hi
    )


def test_kept_weeks_are_plain_tuples_the_collector_stops_tracking() -> None:
    """A full collection walks every tracked object: weeks kept as Occurrences (NamedTuples,
    always tracked) made it cost 20 ms at this benchmark's 40,000 (BENCHMARKS.md, #19)."""
    s = Series(BASE, BASE + timedelta(hours=1), "Europe/Berlin", "FREQ=DAILY")
    lo, hi = BASE, BASE + timedelta(days=14)
    cache = _cache()
    expand_in_blocks(cache, (1, 1), lambda: s, lo, hi, limit=100)
    gc.collect()  # the occurrences' tuples are let go of,
    gc.collect()  # then the weeks' that hold only them
    parts = Weeks(cache, lo, hi).look_up((1, 1))
    assert len(parts) == 3 and all(parts)
    assert not any(gc.is_tracked(part) or any(map(gc.is_tracked, part)) for part in parts)
    assert expand_in_blocks(cache, (1, 1), lambda: s, lo, hi, limit=100) == recurrence.expand(
        s, lo, hi
    )


def test_the_cache_keeps_to_its_entries_and_bytes() -> None:
    cache: LruCache[str] = LruCache(
        "test", size=3, on_lookup=lambda *_: None, max_bytes=100, weigh=len
    )
    for key in "abc":
        cache.put(key, "x" * 30)
    assert len(cache) == 3 and cache.bytes == 90
    cache.get("a")  # a is now the most recently used
    cache.put("d", "x" * 30)  # 120 bytes: b goes
    assert cache.get("b") is None and cache.get("a") is not None and cache.bytes == 90
    cache.put("e", "x" * 80)  # c and d go
    assert [cache.get(k) is not None for k in "acde"] == [False, False, False, True]
    assert cache.bytes == 80
    cache.put("f", "x" * 101)  # heavier than the whole cache: not kept
    assert cache.get("f") is None and cache.bytes == 80
    cache.put("e", "y")  # replacing a value replaces its weight
    assert cache.bytes == 1


def test_a_series_kept_weighs_its_exceptions_and_their_texts() -> None:
    """A series is kept whatever its exceptions (`keep_series`), so it must weigh them: as a
    one-occurrence entry, 1,000 overrides with long titles would be 800 bytes."""
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    plain = Series(start, start + timedelta(hours=1), "UTC", "FREQ=DAILY")
    overrides = tuple(
        Override(start + timedelta(days=d), fields={"title": "x" * 1_000}) for d in range(1_000)
    )
    heavy = Series(plain.start, plain.end, "UTC", "FREQ=DAILY", overrides=overrides)
    assert expansion_bytes((plain,)) == 1_000
    assert expansion_bytes((heavy,)) == 1_000 + 1_000 * (200 + 1_000)
    week = tuple(recurrence.expand(plain, start, start + timedelta(days=7)))
    assert expansion_bytes(week) == 600 + 200 * 7  # an expansion of seven occurrences


def test_a_read_looks_every_event_up_at_once() -> None:
    """A calendar read finds what the cache holds of all its events in one lookup, and the
    series of those it lacks in one more (one each, with its lock and its metric, cost a
    check of a calendar of 400 series a fifth of its CPU): the same answers as one at a
    time."""
    lookups: list[int] = []
    cache: Expansions = LruCache(
        "test",
        size=10_000,
        on_lookup=lambda _name, _hit, n: lookups.append(n),
        max_bytes=1 << 24,
        weigh=expansion_bytes,
    )
    lo, hi = BASE, BASE + timedelta(days=10)  # two weeks
    built = {
        e: Series(
            BASE + timedelta(hours=e),
            BASE + timedelta(hours=e, minutes=30),
            "Europe/Berlin",
            "FREQ=DAILY",
        )
        for e in range(1, 41)
    }
    for e in range(1, 21):  # half of them read before: their weeks and series kept
        expand_in_blocks(cache, (e, 1), lambda e=e: built[e], lo, hi, limit=100)
        Weeks(cache, lo, hi).keep_series((e, 1), built[e])
    weeks = Weeks(cache, lo, hi)
    events = dict.fromkeys(built, 1)
    lookups.clear()
    found = weeks.look_up_all(events)
    known = weeks.known_series((e, 1) for e, parts in found.items() if not weeks.complete(parts))
    assert sum(lookups) == 40 * 2 + 20 and len(lookups) <= 4  # (a hit and a miss count each)
    for e in range(1, 21):  # each its own weeks: expanded from them, its own occurrences
        assert len(found[e]) == 2
        assert weeks.expand((e, 1), lambda: pytest.fail("not cached"), found[e], limit=100) == [
            (o.recurrence_id, o.start, o.end, o.override)
            for o in recurrence.expand(built[e], lo, hi)
        ]
    assert all(found[e] == [None, None] for e in range(21, 41))
    assert [e for e in built if weeks.complete(found[e])] == list(range(1, 21))
    assert known == dict.fromkeys(range(21, 41))
    assert Weeks(cache, lo, hi).known_series([(3, 1), (30, 1)]) == {3: built[3], 30: None}


def test_a_lookup_of_many_keys_lets_the_lock_go_between_parts() -> None:
    """`get_many` holds the cache's lock for LOCKED_LOOKUPS keys at a time, so a calendar
    read in a worker thread does not hold up the event loop's lookups for all of its own;
    the answers, their counts and the order of use are those of one `get` a key."""
    counted: list[tuple[bool, int]] = []
    cache: LruCache[int] = LruCache(
        "test", size=10_000, on_lookup=lambda _n, hit, n: counted.append((hit, n))
    )
    for key in range(0, 3_000, 2):  # every even key kept
        cache.put(key, key * 10)

    class Counting:
        def __init__(self, lock: Any) -> None:
            self.lock, self.held = lock, 0

        def __enter__(self) -> None:
            self.held += 1
            self.lock.__enter__()

        def __exit__(self, *exc: object) -> None:
            self.lock.__exit__(*exc)

    lock = cache._lock = Counting(cache._lock)  # type: ignore[assignment]
    keys = list(range(2_999, -1, -1))
    found = cache.get_many(keys)
    assert lock.held == -(-len(keys) // LOCKED_LOOKUPS) > 1
    assert found == [k * 10 if k % 2 == 0 else None for k in keys]
    assert sorted(counted) == [(False, 1_500), (True, 1_500)]
    assert list(cache._entries)[:3] == [2_998, 2_996, 2_994]  # the order of use
