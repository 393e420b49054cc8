"""Wake-up messages between workers: in-process, or Redis pub/sub when REDIS_URL is set.

The broker carries only "there is something new up to seq N". It is at-most-once (Redis
pub/sub drops messages while a subscriber is away), which is fine: the durable change feed
is the source of truth, and every worker also polls it as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class Broker(Protocol):
    async def publish(self, channel: str, message: bytes) -> None:
        """Send to every current subscriber of the channel, on every worker; never raises."""
        ...

    def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        """Messages published on the channel from now on (ends when the broker closes)."""
        ...

    async def close(self) -> None: ...


class MemoryBroker:
    """One process: subscribers are queues in this event loop."""

    def __init__(self, *, queue_size: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[bytes | None]]] = {}
        self._queue_size = queue_size

    async def publish(self, channel: str, message: bytes) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            with contextlib.suppress(asyncio.QueueFull):  # a wake-up may be dropped
                queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(self._queue_size)
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            while (message := await queue.get()) is not None:
                yield message
        finally:
            self._subscribers[channel].discard(queue)

    async def close(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)


# A subscription waits this long for a message before it looks again (and sees a close).
_LISTEN_S = 1.0


class RedisBroker:
    """Every worker: Redis pub/sub. Reconnects on its own; never raises into the caller.

    Each step of a subscription is bounded by the broker itself, whatever timeouts the client
    was given (a REDIS_URL may set none): subscribing within `handshake_s`, and each wait for
    a message (in which redis-py reconnects a connection it lost, handshake included) within
    `handshake_s` past its own second. A subscription that has heard nothing for `idle_s`
    sends a PING, and one not answered within `handshake_s` is lost too: a connection gone
    half-open (a Redis failed over, a NAT's state dropped) raises nothing, it only goes
    silent. A subscription lost is closed and made again. (A Redis restarted under a full
    test run once left a worker's subscriber in the handshake of its reconnection for 40 s,
    and that worker's clients heard nothing of the other workers' changes meanwhile.)

    Redis pub/sub ignores the database number: every client of the server hears every
    channel. So a channel is named after the client's database (`db3/neo-events:changes`):
    deployments on one Redis, each on its own database as their rate limits need, no longer
    hear each other (a logout in one closed the live connections of the sign-in of the same
    number in the other, an outside attack found)."""

    def __init__(
        self,
        redis: Redis,
        *,
        retry_s: float = 1.0,
        handshake_s: float = 5.0,
        idle_s: float = 15.0,
    ) -> None:
        self._redis = redis
        self._namespace = f"db{redis.connection_pool.connection_kwargs.get('db', 0)}/"
        self._retry_s = retry_s
        self._handshake_s = handshake_s
        self._idle_s = idle_s
        self._closed = asyncio.Event()

    async def publish(self, channel: str, message: bytes) -> None:
        try:
            await self._redis.publish(self._namespace + channel, message)
        except (RedisError, OSError) as exc:
            logger.warning("broker publish failed: %s", exc.__class__.__name__)

    async def subscribe(self, channel: str) -> AsyncIterator[bytes]:
        clock = asyncio.get_running_loop().time
        while not self._closed.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(self._handshake_s):
                    await pubsub.subscribe(self._namespace + channel)
                heard, asked = clock(), None  # Redis last heard; a PING unanswered since
                while not self._closed.is_set():
                    async with asyncio.timeout(_LISTEN_S + self._handshake_s):
                        item = await pubsub.get_message(timeout=_LISTEN_S)
                        if item is not None:  # a message, or a PING's answer
                            heard, asked = clock(), None
                        elif asked is not None and clock() - asked > self._handshake_s:
                            raise RedisConnectionError("no answer to a PING")
                        elif asked is None and clock() - heard > self._idle_s:
                            await pubsub.ping()
                            asked = clock()
                    if item is not None and item["type"] == "message":
                        yield bytes(item["data"])  # (outside the bounds: the caller's time)
            except (RedisError, OSError) as exc:  # a step past its bound too: TimeoutError
                logger.warning("broker subscription lost (%s); retrying", exc.__class__.__name__)
                with contextlib.suppress(TimeoutError):  # not wait_for: see Hub._deliver_loop
                    async with asyncio.timeout(self._retry_s):
                        await self._closed.wait()
            finally:
                with contextlib.suppress(RedisError, OSError):  # (TimeoutError too)
                    async with asyncio.timeout(self._handshake_s):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped

    async def close(self) -> None:
        self._closed.set()
