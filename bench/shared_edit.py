"""What an edit costs by how many people hold the event (issue #16): a title `PATCH` of an
event held by its owner alone, then of one shared with `HOLDERS` more, each through the app
in-process on a dataset, one at a time. Every edit writes a change-feed recipient row per
holder, when the feed is numbered after its commit (migration 0022). Per edit: this process's
CPU (the worker, and the test client's) and the rest of the machine's (PostgreSQL, on an
otherwise idle machine). `python -m bench shared-edit --size 1m`; figures in BENCHMARKS.md.

The events are titled "Load shared …", so the next load run retires them like its creates
(`load.Prepared.retire_creates`)."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench import load
from neo_events.main import create_app

HOLDERS = 53  # besides the owner
EDITS = 400
ROUNDS = 3


async def _edits(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> tuple[float, float]:
    """(process, rest of the machine) CPU ms per edit, over EDITS edits after 20 unmeasured."""
    for n in range(20):
        await client.patch(path, json={"title": f"Load shared warm {n}"}, headers=headers)
    own, machine = time.process_time(), load.machine_busy_s()
    for n in range(EDITS):
        response = await client.patch(
            path, json={"title": f"Load shared {time.time_ns()} {n}"}, headers=headers
        )
        assert response.status_code == 200, response.text
    own, machine = time.process_time() - own, load.machine_busy_s() - machine
    return own / EDITS * 1000, (machine - own) / EDITS * 1000


async def _run(database_url: str, size: str) -> list[str]:
    prep = load.Prepared(database_url, size, seed=53)
    await prep.load()
    owner, *others = prep.rng.sample(range(2, prep.users + 1), HOLDERS + 1)
    await prep.mint([owner])
    headers = {"Authorization": f"Bearer {prep.token(owner)}"}
    body = {
        "title": "Load shared",
        "start_time": "2027-06-01T09:00:00Z",
        "end_time": "2027-06-01T10:00:00Z",
    }
    app = create_app(prep.settings)
    out = [f"{EDITS} title edits a round, {ROUNDS} rounds, CPU ms per edit:"]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            paths = {}
            for holders in (1, HOLDERS + 1):
                created = await client.post(
                    "/api/v1/events", json=body, headers=headers, params={"conflicts": "ignore"}
                )
                event_id = created.json()["id"]
                if holders > 1:
                    shared = await client.post(
                        f"/api/v1/events/{event_id}/share",
                        json={"users": [{"user_id": u, "role": "viewer"} for u in others]},
                        headers=headers,
                        params={"conflicts": "ignore"},
                    )
                    assert shared.status_code == 200, shared.text
                paths[holders] = f"/api/v1/events/{event_id}"
            for _ in range(ROUNDS):
                for holders, path in paths.items():
                    own, rest = await _edits(client, path, headers)
                    out.append(
                        f"  held by {holders:3}: this process {own:.2f}, "
                        f"the rest of the machine (PostgreSQL) {rest:.2f}"
                    )
    return out


def run(database_url: str, size: str) -> list[str]:
    return asyncio.run(_run(database_url, size))
