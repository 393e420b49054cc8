"""A webhook's life after its creation (SPEC §14): a new URL, off and on again, and how long
its deliveries log keeps a message (docs/api.md), on the real app."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_webhooks import FAST, add_webhook, deliveries, settled
from tests.conftest import http_client, make_settings, serving
from tests.helpers import Account, create_event, register
from tests.receiver import Receiver

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def attempted(
    client: httpx.AsyncClient, who: Account, webhook_id: int
) -> list[dict[str, Any]]:
    """The webhook's deliveries log once its oldest message was tried at least once (within
    10 s)."""
    log: list[dict[str, Any]] = []
    for _ in range(100):
        log = await deliveries(client, who, webhook_id)
        if log and log[0]["attempts"] >= 1:
            break
        await asyncio.sleep(0.1)
    return log


async def test_a_new_url_is_tried_at_once_not_after_the_old_backoff(
    database_url: str, data_dir: Path
) -> None:
    """An outside attack (2026-12-06): a failing webhook moved to a working URL waited out
    the old URL's backoff (up to WEBHOOK_BACKOFF_MAX_S, an hour) before its next attempt.
    Here the backoff is 30 s: the message reaches the new URL within a couple of seconds."""
    down, up = Receiver(), Receiver()  # `down` never started: connections are refused
    await up.start()
    slow_retry = FAST | {"webhook_backoff_base_s": 30.0, "webhook_backoff_max_s": 60.0}
    try:
        async with (
            serving(make_settings(database_url, data_dir, **slow_retry)) as app,
            http_client(app) as client,
        ):
            alice = await register(client, "alice")
            hook = await add_webhook(client, alice, down.url)
            await create_event(client, alice)
            log = await attempted(client, alice, hook["id"])
            assert log[0]["status"] == "pending" and log[0]["error"], log
            response = await client.patch(
                f"/api/v1/webhooks/{hook['id']}", json={"url": up.url}, headers=alice.headers
            )
            assert response.status_code == 200, response.text
            [message] = await up.wait_for(1, within=5)
            assert message["type"] == "event.created"
            await settled(client, alice, hook["id"], 1)
    finally:
        await up.stop()


async def test_what_happens_while_a_webhook_is_off_is_not_sent_when_it_is_on_again(
    database_url: str, data_dir: Path
) -> None:
    """Each webhook follows the feed with its own cursor: turned back on, it goes on from
    the head of the feed. (With one shared cursor this depended on the others: it had moved
    past the changes made meanwhile only if some other webhook was enabled, so here, alone,
    the old code sent them.)"""
    receiver = Receiver()
    await receiver.start()
    try:
        async with (
            serving(make_settings(database_url, data_dir, **FAST)) as app,
            http_client(app) as client,
        ):
            alice = await register(client, "alice")
            hook = await add_webhook(client, alice, receiver.url)
            url = f"/api/v1/webhooks/{hook['id']}"
            first = await create_event(client, alice, title="before")
            await receiver.wait_for(1)
            await client.patch(url, json={"enabled": False}, headers=alice.headers)
            await create_event(client, alice, title="while off")
            await asyncio.sleep(1.0)  # rounds of the fan-out go by
            await client.patch(url, json={"enabled": True}, headers=alice.headers)
            last = await create_event(client, alice, title="after")
            messages = await receiver.wait_for(2)
            await asyncio.sleep(0.5)
            assert [m["event_id"] for m in receiver.messages()] == [first["id"], last["id"]]
            assert len(messages) == 2
    finally:
        await receiver.stop()


async def test_the_deliveries_log_keeps_what_is_owed_and_prunes_the_rest(
    database_url: str, data_dir: Path
) -> None:
    """An outside attack (2026-12-06): 537,089 delivery rows (121 MB) in 40 minutes, kept
    for ever, and a disabled webhook's pending rows pending for ever. Now rows older than
    WEBHOOK_RETENTION_DAYS (here 2 s) go, delivered, failed, or a disabled webhook's; a
    pending row of an enabled webhook stays (it is still owed)."""
    receiver, down = Receiver(), Receiver()  # `down` never started: connections are refused
    await receiver.start()
    settings = make_settings(
        database_url, data_dir, **(FAST | {"webhook_retention_days": 2 / 86400})
    )
    try:
        async with serving(settings) as app, http_client(app) as client:
            alice = await register(client, "alice")
            sent = await add_webhook(client, alice, receiver.url)
            off = await add_webhook(client, alice, down.url)
            owed = await add_webhook(client, alice, f"{down.url}/owed")
            await create_event(client, alice)
            await settled(client, alice, sent["id"], 1)
            for hook in (off, owed):
                await attempted(client, alice, hook["id"])
            response = await client.patch(
                f"/api/v1/webhooks/{off['id']}", json={"enabled": False}, headers=alice.headers
            )
            assert response.status_code == 200
            assert len(await deliveries(client, alice, off["id"])) == 1
            for _ in range(100):
                if not await deliveries(client, alice, sent["id"]) and not await deliveries(
                    client, alice, off["id"]
                ):
                    break
                await asyncio.sleep(0.1)
            assert await deliveries(client, alice, sent["id"]) == []
            assert await deliveries(client, alice, off["id"]) == []
            [kept] = await deliveries(client, alice, owed["id"])
            assert kept["status"] == "pending"
    finally:
        await receiver.stop()
