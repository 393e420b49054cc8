"""The garbage collector of a long-running process: `serve`'s workers and `neo-events worker`.

A request allocates thousands of container objects, nearly all of them freed by reference
counting as soon as it answers; the collector is only there for the few that form cycles.
At Python's default thresholds (700, 10, 10) it made a young pass every few requests and a
full pass every half second or so (~25 ms each: the caches' series, the compiled
statements): 7.3-7.8% of each worker's CPU under the load's reads and writes
(BENCHMARKS.md, "The collector's thresholds").
"""

from __future__ import annotations

import gc

# Allocations between two young passes: a pass every few dozen requests, not every few. At
# 5,000 the collector took 0.4% of each worker's CPU, its full passes 45 times rarer (the
# longest as long as before, 64-79 ms: a full pass walks the same heap); at 20,000 it was
# no cheaper, and each young pass took 8 ms instead of 0.4.
YOUNG_THRESHOLD = 5_000


def settle() -> None:
    """Once the process has started: everything alive now (modules, the ORM's and
    pydantic's machinery) lives as long as the process, so it is frozen out of the full
    passes, which otherwise walk it all (they were most of the listing's p95); and the
    young generation is collected every YOUNG_THRESHOLD allocations. The older
    generations' thresholds stay Python's: a full pass still comes, only rarer."""
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
