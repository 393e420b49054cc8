"""Argon2id hashing off the event loop, bounded so a login burst can neither exhaust memory
nor starve the requests that are not logins."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)
MMAP_THRESHOLD_BYTES = 1024 * 1024


def return_hash_memory_to_the_os() -> bool:
    """Make glibc serve allocations of 1 MiB and more with mmap, always.

    Each Argon2 run allocates its whole memory cost (19 MiB) at once. glibc raises its mmap
    threshold after such a block is freed, so from the second login on those blocks come from
    the heaps of the hashing threads and stay there: +80 MiB per worker after a login burst
    (BENCHMARKS.md). A fixed threshold hands them back to the OS at every free. True if set
    (glibc only; elsewhere nothing changes)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


HASHING_NICENESS = 19  # the lowest CPU priority


def _yield_the_cpu() -> None:
    """Run this hashing thread at the lowest priority (Linux schedules threads one by one):
    under a login burst the event loop's thread still gets the CPU it needs, so other
    requests keep their latency while logins queue (BENCHMARKS.md, "Login")."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class PasswordHasher:
    """Hash and verify on `concurrency` threads of their own, at the lowest CPU priority."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int):
        self._hasher = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._threads = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="argon2", initializer=_yield_the_cpu
        )
        # Verified against when the user does not exist, so both paths cost one Argon2 run.
        self._dummy_hash = self._hasher.hash("neo-events timing equaliser")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if the password matches; runs a full verification even for a missing user."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._verify, password_hash, password)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
