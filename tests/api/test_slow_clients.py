"""How slowly a client may send a request's body or take an answer (`neo_events/http_server.py`,
`neo_events/http_deadlines.py`, SECURITY.md).

An outside attack (2026-12-06): anonymous clients sending a declared megabyte a byte every
ten seconds piled up without bound (601, then 1,801 requests in progress on one worker: only
the per-IP rate of new requests limited them, the chunk bound would have cut one after
hours); 80 clients that did not read an 11 MB PROPFIND held 740 MB of a worker's memory, and
one that waited 150 s still got every byte. Against a real `neo-events serve` with a body
deadline of a second and a send deadline of a second, over raw sockets.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.api.test_http_limits import CLOSE, HealthProbe, _migrated, exchange
from tests.helpers import PASSWORD, trickling
from tests.live import LiveServer, live_server
from tests.timing import budget

BODY_TIMEOUT_S = 1.0
SEND_TIMEOUT_S = 1.0
MIN_BYTES_PER_S = 1024
ENV = {
    "HTTP_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    "HTTP_SEND_TIMEOUT_S": str(SEND_TIMEOUT_S),
    "HTTP_MIN_BYTES_PER_S": str(MIN_BYTES_PER_S),
    "JOBS_IN_SERVE": "false",
    "MAX_BODY_BYTES": str(8 * 1024 * 1024),  # the feed's events come in one import
}
CREATE = (
    b"POST /api/v1/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n"
)
# The answer a non-reading client asks for: a calendar feed of 450 events of 10,000-character
# descriptions, some 4.8 MB written whole; more than loopback's kernel buffers take (a socket's
# send buffer grows to 4 MB), so that most of it waits in the server's own.
FEED_EVENTS = 450
VEVENT = (
    "BEGIN:VEVENT\r\nUID:slow-{i}\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\nSUMMARY:Event {i}\r\n"
    "DESCRIPTION:{text}\r\nEND:VEVENT\r\n"
)


def _seeded(base: str) -> str:
    """The feed's path: a user with FEED_EVENTS long events, and a feed token."""
    with httpx.Client(base_url=base, timeout=120) as client:
        signed = client.post(
            "/api/v1/auth/register",
            json={"username": "alice", "email": "alice@example.com", "password": PASSWORD},
        )
        assert signed.status_code == 201, signed.text
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        text = "x" * 10_000
        ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
        ics += "".join(VEVENT.format(i=i, text=text) for i in range(FEED_EVENTS))
        ics += "END:VCALENDAR\r\n"
        imported = client.post(
            "/api/v1/events/import",
            content=ics.encode(),
            headers=headers | {"Content-Type": "text/calendar"},
        )
        assert imported.status_code == 201, imported.text[:300]
        token = client.post("/api/v1/feed-tokens", json={}, headers=headers)
        assert token.status_code == 201, token.text
        return f"/api/v1/calendar.ics?token={token.json()['token']}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("slow-clients")
    with live_server(database_url=_migrated(data_dir), data_dir=data_dir, extra_env=ENV) as live:
        yield live


@pytest.fixture(scope="module")
def feed(server: LiveServer) -> tuple[str, int]:
    """The feed's path and the length of its answer's body."""
    path = _seeded(server.base)
    with httpx.Client(base_url=server.base, timeout=120) as client:
        answer = client.get(path)
    assert answer.status_code == 200 and len(answer.content) > 4_500_000, len(answer.content)
    return path, len(answer.content)


# The body's deadline


@pytest.mark.parametrize("trickle", [True, False], ids=["a byte every 0.25 s", "nothing"])
def test_a_body_past_its_deadline_is_a_408_and_the_connection_closes(
    server: LiveServer, trickle: bool
) -> None:
    pieces: list[bytes | float] = [CREATE % 1_000_000 + b"{"]
    if trickle:
        pieces += [0.25, b" "] * 40
    answer = exchange(server.port, pieces, timeout=15)
    problem = answer.only.problem(408, "request_timeout")
    assert "body" in problem["detail"], problem
    assert answer.only.headers["connection"] == "close"
    assert answer.first_answer_s is not None
    assert BODY_TIMEOUT_S - 0.1 < answer.first_answer_s < BODY_TIMEOUT_S + budget(2), answer
    assert answer.closed_s is not None, "the server kept the connection open"


