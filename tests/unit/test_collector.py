"""The collector of a long-running process (`infra.collector`), in a process of its own: what
`settle` changes is the whole interpreter's."""

from __future__ import annotations

import subprocess
import sys

from neo_events.infra import collector

_SETTLED = """
import gc
from neo_events.infra import collector
before = gc.get_threshold()
collector.settle()
print(gc.get_freeze_count() > 0, before[1:] == gc.get_threshold()[1:], gc.get_threshold()[0])
"""


def test_settle_freezes_what_lives_and_collects_the_young_generation_less_often() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", _SETTLED], capture_output=True, text=True, check=True, timeout=60
    )
    frozen, older_kept, young = ran.stdout.split()
    assert frozen == "True"
    assert older_kept == "True"
    assert int(young) == collector.YOUNG_THRESHOLD > 700  # Python's default
