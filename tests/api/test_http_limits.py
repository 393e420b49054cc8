"""What the HTTP server takes before the app runs: header lines and bytes, the URL, the time a
request's head may take, the chunks of a body (`neo_events/http_server.py`, SECURITY.md).

An outside attack (2026-12-04), all anonymous: 2M header lines of `a:b` (10 MB) cost 1.33 s
of CPU and held the loop 1.3 s; a 64 MB URL or header value sent in pieces 4.3-4.7 s
(quadratic joins); 3,000 connections sending a header line every 5 s held 3,000 requests
open; 1,000,000 one-byte chunks 0.2 s. Each bound is tested just under (the app answers) and
just past it (the named status, problem+json, the connection closed), against a real
`neo-events serve` over raw sockets, with the server's own CPU time read from /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi import FastAPI

from neo_events.cli import alembic_config
from tests.live import LiveServer, live_server
from tests.timing import budget

HEAD_TIMEOUT_S = 1.0
LIMITS_ENV = {"HTTP_HEAD_TIMEOUT_S": str(HEAD_TIMEOUT_S), "JOBS_IN_SERVE": "false"}
GET = b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
CLOSE = b"Connection: close\r\n\r\n"


def _migrated(data_dir: Path) -> str:
    url = f"sqlite+aiosqlite:///{data_dir / 'neo.db'}"
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `neo-events serve` (uvicorn, one worker: its process is the one serving) with a
    head deadline of a second, so that the deadline's tests are short."""
    data_dir = tmp_path_factory.mktemp("http-limits")
    with live_server(
        database_url=_migrated(data_dir), data_dir=data_dir, extra_env=LIMITS_ENV
    ) as live:
        yield live


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self, status: int, code: str) -> dict[str, Any]:
        assert self.status == status, (self.status, self.body[:300])
        assert self.headers["content-type"] == "application/problem+json", self.headers
        problem: dict[str, Any] = json.loads(self.body)
        assert problem["status"] == status and problem["code"] == code, problem
        assert problem["request_id"] == self.headers["x-request-id"]
        assert self.headers["x-content-type-options"] == "nosniff"
        return problem


@dataclass
class Exchange:
    """What came back on one connection: its responses, how long the first took, whether
    (and when) the server closed it."""

    responses: list[Response] = field(default_factory=list)
    first_answer_s: float | None = None
    closed_s: float | None = None

    @property
    def only(self) -> Response:
        assert len(self.responses) == 1, self.responses
        return self.responses[0]


def _parse(data: bytes) -> list[Response]:
    responses = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        responses.append(Response(int(status_line.split()[1]), headers, rest[:length]))
        data = rest[length:]
    return responses


def exchange(
    port: int, pieces: Iterable[bytes | float], *, timeout: float = 20, nodelay: bool = False
) -> Exchange:
    """Send `pieces` (a float: a pause) from a thread while this one reads until the server
    closes the connection (or `timeout`). The sender stops at the first error: a server that
    refused a request stops reading it, and closes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    began = time.perf_counter()

    def send() -> None:
        try:
            for piece in pieces:
                if isinstance(piece, float):
                    time.sleep(piece)
                else:
                    sock.sendall(piece)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    out = Exchange()
    data = b""
    try:
        while chunk := sock.recv(65536):
            if out.first_answer_s is None:
                out.first_answer_s = time.perf_counter() - began
            data += chunk
        out.closed_s = time.perf_counter() - began
    except TimeoutError:
        pass
    except ConnectionResetError:  # closed while our data was still arriving: closed all the same
        out.closed_s = time.perf_counter() - began
    finally:
        sock.close()
        sender.join(timeout)
    out.responses = _parse(data)
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class HealthProbe:
    """GET /healthz on fresh connections, over and over, while an attack runs: the server
    must go on answering others."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.statuses: list[int] = []
        self.worst_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.perf_counter()
            answer = exchange(self.port, [GET + CLOSE], timeout=30)
            self.worst_s = max(self.worst_s, time.perf_counter() - began)
            self.statuses.extend(r.status for r in answer.responses)
            self._stop.wait(0.02)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def assert_refused_cheaply(
    server: LiveServer, pieces: Iterable[bytes | float], status: int, code: str
) -> dict[str, Any]:
    """The request is refused with `status` and the connection closed, within a second of
    wall time and a third of a second of the server's CPU, while /healthz keeps answering."""
    assert server.process is not None
    cpu_before = cpu_seconds(server.process.pid)
    with HealthProbe(server.port) as probe:
        answer = exchange(server.port, pieces)
    spent = cpu_seconds(server.process.pid) - cpu_before
    problem = answer.only.problem(status, code)
    assert answer.only.headers["connection"] == "close"
    assert answer.first_answer_s is not None and answer.first_answer_s < budget(1.0), answer
    assert answer.closed_s is not None, "the server kept the connection open"
    assert spent < budget(0.35), f"the server spent {spent:.2f} s of CPU"
    assert probe.statuses and set(probe.statuses) == {200}, probe.statuses
    return problem


