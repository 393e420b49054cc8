"""The worker's kept parts of events (`events/held_parts.py`) are bounded in bytes as well
as in events: an event's grants are not bounded in number."""

from __future__ import annotations

from neo_events.events import held_parts
from neo_events.infra.cache import LruCache


def _grants(n: int) -> list[dict[str, object]]:
    return [{"user_id": i, "username": f"user{i}", "role": "viewer"} for i in range(n)]


def test_kept_parts_are_weighed_by_their_grants_and_bounded_in_bytes() -> None:
    cache: LruCache[held_parts.Kept] = LruCache(
        "held_parts",
        size=5_000,
        on_lookup=lambda *_: None,
        max_bytes=held_parts.MAX_BYTES,
        weigh=held_parts.weight,
    )
    names = ("alice", "alice", "bob")
    assert held_parts.weight(("1", (*names, None))) < held_parts.weight(("1", (*names, _grants(1))))
    cache.put(1, ("10", (*names, _grants(2))))
    assert cache.get(1) is not None
    # an event whose grants alone weigh more than the bound is not kept (read every time)
    too_many = held_parts.MAX_BYTES // 600 + 1
    cache.put(2, ("11", (*names, _grants(too_many))))
    assert cache.get(2) is None and cache.get(1) is not None
    # many events of 500 grants: the oldest go, the bytes stay within the bound
    for event_id in range(3, 3 + 200):
        cache.put(event_id, ("12", (*names, _grants(500))))
    assert cache.bytes <= held_parts.MAX_BYTES
    assert cache.get(1) is None and cache.get(202) is not None
    assert len(cache) < 200
