"""The send deadline of the HTTP server (`http_server`): an answer waiting in a connection's
write buffer (the transport asked the protocol to pause writing) that its client leaves
untaken, or takes fewer than HTTP_MIN_BYTES_PER_S a second of, for HTTP_SEND_TIMEOUT_S is
dropped and the connection closed: `abort`, so that the buffered bytes are freed at once
(`close` would keep them until they are sent). The app, waiting to write more, sees a client
that went away. The connection is reset (SO_LINGER 0), as nginx's `reset_timedout_connection`
does, so that the kernel drops what it holds of the answer too (4 MB on loopback).

80 clients that did not read an 11 MB PROPFIND held 740 MB in a worker for as long as they
liked, and one that waited 150 s still got every byte (an outside attack, 2026-12-06). A client
taking an answer at its own pace, and a live stream (SSE) whose client reads it, keep the
buffer moving and are never cut; WebSockets have their own protocol and heartbeats.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import socket
import struct
import termios
from contextlib import suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neo_events.http_server import BoundedHttpToolsProtocol

logger = logging.getLogger("neo_events.http")


def unsent_bytes(transport: asyncio.WriteTransport) -> int:
    """The answer's bytes its client has not yet acknowledged: the transport's buffer and the
    kernel's send queue (TIOCOUTQ). The kernel's queue counts: on loopback it grows to 4 MB,
    and bytes moving from one buffer to the other are not bytes the client took."""
    unsent = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return unsent
        unsent += int(struct.unpack("i", queued)[0])
    return unsent


class SendDeadline:
    """One connection's send deadline: armed when writing pauses, checked every
    `send_timeout_s` while it stays paused, cancelled when writing resumes."""

    def __init__(self, protocol: BoundedHttpToolsProtocol) -> None:
        self.protocol = protocol
        self.timer: asyncio.TimerHandle | None = None
        self.unsent = 0  # the bytes still buffered at the last look

    def paused(self) -> None:
        if self.timer is None:
            self.unsent = unsent_bytes(self.protocol.transport)
            self._arm()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _arm(self) -> None:
        protocol = self.protocol
        self.timer = protocol.loop.call_later(protocol.bounds.send_timeout_s, self._check)

    def _check(self) -> None:
        self.timer = None
        protocol = self.protocol
        # (a closing transport too: `Connection: close` closes it once the answer is written,
        # and it stays open until its buffer is sent)
        transport, bounds = protocol.transport, protocol.bounds
        unsent = unsent_bytes(transport)
        taken = self.unsent - unsent
        if taken >= bounds.min_bytes_per_s * bounds.send_timeout_s:
            self.unsent = unsent
            self._arm()
            return
        client = protocol.client
        logger.warning(
            "an answer's client took %d bytes of it in %g s: connection closed, %d bytes dropped",
            max(0, taken),
            bounds.send_timeout_s,
            unsent,
            extra={"client": f"{client[0]}:{client[1]}" if client else None},
        )
        sock = transport.get_extra_info("socket")
        if sock is not None:  # a reset: the kernel drops what it still holds of the answer too
            with suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
