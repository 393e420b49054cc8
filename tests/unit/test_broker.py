"""The broker protocol, against the in-process broker and (when configured) Redis."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from neo_events.infra.broker import Broker, MemoryBroker, RedisBroker

pytestmark = pytest.mark.anyio

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    if request.param == "memory":
        memory = MemoryBroker()
        yield memory
        await memory.close()
        return
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:  # configured but unreachable: a failure, never a skip
        pytest.fail(f"TEST_REDIS_URL is set but Redis is unreachable: {exc}")
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


async def test_publish_without_subscribers_is_fine(broker: Broker) -> None:
    await broker.publish("nobody", b"x")


async def test_redis_broker_survives_an_unreachable_server() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0")
    broker = RedisBroker(redis, retry_s=0.01)
    await broker.publish("chan", b"x")  # logged, not raised
    await broker.close()
    await redis.aclose()
