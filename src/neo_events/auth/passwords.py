"""Argon2id hashing off the event loop, bounded so a login burst cannot exhaust memory."""

from __future__ import annotations

import anyio
import anyio.to_thread
from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordHasher:
    """Hash and verify in worker threads, at most `concurrency` at a time."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int):
        self._hasher = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._limiter = anyio.CapacityLimiter(concurrency)
        # Verified against when the user does not exist, so both paths cost one Argon2 run.
        self._dummy_hash = self._hasher.hash("neo-events timing equaliser")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True if the password matches; runs a full verification even for a missing user."""
        return await anyio.to_thread.run_sync(
            self._verify, password_hash, password, limiter=self._limiter
        )

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
