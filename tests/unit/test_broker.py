"""The broker protocol, against the in-process broker and (when configured) Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from neo_events.infra.broker import Broker, MemoryBroker, RedisBroker

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("TEST_REDIS_URL")


async def _redis() -> Redis:
    """A client of TEST_REDIS_URL's Redis, which answers."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:  # configured but unreachable: a failure, never a skip
        pytest.fail(f"TEST_REDIS_URL is set but Redis is unreachable: {exc}")
    return redis


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    if request.param == "memory":
        memory = MemoryBroker()
        yield memory
        await memory.close()
        return
    redis = await _redis()
    shared = RedisBroker(redis)
    yield shared
    await shared.close()
    await redis.aclose()


async def _first(broker: Broker, channel: str, ready: asyncio.Event, n: int) -> list[bytes]:
    got: list[bytes] = []
    subscription = broker.subscribe(channel)
    task = asyncio.ensure_future(subscription.__anext__())
    await asyncio.sleep(0)
    ready.set()
    got.append(await task)
    while len(got) < n:
        got.append(await subscription.__anext__())
    await subscription.aclose()  # type: ignore[attr-defined]
    return got


async def _publish_until_received(
    broker: Broker, channel: str, listeners: list[asyncio.Task[list[bytes]]]
) -> None:
    # A subscription is live a moment after subscribe() starts (Redis answers asynchronously):
    # keep publishing a wake-up until every listener has one, as the hub's wake-ups do.
    while not all(task.done() for task in listeners):
        await broker.publish(channel, b"wake")
        await asyncio.wait(listeners, timeout=0.05)


async def test_every_subscriber_receives_what_is_published(broker: Broker) -> None:
    ready = [asyncio.Event(), asyncio.Event()]
    listeners = [asyncio.create_task(_first(broker, "chan", ready[i], 1)) for i in range(2)]
    await asyncio.gather(*(r.wait() for r in ready))
    await asyncio.wait_for(_publish_until_received(broker, "chan", listeners), 10)
    assert [t.result() for t in listeners] == [[b"wake"], [b"wake"]]


async def test_channels_are_separate(broker: Broker) -> None:
    ready = asyncio.Event()
    listener = asyncio.create_task(_first(broker, "mine", ready, 1))
    await ready.wait()
    await broker.publish("other", b"not for you")
    await asyncio.wait_for(_publish_until_received(broker, "mine", [listener]), 10)
    assert listener.result() == [b"wake"]


async def test_deployments_on_other_redis_databases_do_not_hear_each_other() -> None:
    """Redis pub/sub ignores the database number; the broker's channels do not."""
    here = await _redis()
    db = here.connection_pool.connection_kwargs.get("db", 0)
    there = Redis.from_url(urlsplit(REDIS_URL or "")._replace(path=f"/{(db + 1) % 16}").geturl())
    ours, theirs, also_ours = RedisBroker(here), RedisBroker(there), RedisBroker(here)
    ready = asyncio.Event()
    listener = asyncio.create_task(_first(ours, "chan", ready, 1))
    await ready.wait()
    for _ in range(20):  # well after the subscription is live
        await theirs.publish("chan", b"from another deployment")
        await asyncio.sleep(0.01)
    await asyncio.wait_for(_publish_until_received(also_ours, "chan", [listener]), 10)
    assert listener.result() == [b"wake"]
    for broker in (ours, theirs, also_ours):
        await broker.close()
    await here.aclose()
    await there.aclose()


async def test_publish_without_subscribers_is_fine(broker: Broker) -> None:
    await broker.publish("nobody", b"x")


async def test_redis_broker_survives_an_unreachable_server() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0")
    broker = RedisBroker(redis, retry_s=0.01)
    await broker.publish("chan", b"x")  # logged, not raised
    await broker.close()
    await redis.aclose()


