"""One live client's connection: its bounded queue of messages and why it must resume.

A client that falls behind (its queue full), has more to replay than one connect replays, or
resumes from a position this server never issued is told to reconnect and resume (`Overflow`,
with the reason); a revoked sign-in ends it (`Revoked`), and so does the client going away
(`Gone`: its place among the user's connections is free at once). The hub (`live/hub.py`) fills it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    seq: int
    recipients: frozenset[int]
    body: dict[str, Any]


class TooManyConnections(Exception):
    """The user already has as many live connections to this worker as allowed."""


class Overflow(Exception):
    """The client must reconnect and resume from its `last_seq`: it fell too far behind
    (`TOO_SLOW`), there was more to replay than one connect replays (`MORE_TO_REPLAY`), or it
    resumed from a position past the newest change (`UNKNOWN_POSITION`: a seq this server never
    issued, e.g. after a database restore; `last_seq` is then the newest change)."""


TOO_SLOW = "too slow"
MORE_TO_REPLAY = "more to replay"
UNKNOWN_POSITION = "unknown position"
SERVER_STOPPING = "server stopping"


class Revoked(Exception):
    """The sign-in behind the connection was revoked; its token no longer works."""


class Gone(Exception):
    """The client closed the connection (or was closed for what it sent)."""


_WAKE = Message(-1, frozenset(), {})  # wakes a reader waiting on an empty queue


@dataclass(eq=False)
class Connection:
    """One WebSocket or SSE client of one user."""

    user_id: int
    queue_size: int
    session_id: int | None = None
    last_seq: int = 0
    overflowed: bool = False
    resync_reason: str = TOO_SLOW  # why the client is told to resume (see Overflow)
    revoked: bool = False
    gone: bool = False
    # An SSE stream: ends when the server is told to stop (`server_stopping`; a WebSocket is
    # closed by the server itself, 1012).
    ends_at_server_stop: bool = False
    _replaying: bool = True
    _buffer: list[Message] = field(default_factory=list)
    _queue: asyncio.Queue[Message] = field(init=False)

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(self.queue_size)

    def offer(self, message: Message) -> None:
        if self._replaying:
            self._buffer.append(message)
            return
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True

    def revoke(self) -> None:
        """End the connection: its reader gets Revoked now, whatever is still queued."""
        self.revoked = True
        with contextlib.suppress(asyncio.QueueFull):  # a full queue is not waited on
            self._queue.put_nowait(_WAKE)

    def hang_up(self) -> None:
        """The client went away: its reader gets Gone now, rather than at its next
        heartbeat (a closed WebSocket kept its place among the user's connections for up to
        LIVE_HEARTBEAT_S, and a reconnect in that time was refused as one too many)."""
        self.gone = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_WAKE)

    def server_stopping(self) -> None:
        """The server is stopping: its reader gets what is queued, then Overflow (resume
        from `last_seq`, elsewhere or once the server is back)."""
        self.resync_after_queue(SERVER_STOPPING)
        with contextlib.suppress(asyncio.QueueFull):  # a full queue ends by itself
            self._queue.put_nowait(_WAKE)

    def queue_replay(self, message: Message) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True

    def resync_after_queue(self, reason: str) -> None:
        """Deliver what is queued, then tell the client to resume from its last seq; nothing
        offered from now on is delivered (a live message past a replay cut short would skip
        the changes between them)."""
        self.overflowed = True
        self.resync_reason = reason

    def end_replay(self) -> None:
        self._replaying = False
        buffered, self._buffer = self._buffer, []
        for message in buffered:
            self.offer(message)

    async def next(self, idle_s: float) -> Message | None:
        """The next message not yet sent, or None after `idle_s` (time for a heartbeat).
        Raises Gone once the client went away, Revoked once the sign-in is revoked, Overflow
        once the client fell behind."""
        while True:
            if self.gone:
                raise Gone
            if self.revoked:
                raise Revoked
            if self.overflowed and self._queue.empty():
                raise Overflow
            try:
                async with asyncio.timeout(idle_s):  # not wait_for: see _deliver_loop
                    message = await self._queue.get()
            except TimeoutError:
                if self.overflowed:
                    raise Overflow from None
                return None
            if self.gone:
                raise Gone
            if self.revoked:
                raise Revoked
            if message.seq > self.last_seq:  # replay and live may overlap: send each once
                self.last_seq = message.seq
                return message