def test_a_body_arriving_at_the_minimum_rate_is_served(server: LiveServer) -> None:
    """3 KiB in 256-byte pieces over two seconds (past the deadline's first second, above
    the minimum rate): the app reads it and answers (401: no credentials)."""
    body = b'{"title": "' + b"x" * 3000 + b'"}'
    pieces: list[bytes | float] = [CREATE.replace(b"\r\n\r\n", b"\r\n" + CLOSE) % len(body)]
    for at in range(0, len(body), 256):
        pieces += [0.15, body[at : at + 256]]
    answer = exchange(server.port, pieces, timeout=15, nodelay=True)
    assert answer.responses and answer.responses[0].status == 401, answer


def test_many_slow_bodies_are_all_cut_while_others_are_served(server: LiveServer) -> None:
    socks = []
    for _ in range(200):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sock.sendall(CREATE % 1_000_000 + b"{")
        socks.append(sock)
    began = time.perf_counter()
    closed: dict[int, float] = {}
    with trickling(socks, 0.3), HealthProbe(server.port) as probe:
        for i, sock in enumerate(socks):
            left = BODY_TIMEOUT_S + budget(8) - (time.perf_counter() - began)
            sock.settimeout(max(0.1, left))
            try:
                while sock.recv(65536):
                    pass
                closed[i] = time.perf_counter() - began
            except ConnectionResetError:
                closed[i] = time.perf_counter() - began
            except TimeoutError:
                pass
    assert len(closed) == len(socks), f"{len(socks) - len(closed)} slow bodies still open"
    assert probe.statuses and set(probe.statuses) == {200}, probe.statuses


# The send deadline


def _asked(port: int, path: str) -> socket.socket:
    """A connection that asked for `path` with a receive buffer of a couple of KiB."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    return sock


def _answer_began(sock: socket.socket) -> int:
    """Waits for the answer's first bytes (the feed takes a second or two to write)."""
    sock.settimeout(30)
    return len(sock.recv(1024))


def _read_all(sock: socket.socket, pause: float = 0.0) -> int:
    got = 0
    sock.settimeout(10)
    try:
        while chunk := sock.recv(65536):
            got += len(chunk)
            if pause:
                time.sleep(pause)
    except ConnectionResetError:
        pass
    return got


def test_a_client_that_does_not_take_its_answer_is_cut_at_the_send_deadline(
    server: LiveServer, feed: tuple[str, int]
) -> None:
    """The answer waits untaken past the send deadline: the server drops it and closes (the
    client, reading at last, gets what the kernel's buffers held and no more)."""
    path, size = feed
    sock = _asked(server.port, path)
    try:
        got = _answer_began(sock)
        time.sleep(SEND_TIMEOUT_S + budget(2))
        got += _read_all(sock)
    finally:
        sock.close()
    assert got < size, f"the whole answer ({got} bytes) waited past the send deadline"
    assert "connection closed" in server.log()


def test_a_client_taking_its_answer_slowly_gets_all_of_it(
    server: LiveServer, feed: tuple[str, int]
) -> None:
    """A reader with a small buffer that keeps taking the answer (a few MB/s: the server's
    buffer drains by far more than HTTP_MIN_BYTES_PER_S) is never cut."""
    path, size = feed
    sock = _asked(server.port, path)
    try:
        got = _read_all(sock, pause=0.001)
    finally:
        sock.close()
    assert got > size, got  # the answer's head and every byte of its body


def test_many_clients_that_do_not_read_are_all_cut(
    server: LiveServer, feed: tuple[str, int]
) -> None:
    path, size = feed
    socks = [_asked(server.port, path) for _ in range(20)]
    try:
        began = [_answer_began(sock) for sock in socks]
        time.sleep(SEND_TIMEOUT_S + budget(2))
        got = [first + _read_all(sock) for first, sock in zip(began, socks, strict=True)]
    finally:
        for sock in socks:
            sock.close()
    assert max(got) < size, got
