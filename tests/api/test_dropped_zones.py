"""A zone name the database holds that the pinned zone rules dropped (a tzdata release
removed `US/Pacific-New` in 2020b; a future bump of the lock could drop another): every
read and write of such an event, and of an account set to it, is answered, never a 500,
with the zone read as UTC (`timezones.stored_zone`), logged once; a write stores UTC."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from neo_events import timezones
from neo_events.main import create_app
from neo_events.settings import Settings
from tests.caldav.dav import Dav, dav_for
from tests.conftest import http_client
from tests.helpers import Account, register

pytestmark = pytest.mark.anyio

DROPPED = "US/Pacific-New"  # in the rules until 2020b, never since
EVENTS = "/api/v1/events"
WINDOW = {"start_time": "2027-02-22T00:00:00Z", "end_time": "2027-03-15T00:00:00Z"}
COUNTED = {
    "title": "c",
    "start_time": "2027-03-01T17:00:00Z",
    "end_time": "2027-03-01T18:00:00Z",
    "is_recurring": True,
    "recurrence_pattern": "FREQ=WEEKLY;COUNT=10",
}


async def _made(client: httpx.AsyncClient, who: Account, body: dict[str, Any]) -> int:
    answer = await client.post(EVENTS, json=body, headers=who.headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def test_events_and_accounts_in_a_dropped_zone_are_served(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The events are made and then put in the dropped zone behind the app's back; a second
    app (a worker started after the new rules, nothing of them cached) serves the rest."""
    assert DROPPED not in timezones.iana_zone_names()
    timezones._dropped.cache_clear()  # (logged once a name a process)
    dav = await dav_for(client, "dana")
    owner, bob = dav.account, await register(client, "bob")
    berlin = {"timezone": "Europe/Berlin"}
    timed = {"title": "t", "start_time": "2027-03-01T09:00:00Z", "end_time": "2027-03-01T10:00:00Z"}
    ids = {
        "timed": await _made(client, owner, timed | berlin),
        "all_day": await _made(
            client, owner, {"title": "a", "all_day": True, "start_date": "2027-03-02"} | berlin
        ),
        "series": await _made(
            client,
            owner,
            timed | berlin | {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY"},
        ),
        # where its COUNT ends is stored as a wall time of its zone (`events.count_end`)
        "counted": await _made(client, owner, COUNTED | {"timezone": "America/Los_Angeles"}),
    }
    for event_id in ids.values():
        shared = await client.post(
            f"{EVENTS}/{event_id}/share",
            json={"users": [{"user_id": bob.id, "role": "editor"}]},
            headers=owner.headers,
        )
        assert shared.status_code == 200, shared.text
    async with app.state.sessionmaker() as session:
        await session.execute(text("UPDATE events SET timezone = :z"), {"z": DROPPED})
        await session.execute(
            text("UPDATE users SET timezone = :z WHERE id = :id"), {"z": DROPPED, "id": bob.id}
        )
        # and the history: each version's snapshot of the event
        if session.get_bind().dialect.name == "postgresql":
            to = "jsonb_set(snapshot, '{timezone}', to_jsonb(CAST(:z AS text)))"
        else:
            to = "json_set(snapshot, '$.timezone', :z)"
        await session.execute(text(f"UPDATE event_versions SET snapshot = {to}"), {"z": DROPPED})
        await session.commit()
    worker = create_app(settings)
    async with worker.router.lifespan_context(worker), http_client(worker) as client:
        dav.client = client
        await _served(worker, client, dav, ids, bob, caplog)


async def _served(
    app: FastAPI,
    client: httpx.AsyncClient,
    dav: Dav,
    ids: dict[str, int],
    bob: Account,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = dav.account
    feed = (await client.post("/api/v1/feed-tokens", headers=owner.headers)).json()["token"]

    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", EVENTS, {"params": WINDOW}),
        ("GET", EVENTS, {"params": WINDOW | {"as_of": "2030-01-01T00:00:00Z"}}),
        *[("GET", f"{EVENTS}/{i}", {}) for i in ids.values()],
        *[("GET", f"{EVENTS}/{i}.ics", {}) for i in ids.values()],
        ("GET", f"{EVENTS}/{ids['series']}/instances", {"params": WINDOW}),
        ("GET", f"{EVENTS}/{ids['series']}/history", {}),
        ("GET", f"{EVENTS}/{ids['series']}/changelog", {}),
        ("GET", f"{EVENTS}/{ids['series']}/history/1", {}),
        ("GET", "/api/v1/freebusy", {"params": WINDOW | {"user_ids": f"{owner.id},{bob.id}"}}),
        (
            "POST",
            "/api/v1/scheduling/find-time",
            {"json": {"user_ids": [owner.id, bob.id], "duration_minutes": 30} | WINDOW},
        ),
        ("GET", "/api/v1/auth/me/settings", {}),
        (
            "PUT",
            f"{EVENTS}/{ids['all_day']}/reminders",
            {"json": {"reminders": [{"minutes_before": 60}]}},
        ),
        (
            "PUT",
            f"{EVENTS}/{ids['series']}/reminders",
            {"json": {"reminders": [{"minutes_before": 10}]}},
        ),
        ("PATCH", f"{EVENTS}/{ids['timed']}", {"json": {"title": "renamed"}}),
    ]
    for who in (owner, bob):
        for method, path, options in calls:
            answer = await client.request(method, path, headers=who.headers, **options)
            assert answer.status_code < 500, (who.username, method, path, answer.text)
            assert answer.status_code in (200, 201), (who.username, method, path, answer.text)
    assert (await client.get(f"/api/v1/calendar.ics?token={feed}")).status_code == 200
    listed = await dav.request("PROPFIND", dav.calendar, Depth="1")
    assert listed.status_code == 207, listed.text
    hrefs = re.findall(r"<d:href>([^<]+\.ics)</d:href>", listed.text)
    assert len(hrefs) == len(ids), listed.text
    for href in hrefs:
        got = await dav.request("GET", href)
        assert got.status_code == 200, got.text

    # ten weeks at 17:00 UTC: its stored end (09:00, Los Angeles' wall time) is not the
    # rule's end in UTC, before an edit as after it (then worked out again and stored)
    counted = f"{EVENTS}/{ids['counted']}/instances"
    for edit in (None, {"title": "counted"}):
        if edit is not None:
            answer = await client.patch(
                f"{EVENTS}/{ids['counted']}", json=edit, headers=owner.headers
            )
            assert answer.status_code == 200, answer.text
        listed = await client.get(counted, params=WINDOW | {"end_time": "2027-07-01T00:00:00Z"},
                                  headers=owner.headers)  # fmt: skip
        assert listed.status_code == 200, listed.text
        starts = [o["start_time"] for o in listed.json()["items"]]
        assert len(starts) == 10 and starts[-1] == "2027-05-03T17:00:00Z", starts
    shown = (await client.get(f"{EVENTS}/{ids['series']}", headers=owner.headers)).json()
    assert shown["timezone"] == "UTC"
    settings = (await client.get("/api/v1/auth/me/settings", headers=bob.headers)).json()
    assert settings["timezone"] == "UTC"
    # UTC set in its place is a change: stored, and audited from the name dropped
    answer = await client.patch(
        "/api/v1/auth/me/settings", json={"timezone": "UTC"}, headers=bob.headers
    )
    assert answer.status_code == 200, answer.text
    audited = await client.get(
        "/api/v1/audit", params={"action": "settings.changed"}, headers=bob.headers
    )
    [entry] = [e for e in audited.json()["items"] if "timezone" in e["details"]][:1]
    assert entry["details"]["timezone"] == {"old": DROPPED, "new": "UTC"}
    # writes of each kind: the zone they store is UTC
    for event_id, change in (
        (ids["all_day"], {"start_date": "2027-03-03"}),
        (ids["series"], {"start_time": "2027-03-01T11:00:00Z", "end_time": "2027-03-01T12:00:00Z"}),
    ):
        answer = await client.patch(f"{EVENTS}/{event_id}", json=change, headers=bob.headers)
        assert answer.status_code == 200, answer.text
    for event_id in ids.values():  # what the history holds, and a way back to it
        diff = await client.get(f"{EVENTS}/{event_id}/diff/1/2", headers=owner.headers)
        assert diff.status_code == 200, diff.text
        assert {"field": "timezone", "old": DROPPED, "new": "UTC"}.items() <= next(
            c for c in diff.json()["changes"] if c["field"] == "timezone"
        ).items()
        back = await client.post(f"{EVENTS}/{event_id}/rollback/1", headers=owner.headers)
        assert back.status_code == 200, back.text
        assert back.json()["timezone"] == "UTC"
    async with app.state.sessionmaker() as session:
        stored = dict((await session.execute(text("SELECT id, timezone FROM events"))).all())
    assert stored == dict.fromkeys(ids.values(), "UTC")
    async with app.state.sessionmaker() as session:
        zone = text("SELECT timezone FROM users WHERE id = :id")
        assert (await session.execute(zone, {"id": bob.id})).scalar_one() == "UTC"
    async with app.state.sessionmaker() as session:  # as a series made in UTC stores them
        made = await _made(client, owner, COUNTED | {"timezone": "UTC"})
        rows = text("SELECT id, count_end, span_start, span_end FROM events WHERE id IN (:a, :b)")
        found = {r[0]: r[1:] for r in await session.execute(rows, {"a": ids["counted"], "b": made})}
    assert found[ids["counted"]] == found[made]
    logged = [r for r in caplog.records if r.name == "neo_events.timezones"]
    assert [r.levelno for r in logged] == [logging.WARNING]
    assert DROPPED in logged[0].getMessage()