class _StallingProxy:
    """A TCP proxy to Redis that can stall: while stalled it cuts the connections it was
    forwarding, and accepts new ones to let what they send go nowhere, as a Redis that has
    bound its port but does not answer yet, or a half-open network, would. A connection
    accepted while stalled stays stalled: only the client can give up on it. It can also
    freeze the connections it forwards: they stay open and carry nothing more."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.stalled = False
        self.forwarded: list[asyncio.StreamWriter] = []
        self.held: list[asyncio.StreamWriter] = []
        self.frozen: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.stalled:
            self.held.append(writer)
            while await reader.read(4096):  # swallowed, never answered
                pass
            return
        upstream_reader, upstream = await asyncio.open_connection(*self.target)
        self.forwarded += [writer, upstream]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(4096):
                    if writer not in self.frozen:
                        sink.write(data)
                        await sink.drain()
            sink.close()

        await asyncio.gather(pump(reader, upstream), pump(upstream_reader, writer))

    def stall(self) -> None:
        self.stalled = True
        for writer in self.forwarded:
            writer.transport.abort()
        self.forwarded.clear()

    def freeze(self) -> None:
        self.frozen.update(self.forwarded)

    async def close(self) -> None:
        for writer in self.forwarded + self.held:
            writer.transport.abort()
        if self.server is not None:
            self.server.close()


class _Rig:
    """A RedisBroker subscribed to a channel of TEST_REDIS_URL's Redis through a
    `_StallingProxy`, its client given no socket timeouts of its own (a REDIS_URL may give
    none): only the broker's own bounds end a stuck step."""

    def __init__(self, **bounds: float) -> None:
        self.bounds = bounds
        self.waits: list[asyncio.Future[bytes]] = []

    async def __aenter__(self) -> _Rig:
        self.direct = await _redis()
        kwargs = self.direct.connection_pool.connection_kwargs
        self.proxy = _StallingProxy(kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379)))
        port = await self.proxy.start()
        self.patient = Redis(
            port=port, db=kwargs.get("db", 0), socket_timeout=None, socket_connect_timeout=None
        )
        self.broker = RedisBroker(self.patient, retry_s=0.05, **self.bounds)
        self.publisher = RedisBroker(self.direct)  # on the broker's channel of that database
        self.channel = f"rig-{os.getpid()}-{id(self)}"
        self.subscription = self.broker.subscribe(self.channel)
        return self

    def next_message(self) -> asyncio.Future[bytes]:
        self.waits.append(asyncio.ensure_future(self.subscription.__anext__()))
        return self.waits[-1]

    async def published_until(self, wait: asyncio.Future[bytes], message: bytes) -> bytes:
        """Publish `message` (directly, not through the proxy) until `wait` has one: a
        subscription is live a moment after it is made. Within 10 s."""
        async with asyncio.timeout(10):
            while not wait.done():
                await self.publisher.publish(self.channel, message)
                await asyncio.wait([wait], timeout=0.05)
        return wait.result()

    async def __aexit__(self, *_: object) -> None:
        for wait in self.waits:
            wait.cancel()
        await asyncio.gather(*self.waits, return_exceptions=True)
        await self.subscription.aclose()  # type: ignore[attr-defined]
        await self.broker.close()
        await self.publisher.close()
        await self.proxy.close()
        await self.patient.aclose()
        await self.direct.aclose()


async def test_a_subscription_stuck_in_its_reconnection_is_given_up_and_made_again() -> None:
    """The subscriber's connection is cut, and its reconnection lands on a Redis that never
    answers: the broker gives the stuck step up after `handshake_s` and subscribes again,
    and messages flow once Redis answers again (without its own bound it would wait for
    ever)."""
    async with _Rig(handshake_s=1.0) as rig:
        assert await rig.published_until(rig.next_message(), b"before") == b"before"
        rig.proxy.stall()  # the connection cut; its reconnection stalls
        second = rig.next_message()
        await asyncio.sleep(1.5)  # past one handshake bound: still nothing answers
        assert rig.proxy.held, "the subscriber did not try again while Redis did not answer"
        rig.proxy.stalled = False  # Redis answers again (the stalled connection stays stalled)
        assert await rig.published_until(second, b"after") == b"after"


async def test_a_subscription_gone_silent_is_asked_and_made_again() -> None:
    """The subscriber's connection goes half-open: nothing it sends arrives, nothing comes
    back, and nothing closes it. Silent for `idle_s`, the broker sends a PING; unanswered
    within `handshake_s`, the subscription is made again on a new connection, and messages
    flow (without the PING it would wait, silent, for ever)."""
    async with _Rig(handshake_s=1.0, idle_s=1.0) as rig:
        assert await rig.published_until(rig.next_message(), b"before") == b"before"
        rig.proxy.freeze()  # half-open: new connections are forwarded as before
        assert await rig.published_until(rig.next_message(), b"after") == b"after"
        assert len(rig.proxy.forwarded) >= 4  # (two writers a connection) a new one
