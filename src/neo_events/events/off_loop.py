"""CPU-only steps of calendar reads, checks and batches, run in a worker thread when large
(`off_the_loop`), so that the event loop keeps serving meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
# Threads of their own: a burst of such reads (each up to a second or two of CPU) queues
# there, not in the default pool that CalDAV parsing and batch validation use, and no more
# than two of them contend with the event loop for the interpreter at once.
_READS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="calendar-read")


async def off_the_loop(heavy: bool, work: Callable[[], T]) -> T:
    """`work` (CPU only) in the calendar reads' own threads (`_READS`) when `heavy`, else
    here: a check's, a free/busy's or a batch's large steps."""
    if not heavy:
        return work()
    return await asyncio.get_running_loop().run_in_executor(_READS, work)