def healthy(server: LiveServer) -> None:
    assert exchange(server.port, [GET + CLOSE]).only.status == 200


# Header lines


def test_a_hundred_header_lines_are_taken_and_one_more_is_a_431(server: LiveServer) -> None:
    host_and_close = 2
    lines = [b"x-%d: v\r\n" % n for n in range(100 - host_and_close)]
    taken = exchange(server.port, [GET + b"".join(lines) + CLOSE])
    assert taken.only.status == 200
    refused = exchange(server.port, [GET + b"".join(lines) + b"one-more: v\r\n" + CLOSE])
    problem = refused.only.problem(431, "header_fields_too_large")
    assert "100 header lines" in problem["detail"]
    assert refused.closed_s is not None


def test_two_million_header_lines_are_refused_at_the_101st(server: LiveServer) -> None:
    """2M lines of `a:b` (10 MB) against /api/v1/auth/me: 1.33 s of CPU before."""
    block = b"a:b\r\n" * 100_000
    pieces = [b"GET /api/v1/auth/me HTTP/1.1\r\nHost: t\r\n", *[block] * 20, b"\r\n"]
    assert_refused_cheaply(server, pieces, 431, "header_fields_too_large")
    healthy(server)


def test_header_bytes_up_to_64_kib_are_taken_and_one_more_is_a_431(server: LiveServer) -> None:
    """Names and values add up: `host` + `t`, `connection` + `close`, `x` + the value."""
    value = b"v" * (64 * 1024 - len(b"hostt") - len(b"connectionclose") - len(b"x"))
    assert exchange(server.port, [GET + b"x:" + value + b"\r\n" + CLOSE]).only.status == 200
    # The same head sent in pieces of 1,000 bytes, each a read of its own: held back until
    # its blank line, then parsed once.
    pieces: list[bytes | float] = [GET + b"x:"]
    for start in range(0, len(value), 1000):
        pieces += [value[start : start + 1000], 0.002]
    pieces.append(b"\r\n" + CLOSE)
    assert exchange(server.port, pieces, nodelay=True).only.status == 200
    refused = exchange(server.port, [GET + b"x:" + value + b"v\r\n" + CLOSE])
    problem = refused.only.problem(431, "header_fields_too_large")
    assert "65536 bytes" in problem["detail"]


def test_a_header_value_of_64_mb_sent_in_pieces_is_refused_at_once(server: LiveServer) -> None:
    """A 64 MB header value in 64 KiB pieces: 4.7 s of CPU before (every piece joined to
    those before it)."""
    piece = b"a" * 65536
    pieces = [GET + b"X-Long: ", *[piece] * 1024, b"\r\n\r\n"]
    assert_refused_cheaply(server, pieces, 431, "header_fields_too_large")


# The URL


def test_a_target_of_8_kib_is_taken_and_one_more_byte_is_a_414(server: LiveServer) -> None:
    path = b"/healthz?q="
    target = path + b"a" * (8192 - len(path))
    request = b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n" + CLOSE
    assert exchange(server.port, [request]).only.status == 200
    refused = exchange(server.port, [request.replace(b"?q=", b"?q=a")])
    assert "8192 bytes" in refused.only.problem(414, "uri_too_long")["detail"]


def test_a_url_of_64_mb_sent_in_pieces_is_refused_at_once(server: LiveServer) -> None:
    """4.3 s of CPU and a 5.4 s stall before (`self.url += url` a piece)."""
    piece = b"a" * 65536
    pieces = [b"GET /healthz?q=", *[piece] * 1024, b" HTTP/1.1\r\nHost: t\r\n\r\n"]
    assert_refused_cheaply(server, pieces, 414, "uri_too_long")


