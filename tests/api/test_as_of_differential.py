"""The as_of listing (events/past_listing.py) against the implementation it replaced
(74186c5: every held event decoded and filtered, sorted and paged in Python), on generated
calendars: the same events, in the same order, every one once whatever the page size."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events.events import listing, past_listing
from neo_events.events.access import Role
from neo_events.history.service import past_event
from neo_events.models import Event, EventPermission, EventVersion
from tests.helpers import Account, register, share

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
APRIL = listing.Window(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
TITLES = ["Alpha", "alpha beta", "ALPHA", "Café", "naïve", "100% done", "a_b", "back\\slash", "x"]
# q and location values whose matching is the same in SQL (ILIKE: ASCII case) and in the old
# Python (casefold): ASCII letters, the LIKE wildcards and the escape, non-ASCII as written.
QUERIES = ["alpha", "ALPHA", "café", "ï", "%", "_", "\\", "a_b", "100%", "e"]
LOCATIONS = [None, "Room 1", "room 2", "Berlin", ""]


async def _old_past_visible(
    session: AsyncSession, *, user_id: int, at: datetime, filters: listing.Filters
) -> list[tuple[Event, Role]]:
    mine = select(EventPermission.event_id).where(EventPermission.user_id == user_id)
    latest = (
        select(EventVersion.event_id, func.max(EventVersion.version).label("version"))
        .where(EventVersion.changed_at <= at, EventVersion.event_id.in_(mine))
        .group_by(EventVersion.event_id)
        .subquery()
    )
    rows = await session.execute(
        select(Event, EventPermission.role, EventVersion)
        .join(
            EventPermission,
            (EventPermission.event_id == Event.id) & (EventPermission.user_id == user_id),
        )
        .join(latest, latest.c.event_id == Event.id)
        .join(
            EventVersion,
            (EventVersion.event_id == latest.c.event_id)
            & (EventVersion.version == latest.c.version),
        )
        .where(EventVersion.change_type != "deleted")
    )
    pairs = [(past_event(event, version), Role(role)) for event, role, version in rows.all()]
    return [(event, role) for event, role in pairs if _old_matches(event, role, filters)]


def _old_matches(event: Event, role: Role, filters: listing.Filters) -> bool:
    if filters.q:
        needle = filters.q.casefold()
        if (
            needle not in event.title.casefold()
            and needle not in (event.description or "").casefold()
        ):
            return False
    if filters.location and filters.location.casefold() not in (event.location or "").casefold():
        return False
    return filters.role is None or role is filters.role


async def _old_listing(app: FastAPI, user_id: int, at: datetime, filters: listing.Filters) -> Any:
    async with app.state.sessionmaker() as session:
        pairs = await _old_past_visible(session, user_id=user_id, at=at, filters=filters)
        pairs.sort(key=lambda pair: (pair[0].start_time, pair[0].id))
        events = [(e.id, e.version, e.title, role) for e, role in pairs]
        found = {e.id: e for e, _ in pairs}
        candidates = [listing.Candidate.of(e, role) for e, role in pairs]
        load = listing.of_events(listing.preloaded(found.values()))
        rows = await listing.expand_all(candidates, APRIL, load)
        occurrences = [_row(r) for r in sorted(rows, key=listing._order)]
        return events, occurrences


def _row(row: listing.OccurrenceRow) -> tuple[Any, ...]:
    o = row.occurrence
    return (row.event.id, row.event.version, o.start, o.recurrence_id, row.event.role)


async def _new_listing(
    app: FastAPI, user_id: int, at: datetime, filters: listing.Filters, limit: int
) -> Any:
    events: list[Any] = []
    cursor = None
    for _ in range(500):
        async with app.state.sessionmaker() as session:
            page, cursor = await past_listing.list_events_as_of(
                session, user_id=user_id, at=at, filters=filters, limit=limit, cursor=cursor
            )
        events += [(e.id, e.version, e.title, role) for e, role in page]
        if cursor is None:
            break
    occurrences: list[Any] = []
    cursor = None
    for _ in range(500):
        async with app.state.sessionmaker() as session:
            rows, _load, cursor = await past_listing.list_occurrences_as_of(
                session, user_id=user_id, at=at, window=APRIL, filters=filters, limit=limit,
                cursor=cursor,
            )  # fmt: skip
        occurrences += [_row(r) for r in rows]
        if cursor is None:
            break
    return events, occurrences


def _body(rng: random.Random, n: int) -> dict[str, Any]:
    day = 1 + rng.randrange(20)
    body: dict[str, Any] = {
        "title": rng.choice(TITLES) + f" {n}" * rng.randrange(2),
        "description": rng.choice([None, "alpha", "Beta", "zeta_eta", "Café au lait"]),
        "location": rng.choice(LOCATIONS),
        "timezone": rng.choice(["UTC", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"]),
    }
    if rng.random() < 0.25:
        body |= {"all_day": True, "start_date": f"2026-04-{day:02d}"}
    else:
        second = rng.choice(["00", "00", "00.5", "00.000001", "59.999999", "30"])
        offset = rng.choice(["Z", "+02:00", "-07:00", "+09:00"])
        hour = rng.choice([0, 1, 9, 9, 23])
        body |= {
            "start_time": f"2026-04-{day:02d}T{hour:02d}:00:{second}{offset}",
            "end_time": f"2026-04-{day + 1:02d}T{hour:02d}:00:00{offset}",
        }
    if rng.random() < 0.3:
        body |= {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY;COUNT=3"}
    return body


async def _mutate(client: httpx.AsyncClient, rng: random.Random, who: Account, event: int) -> bool:
    """One change to the event; whether it is deleted now."""
    choice = rng.random()
    if choice < 0.15:
        response = await client.delete(f"{EVENTS}/{event}", headers=who.headers)
        assert response.status_code in (204, 404), response.text
        return True
    elif choice < 0.7:
        body = _body(rng, event)
        body.pop("is_recurring", None)
        body.pop("recurrence_pattern", None)
        response = await client.patch(
            f"{EVENTS}/{event}", params={"conflicts": "ignore"}, json=body, headers=who.headers
        )
        assert response.status_code in (200, 404, 422), response.text
    else:
        response = await client.post(f"{EVENTS}/{event}/rollback/1", headers=who.headers)
        assert response.status_code in (200, 201, 404, 409, 422), response.text
    return False


async def _stamp() -> datetime:
    await asyncio.sleep(0.002)
    stamp = datetime.now(UTC)
    await asyncio.sleep(0.002)
    return stamp


@pytest.mark.parametrize("seed", [2, 3])
async def test_the_past_listing_is_the_old_one(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, seed: int
) -> None:
    rng = random.Random(seed)
    bob = await register(client, "bob")
    ids: list[tuple[Account, int]] = []
    stamps = []
    deleted: set[int] = set()
    for n in range(40):
        who = alice if rng.random() < 0.6 else bob
        response = await client.post(
            EVENTS, params={"conflicts": "ignore"}, json=_body(rng, n), headers=who.headers
        )
        assert response.status_code == 201, response.text
        ids.append((who, response.json()["id"]))
        if who is bob and rng.random() < 0.7:
            await share(client, bob, ids[-1][1], alice, rng.choice(["viewer", "editor"]))
        if n % 8 == 7:
            stamps.append(await _stamp())
            for _ in range(6):
                owner, event = rng.choice(ids)
                if event not in deleted and await _mutate(client, rng, owner, event):
                    deleted.add(event)
            stamps.append(await _stamp())
    for owner, event in ids:  # shared after every stamp: listed as it was, like the old one
        if owner is bob and event not in deleted and rng.random() < 0.3:
            await share(client, bob, event, alice, "viewer")
    # ...and at the very instant of some versions (a version made then is in: `<=`), and at a
    # whole second (an instant without microseconds)
    async with app.state.sessionmaker() as session:
        made = sorted((await session.scalars(select(EventVersion.changed_at))).all())
    exact = rng.sample(made, 3)
    for at in [*stamps[::3], *exact, stamps[len(stamps) // 2].replace(microsecond=0)]:
        for filters in [listing.Filters()] + [
            listing.Filters(
                q=rng.choice([None, *QUERIES]),
                location=rng.choice([None, "room", "ROOM 1", "berlin", "%"]),
                role=rng.choice([None, Role.OWNER, Role.VIEWER, Role.EDITOR]),
            )
            for _ in range(4)
        ]:
            old_events, old_occurrences = await _old_listing(app, alice.id, at, filters)
            for limit in (1, 3, 500):
                new_events, new_occurrences = await _new_listing(app, alice.id, at, filters, limit)
                assert new_events == old_events, (at, filters, limit)
                assert new_occurrences == old_occurrences, (at, filters, limit)
