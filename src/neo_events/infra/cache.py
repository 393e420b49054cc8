"""A bounded in-process LRU cache for pure, content-addressed results.

Only values whose key names everything that determines them go here — for example the
expansion of (event id, version, window): a version number never names two contents, so an
entry can never be stale, on this worker or any other, and nothing has to be invalidated
when a transaction commits. Results that depend on mutable state (roles, tokens) are not
cached here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LruCache(Generic[V]):
    """At most `size` entries; the least recently used one goes first."""

    def __init__(self, name: str, *, size: int, on_lookup: Callable[[str, bool], None]) -> None:
        self.name = name
        self._size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._on_lookup = on_lookup

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value for `key`, computing (and keeping) it on a miss."""
        try:
            value = self._entries[key]
        except KeyError:
            self._on_lookup(self.name, False)
            value = compute()
            self._entries[key] = value
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
            return value
        self._entries.move_to_end(key)
        self._on_lookup(self.name, True)
        return value

    def __len__(self) -> int:
        return len(self._entries)
