"""A CalDAV write is an API write, live messages included (SPEC §15, issue #21): what a
calendar app creates, edits and deletes reaches the WebSocket of everyone holding a role,
as the same messages an API write sends, against a real server process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.caldav.dav import Dav, app_password, ics
from tests.helpers import register

pytestmark = pytest.mark.anyio


async def _next(ws: ClientConnection) -> dict[str, Any]:
    """The next message that is not a heartbeat."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message.get("type") != "ping":
            return message


def _ws(base: str, token: str) -> str:
    return base.replace("http://", "ws://") + f"/api/v1/ws?token={token}"


async def test_caldav_writes_reach_live_clients_as_api_writes_do(live_server: str) -> None:
    server = live_server
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        alice = await register(client, "alice")
        bob = await register(client, "bob")
        phone = Dav(client, alice, await app_password(client, alice, "Phone"))
        async with (
            connect(_ws(server, alice.access_token)) as alice_ws,
            connect(_ws(server, bob.access_token)) as bob_ws,
        ):
            created = await phone.put("dentist.ics", ics(), **{"If-None-Match": "*"})
            assert created.status_code == 201, created.text
            message = await _next(alice_ws)
            assert message["type"] == "event.created" and message["version"] == 1
            assert message["actor"] == {"id": alice.id, "username": "alice"}
            event_id = message["event_id"]

            shared = await client.post(
                f"/api/v1/events/{event_id}/share",
                json={"users": [{"user_id": bob.id, "role": "viewer"}]},
                headers=alice.headers,
            )
            assert shared.status_code in (200, 201), shared.text
            assert (await _next(alice_ws))["type"] == "event.shared"
            assert (await _next(bob_ws))["type"] == "event.shared"

            edited = await phone.put("dentist.ics", ics(summary="Dentist (moved)"))
            assert edited.status_code == 204, edited.text
            for ws in (alice_ws, bob_ws):
                message = await _next(ws)
                assert message["type"] == "event.updated" and message["event_id"] == event_id
                assert message["changes"] == ["title"] and message["version"] == 2
                assert message["actor"] == {"id": alice.id, "username": "alice"}

            deleted = await phone.request("DELETE", phone.calendar + "dentist.ics")
            assert deleted.status_code == 204, deleted.text
            for ws in (alice_ws, bob_ws):
                message = await _next(ws)
                assert message["type"] == "event.deleted" and message["event_id"] == event_id
