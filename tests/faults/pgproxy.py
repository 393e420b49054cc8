"""A TCP proxy in front of the test PostgreSQL that a fault test can make misbehave as a
database does when it goes away, without touching the PostgreSQL other tests share:

- `forward`: passes everything through;
- `refuse`: ends every connection through it and refuses new ones (PostgreSQL stopped or
  restarting: a connection refused);
- `starting`: ends every connection and answers each new one's start-up with the error
  PostgreSQL sends while it starts up or shuts down (FATAL 57P03 `cannot_connect_now`);
- `hang`: passes nothing on, either way, and answers nothing (PostgreSQL stopped with SIGSTOP,
  or a network gone silent): connections stay open, statements never return.

It runs on an event loop of its own in a thread, so that a synchronous test (or a server
process) can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from tests.live import free_port

SSL_REQUEST = 80877103
CANNOT_CONNECT_NOW = (
    b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0"
    b"Fpostmaster.c\0L1\0RProcessStartupPacket\0\0"
)


class PgProxy:
    def __init__(self, database_url: str) -> None:
        upstream = make_url(database_url)
        self.upstream = (upstream.host or "127.0.0.1", upstream.port or 5432)
        self.port = free_port()
        self.url = upstream.set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False
        )
        self.mode = "forward"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def close(self) -> None:
        self._call(self._switch("refuse"))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def set_mode(self, mode: str) -> None:
        """Switch to `mode` (see above); connections through it are ended unless it is
        `hang` (they then hang) or `forward` (they carry on, or resume after a hang)."""
        assert mode in ("forward", "refuse", "starting", "hang"), mode
        self._call(self._switch(mode))

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _switch(self, mode: str) -> None:
        self.mode = mode
        if mode in ("refuse", "starting"):
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
        if mode == "refuse":
            await self._stop_listening()
        elif self._server is None:
            await self._listen()
        if mode == "hang":
            self._flowing.clear()
        else:
            self._flowing.set()

    async def _listen(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "starting":
            with contextlib.suppress(Exception):
                await _refuse_start_up(reader, writer)
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for end in (writer, up_writer):
            self._writers.discard(end)
            end.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await self._flowing.wait()
            writer.write(data)
            await writer.drain()
        writer.transport.abort()


async def _refuse_start_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer a start-up as PostgreSQL does while it cannot take connections."""
    length, code = struct.unpack("!ii", await reader.readexactly(8))
    if code == SSL_REQUEST:  # decline TLS, then read the real start-up packet
        writer.write(b"N")
        await writer.drain()
        length, code = struct.unpack("!ii", await reader.readexactly(8))
    await reader.readexactly(length - 8)
    writer.write(b"E" + struct.pack("!i", len(CANNOT_CONNECT_NOW) + 4) + CANNOT_CONNECT_NOW)
    await writer.drain()


@contextmanager
def pg_proxy(database_url: str) -> Iterator[PgProxy]:
    proxy = PgProxy(database_url)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
