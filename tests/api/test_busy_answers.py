"""A calendar read's per-occurrence answers (free/busy, find-time, conflict checks): only
those whose declined-ness differs from the person's series answer are read
(`responses.occurrence_answers(..., differing=True)`); the rest fall back to the series
answer in `BusyPeople`. The busy people of every occurrence equal those worked out from
every answer, on generated answers; answers that change nothing are not read at all."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, update

from neo_events.invitations.responses import (
    BusyPeople,
    occurrence_answers,
    series_answers,
)
from neo_events.models import Attendee, OccurrenceResponse
from tests.api.test_answers_shown import FIRST, RESPONSES, _invite, _series
from tests.helpers import Account, people

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("seed", range(3))
async def test_busy_people_from_the_answers_that_differ_equal_those_from_every_answer(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, seed: int
) -> None:
    rng = random.Random(seed)
    users = await people(app, 6)
    events = [await _series(client, alice) for _ in range(2)]
    for event_id in events:
        await _invite(client, alice, event_id, users)
    rows = await random_answers(app, rng, events, users, days=40, share=0.5)
    pairs = {(e, u) for e in events for u in users}
    async with app.state.sessionmaker() as session:
        series = await series_answers(session, pairs)
        every = await occurrence_answers(session, pairs)
        differ = await occurrence_answers(session, pairs, differing=True)
    assert 0 < sum(map(len, differ.values())) < sum(map(len, every.values())) == len(rows)
    for event_id in events:
        mine = {u: series[(event_id, u)] for u in users}
        holders = [*users, alice.id]
        by_every = BusyPeople(holders, mine, {u: every.get((event_id, u), {}) for u in users})
        by_differ = BusyPeople(holders, mine, {u: differ.get((event_id, u), {}) for u in users})
        for d in range(45):
            rid = FIRST + timedelta(days=d)
            assert by_differ(rid) == by_every(rid), (event_id, d)


async def random_answers(
    app: FastAPI,
    rng: random.Random,
    events: list[int],
    users: list[int],
    *,
    days: int,
    share: float,
) -> list[dict[str, Any]]:
    """Random series answers of the invitees, and per-occurrence answers for about `share`
    of each one's first `days` occurrences (daily from FIRST), written straight to the
    database; those rows."""
    async with app.state.sessionmaker() as session:
        for event_id in events:
            for user_id in users:
                await session.execute(
                    update(Attendee)
                    .where(Attendee.event_id == event_id, Attendee.user_id == user_id)
                    .values(response=rng.choice(RESPONSES))
                )
        rows = [
            {"event_id": e, "user_id": u, "recurrence_id": FIRST + timedelta(days=d),
             "response": rng.choice(RESPONSES), "responded_at": FIRST}
            for e in events for u in users for d in range(days) if rng.random() < share
        ]  # fmt: skip
        await session.execute(insert(OccurrenceResponse), rows)
        await session.commit()
    return rows
