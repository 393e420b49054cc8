"""Inviting people 100 at a time (one request's most) up to an event's 500 (SPEC §13; issue
#16, tenth session): the CPU of each request in process (the app and its client: on SQLite
the database's work too, on PostgreSQL not the server's), for a single event and a weekly
series. `python -m bench invitations` (PostgreSQL too with BENCH_DATABASE_URL, whose
schema it empties)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from bench import inprocess
from neo_events.invitations.schemas import MAX_INVITES
from neo_events.invitations.service import MAX_ATTENDEES

KINDS = {"single": {}, "weekly": {"recurrence_rule": "FREQ=WEEKLY"}}


async def _user(client: httpx.AsyncClient, name: str) -> tuple[int, dict[str, str]]:
    response = await client.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": "benchmark!"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["user"]["id"], {"Authorization": f"Bearer {body['access_token']}"}


async def measure(url: str, data_dir: Path) -> dict[str, list[float]]:
    """Each kind: the CPU milliseconds of its rounds (100 invited to 0, 100, ... 400)."""
    await inprocess.fresh_database(url)
    async with inprocess.app_client(url, data_dir) as client:
        _, owner = await _user(client, "owner")
        people = [(await _user(client, f"person{n}"))[0] for n in range(MAX_ATTENDEES)]
        found: dict[str, list[float]] = {}
        for kind, extra in KINDS.items():
            body = {
                "title": kind,
                "start_time": "2026-03-30T09:00:00+02:00",
                "end_time": "2026-03-30T09:15:00+02:00",
                "timezone": "Europe/Berlin",
                **extra,
            }
            warm = await client.post("/api/v1/events", json=body, headers=owner)
            assert warm.status_code == 201, warm.text
            warmed = await client.post(
                f"/api/v1/events/{warm.json()['id']}/attendees",
                json={"users": [{"user_id": people[-1]}]},
                headers=owner,
            )
            assert warmed.status_code == 200, warmed.text
            event = await client.post("/api/v1/events", json=body, headers=owner)
            url_ = f"/api/v1/events/{event.json()['id']}/attendees"
            rounds: list[float] = []
            for first in range(0, MAX_ATTENDEES - 1, MAX_INVITES):
                users = people[first : min(first + MAX_INVITES, MAX_ATTENDEES - 1)]
                started = time.process_time()
                response = await client.post(
                    url_, json={"users": [{"user_id": u} for u in users]}, headers=owner
                )
                rounds.append((time.process_time() - started) * 1000)
                assert response.status_code == 200, response.text
            found[kind] = rounds
        return found


def run() -> list[str]:
    heads = " | ".join(f"+{MAX_INVITES} to {n}" for n in range(0, MAX_ATTENDEES - 1, MAX_INVITES))
    lines = [f"| invitations, CPU ms in process | {heads} |", "|---|" + "---:|" * 5]
    for name, result in inprocess.on_each_database(measure):
        if result is None:
            lines.append("| PostgreSQL | (set BENCH_DATABASE_URL) |")
            continue
        for kind, rounds in result.items():
            lines.append(f"| {name}, {kind} | " + " | ".join(f"{ms:.0f}" for ms in rounds) + " |")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