# The head's deadline


def test_a_head_that_arrives_in_time_is_served_even_in_pieces(server: LiveServer) -> None:
    pieces: list[bytes | float] = [GET, 0.3, b"a: b\r\n", 0.3, CLOSE]
    assert exchange(server.port, pieces, nodelay=True).only.status == 200


def test_a_head_past_its_deadline_is_a_408_and_the_connection_closes(
    server: LiveServer,
) -> None:
    """A header line every 0.3 s: the answer comes at the deadline, not after the head."""
    pieces: list[bytes | float] = [GET]
    for _ in range(20):
        pieces += [0.3, b"a: b\r\n"]
    answer = exchange(server.port, pieces, nodelay=True)
    problem = answer.only.problem(408, "request_timeout")
    assert f"{HEAD_TIMEOUT_S:g} s" in problem["detail"]
    assert answer.first_answer_s is not None
    assert HEAD_TIMEOUT_S - 0.1 < answer.first_answer_s < HEAD_TIMEOUT_S + 2
    assert answer.closed_s is not None


def test_many_slow_heads_are_all_cut_at_the_deadline(server: LiveServer) -> None:
    """Slowloris: 300 connections each sending a header line every 0.25 s. All are answered
    408 and closed near the deadline, and /healthz is answered meanwhile."""
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
    began = time.perf_counter()
    for sock in socks:
        sock.sendall(GET)
        sock.setblocking(False)
    answers: dict[int, bytes] = {}
    closed: dict[int, float] = {}
    with HealthProbe(server.port) as probe:
        while len(closed) < len(socks) and time.perf_counter() - began < HEAD_TIMEOUT_S + 10:
            for n, sock in enumerate(socks):
                if n in closed:
                    continue
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    data = None
                except OSError:
                    data = b""
                if data:
                    answers[n] = answers.get(n, b"") + data
                elif data == b"":
                    closed[n] = time.perf_counter() - began
                    continue
                with contextlib.suppress(OSError):
                    sock.send(b"a: b\r\n")
            time.sleep(0.25)
    for sock in socks:
        sock.close()
    assert len(closed) == len(socks), f"{len(socks) - len(closed)} connections still open"
    assert max(closed.values()) < HEAD_TIMEOUT_S + 5
    assert all(_parse(data)[0].status == 408 for data in answers.values())
    assert len(answers) == len(socks)
    assert probe.statuses and set(probe.statuses) == {200}


def test_a_connection_that_sends_nothing_or_blank_lines_is_closed(server: LiveServer) -> None:
    for pieces in ([], [b"\r\n"]):
        answer = exchange(server.port, pieces, timeout=HEAD_TIMEOUT_S + 5)
        assert answer.responses == [] and answer.closed_s is not None
        assert answer.closed_s < HEAD_TIMEOUT_S + 2


def test_keep_alive_requests_each_have_their_own_bounds(server: LiveServer) -> None:
    """The counts start again with each request of a connection, and the deadline runs only
    while a head comes in (not while the app works, nor between requests)."""
    lines = b"".join(b"x-%d: v\r\n" % n for n in range(98))
    pieces: list[bytes | float] = [GET + lines + b"\r\n", 0.6, GET + lines + b"\r\n", 0.6]
    pieces.append(GET + lines[: -len(b"x-97: v\r\n")] + CLOSE)
    answer = exchange(server.port, pieces)
    assert [r.status for r in answer.responses] == [200, 200, 200]


def test_a_refused_request_is_answered_after_those_pipelined_before_it(
    server: LiveServer,
) -> None:
    too_many = b"".join(b"x-%d: v\r\n" % n for n in range(200))
    answer = exchange(server.port, [GET + b"\r\n" + GET + b"\r\n" + GET + too_many + b"\r\n"])
    assert [r.status for r in answer.responses] == [200, 200, 431]
    assert answer.closed_s is not None


# Chunked bodies


