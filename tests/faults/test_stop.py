"""`neo-events serve` told to stop (SIGTERM) while a Server-Sent Events stream is open
(outside attack Z1): it waited for the stream forever (its heartbeats kept it alive; Docker
kills it at 10 s) and its job runner kept claiming work meanwhile. Now the stream is told to
resume (`event: resync`) and ends, the job runner stops claiming at the signal, and the
process exits within a few seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import truncate_all
from tests.helpers import register
from tests.live import live_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_sigterm_ends_an_open_sse_stream_and_the_server_exits(
    database_url: str, tmp_path: Path
) -> None:
    await truncate_all(database_url)
    with live_server(database_url=database_url, data_dir=tmp_path) as server:
        assert server.process is not None
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            account = await register(client, "stopper")
            async with client.stream(
                "GET", "/api/v1/notifications/stream", headers=account.headers
            ) as stream:
                assert stream.status_code == 200
                lines = stream.aiter_lines()
                assert await anext(lines) == "retry: 1000"
                began = time.monotonic()
                os.killpg(server.process.pid, signal.SIGTERM)
                rest = []
                async with asyncio.timeout(10):
                    async for line in lines:  # ends: the server closed the stream
                        rest.append(line)
                ended = time.monotonic() - began
        try:
            await asyncio.to_thread(server.process.wait, 15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still runs 15 s after SIGTERM: {server.report()}")
        exited = time.monotonic() - began
    assert "event: resync" in rest, rest
    assert ended < 5 and exited < 8, (ended, exited, server.report())
    log = server.log()
    assert log.index("job runner stopping") < log.index("Waiting for application shutdown")
    assert "Traceback" not in log, log
    await truncate_all(database_url)
