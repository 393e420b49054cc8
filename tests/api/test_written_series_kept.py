"""A create keeps the series it wrote in the worker's expansions cache once it has committed
(`expansions.keep_written`), so the next calendar read that meets the event (its owner's next
create, above all) neither reads its content back nor builds its series again.

What is kept must be exactly what the calendar read would have built from the row
(`calendars._contents` then `content.series_of`): a series that differed would make conflict
checks, free/busy and find-time answer for an event that is not the one stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from neo_events.errors import BadRequest
from neo_events.events import calendars, creation, plans
from neo_events.events.content import series_of
from neo_events.events.series_rows import decoded
from tests.helpers import created, event_body, register

pytestmark = pytest.mark.anyio

BODIES: list[dict[str, Any]] = [
    event_body(),
    event_body(
        start_time="2026-03-28T23:30:00-04:00",  # a zone's offset, not UTC's
        end_time="2026-03-29T00:45:00-04:00",
        timezone="America/New_York",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;BYDAY=SA,SU;COUNT=9",
    ),
    event_body(
        start_time="2026-10-24T02:30:00+02:00",  # over the autumn fold
        end_time="2026-10-24T03:10:00+02:00",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;INTERVAL=3",
        exdates=["2026-10-30T01:30:00Z"],
        rdates=["2026-10-25T12:00:00.250000Z", "2026-11-02T08:00:00+01:00"],
        overrides=[
            {"recurrence_id": "2026-10-27T01:30:00Z", "title": "moved", "location": "B"},
        ],
    ),
    event_body(
        start_time="2026-01-31T10:00:00.500000+01:00",  # a fraction of a second
        end_time="2026-01-31T10:20:00+01:00",
        is_recurring=True,
        recurrence_pattern="FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20271231T235959Z",
    ),
    event_body(
        start_time="2026-05-04T06:00:00Z",
        end_time="2026-05-04T06:05:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=MINUTELY;INTERVAL=45;BYHOUR=6,7,8",
    ),
    {
        "title": "Holidays",
        "all_day": True,
        "start_date": "2026-07-01",
        "end_date": "2026-07-03",
        "timezone": "Pacific/Auckland",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1",
        "exdates": ["2028-07-01"],
    },
]


async def test_a_create_keeps_the_series_the_calendar_read_builds_from_its_row(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bob = await register(client, "bob")
    ids = [(await created(client, bob, body, conflicts="ignore"))["id"] for body in BODIES]
    batch = await client.post(
        "/api/v1/events/batch",
        params={"conflicts": "ignore"},
        json={"events": BODIES},
        headers=bob.headers,
    )
    assert batch.status_code == 201, batch.text
    ids += [item["id"] for item in batch.json()["items"]]
    cache = app.state.expansions
    async with app.state.sessionmaker() as session:
        rows = await calendars._contents(session, ids)
    for event_id in ids:
        version, row = rows[event_id]
        assert version == 1
        kept = cache.get((event_id, 1))
        assert kept is not None, event_id
        assert kept[0] == series_of(decoded(row)), event_id


async def test_a_write_rolled_back_after_its_insert_keeps_nothing(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails after its insert (here its audit rows, made to fail) keeps
    nothing, and the id SQLite gives again is answered by the next event's series, not the
    rolled-back one (a review: the first version of this test could not fail)."""
    dave = await register(client, "dave")
    cache = app.state.expansions
    before = {key for key in cache._entries if len(key) == 2}

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise BadRequest("failed after the insert")

    monkeypatch.setattr(creation, "record_all", failing)
    body = event_body(is_recurring=True, recurrence_pattern="FREQ=DAILY")
    response = await client.post(
        "/api/v1/events/batch",
        params={"conflicts": "ignore"},
        json={"events": [body]},
        headers=dave.headers,
    )
    assert response.status_code == 400, response.text
    assert {key for key in cache._entries if len(key) == 2} == before
    monkeypatch.undo()
    other = await created(client, dave, event_body(title="other"), conflicts="ignore")
    kept = cache.get((other["id"], 1))
    assert kept is not None and kept[0].rule is None


async def test_a_kept_count_rule_is_read_without_a_scan_once_its_plan_is_gone(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: the kept series skipped what reading its row does, telling the plans where
    its COUNT rule ends (`count_ends`): once the worker's plan of it was evicted (8,192
    plans, 100,000 kept series), the next check scanned for the COUNT-th occurrence again."""
    erin = await register(client, "erin")
    body = {
        "title": "sparse",
        "start_time": "2028-02-29T10:00:00Z",
        "end_time": "2028-02-29T11:00:00Z",
        "timezone": "UTC",
        "is_recurring": True,
        "recurrence_pattern": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=20",
    }
    await created(client, erin, body, conflicts="ignore")
    plans.plan_of.cache_clear()  # evicted by other plans (the stored ends are kept)
    scans: list[Any] = []
    real = plans._count_bound
    monkeypatch.setattr(plans, "_count_bound", lambda *a: scans.append(a) or real(*a))
    again = body | {"title": "meets it", "recurrence_pattern": "FREQ=YEARLY;COUNT=2"}
    response = await client.post("/api/v1/events", json=again, headers=erin.headers)
    assert response.status_code == 201, response.text
    assert response.json()["conflicts"], "the check met the first series"
    # the new event's own COUNT=2 plan is scanned (nothing stored it yet); the kept one not
    assert [a for a in scans if a[0].rule.count == 20] == []
