"""`sizes.rendered_bytes` measures each text once however many overrides show it; the
figures equal those of sizing every VEVENT as merged (the way it was written before), on
generated events."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from neo_events.events import sizes
from neo_events.events.content import TEXT_FIELDS
from tests.timing import budget


def _every_vevent(content: dict[str, Any], people: int) -> int:
    own = sizes.vevent_bytes(content, people)
    total = own
    for override in content.get("overrides") or ():
        changed = TEXT_FIELDS & override.keys()
        total += sizes.vevent_bytes({**content, **override}, people) if changed else own
    return total


def _text(rng: random.Random) -> str | None:
    return rng.choice([None, "", "plain", "a, b; c\\d\ne", "é" * rng.randrange(200), "x" * 90])


@pytest.mark.parametrize("seed", range(20))
def test_sizes_equal_those_of_every_vevent_merged(seed: int) -> None:
    rng = random.Random(seed)
    content: dict[str, Any] = {name: _text(rng) for name in TEXT_FIELDS}
    content["overrides"] = [
        {"recurrence_id": f"2026-01-{d % 28 + 1:02d}T09:00:00Z"}
        | {name: _text(rng) for name in TEXT_FIELDS if rng.random() < 0.3}
        for d in range(rng.randrange(0, 40))
    ]
    for people in (0, 3, sizes.MAX_PEOPLE):
        assert sizes.rendered_bytes(content, people) == _every_vevent(content, people)


def test_an_event_of_a_thousand_described_overrides_is_sized_in_milliseconds() -> None:
    content: dict[str, Any] = {"title": "S", "description": "d" * 5_000, "location": None}
    content["overrides"] = [
        {"recurrence_id": f"x{d}", "title": "x" * (1 + d % 7), "description": f"y{d}" * 225}
        for d in range(1_000)
    ]
    started = time.process_time()
    sizes.rendered_bytes(content, sizes.MAX_PEOPLE)
    assert time.process_time() - started < budget(0.05)  # a description each: ~5 ms
