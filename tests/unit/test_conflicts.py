"""The conflict sweep against the obvious pairwise check, on generated calendars and batches."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from neo_events.events.conflicts import Busy, Checked, sweep_conflicts
from tests.timing import budget

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def brute_force(
    candidates: list[list[tuple[datetime, datetime]]],
    calendar: list[Busy],
    excluded: list[int | None],
) -> list[set[tuple[datetime, datetime, int]]]:
    """Every calendar entry and every other candidate's occurrence overlapping one of its own."""
    found: list[set[tuple[datetime, datetime, int]]] = []
    for i, mine in enumerate(candidates):
        others = [(s, e, -(j + 1)) for j, occ in enumerate(candidates) if j != i for s, e in occ]
        entries = [(b.start, b.end, b.event_id) for b in calendar if b.event_id != excluded[i]]
        found.append(
            {
                entry
                for entry in entries + others
                if any(s < entry[1] and entry[0] < e for s, e in mine)
            }
        )
    return found


def interval(rng: random.Random) -> tuple[datetime, datetime]:
    start = T0 + timedelta(minutes=15 * rng.randrange(300))
    return start, start + timedelta(minutes=15 * rng.randrange(1, 12))


@pytest.mark.parametrize("seed", range(40))
def test_the_sweep_finds_exactly_the_pairwise_overlaps(seed: int) -> None:
    rng = random.Random(seed)
    candidates = [
        sorted(interval(rng) for _ in range(rng.randrange(0, 6)))
        for _ in range(rng.randrange(1, 7))
    ]
    calendar = [Busy(*interval(rng), rng.randrange(1, 8)) for _ in range(rng.randrange(40))]
    excluded = [rng.choice([None, 1, 2, 3]) for _ in candidates]
    swept = sweep_conflicts(candidates, calendar, excluded=excluded, limit=10_000)
    expected = brute_force(candidates, calendar, excluded)
    assert [{(b.start, b.end, b.event_id) for b in found} for found in swept] == expected
    for found in swept:  # ordered by start, each entry once
        assert found == sorted(found, key=lambda b: (b.start, b.event_id))
        assert len({(b.start, b.end, b.event_id) for b in found}) == len(found)


@pytest.mark.parametrize("seed", range(10))
def test_a_limit_lists_that_many_of_the_overlaps(seed: int) -> None:
    rng = random.Random(seed)
    candidates = [[interval(rng) for _ in range(4)] for _ in range(5)]
    calendar = [Busy(*interval(rng), rng.randrange(1, 8)) for _ in range(200)]
    excluded: list[int | None] = [None] * 5
    limited = sweep_conflicts(candidates, calendar, excluded=excluded, limit=3)
    for found, every in zip(limited, brute_force(candidates, calendar, excluded), strict=True):
        assert len(found) == min(3, len(every))
        assert {(b.start, b.end, b.event_id) for b in found} <= every


def test_touching_intervals_do_not_clash() -> None:
    first = (T0, T0 + timedelta(hours=1))
    calendar = [Busy(T0 + timedelta(hours=1), T0 + timedelta(hours=2), 7)]
    assert sweep_conflicts([[first]], calendar, excluded=[None]) == [[]]


def test_five_hundred_daily_series_at_the_same_hour_are_swept_quickly() -> None:
    """The worst batch: 500 series clashing with each other every day of a year. The bound
    is generous (the figure is in BENCHMARKS.md); pairwise, this took minutes."""
    day = timedelta(days=1)
    candidates = [
        [(T0 + d * day, T0 + d * day + timedelta(hours=1)) for d in range(366)] for _ in range(500)
    ]
    started = time.process_time()
    found = sweep_conflicts(candidates, [], excluded=[None] * 500)
    assert time.process_time() - started < budget(5)
    assert all(len(clashes) == 100 for clashes in found)


@pytest.mark.parametrize("seed", range(30))
def test_checked_keeps_exactly_what_meets_the_times_checked(seed: int) -> None:
    """`Checked.among` against every pair: an entry is kept iff it meets (or touches) one of
    the times, so nothing that overlaps is ever dropped before the sweep."""
    rng = random.Random(seed)
    times = [interval(rng) for _ in range(rng.randrange(1, 8))]
    times += [(s, s) for s, _ in (interval(rng) for _ in range(rng.randrange(3)))]  # no length
    entries = [(None, *interval(rng)) for _ in range(300)]
    entries += [(None, s, s) for _, s, _ in entries[:20]]
    kept = Checked(times).among(entries)
    assert kept == [o for o in entries if any(s <= o[2] and o[1] <= e for s, e in times)]
    overlapping = [o for o in entries if any(s < o[2] and o[1] < e for s, e in times)]
    assert set(overlapping) <= set(kept)
