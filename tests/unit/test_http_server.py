"""The HTTP server's protocol (`neo_events/http_server.py`) fed bytes directly, with an app
and a transport of the test's own: the orders a real socket makes hard to force (pipelined
requests behind a slow one, a body refused while its app waits for it, a line in many reads).
tests/api/test_http_limits.py tests the same bounds against a real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from neo_events.http_limits import HttpLimits
from neo_events.http_server import BoundedHttpToolsProtocol

pytestmark = pytest.mark.anyio

GET = b"GET /%d HTTP/1.1\r\nHost: t\r\n"


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.eof = False
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 80), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def statuses(self) -> list[int]:
        out = b"".join(self.written)
        return [int(part.split(b" ", 1)[0]) for part in out.split(b"HTTP/1.1 ")[1:]]


class Limited(BoundedHttpToolsProtocol):
    limits = HttpLimits(max_headers=10, head_timeout_s=30, max_body_chunks=8)


def protocol(app: Any) -> tuple[Limited, Transport]:
    config = Config(app=app, http=Limited, log_level="warning", access_log=False)
    config.load()
    served = Limited(config, ServerState(), {}, _loop=asyncio.get_running_loop())
    transport = Transport()
    served.connection_made(transport)
    return served, transport


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_refusal_waits_for_the_answers_to_the_requests_before_it() -> None:
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/1":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    served, transport = protocol(app)
    lines = b"".join(b"x-%d: v\r\n" % n for n in range(20))
    served.data_received(GET % 1 + b"\r\n" + GET % 2 + b"\r\n" + GET % 3 + lines + b"\r\n")
    await settle()
    assert transport.statuses() == []  # /1 still works; nothing may come before its answer
    release.set()
    await settle()
    assert transport.statuses() == [200, 200, 431]
    assert transport.eof and not transport.closed  # half-closed, lingering for the client
    served.data_received(b"more of the refused head\r\n")  # dropped, not parsed
    assert transport.statuses() == [200, 200, 431]
    served.connection_lost(None)


async def test_a_body_refused_while_its_app_reads_it_is_a_413_and_the_app_sees_a_disconnect() -> (
    None
):
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"too late"})

    served, transport = protocol(app)
    head = b"POST /1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    served.data_received(head + b"1\r\na\r\n" * 3)
    await settle()
    served.data_received(b"1\r\na\r\n" * 20)
    await settle()
    assert seen[-1] == "http.disconnect"
    assert transport.statuses() == [413]
    problem = json.loads(b"".join(transport.written).split(b"\r\n\r\n", 1)[1])
    assert problem["code"] == "payload_too_large" and problem["request_id"]
    served.connection_lost(None)


async def test_chunks_that_average_512_bytes_are_never_refused() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})

    served, transport = protocol(app)
    head = b"POST /1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"200\r\n" + b"a" * 512 + b"\r\n"
    served.data_received(head + chunk * 100 + b"0\r\n\r\n")
    await settle()
    assert transport.statuses() == [200]
    assert b"\r\n51200\r\n" in b"".join(transport.written)
    served.connection_lost(None)


async def test_a_line_sent_a_byte_at_a_time_is_parsed_once() -> None:
    """uvicorn's `self.url += url` and httptools' `value += piece` join a line once a read;
    the protocol holds a line's pieces back until a read ends it."""
    heads: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        heads.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    served, transport = protocol(app)
    fed: list[int] = []
    parser = served.parser

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(parser, name)

        def feed_data(self, data: bytes) -> None:
            fed.append(len(data))
            parser.feed_data(data)

    served.parser = Counting()  # type: ignore[assignment]
    target = b"/q?" + b"a" * 3000
    value = b"v" * 3000
    request = b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nX-Long: " + value + b"\r\n\r\n"
    for n in range(len(request)):
        served.data_received(request[n : n + 1])
    await settle()
    assert transport.statuses() == [200]
    assert heads[0]["raw_path"] + b"?" + heads[0]["query_string"] == target
    assert (b"x-long", value) in heads[0]["headers"]
    assert len(fed) < 20, f"fed the parser {len(fed)} times"  # a few a line, not a byte each
    served.connection_lost(None)
