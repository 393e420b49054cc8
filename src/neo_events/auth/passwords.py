"""Argon2id hashing off the event loop, bounded so a login burst can neither exhaust memory
nor starve the requests that are not logins; passwords prepared as RFC 8265 prepares one, so
that the same characters typed in another Unicode form sign in."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import os
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)
MMAP_THRESHOLD_BYTES = 1024 * 1024


@functools.cache
def _libc() -> str | None:
    """The C library's file name (`find_library` runs `ldconfig -p`: ~2 ms, once)."""
    return ctypes.util.find_library("c")


def return_hash_memory_to_the_os() -> bool:
    """Make glibc serve allocations of 1 MiB and more with mmap, always.

    Each Argon2 run allocates its whole memory cost (19 MiB) at once. glibc raises its mmap
    threshold after such a block is freed, so from the second login on those blocks come from
    the heaps of the hashing threads and stay there: +80 MiB per worker after a login burst
    (BENCHMARKS.md). A fixed threshold hands them back to the OS at every free. True if set
    (glibc only; elsewhere nothing changes)."""
    name = _libc()
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


HASHING_NICENESS = 19  # the lowest CPU priority

# RFC 8265 §4.2.2's additional mapping: the non-ASCII spaces (general category Zs) to U+0020.
_SPACES = dict.fromkeys((0x00A0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000), ord(" "))


def prepared(password: str) -> str:
    """A password as RFC 8265's OpaqueString profile prepares it (§4.2): non-ASCII spaces
    mapped to U+0020, then NFC (the profile's normalization is NFC, not SASLprep's NFKC:
    compatibility forms such as "²" or "ﬁ" stay distinct). What is hashed; what a login
    checks first. NFC is what most keyboards send; macOS and some copy and paste send NFD,
    which is the same password."""
    return unicodedata.normalize("NFC", password.translate(_SPACES))


def password_forms(password: str) -> tuple[str, ...]:
    """The forms a login checks, the prepared one first: the password as sent too when it
    differs, since hashes made before passwords were prepared (2026-12) are of the password
    as sent. At most two, and two only for a password not already prepared."""
    ready = prepared(password)
    return (ready,) if ready == password else (ready, password)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verification: whether the password matched, and whether the hash it matched was
    made of it unprepared (an account from before 2026-12), to be made again of the
    prepared form."""

    ok: bool
    stale: bool = False


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
        """The hash of the password as `prepared`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._hasher.hash, prepared(password))

    async def verify(self, password_hash: str | None, password: str) -> Verdict:
        """Whether the password matches in one of its `password_forms`; every form is checked
        unless one matches, for a missing user too (against a dummy hash), so the time taken
        tells nothing of the account: one Argon2 run, two for a password not prepared."""
        loop = asyncio.get_running_loop()
        forms = password_forms(password)
        return await loop.run_in_executor(self._threads, self._verify_forms, password_hash, forms)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _verify_forms(self, password_hash: str | None, forms: tuple[str, ...]) -> Verdict:
        for index, form in enumerate(forms):  # at most two (`password_forms`)
            if self._verify(password_hash, form):
                return Verdict(ok=True, stale=index > 0)
        return Verdict(ok=False)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
