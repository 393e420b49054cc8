"""Bounded cost of an import's VALARMs: a file of many events with five alarms each writes
every event's reminders together (a few multi-row statements, through the reminders service),
not one event's reminders at a time; each imported event has exactly its own reminders, each
with one scheduled job and its audit row, as setting them through the API gives.

The bound is generous (CPU seconds of this test process, which runs the app): it proves the
absence of per-event costs; the measured figures are in BENCHMARKS.md.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from neo_events.models import AuditEntry, Job, Reminder
from tests.helpers import Account, count_rows, cpu_bound

pytestmark = pytest.mark.anyio

IMPORT = "/api/v1/events/import"
EVENTS = 1_000
ALARMS = 5
# CPU seconds for 1,000 events with 5 alarms each, half of them daily series: about 1.0
# on SQLite and PostgreSQL; 8-10 s when each event's reminders were set one event at a time.
BOUND = 3.0


def alarmed_calendar(count: int, *, first: int = 0) -> bytes:
    """`count` one-hour VEVENTs a week ahead, every other one a daily series, each with
    VALARMs 0..4 minutes (and, for event n, n % 7 + 10 minutes: a reminder of its own)
    before the start."""
    start = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y%m%dT100000Z")
    end = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y%m%dT110000Z")
    events = []
    for n in range(first, first + count):
        rule = "RRULE:FREQ=DAILY\r\n" if n % 2 else ""
        alarms = "".join(
            f"BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:r\r\nTRIGGER:-PT{m}M\r\nEND:VALARM\r\n"
            for m in (*range(ALARMS - 1), n % 7 + 10)
        )
        events.append(
            f"BEGIN:VEVENT\r\nUID:u{n}@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:e{n}\r\n{rule}{alarms}END:VEVENT\r\n"
        )
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
    return f"{head}{''.join(events)}END:VCALENDAR\r\n".encode()


def wanted(n: int) -> list[int]:
    return sorted({*range(ALARMS - 1), n % 7 + 10})


async def test_importing_1000_events_with_5_alarms_each_writes_their_reminders_together(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    headers = alice.headers | {"content-type": "text/calendar"}
    warm = await client.post(IMPORT, content=alarmed_calendar(2, first=EVENTS), headers=headers)
    assert warm.status_code == 201, warm.text  # the route's first call builds what it needs
    body = alarmed_calendar(EVENTS)
    with cpu_bound(BOUND):
        response = await client.post(
            IMPORT, params={"conflicts": "ignore"}, content=body, headers=headers
        )
    assert response.status_code == 201, response.text

    items = response.json()["items"][:EVENTS]
    assert [i["ical_uid"] for i in items] == [f"u{n}@example.com" for n in range(EVENTS)]
    mine = {i["id"]: [r["minutes_before"] for r in i["my_reminders"]] for i in items}
    assert list(mine.values()) == [wanted(n) for n in range(EVENTS)]
    async with app.state.sessionmaker() as session:
        columns = (Reminder.id, Reminder.event_id, Reminder.minutes_before, Reminder.user_id)
        rows = (await session.execute(select(*columns))).all()
        jobs = (await session.execute(select(Job.key, Job.payload, Job.due_at))).all()
        audited = Counter(
            await session.scalars(
                select(AuditEntry.target_id).where(AuditEntry.action == "reminders.set")
            )
        )
    stored: dict[int, list[int]] = {}
    for row in rows:
        assert row.user_id == alice.id
        stored.setdefault(row.event_id, []).append(row.minutes_before)
    assert {e: sorted(m) for e, m in stored.items() if e in mine} == mine
    # one job per reminder, due at its event's first start minus its minutes
    start = datetime.fromisoformat(items[0]["start_time"])
    by_id = {row.id: row for row in rows}
    assert len(jobs) == len(rows) == (EVENTS + 2) * ALARMS
    for key, payload, due_at in jobs:
        reminder = by_id[int(key.removeprefix("reminder:"))]
        assert payload["reminder_id"] == reminder.id
        assert due_at == start - timedelta(minutes=reminder.minutes_before)
    # one audit row each, as a PUT of them writes
    assert audited == Counter(dict.fromkeys(stored, 1))


async def test_importing_the_same_file_again_gives_the_copies_their_own_reminders(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """An import always creates (as before): the same file twice makes two events per UID,
    each with its own reminders and jobs; the first copies' are left as they were."""
    headers = alice.headers | {"content-type": "text/calendar"}
    first = await client.post(IMPORT, content=alarmed_calendar(3), headers=headers)
    again = await client.post(IMPORT, content=alarmed_calendar(3), headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    for response in (first, again):
        assert [[r["minutes_before"] for r in i["my_reminders"]]
                for i in response.json()["items"]] == [wanted(n) for n in range(3)]  # fmt: skip
    assert await count_rows(app, "reminders") == await count_rows(app, "jobs") == 6 * ALARMS
