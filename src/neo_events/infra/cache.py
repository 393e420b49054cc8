"""A bounded in-process LRU cache for pure, content-addressed results.

Only values whose key names everything that determines them go here — for example the
expansion of (event id, version, window): a version number never names two contents, so an
entry can never be stale, on this worker or any other, and nothing has to be invalidated
when a transaction commits. Results that depend on mutable state (roles, tokens) are not
cached here.

A cache may be used from worker threads as well as the event loop (a calendar read of many
events runs its expansions in a thread): each operation holds the cache's lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

V = TypeVar("V")
LOCKED_LOOKUPS = 1_024  # keys `get_many` looks up under one hold of the lock


class LruCache(Generic[V]):
    """At most `size` entries and, if `max_bytes` is given, at most that many bytes as
    `weigh` estimates them; the least recently used entries go first. None is not a value;
    a value heavier than `max_bytes` on its own is not kept."""

    def __init__(
        self,
        name: str,
        *,
        size: int,
        on_lookup: Callable[[str, bool, int], None],  # (name, hit, how many)
        max_bytes: int | None = None,
        weigh: Callable[[V], int] | None = None,
    ) -> None:
        self.name = name
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._on_lookup = on_lookup
        self._max_bytes = max_bytes
        self._weigh = weigh if max_bytes is not None else None
        self.bytes = 0  # the estimated weight of what is kept
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The cached value for `key`, or None (counted as a miss)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        self._on_lookup(self.name, entry is not None, 1)
        return None if entry is None else entry[0]

    def get_many(self, keys: Iterable[Hashable]) -> list[V | None]:
        """`get` of each key, counted in one go (a calendar read looks up a thousand). The
        lock is let go between parts of LOCKED_LOOKUPS keys: a read in a worker thread
        holds up the event loop's own lookups for a part at most (~0.1 ms), not for all of
        a calendar's 20,000 weeks (~2 ms)."""
        found: list[V | None] = []
        keys = list(keys)
        entries = self._entries
        for part in range(0, len(keys), LOCKED_LOOKUPS):
            with self._lock:
                for key in keys[part : part + LOCKED_LOOKUPS]:
                    entry = entries.get(key)
                    if entry is None:
                        found.append(None)
                    else:
                        entries.move_to_end(key)
                        found.append(entry[0])
        misses = found.count(None)
        if misses:
            self._on_lookup(self.name, False, misses)
        if len(found) > misses:
            self._on_lookup(self.name, True, len(found) - misses)
        return found

    def put(self, key: Hashable, value: V) -> None:
        weight = self._weigh(value) if self._weigh is not None else 0
        if self._max_bytes is not None and weight > self._max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (value, weight)
            self.bytes += weight
            while len(self._entries) > self.size or (
                self._max_bytes is not None and self.bytes > self._max_bytes
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)
