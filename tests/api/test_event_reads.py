"""GET /events/{id}'s one-statement path (events/reads.py) against the general serializer:
the same bytes for rich events, whoever reads them, and the same refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from sqlalchemy import event as sa_event

from neo_events.events import held_parts
from neo_events.events.access import get_event_for
from neo_events.events.router import read_one
from neo_events.events.schemas import EventRead
from neo_events.protocol import event_etag
from neo_events.reminders.service import my_reminders
from tests.helpers import Account, assert_problem, create_event, register, share

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"


def _general_route(app: FastAPI) -> None:
    """The event object as the general path builds it (`event_reads`, rendered by FastAPI
    through `response_model`), at a test-only path."""

    @app.get("/test/general/{event_id}/{viewer_id}", response_model=EventRead)
    async def general(event_id: int, viewer_id: int, response: Response) -> EventRead:
        async with app.state.sessionmaker() as session:
            event, role = await get_event_for(session, viewer_id, event_id)
            mine = await my_reminders(session, viewer_id, [event.id])
            response.headers["ETag"] = event_etag(event.version, mine.get(event.id, []))
            return await read_one(session, event, role, viewer_id, mine)


async def _rich_events(client: httpx.AsyncClient, people: dict[str, Account]) -> list[int]:
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    timed = await create_event(
        client,
        alice,
        title="Réunion — «weekly» \u2028 ✓",
        description=None,
        start_time="2026-03-02T09:00:00.250000+01:00",
        end_time="2026-03-02T10:00:00+01:00",
        is_recurring=True,
        recurrence_pattern="FREQ=WEEKLY;BYDAY=MO",
        exdates=["2026-03-09T08:00:00Z"],
        overrides=[
            {
                "recurrence_id": "2026-03-16T08:00:00Z",
                "start_time": "2026-03-16T10:00:00Z",
                "end_time": "2026-03-16T11:00:00Z",
                "title": "moved",
            }
        ],
    )
    all_day = await create_event(
        client,
        alice,
        title="Holiday",
        all_day=True,
        start_date="2026-12-24",
        end_date="2026-12-27",
        start_time=None,
        end_time=None,
        timezone="Asia/Tokyo",
        transparency="transparent",
        is_recurring=True,
        recurrence_pattern="FREQ=YEARLY",
        exdates=["2027-12-24"],
        overrides=[{"recurrence_id": "2028-12-24", "title": "late", "start_date": "2028-12-25"}],
    )
    plain = await create_event(client, bob)
    ids = [timed["id"], all_day["id"], plain["id"]]
    for event_id in ids[:2]:
        await share(client, alice, event_id, bob, "editor")
        await share(client, alice, event_id, carol, "viewer")
        invited = await client.post(
            f"{EVENTS}/{event_id}/attendees",
            json={"users": [{"user_id": carol.id}, {"user_id": dave.id, "optional": True}]},
            headers=alice.headers,
        )
        assert invited.status_code in (200, 201), invited.text
        answered = await client.put(
            f"{EVENTS}/{event_id}/rsvp",
            json={"response": "tentative", "comment": "if I can"},
            headers=carol.headers,
        )
        assert answered.status_code == 200, answered.text
        for who, minutes in ((alice, [30, 5]), (carol, [1440])):
            put = await client.put(
                f"{EVENTS}/{event_id}/reminders",
                json={"reminders": [{"minutes_before": m} for m in minutes]},
                headers=who.headers,
            )
            assert put.status_code == 200, put.text
    return ids


@pytest.fixture
async def app(own_app: FastAPI) -> FastAPI:
    """A new app object: these tests add a route to it (`_general_route`)."""
    return own_app


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, Account]:
    return {name: await register(client, name) for name in ("alice", "bob", "carol", "dave")}


async def test_the_one_statement_read_writes_what_the_general_serializer_writes(
    app: FastAPI, client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    _general_route(app)
    ids = await _rich_events(client, people)
    compared = 0
    for event_id in ids:
        for reader in people.values():
            for _cached in (False, True):  # the second read takes the cached fixed part
                fast = await client.get(f"{EVENTS}/{event_id}", headers=reader.headers)
                general = await client.get(f"/test/general/{event_id}/{reader.id}")
                if general.status_code == 404:  # no role: the general path refuses too
                    assert_problem(fast, 404, "event_not_found")
                    continue
                assert fast.status_code == 200, fast.text
                assert fast.content == general.content
                assert fast.headers["ETag"] == general.headers["ETag"]
                assert fast.headers["content-type"] == general.headers["content-type"]
                compared += 1
    assert compared == 2 * (4 + 4 + 1)  # alice's two events: everyone; bob's: bob
    body: dict[str, Any] = (
        await client.get(f"{EVENTS}/{ids[0]}", headers=people["carol"].headers)
    ).json()
    assert body["my_response"] == "tentative" and body["my_reminders"] == [{"minutes_before": 1440}]
    assert [a["organizer"] for a in body["attendees"]] == [True, False, False]


async def test_a_closed_sign_in_session_is_refused_before_the_event_is_shown(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice = people["alice"]
    event = await create_event(client, alice)
    mine = await client.get(f"{EVENTS}/{event['id']}", headers=alice.headers)
    assert mine.status_code == 200
    unseen = await client.get(f"{EVENTS}/{event['id'] + 1000}", headers=alice.headers)
    assert_problem(unseen, 404, "event_not_found")
    out = await client.post("/api/v1/auth/logout", headers=alice.headers)
    assert out.status_code in (200, 204), out.text
    for event_id in (event["id"], event["id"] + 1000):
        refused = await client.get(f"{EVENTS}/{event_id}", headers=alice.headers)
        assert refused.status_code == 401, refused.text


async def test_a_304_names_the_callers_reminders(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice = people["alice"]
    event = await create_event(client, alice)
    first = await client.get(f"{EVENTS}/{event['id']}", headers=alice.headers)
    etag = first.headers["ETag"]
    again = await client.get(
        f"{EVENTS}/{event['id']}", headers=alice.headers | {"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.headers["ETag"] == etag and again.content == b""
    await client.put(
        f"{EVENTS}/{event['id']}/reminders",
        json={"reminders": [{"minutes_before": 10}]},
        headers=alice.headers,
    )
    changed = await client.get(
        f"{EVENTS}/{event['id']}", headers=alice.headers | {"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


async def test_an_edits_answer_is_the_object_a_read_then_gets(
    app: FastAPI, client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """An edit answers with the object as its writer now sees it. On PostgreSQL that is the
    document read with the row's lock, edited in memory (`reads.EventDocument.after`), unless
    the event has attendees (a move resets their answers: read again). Either way it is what
    the general serializer reads next (no cache: the answer fills the one a GET reads), field
    for field apart from the write's own keys, and what a GET reads, with the same ETag."""
    _general_route(app)
    alice, bob = people["alice"], people["bob"]
    ids = await _rich_events(client, people)  # two with attendees and reminders, one without
    shared = await create_event(client, alice, title="Shared, no attendees")
    await share(client, alice, shared["id"], bob, "editor")
    put = await client.put(
        f"{EVENTS}/{shared['id']}/reminders",
        json={"reminders": [{"minutes_before": 15}]},
        headers=bob.headers,
    )
    assert put.status_code == 200, put.text
    edits: list[tuple[Account, int, dict[str, Any]]] = [
        (bob, shared["id"], {"title": "Renamed by an editor"}),  # a stamp by someone new
        (bob, shared["id"], {"title": "Renamed by an editor"}),  # changes nothing
        (
            alice,
            shared["id"],
            {
                "start_time": "2026-05-01T10:00:00Z",
                "end_time": "2026-05-01T11:00:00Z",
                "location": "Room 2",
            },
        ),
        (alice, shared["id"], {"is_recurring": True, "recurrence_pattern": "FREQ=DAILY;COUNT=3"}),
        (bob, ids[0], {"start_time": "2026-03-02T09:30:00+01:00"}),  # attendees: asked again
        (alice, ids[1], {"title": "Holiday, renamed"}),
        (bob, ids[2], {"description": "mine alone", "transparency": "transparent"}),
    ]
    for who, event_id, change in edits:
        edited = await client.patch(f"{EVENTS}/{event_id}", json=change, headers=who.headers)
        assert edited.status_code == 200, edited.text
        read = await client.get(f"{EVENTS}/{event_id}", headers=who.headers)
        assert read.status_code == 200, read.text
        general = await client.get(f"/test/general/{event_id}/{who.id}")
        written = edited.json()
        del written["conflicts"], written["merged"]  # the write's own keys
        assert written == general.json(), (change, written, general.json())
        assert written == read.json()
        assert edited.headers["ETag"] == read.headers["ETag"] == general.headers["ETag"]


