"""Time bounds that hold on a slow machine as on a quick one.

A test that times a worst input (SPEC's bounded cost) asserts a generous bound: it proves the
input costs a fraction of a second, not seconds or minutes. The bounds were set on machines
where a fixed piece of pure-Python work (`_reference_work`) takes `REFERENCE_S`; CI's machines
are shared, and some days run the same work three to six times slower, CPU time included
(2026-12-05: a scan that takes 2.6 s here took 16.5 s there). So every bound is `budget(s)`:
`s` times how much slower this machine is now (`slowness()`, never below 1 nor above
`MAX_SLOWNESS`), measured on the same work. A bound that was 5 times the cost on a quick
machine stays 5 times the cost on a slow one: what was quadratic still fails.

The measure is taken again between tests once it is `FRESH_S` old: a machine that slows
down during the run is measured again. `TEST_SLOWNESS` fixes it instead (a number), e.g. to
see whether a bound would hold on a machine three times slower.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time

REFERENCE_S = 0.032  # min of three runs of _reference_work, in CPU seconds, on a quick machine
MAX_SLOWNESS = 10.0  # slower than this, and a bound no longer proves "not minutes"
FRESH_S = 20.0
_PARAM = re.compile(r"[A-Z]+=([^;]+)")
_measured: tuple[float, float] | None = None  # (when, slowness)


def _reference_work() -> int:
    """Work like the suite's own: parsing lines, dicts, strings, dates, a sort."""
    seen: dict[str, int] = {}
    day = dt.datetime(2026, 1, 1)
    parts = []
    for i in range(6_000):
        line = f"DTSTART;TZID=Europe/Berlin:{i:08d}T0900;FREQ=WEEKLY;COUNT={i % 97}"
        for found in _PARAM.finditer(line):
            seen[found.group(1)] = seen.get(found.group(1), 0) + 1
        day += dt.timedelta(minutes=17)
        parts.append((day.isoformat(), line.split(";")))
    parts.sort(key=lambda part: part[0][::-1])
    return len(seen) + len("".join(part[0] for part in parts))


def measure() -> float:
    """How much slower than the reference machine this one runs the reference work now."""
    runs = []
    for _ in range(3):
        began = time.process_time()
        _reference_work()
        runs.append(time.process_time() - began)
    return min(MAX_SLOWNESS, max(1.0, min(runs) / REFERENCE_S))


def refresh() -> None:
    """Measure again if the last measure is older than `FRESH_S`: between tests (an autouse
    fixture), never inside a block a test times (the measure is ~0.1 s of CPU)."""
    global _measured
    now = time.monotonic()
    if _measured is None or now - _measured[0] > FRESH_S:
        _measured = (now, measure())


def slowness() -> float:
    if fixed := os.environ.get("TEST_SLOWNESS"):
        return float(fixed)
    if _measured is None:
        refresh()
    assert _measured is not None
    return _measured[1]


def budget(seconds: float) -> float:
    """`seconds`, a bound set on a quick machine, for this machine as it runs now."""
    return seconds * slowness()
