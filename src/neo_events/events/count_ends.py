"""Where each COUNT rule stored with an event ends (`events.count_end`), by its plan's
arguments: a plan built cold (`plans.plan_of`) takes its bound from here instead of scanning
for it (`plans._count_bound`, up to SCAN_COST: ~100 ms for a sparse rule; an outside attack
read 200 such series cold in 10 s). Seeded as rows are read (`content.series_of`, and the
ORM's load of an Event), just before their series are expanded.

The text is the COUNT-th wall time, ISO, and " cut" where the scan that found it stopped
short of COUNT (`Plan.count_cut`). Pure: no database, no plans.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

_SIZE = 65_536  # entries of ~250 bytes: ~16 MB at most a worker
_CUT = " cut"
_KNOWN: OrderedDict[tuple[str, datetime, str], str] = OrderedDict()


def text_of(bound: datetime, cut: bool) -> str:
    """What `events.count_end` stores of a plan's bound (a naive wall time)."""
    return bound.isoformat() + (_CUT if cut else "")


def remember(rule: str, start: datetime, timezone: str, text: str) -> None:
    """Note where a stored COUNT rule ends (`text_of`), for `plans.plan_of`."""
    key = (rule, start, timezone)
    if key in _KNOWN:
        _KNOWN.move_to_end(key)
        return
    _KNOWN[key] = text
    if len(_KNOWN) > _SIZE:
        _KNOWN.popitem(last=False)


def stored(rule: str, start: datetime, timezone: str) -> tuple[datetime, bool] | None:
    """The bound and cut noted for these plan arguments, or None (then scan)."""
    text = _KNOWN.get((rule, start, timezone))
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.removesuffix(_CUT)), text.endswith(_CUT)
    except ValueError:  # not ours: scan
        return None


def forget_all() -> None:
    """As a worker that has read no row yet (tests)."""
    _KNOWN.clear()