async def test_the_parts_a_worker_keeps_are_those_of_the_row_read(
    app: FastAPI, client: httpx.AsyncClient, people: dict[str, Account], backend: str
) -> None:
    """On PostgreSQL a worker keeps an event's grants and its people's names by the row's
    `xmin` (`events/held_parts.py`), and a read whose row is still at that `xmin` leaves them
    out of its statement and takes the kept ones: what is kept is what is shown, until a
    change of a role, which writes the row (`access.touch`). After each such change the
    read is the general serializer's, byte for byte, whoever reads it. An edit's read
    (without the lock) takes them too."""
    _general_route(app)
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event_id = (await create_event(client, alice, title="Kept"))["id"]
    url = f"{EVENTS}/{event_id}"
    first = await client.get(url, headers=alice.headers)
    assert first.status_code == 200, first.text
    held = app.state.held_parts
    kept = held.get(event_id)
    if backend != "postgres":  # no xmin: every read reads everything
        assert kept is None
        return
    oversized = [{}] * (held_parts.MAX_BYTES // 600 + 1)  # grants weighing more than the bound
    held.put(-1, ("0", ("a", "a", "a", oversized)))
    assert held.get(-1) is None  # the worker's cache is bounded in bytes, not only in events
    xmin, (*names, grants) = kept
    assert [g["username"] for g in grants] == ["alice"], grants  # the grants, as read
    # Kept parts told apart from read ones: the owner's grant under a name nobody has.
    held.put(event_id, (xmin, (*names, [g | {"username": "not-alice"} for g in grants])))
    sent: list[list[Any]] = []  # a GET's statement's arguments (on the engine GETs read by)

    def record(conn: Any, cursor: Any, statement: str, args: Any, *rest: Any) -> None:
        if "AS grants" in statement:
            sent.append(list(args))

    reads_engine = app.state.read_sessionmaker.kw["bind"].sync_engine
    sa_event.listen(reads_engine, "before_cursor_execute", record)
    try:
        shown = (await client.get(url, headers=alice.headers)).json()
    finally:
        sa_event.remove(reads_engine, "before_cursor_execute", record)
    assert len(sent) == 1 and xmin in sent[0], sent  # asked to leave the kept parts out
    assert [p["username"] for p in shown["permissions"]] == ["not-alice"]  # what was kept
    assert shown["owner"] == first.json()["owner"]  # (the event objects' cache's fixed part)
    changes = [
        lambda: share(client, alice, event_id, bob, "viewer"),
        lambda: client.put(
            f"{url}/permissions/{bob.id}", json={"role": "editor"}, headers=alice.headers
        ),
        lambda: share(client, alice, event_id, carol, "viewer"),
        lambda: client.delete(f"{url}/permissions/{bob.id}", headers=alice.headers),
    ]
    for change in changes:
        answer = await change()
        assert answer is None or answer.status_code in (200, 204), answer.text
        for reader in (alice, carol):
            for _ in range(2):  # read in full once, then with what it kept
                fast = await client.get(url, headers=reader.headers)
                general = await client.get(f"/test/general/{event_id}/{reader.id}")
                if general.status_code == 404:
                    assert_problem(fast, 404, "event_not_found")
                    continue
                assert fast.status_code == 200, fast.text
                assert fast.content == general.content
    final = await client.get(url, headers=alice.headers)
    assert final.json()["owner"]["username"] == "alice"
    assert [p["username"] for p in final.json()["permissions"]] == ["alice", "carol"]
    # An edit's read (without the lock) takes them too: its answer, a new version's object,
    # names the people as kept (while the event objects' cache holds a version's fixed
    # part, a GET shows the names from there).
    kept = held.get(event_id)
    assert kept is not None  # kept by the reads above, for the row as it is
    held.put(event_id, (kept[0], ("not-alice",) * 3 + (kept[1][3],)))  # owner, creator, editor
    edited = await client.patch(url, json={"title": "Kept, renamed"}, headers=alice.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["owner"]["username"] == "not-alice"
