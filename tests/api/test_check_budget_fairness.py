"""A conflict check's budget of events (`calendar_keys.Budget`) cannot be filled by other
people: the users' own events (those they created: `Event.owner_id`) and the others are read
within budgets of their own, and an invitation declined for the series (and for no
occurrence otherwise) is not read at all.

The attack (an outside attack's re-check, 2026-12-06): someone shares with, or invites, a
victim CHECK_EVENTS + 1 long events that began years ago; they came first by start, filled
the one budget before the check's window, and the victim's `?conflicts=reject` create over
their own event was a 201 with no conflicts, declined or not. Here CHECK_EVENTS is 20.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from neo_events.events import calendar_keys, calendars
from tests.api.test_bounded_cost import grant
from tests.api.test_busy_calendar_cost import at, single
from tests.helpers import Account, assert_problem, created, created_many, register

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
BUDGET = 20


def long_ago(n: int) -> dict[str, Any]:
    """An event that began years ago and lasts years more: first by start, over any window."""
    start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
    return {
        "title": f"Filler {n}",
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(days=365 * 12)).isoformat(),
        "timezone": "UTC",
    }


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendar_keys, "CHECK_EVENTS", BUDGET)


async def _put_in_calendar(
    client: httpx.AsyncClient, app: Any, by: Account, victim: Account, ids: list[int], how: str
) -> None:
    """Events of `by` put in the victim's calendar: shared, or invited to (and declined)."""
    if how == "shared":
        await grant(app, [(e, victim.id) for e in ids], by.id)
        return
    for event_id in ids:
        invited = await client.post(
            f"{EVENTS}/{event_id}/attendees",
            json={"users": [{"user_id": victim.id}]},
            headers=by.headers,
        )
        assert invited.status_code == 200, invited.text
        if how == "declined":
            await _answer(client, victim, event_id, "declined")


async def _answer(
    client: httpx.AsyncClient, who: Account, event_id: int, answer: str, when: str | None = None
) -> None:
    url = f"{EVENTS}/{event_id}" + (f"/instances/{when}" if when else "") + "/rsvp"
    response = await client.put(url, json={"response": answer}, headers=who.headers)
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("small_budget")
@pytest.mark.parametrize("how", ["shared", "invited", "declined"])
async def test_others_events_before_the_window_never_hide_the_victims_own(
    client: httpx.AsyncClient, app: Any, alice: Account, how: str
) -> None:
    mallory = await register(client, "mallory")
    fillers = await created_many(client, mallory, [long_ago(n) for n in range(BUDGET + 1)])
    await _put_in_calendar(client, app, mallory, alice, fillers, how)
    own = await created(client, alice, single(3, 10, title="Dentist"), conflicts="ignore")
    response = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=single(3, 10), headers=alice.headers
    )
    clashes = assert_problem(response, 409, "schedule_conflict")["conflicts"]
    assert {"event_id": own["id"], "title": "Dentist"}.items() <= clashes[0].items()
    # under `warn` the create lists it too; never a clash with a declined event
    response = await client.post(
        EVENTS, params={"conflicts": "warn"}, json=single(3, 10), headers=alice.headers
    )
    assert response.status_code == 201, response.text
    named = {c["event_id"] for c in response.json()["conflicts"]}
    assert own["id"] in named
    if how == "declined":
        assert named == {own["id"]}


@pytest.mark.usefixtures("small_budget")
async def test_declined_invitations_spend_nothing_of_the_others_budget(
    client: httpx.AsyncClient, app: Any, alice: Account
) -> None:
    """21 declined invitations first by start, then an event shared with the victim (one of
    the others', not their own): the budget of 20 still reads it."""
    mallory, bob = await register(client, "mallory"), await register(client, "bob")
    fillers = await created_many(client, mallory, [long_ago(n) for n in range(BUDGET + 1)])
    await _put_in_calendar(client, app, mallory, alice, fillers, "declined")
    shared = await created(client, bob, single(2, 9, title="Review"), conflicts="ignore")
    await grant(app, [(shared["id"], alice.id)], bob.id)
    response = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=single(2, 9, 30), headers=alice.headers
    )
    [clash] = assert_problem(response, 409, "schedule_conflict")["conflicts"]
    assert (clash["event_id"], clash["title"]) == (shared["id"], "Review")


@pytest.mark.usefixtures("small_budget")
async def test_a_series_declined_but_accepted_once_still_clashes_there(
    client: httpx.AsyncClient, app: Any, alice: Account
) -> None:
    """Declined for the series, accepted for one occurrence: read (that occurrence is busy),
    while 21 events declined outright are not (else they would fill the budget first)."""
    mallory = await register(client, "mallory")
    fillers = await created_many(client, mallory, [long_ago(n) for n in range(BUDGET + 1)])
    await _put_in_calendar(client, app, mallory, alice, fillers, "declined")
    daily = single(0, 14, title="Stand-up") | {
        "is_recurring": True,
        "recurrence_pattern": "FREQ=DAILY;COUNT=10",
    }
    series = await created(client, mallory, daily, conflicts="ignore")
    await _put_in_calendar(client, app, mallory, alice, [series["id"]], "declined")
    await _answer(client, alice, series["id"], "accepted", at(3, 14).replace("+00:00", "Z"))
    response = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=single(3, 14), headers=alice.headers
    )
    [clash] = assert_problem(response, 409, "schedule_conflict")["conflicts"]
    assert (clash["event_id"], clash["start_time"][:16]) == (series["id"], at(3, 14)[:16])
    response = await client.post(  # a declined occurrence of it: free
        EVENTS, params={"conflicts": "reject"}, json=single(4, 14), headers=alice.headers
    )
    assert response.status_code == 201, response.text


