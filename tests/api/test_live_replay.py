"""A resume's replay is bounded (REPLAY_MAX changes, REPLAY_PAGE a query), and SSE and the
WebSocket share one rule for a resume position.

Streams are read from a real `neo-events serve` process on loopback, as in test_live.py
(httpx's ASGI transport does not stream); what a replay costs the event loop is measured on
the hub of an app running in this process. Every wait has a timeout: a bug fails, never hangs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from neo_events.live import hub as hub_module
from neo_events.live.connection import MORE_TO_REPLAY, Connection, Message, Overflow
from neo_events.live.hub import REPLAY_MAX, REPLAY_PAGE, Hub
from neo_events.live.router import resume_position
from tests.helpers import Account, created_many, event_body, loop_pauses, register
from tests.timing import budget

pytestmark = pytest.mark.anyio

STREAM = "/api/v1/notifications/stream"
QUIET_S = 0.8  # how long "nothing more arrives" is watched for
FIRST_S = 5.0  # how long the first message may take (a sign-in and a replay, on a busy machine)


@pytest.fixture
def server(live_server: str) -> str:
    return live_server


def _ws_url(base: str, token: str, since: str | int) -> str:
    return base.replace("http://", "ws://") + f"/api/v1/ws?token={token}&since={since}"


async def _events(
    client: httpx.AsyncClient, headers: dict[str, str], *, until_quiet: bool = False
) -> list[dict[str, str]]:
    """Every SSE event (`event`, `id`, `data`) until the stream ends, or (`until_quiet`) until
    nothing but heartbeats came for QUIET_S; 20 s at most in all."""
    events: list[dict[str, str]] = []

    async def read() -> None:
        async with client.stream("GET", STREAM, headers=headers) as response:
            assert response.status_code == 200, await response.aread()
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line == "":
                    if "event" in fields:
                        events.append(fields)
                    fields = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    fields[key] = value

    async with asyncio.timeout(20):
        reader = asyncio.create_task(read())
        try:
            if not until_quiet:
                await reader
            else:
                seen = -1
                while seen != len(events):
                    seen = len(events)
                    quiet = QUIET_S if events else FIRST_S
                    done, _ = await asyncio.wait({reader}, timeout=quiet)
                    if done:
                        break
        finally:
            reader.cancel()
            (outcome,) = await asyncio.gather(reader, return_exceptions=True)
        if isinstance(outcome, Exception):  # not cancelled by us: a failure of its own
            raise outcome
    return events


async def _ws_until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    received: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(20):
            while True:
                received.append(json.loads(await ws.recv()))
    except ConnectionClosed as exc:
        return received, exc.rcvd.code if exc.rcvd else None


async def _ws_until_quiet(ws: ClientConnection) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    async with asyncio.timeout(20):
        while True:
            try:
                quiet = QUIET_S if received else FIRST_S
                received.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
            except TimeoutError:
                return received


def _messages(events: list[dict[str, str]]) -> list[int]:
    return [int(e["id"]) for e in events if e["event"] == "message"]


async def test_a_resume_past_the_cap_is_cut_there_and_the_next_one_gets_the_rest(
    server: str,
) -> None:
    extra = 30
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        alice = await register(client, "alice")
        await created_many(client, alice, [event_body() for _ in range(REPLAY_MAX + extra)])
        headers = alice.headers

        # SSE: the cap's messages in seq order, each once, then a resync at the last of them
        first = await _events(client, headers | {"Last-Event-ID": "0"})
        ids = _messages(first)
        assert len(ids) == REPLAY_MAX and ids == sorted(set(ids))
        assert [e["event"] for e in first] == ["message"] * REPLAY_MAX + ["resync"]
        assert first[-1]["data"] == first[-1]["id"] == str(ids[-1])
        # resuming from where it got to: the rest, then nothing (no resync, no repeat)
        rest = await _events(
            client, headers | {"Last-Event-ID": first[-1]["data"]}, until_quiet=True
        )
        rest_ids = _messages(rest)
        assert [e["event"] for e in rest] == ["message"] * extra
        assert rest_ids == sorted(set(rest_ids)) and rest_ids[0] > ids[-1]
        everything = ids + rest_ids

        # the WebSocket: the same messages, then 1013 with the same position
        async with connect(_ws_url(server, alice.access_token, 0)) as ws:
            received, code = await _ws_until_closed(ws)
            assert code == 1013
            assert [m["seq"] for m in received] == ids
            assert ws.close_reason == f"{MORE_TO_REPLAY}; resume from {ids[-1]}"
        async with connect(_ws_url(server, alice.access_token, ids[-1])) as ws:
            assert [m["seq"] for m in await _ws_until_quiet(ws)] == rest_ids
        # a resume with no more than the cap left is not cut
        async with connect(_ws_url(server, alice.access_token, everything[extra - 1])) as ws:
            tail = await _ws_until_quiet(ws)
            assert [m["seq"] for m in tail] == everything[extra:]
            assert len(tail) == REPLAY_MAX


BAD_POSITIONS = ["-1", "+5", " 5", "5x", "5 5", "1.5", "0x5", "1_0", "9223372036854775808"]


def test_one_rule_for_a_resume_position() -> None:
    for raw in [*BAD_POSITIONS, "", "5 ", "\t5", "٥", "00000000000000000005"]:
        with pytest.raises(ValueError):
            resume_position(raw)
    assert resume_position("0") == 0
    assert resume_position("0005") == 5
    assert resume_position("9223372036854775807") == 2**63 - 1


async def test_sse_and_websocket_refuse_the_same_positions(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        alice = await register(client, "alice")
        for raw in BAD_POSITIONS:
            # WebSocket: accepted, then closed with 1008 and the reason
            async with connect(_ws_url(server, alice.access_token, quote(raw))) as ws:
                received, code = await _ws_until_closed(ws)
                assert code == 1008 and received == [], raw
                assert ws.close_reason is not None
                assert ws.close_reason.startswith("invalid since: expected a change number"), raw
            if raw != raw.strip():
                continue  # HTTP drops the spaces around a header's value before the app sees it
            # SSE: the 422 problem, naming the header
            response = await asyncio.wait_for(
                client.get(STREAM, headers=alice.headers | {"Last-Event-ID": raw}), 10
            )
            assert response.status_code == 422, raw
            problem = response.json()
            assert problem["code"] == "validation_error"
            assert problem["errors"][0]["loc"] == ["header", "last-event-id"]
            assert "expected a change number (seq) from 0" in problem["errors"][0]["msg"]


async def test_a_position_past_the_newest_change_is_told_to_resync_at_once(server: str) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        alice = await register(client, "alice")
        await created_many(client, alice, [event_body() for _ in range(3)])
        async with connect(_ws_url(server, alice.access_token, 0)) as ws:
            newest = (await _ws_until_quiet(ws))[-1]["seq"]
        for bogus in (newest + 1, 2**63 - 1):
            events = await _events(client, alice.headers | {"Last-Event-ID": str(bogus)})
            assert events == [{"event": "resync", "id": str(newest), "data": str(newest)}]
            async with connect(_ws_url(server, alice.access_token, bogus)) as ws:
                received, code = await _ws_until_closed(ws)
                assert code == 1013 and received == []
                assert ws.close_reason == f"unknown position; resume from {newest}"
        # resuming where it was told to: live again
        async with connect(_ws_url(server, alice.access_token, newest)) as ws:
            await asyncio.sleep(0.3)
            made = await client.post("/api/v1/events", json=event_body(), headers=alice.headers)
            got = await _ws_until_quiet(ws)
            assert [m["event_id"] for m in got] == [made.json()["id"]]
            assert got[0]["seq"] == newest + 1


# What one connect costs the worker, on the hub of an app in this process.


async def _drain(connection: Connection) -> tuple[list[int], bool]:
    """The seqs a connection delivers until it says resume (True) or is quiet (False)."""
    seqs: list[int] = []
    async with asyncio.timeout(20):
        while True:
            try:
                message = await connection.next(0.3)
            except Overflow:
                return seqs, True
            if message is None:
                return seqs, False
            seqs.append(message.seq)


def _counting_loads(
    monkeypatch: pytest.MonkeyPatch, after_first: Callable[[], Awaitable[None]] | None = None
) -> list[int]:
    """Count what replays read (rows per query), running `after_first` after the first query."""
    real = hub_module.load_messages
    rows: list[int] = []

    async def counted(*args: Any, **kwargs: Any) -> list[Message]:
        loaded = await real(*args, **kwargs)
        if kwargs.get("user_id") is not None:
            rows.append(len(loaded))
            if len(rows) == 1 and after_first is not None:
                await after_first()
        return loaded

    monkeypatch.setattr(hub_module, "load_messages", counted)
    return rows


async def test_a_resume_from_zero_costs_the_cap_in_pages(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await register(client, "alice")
    await created_many(client, alice, [event_body() for _ in range(1000)])
    hub: Hub = app.state.hub
    rows = _counting_loads(monkeypatch)
    async with loop_pauses() as pauses:
        connection = await asyncio.wait_for(hub.connect(alice.id, since=0), 20)
        try:
            seqs, resync = await _drain(connection)
        finally:
            hub.disconnect(connection)
    assert resync and len(seqs) == REPLAY_MAX and seqs == sorted(set(seqs))
    assert connection.last_seq == seqs[-1]  # where the client resumes
    # REPLAY_PAGE at a time, the last query one more (is anything left?): nothing else read
    assert rows == [REPLAY_PAGE] * (REPLAY_MAX // REPLAY_PAGE - 1) + [REPLAY_PAGE + 1]
    # generous on a shared machine: the loop is never held for the whole replay
    assert pauses.worst_held < budget(0.15), pauses


async def _wait_delivered(hub: Hub, seq: int) -> None:
    """Until the hub has fanned `seq` out (it has no event to wait on): 10 s at most."""
    for _ in range(1000):
        if hub.last_seq >= seq:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the hub never delivered {seq}")


async def _made_during_replay(
    client: httpx.AsyncClient, hub: Hub, owner: Account, made: list[int]
) -> None:
    """A change committed (and fanned out by the hub) while a replay is under way."""
    response = await client.post("/api/v1/events", json=event_body(), headers=owner.headers)
    assert response.status_code == 201, response.text
    newest = await hub.newest()
    made.append(newest)
    await _wait_delivered(hub, newest)


@pytest.mark.parametrize("backlog", [5, REPLAY_MAX + 10])
async def test_a_change_made_during_a_replay_is_neither_lost_nor_repeated(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, backlog: int
) -> None:
    alice = await register(client, "alice")
    await created_many(client, alice, [event_body() for _ in range(backlog)])
    hub: Hub = app.state.hub
    before = await hub.newest()
    made: list[int] = []
    _counting_loads(monkeypatch, lambda: _made_during_replay(client, hub, alice, made))
    connection = await asyncio.wait_for(hub.connect(alice.id, since=0), 20)
    try:
        seqs, resync = await _drain(connection)
    finally:
        hub.disconnect(connection)
    assert len(made) == 1 and made[0] > before
    if backlog <= REPLAY_MAX:  # all replayed, then the live one, once
        assert not resync
        assert len(seqs) == backlog + 1 and seqs == sorted(set(seqs)) and seqs[-1] == made[0]
        return
    # cut at the cap: the live one is not sent past the gap; the next resume has it, once
    assert resync and len(seqs) == REPLAY_MAX and seqs == sorted(set(seqs))
    assert connection.last_seq == seqs[-1] < made[0]
    monkeypatch.undo()
    again = await asyncio.wait_for(hub.connect(alice.id, since=seqs[-1]), 20)
    try:
        rest, resync = await _drain(again)
    finally:
        hub.disconnect(again)
    assert not resync
    assert len(rest) == backlog - REPLAY_MAX + 1 and rest == sorted(set(rest))
    assert rest[0] > seqs[-1] and rest[-1] == made[0]


async def test_a_replay_that_fails_leaves_no_connection_behind(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await register(client, "alice")
    await created_many(client, alice, [event_body()])
    hub: Hub = app.state.hub

    async def broken(*args: Any, **kwargs: Any) -> list[Message]:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(hub_module, "load_messages", broken)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(hub.connect(alice.id, since=0), 10)
    assert hub.connection_count == 0
