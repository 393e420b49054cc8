"""The keys of a calendar read (`calendar_keys.read`: several users' roles gathered by event in
the database, `array_agg` / `json_group_array`) against the implementation it replaced
(a0d39df: a row a role, gathered in Python), on generated calendars made through HTTP: shares
and revocations, invitations with series and per-occurrence answers (declined among them) and
removed attendees, deleted, transparent, all-day, edited and recurring events, users whose ids
lie past 2^53. For random user subsets (none, one, several, all), windows and viewers (none,
the only user, among the users, outside them), both give the same events and versions, the
same holders, the same answers and the same visible events, whatever the part size; but the
new read leaves out an event every holder among the users declined for the series and for no
occurrence otherwise (the oracle drops those in Python, from `occurrence_responses`), and
takes the users' own events (`Event.owner_id` among them) and the others within budgets of
their own, the first by start of each (the oracle sorts and cuts each kind in Python)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Select, any_, bindparam, exists, func, insert, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from neo_events import driver
from neo_events.events import calendar_keys, key_rows
from neo_events.models import Attendee, Event, EventPermission, OccurrenceResponse, User
from tests.helpers import Account, register

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
ROLES = ["viewer", "editor", "owner"]
ANSWERS = ["accepted", "declined", "tentative", "needs_action"]
BIG_IDS = [2**53 + 1, 2**62 + 3]  # past a double's exact integers, within a signed 64-bit


# --- the oracle: a0d39df's calendar_keys, a row a role -------------------------------------

_OLD_HELD = aliased(EventPermission, name="old_held")


class OldKeys:
    def __init__(self, viewer_id: int | None, ask_viewer: bool) -> None:
        self.viewer_id, self.ask_viewer = viewer_id, ask_viewer
        self.events: dict[int, int] = {}
        self.holders: dict[int, set[int]] = {}
        self.answers: dict[int, dict[int, str | None]] = {}
        self.visible: set[int] = set()

    def gather(self, rows: Sequence[Any]) -> None:
        events, holders, answers, visible = self.events, self.holders, self.answers, self.visible
        seeing, ask_viewer = self.viewer_id is not None, self.ask_viewer
        for row in rows:
            if row.id not in events:
                events[row.id] = row.version
            holders.setdefault(row.id, set()).add(row.user_id)
            if row.response is not None:
                answers.setdefault(row.id, {})[row.user_id] = row.response
            if seeing and (not ask_viewer or row.visible):
                visible.add(row.id)


@cache
def _old_keys(dialect: str, for_viewer: bool, one_user: bool = False) -> Select[Any]:
    held = _OLD_HELD
    live = (
        Event.deleted_at.is_(None),
        Event.transparency == "opaque",
        Event.span_start < bindparam("end"),
        or_(Event.span_end.is_(None), Event.span_end > bindparam("start")),
    )
    wanted: list[Any] = [Event.id, Event.version]
    if dialect == "postgresql":
        found = select(*wanted).where(Event.id == held.event_id, *live).offset(0).lateral("found")
        event_id: Any = found.c.id
        columns: list[Any] = [found.c[c.key] for c in wanted]
        query = select().select_from(held).join(found, true())
    else:
        event_id = Event.id
        columns = wanted
        query = select().select_from(held).join(Event, Event.id == held.event_id).where(*live)
    if one_user:
        users: Any = held.user_id == bindparam("users")
    elif dialect == "postgresql":
        users = held.user_id == any_(bindparam("users", type_=ARRAY(held.user_id.type)))
    else:
        users = held.user_id.in_(bindparam("users", expanding=True))
    if for_viewer:
        sees = exists().where(
            EventPermission.event_id == event_id,
            EventPermission.user_id == bindparam("viewer_id"),
        )
        columns.append(sees.label("visible"))
    return (
        query.add_columns(*columns, held.user_id, Attendee.response)
        .outerjoin(Attendee, (Attendee.event_id == event_id) & (Attendee.user_id == held.user_id))
        .where(users, held.live == true())
    )


async def _old_read(
    session: AsyncSession,
    users: set[int],
    window: tuple[datetime, datetime],
    *,
    viewer_id: int | None,
) -> OldKeys:
    dialect = session.get_bind().dialect.name
    one = len(users) == 1
    params: dict[str, Any] = {"start": window[0], "end": window[1]}
    params["users"] = next(iter(users)) if one else list(users)
    ask_viewer = viewer_id is not None and users != {viewer_id}
    if ask_viewer:
        params["viewer_id"] = viewer_id
    connection = await driver.connection_of(session)
    result = await connection.execute(_old_keys(dialect, ask_viewer, one), params)
    keys = OldKeys(viewer_id, ask_viewer)
    for part in result.partitions(calendar_keys.KEYS_A_PART):
        keys.gather(part)
    return keys


async def _declined_so(session: AsyncSession, old: OldKeys) -> set[int]:
    """The events of the oracle's read every holder declined for the series and for no
    occurrence otherwise (`responses.BusyPeople`: such an event keeps nobody busy)."""
    otherwise = {
        (row.event_id, row.user_id)
        for row in await session.execute(
            select(OccurrenceResponse.event_id, OccurrenceResponse.user_id).where(
                OccurrenceResponse.response != "declined"
            )
        )
    }
    return {
        e
        for e, holders in old.holders.items()
        if all(
            old.answers.get(e, {}).get(u) == "declined" and (e, u) not in otherwise for u in holders
        )
    }


def _kept(old: OldKeys, taken: set[int]) -> None:
    """The oracle's read with only these events."""
    old.events = {e: v for e, v in old.events.items() if e in taken}
    old.holders = {e: h for e, h in old.holders.items() if e in taken}
    old.answers = {e: a for e, a in old.answers.items() if e in taken}
    old.visible = {e for e in old.visible if e in taken}


