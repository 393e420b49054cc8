"""The bounds the HTTP server keeps (`http_server`), from the settings: the request target,
the head's lines and bytes, how long a head may take to arrive, a chunked body's chunks, how
long a body may take to arrive and how long an answer may wait for its client to take it
(docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neo_events.settings import Settings


@dataclass(frozen=True)
class HttpLimits:
    max_url_bytes: int = 8 * 1024
    max_headers: int = 100
    max_header_bytes: int = 64 * 1024
    head_timeout_s: float = 10.0
    max_body_chunks: int = 1024
    body_timeout_s: float = 10.0
    send_timeout_s: float = 30.0
    min_bytes_per_s: int = 4096

    @property
    def max_head_bytes(self) -> int:
        """A whole head on the wire: request line, fields and their separators (`: `, CRLF),
        a little room for a method, the version and leading blank lines."""
        return self.max_url_bytes + self.max_header_bytes + 4 * self.max_headers + 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_url_bytes=settings.http_max_url_bytes,
            max_headers=settings.http_max_headers,
            max_header_bytes=settings.http_max_header_bytes,
            head_timeout_s=settings.http_head_timeout_s,
            max_body_chunks=settings.http_max_body_chunks,
            body_timeout_s=settings.http_body_timeout_s,
            send_timeout_s=settings.http_send_timeout_s,
            min_bytes_per_s=settings.http_min_bytes_per_s,
        )

    def granian_http1_settings(self) -> Any:
        """The same bounds in granian's terms, as far as it has them (docs/operations.md): its
        head timeout closes the connection without an answer; its buffer bounds the whole head
        (431); hyper's own bounds stay: 100 header lines (431), URLs up to 64 KiB (414); the
        app counts a body's parts itself (`BodyLimitMiddleware`: granian hands it a chunk a
        message)."""
        from granian.http import HTTP1Settings

        return HTTP1Settings(
            header_read_timeout=max(1, round(self.head_timeout_s * 1000)),
            max_buffer_size=max(8192, self.max_head_bytes),
        )


@cache
def configured_limits() -> HttpLimits:
    """This process's limits, from the environment, read once (workers are started afresh
    by the server: each reads them the same way)."""
    from neo_events.settings import Settings

    return HttpLimits.from_settings(Settings())
