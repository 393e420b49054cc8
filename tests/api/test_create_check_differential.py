"""A `warn` create's conflicts, checked after its write from the keys the write read
(`statements.CREATE_CHECKED`), against a `reject` create's 409 `conflicts` of the same body
(checked before anything is written), on generated calendars on PostgreSQL: single events and
daily or weekly series with exdates and moved overrides, all-day and transparent events, in
UTC, Berlin and New York; events shared with the creator under each role, invitations
answered for the series and per occurrence (declined among them), invitees taken off, deleted
and edited events. (Written by an outside review of the change, 2026-12-05.)"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Account, register, statements

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
ANSWERS = ["accepted", "declined", "tentative", "needs_action"]
PROBES = 50


def _at(day: float, hour: float) -> datetime:
    return datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(rng: random.Random, n: int, probe: bool = False) -> dict[str, Any]:
    day, hour = rng.randrange(30), rng.randrange(24) + rng.choice([0, 0.25, 0.5])
    zone = rng.choice(["UTC", "UTC", "Europe/Berlin", "America/New_York"])
    body: dict[str, Any] = {"title": f"{'P' if probe else 'E'}{n}", "timezone": zone}
    all_day = rng.random() < 0.15
    if all_day:
        start = (datetime(2026, 3, 1) + timedelta(days=day)).date()
        body |= {"all_day": True, "start_date": start.isoformat()}
        first = _at(day, 0)
    else:
        first = _at(day, hour)
        length = timedelta(minutes=rng.choice([15, 30, 60, 90, 180, 600]))
        body |= {"start_time": _iso(first), "end_time": _iso(first + length)}
    kind = rng.random()
    if kind < 0.25:
        body |= {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY;COUNT=6"}
        step = timedelta(weeks=1)
    elif kind < 0.4:
        body |= {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY;COUNT=20"}
        step = timedelta(days=1)
    elif kind < 0.47:
        body |= {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY"}
        step = timedelta(days=1)
    else:
        step = None
    if step is not None and not all_day and zone == "UTC":
        k = rng.randrange(1, 5)
        body["exdates"] = [_iso(first + k * step)]
        if rng.random() < 0.6:
            j = k + 1
            moved = first + j * step + timedelta(hours=rng.choice([-3, 1, 2, 5]))
            body["overrides"] = [
                {
                    "recurrence_id": _iso(first + j * step),
                    "start_time": _iso(moved),
                    "end_time": _iso(moved + timedelta(hours=1)),
                    "title": "moved",
                }
            ]
    if not probe and rng.random() < 0.12:
        body["transparency"] = "transparent"
    if probe and rng.random() < 0.05:
        body["transparency"] = "transparent"
    return body


async def _instances(client: httpx.AsyncClient, who: Account, event_id: int) -> list[str]:
    response = await client.get(
        f"{EVENTS}/{event_id}/instances",
        params={"start_time": _iso(_at(-1, 0)), "end_time": _iso(_at(60, 0))},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return [o.get("recurrence_id") or o["start_time"] for o in items][:8]


async def _build(client: httpx.AsyncClient, rng: random.Random) -> tuple[Account, list[Account]]:
    alice = await register(client, "alice")
    others = [await register(client, f"other{n}") for n in range(3)]
    everyone = [alice, *others]
    for n in range(40):
        owner = alice if rng.random() < 0.4 else rng.choice(others)
        response = await client.post(
            EVENTS, params={"conflicts": "ignore"}, json=_body(rng, n), headers=owner.headers
        )
        assert response.status_code == 201, response.text
        event = response.json()
        url = f"{EVENTS}/{event['id']}"
        if owner is not alice:
            mode = rng.random()
            if mode < 0.35:  # shared with alice
                role = rng.choice(["viewer", "editor", "owner"])
                response = await client.post(
                    f"{url}/share",
                    json={"users": [{"user_id": alice.id, "role": role}]},
                    headers=owner.headers,
                )
                assert response.status_code == 200, response.text
            elif mode < 0.8:  # alice invited; answers per series and per occurrence
                response = await client.post(
                    f"{url}/attendees",
                    params={"conflicts": "ignore"},
                    json={"users": [{"user_id": alice.id}]},
                    headers=owner.headers,
                )
                assert response.status_code == 200, response.text
                if rng.random() < 0.6:
                    answer = {"response": rng.choice(ANSWERS)}
                    response = await client.put(f"{url}/rsvp", json=answer, headers=alice.headers)
                    assert response.status_code == 200, response.text
                if event["is_recurring"]:
                    occurrences = await _instances(client, alice, event["id"])
                    for when in rng.sample(occurrences, min(len(occurrences), rng.randrange(4))):
                        answer = {"response": rng.choice(ANSWERS)}
                        response = await client.put(
                            f"{url}/instances/{when}/rsvp", json=answer, headers=alice.headers
                        )
                        assert response.status_code == 200, response.text
                if rng.random() < 0.1:  # taken off the list, role kept
                    response = await client.delete(
                        f"{url}/attendees/{alice.id}", headers=owner.headers
                    )
                    assert response.status_code == 204, response.text
        if rng.random() < 0.15:
            response = await client.delete(url, headers=owner.headers)
            assert response.status_code == 204, response.text
        elif rng.random() < 0.15:
            response = await client.patch(url, json={"title": f"E{n}!"}, headers=owner.headers)
            assert response.status_code == 200, response.text
    assert everyone
    return alice, others


async def _create(
    client: httpx.AsyncClient, who: Account, body: dict[str, Any], policy: str
) -> httpx.Response:
    return await client.post(EVENTS, params={"conflicts": policy}, json=body, headers=who.headers)


async def _delete(client: httpx.AsyncClient, who: Account, response: httpx.Response) -> None:
    gone = await client.delete(f"{EVENTS}/{response.json()['id']}", headers=who.headers)
    assert gone.status_code == 204, gone.text


@pytest.mark.postgres  # CREATE_CHECKED is PostgreSQL's
@pytest.mark.parametrize("seed", [1, 2])
async def test_warn_lists_what_reject_refuses(
    app: FastAPI, client: httpx.AsyncClient, seed: int
) -> None:
    rng = random.Random(seed)
    alice, _ = await _build(client, rng)
    compared = clashing = folded = 0
    for n in range(PROBES):
        body = _body(rng, n, probe=True)
        warn_first = rng.random() < 0.5
        with statements(app) as seen:
            if warn_first:
                warned = await _create(client, alice, body, "warn")
                assert warned.status_code == 201, warned.text
                await _delete(client, alice, warned)
                rejected = await _create(client, alice, body, "reject")
            else:
                rejected = await _create(client, alice, body, "reject")
        if rejected.status_code == 201:
            await _delete(client, alice, rejected)
            expected: list[Any] = []
        else:
            assert rejected.status_code == 409, rejected.text
            expected = rejected.json()["conflicts"]
        if not warn_first:
            with statements(app) as seen:
                warned = await _create(client, alice, body, "warn")
            assert warned.status_code == 201, warned.text
            await _delete(client, alice, warned)
        folded += any("calendar_keys" in s and "INSERT" in s for s in seen)
        got = warned.json()["conflicts"]
        assert got == expected, (seed, n, body, got, expected)
        assert all(c.get("event_id") != warned.json()["id"] for c in got)
        compared += 1
        clashing += bool(expected)
    assert compared == PROBES and clashing > compared // 5, (compared, clashing)
    assert folded > compared // 2, folded  # the warn creates read their keys with their write