def _seen(keys: Any) -> dict[str, Any]:
    return {
        "events": dict(keys.events),
        "holders": {e: set(h) for e, h in keys.holders.items()},
        "answers": {e: dict(a) for e, a in keys.answers.items()},
        "visible": set(keys.visible),
    }


# --- generated calendars ---------------------------------------------------------------------


def _at(day: int, hour: int) -> str:
    return (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)).isoformat()


def _body(rng: random.Random, n: int) -> dict[str, Any]:
    day, hour = rng.randrange(40), rng.randrange(24)
    body: dict[str, Any] = {"title": f"E{n}", "timezone": rng.choice(["UTC", "Europe/Berlin"])}
    if rng.random() < 0.2:
        start = (datetime(2026, 3, 1) + timedelta(days=day)).date()
        body |= {"all_day": True, "start_date": start.isoformat()}
    else:
        body |= {"start_time": _at(day, hour), "end_time": _at(day, hour + 1 + rng.randrange(3))}
    kind = rng.random()
    if kind < 0.3:
        body |= {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY;COUNT=4"}
    elif kind < 0.45:
        body |= {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY"}  # no end
    if rng.random() < 0.2:
        body["transparency"] = "transparent"
    return body


async def _big_users(app: FastAPI) -> list[int]:
    """Users whose ids lie past 2^53, written straight to the database."""
    rows = [
        {
            "id": uid,
            "username": f"big{n}",
            "username_key": f"big{n}",
            "email": f"big{n}@example.com",
            "email_key": f"big{n}@example.com",
            "password_hash": "x",
        }
        for n, uid in enumerate(BIG_IDS)
    ]
    async with app.state.sessionmaker() as session:
        await session.execute(insert(User), rows)
        await session.commit()
    return BIG_IDS


async def _occurrences(client: httpx.AsyncClient, who: Account, event_id: int) -> list[str]:
    response = await client.get(
        f"{EVENTS}/{event_id}/instances",
        params={"start_time": _at(0, 0), "end_time": _at(60, 0)},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return [o.get("recurrence_id") or o["start_time"] for o in items][:6]


async def _build(
    client: httpx.AsyncClient, app: FastAPI, rng: random.Random
) -> tuple[list[Account], list[int]]:
    """Accounts that act, and every user id (the big ones hold roles but never act)."""
    accounts = [await register(client, f"user{n}") for n in range(6)]
    big = await _big_users(app)
    ids = [a.id for a in accounts] + big
    for n in range(36):
        owner = rng.choice(accounts)
        response = await client.post(
            EVENTS, params={"conflicts": "ignore"}, json=_body(rng, n), headers=owner.headers
        )
        assert response.status_code == 201, response.text
        event = response.json()
        url = f"{EVENTS}/{event['id']}"
        others = [u for u in ids if u != owner.id]
        shared = rng.sample(others, rng.randrange(len(others) + 1))
        if shared:
            grants = [{"user_id": u, "role": rng.choice(ROLES)} for u in shared]
            response = await client.post(
                f"{url}/share", json={"users": grants}, headers=owner.headers
            )
            assert response.status_code == 200, response.text
        invited = rng.sample(others, rng.randrange(len(others) + 1))
        if invited and rng.random() < 0.7:
            response = await client.post(
                f"{url}/attendees",
                json={"users": [{"user_id": u} for u in invited]},
                headers=owner.headers,
            )
            assert response.status_code == 200, response.text
            answering = [a for a in accounts if a.id in invited or a is owner]  # the organizer
            occurrences = (
                await _occurrences(client, owner, event["id"]) if event["is_recurring"] else []
            )
            for who in answering:
                # declined often: for the series alone, or with occurrences answered too
                # (all declined: still left out; one otherwise: kept)
                declines = rng.random() < 0.4
                if declines or rng.random() < 0.6:
                    answer = {"response": "declined" if declines else rng.choice(ANSWERS)}
                    response = await client.put(f"{url}/rsvp", json=answer, headers=who.headers)
                    assert response.status_code == 200, response.text
                for when in rng.sample(occurrences, min(len(occurrences), rng.randrange(3))):
                    choice = "declined" if declines and rng.random() < 0.6 else None
                    answer = {"response": choice or rng.choice(ANSWERS)}
                    response = await client.put(
                        f"{url}/instances/{when}/rsvp", json=answer, headers=who.headers
                    )
                    assert response.status_code == 200, response.text
            guests = [a for a in answering if a is not owner]  # (the organizer stays)
            if guests and rng.random() < 0.15:  # taken off the invitation, role kept
                gone = rng.choice(guests)
                response = await client.delete(f"{url}/attendees/{gone.id}", headers=owner.headers)
                assert response.status_code == 204, response.text
        if shared and rng.random() < 0.2:  # a role revoked (an attendee's too)
            response = await client.delete(
                f"{url}/permissions/{rng.choice(shared)}", headers=owner.headers
            )
            assert response.status_code in (204, 409), response.text
        if rng.random() < 0.25:
            response = await client.patch(
                url, json={"title": f"E{n} edited"}, headers=owner.headers
            )
            assert response.status_code == 200, response.text
        if rng.random() < 0.2:
            response = await client.delete(url, headers=owner.headers)
            assert response.status_code == 204, response.text
    return accounts, ids


def _window(rng: random.Random) -> tuple[datetime, datetime]:
    if rng.random() < 0.15:
        return datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    start = datetime(2026, 2, 25, tzinfo=UTC) + timedelta(hours=rng.randrange(50 * 24))
    return start, start + timedelta(hours=1 + rng.randrange(20 * 24))


def _viewer(rng: random.Random, users: list[int], ids: list[int]) -> int | None:
    choice = rng.random()
    if choice < 0.2 or not users:
        return None
    if choice < 0.45 and len(users) == 1:
        return users[0]  # the only user
    if choice < 0.7:
        return rng.choice(users)  # among the users
    outside = [u for u in ids if u not in users] + [10**9]  # someone else, or nobody
    return rng.choice(outside)


async def _generated(app: FastAPI) -> dict[str, int]:
    """How many of each kind of row the generated calendars hold."""
    counts = {
        "deleted": select(func.count()).where(Event.deleted_at.is_not(None)),
        "transparent": select(func.count()).where(Event.transparency == "transparent"),
        "all_day": select(func.count()).where(Event.all_day),
        "series": select(func.count()).where(Event.is_recurring),
        "dead_grants": select(func.count()).where(EventPermission.live.is_(False)),
        "declined": select(func.count()).where(Attendee.response == "declined"),
        "needs_action": select(func.count()).where(Attendee.response == "needs_action"),
        "per_occurrence": select(func.count()).select_from(OccurrenceResponse),
        "big_grants": select(func.count()).where(EventPermission.user_id.in_(BIG_IDS)),
        "edited": select(func.count()).where(Event.version > 1),
    }
    async with app.state.sessionmaker() as session:
        return {k: int((await session.execute(q)).scalar_one()) for k, q in counts.items()}


@pytest.mark.parametrize("seed", [1, 2])
async def test_gathered_keys_are_the_per_role_keys(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    _, ids = await _build(client, app, rng)
    generated = await _generated(app)
    assert all(generated.values()), generated  # every kind of row is there to compare
    makers = [app.state.sessionmaker]
    if app.state.read_sessionmaker is not None:  # PostgreSQL: the driver's own path too
        makers.append(app.state.read_sessionmaker)
    compared = nonempty = arrayed = nonempty_arrays = cut = others_cut = 0
    left_out = kept_by_an_occurrence = both = 0
    for round_ in range(160):
        size = rng.choice([0, 1, 1, 2, 3, len(ids) // 2, len(ids)])
        users = rng.sample(ids, size)
        window = _window(rng)
        viewer = _viewer(rng, users, ids)
        part = rng.choice([1, 2, 3, 7, calendar_keys.KEYS_A_PART])
        monkeypatch.setattr(calendar_keys, "KEYS_A_PART", part)
        maker = makers[round_ % len(makers)]
        # budgets of events, own and others': all of them, or the first few of each by
        # start (and by id among equals); now and then a strict read's total
        budget = calendar_keys.Budget(rng.choice([calendar_keys.CHECK_EVENTS, 0, 1, 2, 5, 12]))
        budget.others = rng.choice([calendar_keys.CHECK_EVENTS, 0, 1, 2, 5, 12])
        if rng.random() < 0.15:
            budget.total = rng.choice([0, 3, 8, 40])
        limits = (budget.own, budget.others, budget.total)
        async with maker() as session:
            new = await calendar_keys.read(
                session, set(users), window, viewer_id=viewer, budget=budget
            )
            old = await _old_read(session, set(users), window, viewer_id=viewer)
            declined = await _declined_so(session, old)
            found = select(Event.id, Event.span_start, Event.owner_id)
            rows = list(await session.execute(found.where(Event.id.in_(list(old.events)))))
            starts = {row.id: row.span_start for row in rows}
            owners = {row.id: row.owner_id for row in rows}
        case = f"users={users} window={window} viewer={viewer} part={part} limits={limits}"
        declined_series = {e for e, a in old.answers.items() if "declined" in a.values()}
        left_out += bool(declined)
        kept_by_an_occurrence += bool(declined_series - declined)
        _kept(old, set(old.events) - declined)
        own = sorted((e for e in old.events if owners[e] in users), key=lambda e: (starts[e], e))
        theirs = sorted(
            (e for e in old.events if owners[e] not in users), key=lambda e: (starts[e], e)
        )
        # one past each budget is read: where the others of that kind start
        taken = set(own[: limits[0] + 1]) | set(theirs[: limits[1] + 1])
        both += bool(own) and bool(theirs)
        if limits[2] is not None and len(taken) > limits[2]:  # a strict read: refused
            assert new.over and not new.complete, case
            continue  # (what it read past its total is not compared: it is a 422)
        for kind, limit, cut_at in (
            (own, limits[0], new.own_cut),
            (theirs, limits[1], new.others_cut),
        ):
            assert cut_at == (starts[kind[limit]] if len(kind) > limit else None), case
        expected_left = [
            max(0, limit - len(kind)) for kind, limit in ((own, limits[0]), (theirs, limits[1]))
        ]
        assert [budget.own, budget.others] == expected_left, case
        cut += new.own_cut is not None
        others_cut += new.others_cut is not None
        assert not new.over, case
        assert new.complete == (new.own_cut is None and new.others_cut is None), case
        _kept(old, taken)
        assert _seen(new) == _seen(old), case
        assert new.others == {e for e in taken if owners[e] not in users}, case
        compared += 1
        nonempty += bool(old.events) and bool(old.answers)
        if size == 1 and app.state.read_sessionmaker is not None:
            # a create's keys, read with its write (`statements.CREATE_CHECKED`), by the owner
            [user] = users
            async with maker() as session:
                params = {"start": window[0], "end": window[1], "users": user}
                params |= calendar_keys.Budget().params()
                row = (await session.execute(key_rows.one_user_arrays(), params)).one()
                arrays = await calendar_keys.Keys.of_arrays(user, row, calendar_keys.Budget())
                mine = await _old_read(session, {user}, window, viewer_id=user)
                _kept(mine, set(mine.events) - await _declined_so(session, mine))
            assert _seen(arrays) == _seen(mine), case
            assert arrays.others == {e for e in mine.events if owners[e] != user}, case
            arrayed += 1
            nonempty_arrays += bool(mine.events) and bool(mine.answers)
    assert compared > 120 and nonempty > 20  # the generated calendars had answers to keep
    assert cut > 20 and others_cut > 20 and both > 20  # and reads past either budget
    assert left_out > 10 and kept_by_an_occurrence > 3, (left_out, kept_by_an_occurrence)
    if app.state.read_sessionmaker is not None:
        assert arrayed > 20 and nonempty_arrays > 3, (arrayed, nonempty_arrays)
