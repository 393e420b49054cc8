"""A deleted event's grants stay (its history stays readable) but say so
(`event_permissions.live`), and a calendar read passes over them without probing the event:
a conflict check costs what its user holds now, not everything they ever held (#16)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from neo_events.models import EventPermission
from tests.helpers import count_rows, create_event, register, share

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
AT = {"start_time": "2026-03-02T09:00:00Z", "end_time": "2026-03-02T10:00:00Z"}


async def test_a_deleted_events_grants_are_kept_and_no_longer_live(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    gone = await create_event(client, alice, title="Gone", **AT)
    kept = await create_event(client, alice, title="Kept", **AT)
    for event in (gone, kept):
        await share(client, alice, event["id"], bob, "editor")
    deleted = await client.delete(f"{EVENTS}/{gone['id']}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text
    assert await count_rows(app, "event_permissions", event_id=gone["id"]) == 2
    assert await count_rows(app, "event_permissions", event_id=gone["id"], live=False) == 2
    assert await count_rows(app, "event_permissions", event_id=kept["id"], live=True) == 2
    history = await client.get(f"{EVENTS}/{gone['id']}/history", headers=bob.headers)
    assert history.status_code == 200, history.text  # still readable by its holders
    made = await client.post(EVENTS, json={"title": "New", **AT}, headers=bob.headers)
    assert made.status_code == 201, made.text
    assert [c["event_id"] for c in made.json()["conflicts"]] == [kept["id"]]


async def test_a_calendar_read_passes_over_grants_that_are_not_live(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The read filters on the flag itself (it does not only find the event deleted): with
    the flag cleared on a live event's grant, which nothing in the service does, that event
    no longer clashes."""
    alice = await register(client, "alice")
    busy = await create_event(client, alice, title="Busy", **AT)
    first = await client.post(EVENTS, json={"title": "A", **AT}, headers=alice.headers)
    assert [c["event_id"] for c in first.json()["conflicts"]] == [busy["id"]]
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(EventPermission).where(EventPermission.event_id == busy["id"]).values(live=False)
        )
        await session.commit()
    second = await client.post(EVENTS, json={"title": "B", **AT}, headers=alice.headers)
    assert [c["event_id"] for c in second.json()["conflicts"]] == [first.json()["id"]]
