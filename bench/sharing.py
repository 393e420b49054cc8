"""Sharing an event with 100 people at a time (one request's most) up to 1,000, then changing
those 100's roles (SPEC §5; issue #16, eleventh session): the CPU of each request in process
(the app and its client: on SQLite the database's work too, on PostgreSQL not the server's),
for a single event and a weekly series; then the same last round when the 100 newcomers each
hold `HELD` weekly series at the event's hour (the conflict check reads their calendars).
`python -m bench sharing` (PostgreSQL too with BENCH_DATABASE_URL, whose schema it
empties)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from bench import inprocess
from neo_events.models import EventPermission
from neo_events.sharing.schemas import MAX_SHARES

KINDS = {"single": {}, "weekly": {"recurrence_rule": "FREQ=WEEKLY"}}
HELD = (0, 200, 2000)  # weekly series each newcomer holds (the same ones)
PEOPLE = 1_000  # an event's most holders (`access.MAX_HOLDERS`), the owner beside them
BODY = {
    "start_time": "2026-03-30T09:00:00+02:00",
    "end_time": "2026-03-30T09:15:00+02:00",
    "timezone": "Europe/Berlin",
}


async def _user(client: httpx.AsyncClient, name: str) -> int:
    response = await client.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": "benchmark!"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["user"]["id"])


async def _grant(url: str, event_ids: list[int], user_ids: list[int]) -> None:
    """Viewer roles written straight to the database (the newcomers' calendars)."""
    rows = [{"event_id": e, "user_id": u, "role": "viewer"} for e in event_ids for u in user_ids]
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for first in range(0, len(rows), 5000):
            await conn.execute(insert(EventPermission), rows[first : first + 5000])
    await engine.dispose()


async def _share(
    client: httpx.AsyncClient, owner: dict[str, str], event_id: int, users: list[int], role: str
) -> float:
    body = {"users": [{"user_id": u, "role": role} for u in users]}
    started = time.process_time()
    response = await client.post(f"/api/v1/events/{event_id}/share", json=body, headers=owner)
    spent = (time.process_time() - started) * 1000
    assert response.status_code == 200, response.text
    return spent


async def measure(url: str, data_dir: Path) -> dict[str, list[float]]:
    """Each row: the CPU milliseconds of its requests."""
    await inprocess.fresh_database(url)
    async with inprocess.app_client(url, data_dir) as client:
        owner = await inprocess.register(client, "owner")
        them = await inprocess.register(client, "them")
        people = [await _user(client, f"person{n}") for n in range(PEOPLE)]
        newcomers = people[-MAX_SHARES:]
        found: dict[str, list[float]] = {}
        for kind, extra in KINDS.items():
            rounds: list[float] = []
            warm = await inprocess.create_all(client, owner, [{"title": "warm", **BODY, **extra}])
            await _share(client, owner, warm[0]["id"], people[:1], "viewer")
            [event] = await inprocess.create_all(client, owner, [{"title": kind, **BODY, **extra}])
            for first in range(0, PEOPLE - 1, MAX_SHARES):
                users = people[first : min(first + MAX_SHARES, PEOPLE - 1)]
                rounds.append(await _share(client, owner, event["id"], users, "viewer"))
            rounds.append(await _share(client, owner, event["id"], users, "editor"))
            found[f"{kind}"] = rounds
        held: list[int] = []
        series = {"title": "theirs", **BODY, "recurrence_rule": "FREQ=WEEKLY"}
        for count in HELD:
            more = await inprocess.create_all(client, them, [series] * (count - len(held)))
            await _grant(url, [e["id"] for e in more], newcomers)
            held += [e["id"] for e in more]
            for kind, extra in KINDS.items():
                [event] = await inprocess.create_all(
                    client, owner, [{"title": kind, **BODY, **extra}]
                )
                for first in range(0, PEOPLE - MAX_SHARES, MAX_SHARES):  # the owner and 899
                    users = people[first : min(first + MAX_SHARES, PEOPLE - MAX_SHARES - 1)]
                    await _share(client, owner, event["id"], users, "viewer")
                spent = await _share(client, owner, event["id"], newcomers, "viewer")
                found.setdefault(f"{kind}, newcomers holding", []).append(spent)
        return found


def run() -> list[str]:
    heads = [f"+{MAX_SHARES} to {n}" for n in range(0, PEOPLE - 1, MAX_SHARES)]
    heads[-1] = f"+{MAX_SHARES - 1} to {PEOPLE - MAX_SHARES}"
    lines = [
        f"| sharing, CPU ms in process | {' | '.join(heads)} "
        f"| their {MAX_SHARES - 1} roles changed |",
        "|---|" + "---:|" * (len(heads) + 1),
    ]
    held_lines = [
        f"| +{MAX_SHARES} to {PEOPLE - MAX_SHARES}, newcomers each holding | "
        + " | ".join(f"{n:,} series" for n in HELD)
        + " |",
        "|---|" + "---:|" * len(HELD),
    ]
    for name, result in inprocess.on_each_database(measure):
        if result is None:
            lines.append("| PostgreSQL | (set BENCH_DATABASE_URL) |")
            continue
        for row, spent in result.items():
            target = held_lines if "holding" in row else lines
            kind = row.split(",")[0]
            target.append(f"| {name}, {kind} | " + " | ".join(f"{ms:.0f}" for ms in spent) + " |")
    return [*lines, "", *held_lines]


if __name__ == "__main__":
    print("\n".join(run()))
