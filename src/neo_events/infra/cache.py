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
    """At most `size` entries; the least recently used one goes first. None is not a value."""

    def __init__(self, name: str, *, size: int, on_lookup: Callable[[str, bool], None]) -> None:
        self.name = name
        self._size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._on_lookup = on_lookup

    def get(self, key: Hashable) -> V | None:
        """The cached value for `key`, or None (counted as a miss)."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        self._on_lookup(self.name, value is not None)
        return value

    def put(self, key: Hashable, value: V) -> None:
        self._entries[key] = value
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
