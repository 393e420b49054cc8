"""Notification latency (commit → client receive) with 1,000 WebSocket clients on one worker.

Starts a real `neo-events serve` (one worker) on loopback, signs up 1,000 users, shares one
event with all of them, connects one WebSocket per user, then makes edits and times, for every
client, the gap between the edit's response (its commit) and the message arriving. Also reads
the worker's resident memory before and after the clients connect.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from websockets.asyncio.client import connect

from neo_events.cli import alembic_config

CLIENTS = int(os.environ.get("BENCH_WS_CLIENTS", "1000"))
EDITS = 20
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live import running_server  # noqa: E402  (the same launcher the tests use)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _worker_pid(server_pid: int) -> int:
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return int(children[0]) if children else server_pid


async def _measure(base: str, server_pid: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        tokens: list[str] = []
        ids: list[int] = []

        async def sign_up(i: int) -> None:
            r = await client.post(
                "/api/v1/auth/register",
                json={
                    "username": f"user{i}",
                    "email": f"user{i}@example.com",
                    "password": "benchmark!",
                },
            )
            assert r.status_code == 201, r.text
            tokens.append(r.json()["access_token"])
            ids.append(r.json()["user"]["id"])

        for chunk in range(0, CLIENTS, 50):
            await asyncio.gather(*(sign_up(i) for i in range(chunk, min(chunk + 50, CLIENTS))))
        owner = {"Authorization": f"Bearer {tokens[0]}"}
        event = (
            await client.post(
                "/api/v1/events",
                json={
                    "title": "All hands",
                    "start_time": "2026-06-01T09:00:00Z",
                    "end_time": "2026-06-01T10:00:00Z",
                },
                headers=owner,
            )
        ).json()
        others = [i for i in ids if i != ids[0]]
        for chunk in range(0, len(others), 100):
            r = await client.post(
                f"/api/v1/events/{event['id']}/share",
                params={"conflicts": "ignore"},
                json={
                    "users": [{"user_id": u, "role": "viewer"} for u in others[chunk : chunk + 100]]
                },
                headers=owner,
            )
            assert r.status_code == 200, r.text
        worker = _worker_pid(server_pid)
        rss_before = _rss_mib(worker)
        ws_base = base.replace("http://", "ws://")
        sockets = []
        for chunk in range(0, CLIENTS, 100):
            sockets += await asyncio.gather(
                *(
                    connect(f"{ws_base}/api/v1/ws?token={t}", max_queue=None)
                    for t in tokens[chunk : chunk + 100]
                )
            )
        await asyncio.sleep(1)
        rss_connected = _rss_mib(worker)
        latencies: list[float] = []

        async def receive(ws: Any, sent_at: list[float]) -> None:
            for _ in range(EDITS):
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                latencies.append(time.perf_counter() - sent_at[message["version"] - 2])

        sent_at: list[float] = []
        readers = [asyncio.create_task(receive(ws, sent_at)) for ws in sockets]
        for n in range(EDITS):
            r = await client.patch(
                f"/api/v1/events/{event['id']}", json={"title": f"Edit {n}"}, headers=owner
            )
            sent_at.append(time.perf_counter())  # the response has come back: committed
            assert r.status_code == 200
            await asyncio.sleep(0.25)
        await asyncio.gather(*readers)
        rss_after = _rss_mib(worker)
        for ws in sockets:
            await ws.close()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {
        "deliveries": len(latencies),
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "max_ms": latencies[-1] * 1000,
        "rss_before": rss_before,
        "rss_connected": rss_connected,
        "rss_after": rss_after,
    }


def run() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        command.upgrade(alembic_config(url), "head")
        with running_server(database_url=url, data_dir=Path(tmp)) as base:
            result = asyncio.run(_measure(base, _pid_of(base)))
    return [
        f"| {CLIENTS} WebSocket clients, one worker, SQLite, {EDITS} edits | value |",
        "|---|---:|",
        f"| deliveries | {result['deliveries']:,} |",
        f"| latency p50 (commit → received) | {result['p50_ms']:.1f} ms |",
        f"| latency p99 | {result['p99_ms']:.1f} ms |",
        f"| latency max | {result['max_ms']:.1f} ms |",
        f"| worker RSS before clients | {result['rss_before']:.0f} MiB |",
        f"| worker RSS with {CLIENTS} clients | {result['rss_connected']:.0f} MiB |",
        f"| worker RSS after the edits | {result['rss_after']:.0f} MiB |",
    ]


def _pid_of(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmdline and port.encode() in cmdline:
                return int(proc.name)
    raise RuntimeError("server process not found")