def _chunked(path: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    yield (
        b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    batch = []
    for chunk in chunks:
        batch.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if len(batch) == 10_000:
            yield b"".join(batch)
            batch = []
    yield b"".join(batch) + b"0\r\n\r\n"


def _one_byte_chunks(body: bytes) -> list[bytes]:
    return [body[n : n + 1] for n in range(len(body))]


def _login_body(size: int) -> bytes:
    body = b'{"username": "nobody", "password": "wrong password"}'
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_body_of_1024_one_byte_chunks_reaches_the_app_and_1025_do_not(
    server: LiveServer,
) -> None:
    login = b"/api/v1/auth/login"
    answer = exchange(server.port, _chunked(login, _one_byte_chunks(_login_body(1024))))
    assert answer.only.status == 401, answer.only.body  # read whole and checked by the app
    refused = exchange(server.port, _chunked(login, _one_byte_chunks(_login_body(1025))))
    problem = refused.only.problem(413, "payload_too_large")
    assert "1024 chunks" in problem["detail"]


def test_many_chunks_that_average_512_bytes_are_taken(server: LiveServer) -> None:
    body = _login_body(1500 * 600)
    chunks = [body[n : n + 600] for n in range(0, len(body), 600)]
    answer = exchange(server.port, _chunked(b"/api/v1/auth/login", chunks))
    assert answer.only.status == 401, answer.only.body


def test_a_million_one_byte_chunks_are_refused_at_once(server: LiveServer) -> None:
    """To POST /api/v1/events, anonymously: 0.20-0.24 s of CPU before its answer."""
    pieces = _chunked(b"/api/v1/events", [b" "] * 1_000_000)
    assert_refused_cheaply(server, pieces, 413, "payload_too_large")
    healthy(server)


@pytest.mark.anyio
async def test_the_app_counts_the_parts_a_server_hands_it(app: FastAPI) -> None:
    """A server that hands the app one message a chunk (granian) or a trickled body: past
    1,024 parts averaging under 512 bytes, the app stops reading with a 413 problem."""
    handed = 0

    async def receive() -> dict[str, Any]:
        nonlocal handed
        handed += 1
        return {"type": "http.request", "body": b" ", "more_body": True}

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/v1/auth/login", "raw_path": b"/api/v1/auth/login",
        "query_string": b"", "root_path": "",
        "headers": [(b"host", b"t"), (b"content-type", b"application/json"),
                    (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000), "server": ("t", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    body = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] != "http.response.start")
    )
    assert body["code"] == "payload_too_large" and "1024 parts" in body["detail"]
    assert handed == 1025


# granian, the other server `serve` runs


@pytest.mark.slow
def test_granian_has_the_bounds_it_offers(tmp_path: Path) -> None:
    """granian (hyper) counts 100 header lines itself and bounds the whole head by its buffer
    (`max_buffer_size`, set from the bounds: 431, a plain answer); its head timeout
    (`header_read_timeout`, from `HTTP_HEAD_TIMEOUT_S`) closes without an answer; it hands
    the app a message a chunk, which the app counts (`BodyLimitMiddleware`: a 413 problem)."""
    with live_server(
        database_url=_migrated(tmp_path), data_dir=tmp_path, extra_env=LIMITS_ENV,
        server="granian",
    ) as live:  # fmt: skip
        lines = b"".join(b"x-%d: v\r\n" % n for n in range(98))
        assert exchange(live.port, [GET + lines + CLOSE]).only.status == 200
        assert exchange(live.port, [GET + lines + b"y: v\r\n" + CLOSE]).only.status == 431
        # hyper checks its buffer (75 KiB here) between reads that double in size: a head
        # that arrives whole in those reads may reach ~128 KiB first.
        big = b"x: " + b"v" * (200 * 1024) + b"\r\n"
        assert exchange(live.port, [GET + big + CLOSE]).only.status == 431

        pieces: list[bytes | float] = [GET]
        for _ in range(20):
            pieces += [0.3, b"a: b\r\n"]
        slow = exchange(live.port, pieces, nodelay=True)
        assert slow.responses == [] and slow.closed_s is not None
        assert slow.closed_s < HEAD_TIMEOUT_S + 2

        began = time.perf_counter()
        refused = exchange(live.port, _chunked(b"/api/v1/events", [b" "] * 100_000))
        assert refused.only.status == 413
        assert json.loads(refused.only.body)["code"] == "payload_too_large"
        assert time.perf_counter() - began < budget(5)  # ~5 s of CPU at ~50 µs a chunk before
