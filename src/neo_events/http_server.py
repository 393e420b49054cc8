"""Bounds on what a client may send the HTTP/1.1 server, and how slowly.

uvicorn's httptools protocol takes any number of header lines (each appended in Python, and
walked again by every middleware), a URL or a header value of any length joined piece by
piece (`self.url += url`; httptools' own `value += piece`: quadratic in the number of reads),
as long as the client likes to send its head, and a chunked body of any number of chunks
(2M lines of `a:b` cost 1.3 s of CPU; a 64 MB URL sent in pieces 4.3 s; 3,000 connections
sending a header line every 5 s held 3,000 requests open; an outside attack, 2026-12-04).

`BoundedHttpToolsProtocol` is uvicorn's protocol (`uvicorn.run(http=...)`) counting what the
parser's callbacks see and refusing at once past a bound, before the app is called:

- the request target past `HTTP_MAX_URL_BYTES` (8 KiB): 414 `uri_too_long`;
- more than `HTTP_MAX_HEADERS` (100) header lines, or header names and values of more than
  `HTTP_MAX_HEADER_BYTES` (64 KiB) in all: 431 `header_fields_too_large`;
- a head not whole `HTTP_HEAD_TIMEOUT_S` (10 s) after its first byte: 408 `request_timeout`;
- a chunked body of more than `HTTP_MAX_BODY_CHUNKS` (1,024) chunks, unless they average 512
  bytes or more: 413 `payload_too_large`;
- a body not whole `HTTP_BODY_TIMEOUT_S` (10 s) after its head, plus a second for each
  `HTTP_MIN_BYTES_PER_S` (4,096) bytes that came: 408 `request_timeout` (the app may be
  waiting for that body: it sees a client that went away).

An answer its client does not take is dropped after `HTTP_SEND_TIMEOUT_S` (`http_deadlines`).

Each answer is a problem+json body with a request id of its own, logged with the refusal
(`http_refusals`), `Connection: close`; the server then stops reading the
request: it half-closes, discards what the client still sends for up to `LINGER_S` (so the
client, still writing, can read the answer rather than a reset), and closes.

The hot path only counts: one length and one comparison a callback. A line of a head that
comes in several reads is held back (not parsed) until a read brings its end (or the bound),
so the parser joins its pieces once, not once a read.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from neo_events.http_deadlines import SendDeadline
from neo_events.http_limits import HttpLimits, configured_limits
from neo_events.http_refusals import refusal
from neo_events.middleware import MIN_AVERAGE_PART
from neo_events.stopping import server_stopping

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

# Past `max_body_chunks`, a chunked body goes on only while its chunks average this much
# (as the app counts the parts it is handed: `BodyLimitMiddleware`): a client streaming large
# pieces is never cut, one sending bytes one by one is at the bound.
MIN_AVERAGE_CHUNK = MIN_AVERAGE_PART
# After a refusal: how long, and how much, the server still reads and drops so that a client
# still sending its request gets to read the answer (nginx's lingering close).
LINGER_S = 2.0
LINGER_BYTES = 64 * 1024 * 1024


class _Refused(Exception):
    """Raised from a parser callback to stop parsing: the answer is already decided."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of `HttpLimits` (module docstring)."""

    limits: HttpLimits | None = None  # None: `configured_limits()`; tests may set their own

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.bounds = type(self).limits or configured_limits()
        self._header_lines = 0
        self._header_bytes = 0
        self._chunks = 0
        self._body_bytes = 0
        self._in_message = False  # from the parser's first byte of a request to its end
        self._in_head = False  # ... to the end of its head
        self._held: bytearray | None = None  # pieces of a head's line, not yet parsed
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: bytes | None = None  # an answer decided in a parser callback
        self._answer: bytes | None = None  # ... waiting for the responses before it
        self._closing = False  # refused: what still comes is dropped
        self._dropped = 0
        self._linger_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_began = 0.0  # when this request's head was whole
        self._send_deadline = SendDeadline(self)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()  # a connection that never sends a request is closed

    def shutdown(self) -> None:
        """The server is stopping: so are the app's live streams and job runner (stopping.py)."""
        server_stopping()
        super().shutdown()

    # Reading

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._closing:
            self._dropped += len(data)
            if self._dropped > LINGER_BYTES:
                self.transport.close()
            return
        feed: bytes | bytearray = data
        overflowed = False
        held = self._held
        if held is not None:
            held += data
            if b"\n" not in data and len(held) <= self.bounds.max_head_bytes:
                return
            self._held = None
            feed, overflowed = held, b"\n" not in data
        elif self._in_head and b"\n" not in data:
            # The parser is inside a line of this head (the target, a name or a value) and
            # this read does not end it: hold the line's pieces until one does, so that the
            # parser joins them once, not once a read.
            if len(data) <= self.bounds.max_head_bytes:
                self._held = bytearray(data)
                return
            overflowed = True
        try:
            self.parser.feed_data(feed)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(self._refusal)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self._in_head:
            if overflowed:  # one line of the head is longer than a whole head may be
                self._refuse(
                    self._problem(
                        431,
                        "header_fields_too_large",
                        f"A request's head is at most {self.bounds.max_head_bytes} bytes.",
                    )
                )
                return
            if self._head_timer is None:
                self._arm_head_timer()
        elif self._head_timer is None and not self._in_message and self._idle():
            self._arm_head_timer()  # blank lines only: they do not keep a connection forever

    def _idle(self) -> bool:
        return (self.cycle is None or self.cycle.response_complete) and not self.pipeline

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_message = self._in_head = True
        self._header_lines = self._header_bytes = 0
        self._chunks = self._body_bytes = 0

    def on_url(self, url: bytes) -> None:
        # A target's pieces are few (a line of the head is held back until it ends): joined as
        # uvicorn does, once checked.
        if len(self.url) + len(url) > self.bounds.max_url_bytes:
            self._stop(
                414,
                "uri_too_long",
                f"A request's target (path and query) is at most "
                f"{self.bounds.max_url_bytes} bytes.",
            )
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lines = self._header_lines = self._header_lines + 1
        size = self._header_bytes = self._header_bytes + len(name) + len(value)
        bounds = self.bounds
        if lines > bounds.max_headers:
            self._stop(
                431,
                "header_fields_too_large",
                f"A request has at most {bounds.max_headers} header lines.",
            )
        if size > bounds.max_header_bytes:
            self._stop(
                431,
                "header_fields_too_large",
                f"A request's header names and values are at most "
                f"{bounds.max_header_bytes} bytes in all.",
            )
        # uvicorn's own, inline (a call less a field line).
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()
        for name, value in self.headers:
            if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
                self._body_began = self.loop.time()
                self._body_timer = self.loop.call_later(
                    self.bounds.body_timeout_s, self._body_check
                )
                break

    def on_chunk_header(self) -> None:
        # The chunks before this one are whole (and were not the last, empty one).
        done = self._chunks
        self._chunks = done + 1
        if done > self.bounds.max_body_chunks and done * MIN_AVERAGE_CHUNK > self._body_bytes:
            self._stop(
                413,
                "payload_too_large",
                f"A chunked request body has at most {self.bounds.max_body_chunks} chunks "
                f"unless they average {MIN_AVERAGE_CHUNK} bytes or more.",
            )

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._cancel_body_timer()
        super().on_message_complete()

    # Refusing

    def _problem(self, status: int, code: str, detail: str) -> bytes:
        return refusal(
            status,
            code,
            detail,
            client=self.client,
            default_headers=self.server_state.default_headers,
        )

    def _stop(self, status: int, code: str, detail: str) -> None:
        """From a parser callback: decide the answer and stop the parser (feed_data raises)."""
        self._refusal = self._problem(status, code, detail)
        raise _Refused(code)

    def _refuse(self, answer: bytes) -> None:
        """Stop reading this connection's requests; answer once the responses to the requests
        before this one are sent (pipelining), then close."""
        self._closing = True
        self._held = None
        self._cancel_head_timer()
        self.flow.resume_reading()  # what still comes is dropped, not left in the buffers
        cycle = self.cycle
        if not self._in_head and cycle is not None:  # refused in this request's body
            queued = [entry for entry in self.pipeline if entry[0] is cycle]
            if queued:  # its app has not started: answer after those before it
                self.pipeline.remove(queued[0])
            elif cycle.response_started:  # the app answered (or is answering) already
                cycle.keep_alive = False  # uvicorn closes once that answer is sent
                if cycle.response_complete:
                    self._answer = b""
                    self._send_answer()
                return
            else:  # its app waits for the body: it sees a client that went away
                cycle.disconnected = True
                cycle.message_event.set()
                self._answer = answer
                self._send_answer()
                return
        self._answer = answer
        if self._idle():
            self._send_answer()

    def on_response_complete(self) -> None:
        if self._answer is None:
            super().on_response_complete()
            return
        self.server_state.total_requests += 1
        if self.pipeline:
            next_cycle, app = self.pipeline.pop()
            self._start_asgi_task(next_cycle, app)
        else:
            self._send_answer()

    def _send_answer(self) -> None:
        answer, self._answer = self._answer, None
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        if answer:
            self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer, then the end
            self._linger_timer = self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    # The head's deadline

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.bounds.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._closing:
            return
        if self._in_head:
            self._refuse(
                self._problem(
                    408,
                    "request_timeout",
                    f"A request's head must arrive within {self.bounds.head_timeout_s:g} s "
                    "of its first byte.",
                )
            )
        elif not self._in_message and self._idle():
            self.transport.close()

    # The body's deadline: HTTP_BODY_TIMEOUT_S after the head, and a second more for every
    # HTTP_MIN_BYTES_PER_S bytes that came. A body trickled in (one byte every ten seconds of a
    # declared megabyte held a request, its connection and what the app had opened for it for
    # hours: an outside attack, 2026-12-06) is refused with a 408; the app, if it waits for the
    # body, sees a client that went away.

    def _body_check(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self._closing or not self._in_message:
            return
        bounds = self.bounds
        due = self._body_began + bounds.body_timeout_s + self._body_bytes / bounds.min_bytes_per_s
        now = self.loop.time()
        if now < due or self.flow.read_paused:  # paused: the server stopped reading, not it
            self._body_timer = self.loop.call_later(
                max(due - now, bounds.body_timeout_s), self._body_check
            )
            return
        self._refuse(
            self._problem(
                408,
                "request_timeout",
                f"A request's body must arrive within {bounds.body_timeout_s:g} s of its head, "
                f"and a second more for each {bounds.min_bytes_per_s} bytes of it.",
            )
        )

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    # The send deadline (`SendDeadline`)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._send_deadline.paused()

    def resume_writing(self) -> None:
        self._send_deadline.cancel()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()
        self._send_deadline.cancel()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        super().connection_lost(exc)
