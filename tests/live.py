"""Real server processes for tests whose behaviour spans processes or needs real concurrency."""

from __future__ import annotations

import fcntl
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _below_ephemeral() -> range:
    """Ports the kernel never hands out by itself: those below its ephemeral range."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(20000, max(low, 20001))


_PORTS = _below_ephemeral()
_RESERVATIONS = Path(tempfile.gettempdir()) / f"neo-events-test-ports-{os.getuid()}.lock"
_reservations: int | None = None  # a bare descriptor: closed (locks released) at exit
_taken: set[int] = set()


def free_port() -> int:
    """A loopback port no other test process on this machine will be given.

    Picking port 0 and closing the socket is a race between xdist workers: two servers were
    once given the same port, one never bound it, and its test talked to the other worker's
    server (a 409 for a fresh database, then a refused connection when that server stopped).
    Here a port comes from below the kernel's ephemeral range (no `bind(0)` or outgoing
    connection can take it) and is reserved with a POSIX record lock on byte `port` of one
    shared file: held until this process exits, released by the kernel if it dies. Within a
    process a port is handed out once.
    """
    global _reservations
    if _reservations is None:
        _reservations = os.open(_RESERVATIONS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    ports = _PORTS
    start = random.randrange(len(ports))
    for step in range(len(ports)):
        port = ports[(start + step) % len(ports)]
        if port in _taken:
            continue
        try:
            fcntl.lockf(_reservations, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
        except OSError:
            continue  # another test process holds it
        _taken.add(port)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # something outside the tests listens there: keep it reserved, skip
        return port
    raise RuntimeError("no free loopback port left below the ephemeral range")


class LiveServer:
    """A `neo-events serve` process group a fault test can kill -9 and start again."""

    def __init__(
        self,
        *,
        database_url: str,
        data_dir: Path,
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
        port: int | None = None,
        server: str = "uvicorn",
    ) -> None:
        self.database_url = database_url
        self.server = server
        self.data_dir = data_dir
        self.workers = workers
        self.extra_env = dict(extra_env or {})
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"server-{self.port}-{self._starts}.log"

    def start(self, *, timeout: float = 90) -> None:
        """Start (again, on the same port and database) and wait until /healthz answers."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self._starts += 1
        env = (
            os.environ
            | {
                "DATABASE_URL": self.database_url,
                "DATA_DIR": str(self.data_dir),
                "SECRET_KEY": "live-test-secret-key-that-is-long-enough-xx",
                "ARGON2_TIME_COST": "1",
                "ARGON2_MEMORY_KIB": "1024",
                "RATE_LIMIT_ENABLED": "false",
                "LOG_JSON": "false",
            }
            | self.extra_env
        )
        if "REDIS_URL" not in self.extra_env:
            env.pop("REDIS_URL", None)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "neo_events.cli", "serve", "--port", str(self.port)]
                + ["--workers", str(self.workers), "--server", self.server],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout  # generous: a loaded 2-core CI box is slow
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"server did not start within {timeout} s: {self.log()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group (supervisor and workers) and reap it."""
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, 9)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")
            for path in sorted(self.data_dir.glob(f"server-{self.port}-*.log"))
        )

    def report(self, lines: int = 80) -> str:
        """Whether the process still runs, and the end of its log: for a failed test's report."""
        code = self.process.poll() if self.process else None
        state = "running" if self.process and code is None else f"exited with {code}"
        tail = self.log().splitlines()[-lines:]
        return "\n".join([f"{state}; the last {len(tail)} lines of its log:", *tail])


# The servers `live_server` started in this process that still run or stopped during the
# current test: a failed test's report shows their logs (`tests/conftest.py`), where a browser
# test's timeout otherwise says nothing of what its server did.
SERVERS: set[LiveServer] = set()


def forget_stopped() -> None:
    """Drop the servers that have stopped (called once a test is over)."""
    SERVERS.difference_update(
        [s for s in SERVERS if s.process is None or s.process.poll() is not None]
    )


@contextmanager
def live_server(
    *,
    database_url: str,
    data_dir: Path,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    server: str = "uvicorn",
) -> Iterator[LiveServer]:
    """A started `LiveServer` (`neo-events serve --server SERVER`), stopped (or killed)
    afterwards whatever the test did to it."""
    live = LiveServer(
        database_url=database_url,
        data_dir=data_dir,
        workers=workers,
        extra_env=extra_env,
        port=port,
        server=server,
    )
    live.start()
    SERVERS.add(live)
    try:
        yield live
    finally:
        live.stop()


@contextmanager
def running_server(
    *,
    database_url: str,
    data_dir: Path,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """`neo-events serve` on a free loopback port (or `port`); yields its base URL."""
    with live_server(
        database_url=database_url,
        data_dir=data_dir,
        workers=workers,
        extra_env=extra_env,
        port=port,
    ) as server:
        yield server.base


class RedisProcess:
    """A private `redis-server` on a free port: a fault test may stop and restart it without
    touching the Redis other tests use."""

    BINARY = "/usr/bin/redis-server"

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 30) -> None:
        argv = [self.BINARY, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.data_dir)]
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("redis-server exited at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within the timeout")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
