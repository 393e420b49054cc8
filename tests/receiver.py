"""A webhook receiver on 127.0.0.1 for tests: records every request; can fail, hang or stop."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from tests.live import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    path: str = "/hook"

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


class Receiver:
    """`status` is what it answers (with a `location` header when set); `hang` makes it
    hold requests (until released), `delay` answer each that many seconds late. `inflight`
    counts the requests it holds now, `peak` the most it held at once."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.got: list[Received] = []
        self.times: list[float] = []  # time.monotonic() of each arrival
        self.status = 200
        self.hang = False
        self.delay = 0.0
        self.location: str | None = None
        self.inflight = 0
        self.peak = 0
        self.arrived = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.got.append(Received(headers, body, scope["path"]))
        self.times.append(time.monotonic())
        self.arrived.set()
        self.inflight += 1
        self.peak = max(self.peak, self.inflight)
        try:
            if self.hang:
                await asyncio.sleep(3600)
            if self.delay:  # (no yield otherwise: a test may change `status` once one arrived)
                await asyncio.sleep(self.delay)
            sent = [(b"location", self.location.encode())] if self.location else []
            await send({"type": "http.response.start", "status": self.status, "headers": sent})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.inflight -= 1

    async def start(self) -> None:
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(200):
            if self._server.started:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("receiver did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await self._task
            self._server = self._task = None

    def messages(self) -> list[dict[str, Any]]:
        return [r.json for r in self.got]

    async def wait_for(self, count: int, within: float = 15) -> list[dict[str, Any]]:
        """The messages once `count` have arrived (or fail after `within` seconds)."""
        async with asyncio.timeout(within):
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.messages()