@pytest.mark.usefixtures("small_budget")
async def test_a_suggestion_never_lands_where_others_events_were_not_read(
    client: httpx.AsyncClient, app: Any, alice: Account
) -> None:
    """The victim's own clash is found past 21 declined fillers; the free slots are searched
    only where every event was read: 21 of others' hour-long events follow the clash, the
    last past the budget of 20 others', and no suggestion overlaps any of them."""
    mallory, bob = await register(client, "mallory"), await register(client, "bob")
    fillers = await created_many(client, mallory, [long_ago(n) for n in range(BUDGET + 1)])
    await _put_in_calendar(client, app, mallory, alice, fillers, "declined")
    after = [single(0, 11 + n % 8, 45, title=f"Bob {n}") for n in range(BUDGET + 1)]
    after = [b | {"start_time": at(n // 8, 11 + n % 8), "end_time": at(n // 8, 11 + n % 8, 45)}
             for n, b in enumerate(after)]  # fmt: skip
    theirs = await created_many(client, bob, after)
    await grant(app, [(e, alice.id) for e in theirs], bob.id)
    own = await created(client, alice, single(0, 10, title="Dentist"), conflicts="ignore")
    response = await client.post(
        EVENTS, params={"conflicts": "suggest"}, json=single(0, 10), headers=alice.headers
    )
    problem = assert_problem(response, 409, "schedule_conflict")
    assert [c["event_id"] for c in problem["conflicts"]] == [own["id"]]
    suggestions = problem["suggestions"]
    assert suggestions  # before the 21st of Bob's events, there is room
    busy = [(b["start_time"], b["end_time"]) for b in after] + [(at(0, 10), at(0, 11))]
    spans = [(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in busy]
    last = max(s for s, _ in spans[:-1])  # where the read of others' events is cut
    for slot in suggestions:
        start = datetime.fromisoformat(slot["start_time"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(slot["end_time"].replace("Z", "+00:00"))
        assert not any(s < end and start < e for s, e in spans), slot
        assert end <= last, slot


@pytest.mark.usefixtures("small_budget")
async def test_strict_reads_refuse_what_they_may_not_read_whatever_its_kind(
    client: httpx.AsyncClient, app: Any, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Free/busy reads at most MAX_WINDOW_EVENTS events in all, own and others' together
    (30 here): past it a 422, never an answer that leaves some out; declined invitations are
    not read, so 31 of them cost nothing."""
    monkeypatch.setattr(calendars, "MAX_WINDOW_EVENTS", 30)
    mallory, bob = await register(client, "mallory"), await register(client, "bob")
    window = {"start_time": at(0, 0), "end_time": at(40, 0)}
    declined = await created_many(client, mallory, [single(d, 9) for d in range(31)])
    await _put_in_calendar(client, app, mallory, alice, declined, "declined")
    await created_many(client, alice, [single(d, 12) for d in range(20)])
    answer = await client.get("/api/v1/freebusy", params=window, headers=alice.headers)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["busy"]) == 20  # her own only: the declined are free time
    # 20 own and 11 of others' shared: 31 in all, one past what it may read
    shared = await created_many(client, bob, [single(d, 15) for d in range(11)])
    await grant(app, [(e, alice.id) for e in shared], bob.id)
    refused = await client.get("/api/v1/freebusy", params=window, headers=alice.headers)
    assert_problem(refused, 422, "window_too_large")
    fewer = {"start_time": at(0, 0), "end_time": at(9, 0)}  # 9 own and 9 shared: whole
    answer = await client.get("/api/v1/freebusy", params=fewer, headers=alice.headers)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["busy"]) == 18


async def test_others_occurrences_never_fill_the_limit_own_events_are_read_within(
    client: httpx.AsyncClient, app: Any, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same attack through the limit of occurrences a check expands (CALENDAR_LIMIT, 30
    here): 31 shared events under way over the whole window cut the one read there was at
    its start. Own events and the others' are expanded within limits of their own when a
    read of both is cut short: the victim's own event is still found."""
    monkeypatch.setattr(calendars, "CALENDAR_LIMIT", 30)
    mallory = await register(client, "mallory")
    fillers = await created_many(client, mallory, [long_ago(n) for n in range(31)])
    await _put_in_calendar(client, app, mallory, alice, fillers, "shared")
    own = await created(client, alice, single(3, 10, title="Dentist"), conflicts="ignore")
    response = await client.post(
        EVENTS, params={"conflicts": "reject"}, json=single(3, 10), headers=alice.headers
    )
    clashes = assert_problem(response, 409, "schedule_conflict")["conflicts"]
    assert (own["id"], "Dentist") in [(c.get("event_id"), c.get("title")) for c in clashes]
    # with fewer of them, one read of both kinds answers, the shared ones clashing too
    monkeypatch.setattr(calendars, "CALENDAR_LIMIT", 40)
    response = await client.post(
        EVENTS, params={"conflicts": "warn"}, json=single(3, 10), headers=alice.headers
    )
    assert response.status_code == 201, response.text
    assert len(response.json()["conflicts"]) == 32
