"""What an event's kept parts save a GET (`events/held_parts.py`, issue #16):
`python -m bench held-parts --size 100k`.

The load's `get_event` requests for 500 events, through the app in-process (as `bench cpu`),
each read five times a round: in alternate rounds with the worker's kept parts (the grants
and the people's names, left out of the statement while the row's `xmin` is the one they
were kept for) and with a cache that keeps nothing (every part read every time). The
PostgreSQL backends' CPU (`/proc`) and this process's (`time.process_time`, the test
client's too) a GET, the median of six rounds each. PostgreSQL only (SQLite has no `xmin`).
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from bench import load, profile
from neo_events.infra.cache import LruCache

EVENTS = 500
ROUNDS = 6
READS = 4  # measured reads of each event a round, after one unmeasured


async def _run(database_url: str, size: str) -> list[str]:
    prep = load.Prepared(database_url, size, seed=37)
    await prep.load()
    requests = (await profile._requests(prep, "get_event"))[:EVENTS]
    app, outer = profile._apps(prep, database_url, "get_event")
    found: dict[str, list[tuple[float, float]]] = {"kept": [], "read every time": []}
    async with app.router.lifespan_context(app):
        kept = app.state.held_parts
        nothing = LruCache("held_parts", size=0, on_lookup=app.state.metrics.cache_lookup)
        transport = httpx.ASGITransport(app=outer)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for r in requests:  # the pool's connections opened first: their backends counted
                await profile._send(client, r)
            backends = await profile._backends(database_url)
            for _ in range(ROUNDS):
                for name, cache in (("kept", kept), ("read every time", nothing)):
                    app.state.held_parts = cache
                    for r in requests:  # the first read keeps the parts
                        await profile._send(client, r)
                    database, began = profile._cpu_of(backends), time.process_time()
                    for _ in range(READS):
                        for r in requests:
                            await profile._send(client, r)
                    n = READS * len(requests)
                    found[name].append(
                        (
                            (profile._cpu_of(backends) - database) / n * 1000,
                            (time.process_time() - began) / n * 1000,
                        )
                    )
    lines = ["| a GET's parts | PostgreSQL, ms a GET | this process, ms a GET |", "|---|---:|---:|"]
    for name, rounds in found.items():
        pg, own = [r[0] for r in rounds], [r[1] for r in rounds]
        lines.append(
            f"| {name} | {statistics.median(pg):.3f} ({min(pg):.3f}-{max(pg):.3f})"
            f" | {statistics.median(own):.3f} ({min(own):.3f}-{max(own):.3f}) |"
        )
    return lines


def run(database_url: str, size: str) -> str:
    if not database_url.startswith("postgresql"):
        return "held-parts: PostgreSQL only (SQLite keeps no parts)"
    return "\n".join(asyncio.run(_run(database_url, size)))
