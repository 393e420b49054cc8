"""Per-occurrence answers over CalDAV and iCalendar (SPEC §13, §15; issue #21): the writer's
PARTSTAT in a RECURRENCE-ID VEVENT is their answer for that occurrence (through the
per-occurrence RSVP, never an override of the event), and every answer for one occurrence is
rendered as a RECURRENCE-ID VEVENT whose ATTENDEE lines carry it — in GET, calendar-query
(expanded too), the .ics export and the feed — with a new ETag, and a put-back of what a GET
gave changing nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from neo_events.models import Change, OccurrenceResponse
from tests.caldav.dav import Dav, dav_for, responses
from tests.caldav.test_attendees import attendees, event_of, invite, line, people_lines
from tests.helpers import count_rows, cpu_bound, create_event, loop_pauses
from tests.timing import budget

pytestmark = pytest.mark.anyio

C = "{urn:ietf:params:xml:ns:caldav}"
WEEKLY = {
    "title": "Standup",
    "start_time": "2026-03-02T09:00:00Z",
    "end_time": "2026-03-02T10:00:00Z",
    "timezone": "UTC",
    "is_recurring": True,
    "recurrence_pattern": "FREQ=WEEKLY;COUNT=6",
}
QUERY = """<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data>{expand}</c:calendar-data></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="20260301T000000Z" end="20260401T000000Z"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""
EXPAND = '<c:expand start="20260301T000000Z" end="20260401T000000Z"/>'


def unfolded(body: bytes) -> str:
    return body.decode().replace("\r\n ", "")


def vevents(body: bytes) -> dict[str, str]:
    """Each VEVENT of a body, unfolded, by its RECURRENCE-ID line (`` for the master)."""
    found = {}
    text = body.decode().replace("\r\n", "\n").replace("\n ", "").replace("\n", "\r\n")
    for chunk in text.split("BEGIN:VEVENT")[1:]:
        text = chunk.split("END:VEVENT")[0]
        rid = next((x for x in text.split("\r\n") if x.startswith("RECURRENCE-ID")), "")
        found[rid] = text
    return found


def declining(body: bytes, who: str, rid: str, start: str, end: str, partstat: str) -> bytes:
    """The body with one more VEVENT: the master's copy for one occurrence, `who` answering
    `partstat` in it (as Apple Calendar, Thunderbird and DAVx5 write it)."""
    master = vevents(body)[""]
    copy = [
        x
        for x in master.split("\r\n")
        if x and not x.startswith(("RRULE", "EXDATE", "RDATE", "DTSTART", "DTEND"))
    ]
    copy = [
        x.replace("PARTSTAT=NEEDS-ACTION", f"PARTSTAT={partstat}")
        .replace("PARTSTAT=ACCEPTED", f"PARTSTAT={partstat}")
        .replace("PARTSTAT=DECLINED", f"PARTSTAT={partstat}")
        if x.startswith("ATTENDEE") and f"mailto:{who}@" in x
        else x
        for x in copy
    ]
    component = "\r\n".join(
        ["BEGIN:VEVENT", *copy, rid, f"DTSTART{start}", f"DTEND{end}", "END:VEVENT", ""]
    )
    text = unfolded(body)
    at = text.rindex("END:VCALENDAR")
    return (text[:at] + component + text[at:]).encode()


async def occurrence_answers(
    client: httpx.AsyncClient, dav: Dav, start: str, end: str
) -> dict[str, str]:
    """The window listing's `my_response` per occurrence (the API's view)."""
    page = await client.get(
        "/api/v1/events",
        params={"start_time": start, "end_time": end},
        headers=dav.account.headers,
    )
    assert page.status_code == 200, page.text
    return {str(i["recurrence_id"]): i["my_response"] for i in page.json()["items"]}


async def busy(client: httpx.AsyncClient, dav: Dav, start: str, end: str) -> list[str]:
    response = await client.get(
        "/api/v1/freebusy",
        params={"start_time": start, "end_time": end},
        headers=dav.account.headers,
    )
    assert response.status_code == 200, response.text
    return [b["start"] for b in response.json()["busy"]]


async def weekly_meeting(client: httpx.AsyncClient, **extra: Any) -> tuple[Dav, Dav, Dav, int]:
    alice, bob, carol = [await dav_for(client, n) for n in ("alice", "bob", "carol")]
    event = await create_event(client, alice.account, **(WEEKLY | extra))
    await invite(client, alice.account, event["id"], bob.account, carol.account)
    return alice, bob, carol, event["id"]


async def test_a_partstat_in_a_recurrence_id_component_answers_that_occurrence_only(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice, bob, carol, event_id = await weekly_meeting(client)
    name = f"event-{event_id}.ics"
    got = await bob.request("GET", bob.calendar + name)
    assert list(vevents(got.content)) == [""]  # nobody answered one occurrence yet
    changes = await count_rows(app, "changes", event_id=event_id)

    # bob's client declines the 9 March occurrence (and says carol declines it: not his to say)
    body = declining(
        got.content,
        "bob",
        "RECURRENCE-ID:20260309T090000Z",
        ":20260309T090000Z",
        ":20260309T100000Z",
        "DECLINED",
    ).replace(
        line("carol", "NEEDS-ACTION", reader="bob").encode(),
        line("carol", "DECLINED", reader="bob").encode(),
        1,
    )
    put = await bob.put(name, body, **{"If-Match": got.headers["etag"]})
    assert put.status_code == 204, put.text
    reread = await bob.request("GET", bob.calendar + name)
    assert reread.headers["etag"] != got.headers["etag"]
    assert put.headers.get("etag") in (None, reread.headers["etag"])  # RFC 4791 §5.3.4

    # the API: no version, no override; bob's answer for that occurrence only, carol's none
    event = await event_of(client, alice.account, event_id)
    assert event["version"] == 1 and event["overrides"] == []
    assert await attendees(client, alice.account, event_id) == {
        "alice": "accepted",
        "bob": "needs_action",
        "carol": "needs_action",
    }
    window = ("2026-03-01T00:00:00Z", "2026-03-17T00:00:00Z")
    assert await occurrence_answers(client, bob, *window) == {
        "2026-03-02T09:00:00Z": "needs_action",
        "2026-03-09T09:00:00Z": "declined",
        "2026-03-16T09:00:00Z": "needs_action",
    }
    assert set((await occurrence_answers(client, carol, *window)).values()) == {"needs_action"}
    assert await busy(client, bob, *window) == ["2026-03-02T09:00:00Z", "2026-03-16T09:00:00Z"]
    assert await count_rows(app, "occurrence_responses", event_id=event_id) == 1
    log = (
        await client.get(f"/api/v1/events/{event_id}/changelog", headers=alice.account.headers)
    ).json()
    [responded] = [e for e in log["items"] if e["change_type"] == "responded"]
    assert responded["changed_by"]["username"] == "bob"
    assert await count_rows(app, "changes", event_id=event_id) == changes + 1

    # everyone's resource: the master with the series answers, the occurrence with bob's
    for reader in (alice, bob, carol):
        seen = await reader.request("GET", reader.calendar + name)
        parts = vevents(seen.content)
        assert list(parts) == ["", "RECURRENCE-ID:20260309T090000Z"]
        who = reader.account.username
        assert line("bob", "NEEDS-ACTION", reader=who) in people_lines(parts[""])
        occurrence = people_lines(parts["RECURRENCE-ID:20260309T090000Z"])
        assert line("bob", "DECLINED", reader=who) in occurrence
        assert line("carol", "NEEDS-ACTION", reader=who) in occurrence
        assert "DTSTART:20260309T090000Z" in parts["RECURRENCE-ID:20260309T090000Z"]
        assert "SUMMARY:Standup" in parts["RECURRENCE-ID:20260309T090000Z"]

    # a GET put back unchanged, by each of them: no version, no answer, no change at all
    for reader in (alice, bob, carol):
        seen = await reader.request("GET", reader.calendar + name)
        back = await reader.put(name, seen.content, **{"If-Match": seen.headers["etag"]})
        assert back.status_code == 204, back.text
        assert back.headers["etag"] == seen.headers["etag"]
        # the same text re-serialised by a client (unfolded): no version, no answer (an
        # editor's new text is kept, so its ETag may change: caldav/writes.py _store)
        again = await reader.put(name, unfolded(seen.content).encode())
        assert again.status_code == 204, again.text
    assert await count_rows(app, "changes", event_id=event_id) == changes + 1
    assert (await event_of(client, alice.account, event_id))["version"] == 1

    # bob changes his mind for that week: accepted there, still needs_action for the series
    seen = await bob.request("GET", bob.calendar + name)
    accepted = unfolded(seen.content).replace(
        line("bob", "DECLINED", reader="bob"), line("bob", "ACCEPTED", reader="bob")
    )
    assert (await bob.put(name, accepted.encode())).status_code == 204
    answers = await occurrence_answers(client, bob, *window)
    assert answers["2026-03-09T09:00:00Z"] == "accepted"
    assert answers["2026-03-02T09:00:00Z"] == "needs_action"


async def test_a_new_series_answer_and_occurrence_answers_in_one_put(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice, bob, _, event_id = await weekly_meeting(client)
    name = f"event-{event_id}.ics"
    before = await alice.request("GET", alice.calendar + name)
    export = f"/api/v1/events/{event_id}.ics"
    exported = await client.get(export, headers=alice.account.headers)
    declined = await client.put(
        f"/api/v1/events/{event_id}/instances/2026-03-16T09:00:00Z/rsvp",
        json={"response": "declined"},
        headers=bob.account.headers,
    )
    assert declined.status_code == 200, declined.text
    got = await bob.request("GET", bob.calendar + name)
    assert list(vevents(got.content)) == ["", "RECURRENCE-ID:20260316T090000Z"]
    # an answer through the API: everyone's ETag changes (CalDAV and the export), no version
    after = await alice.request("GET", alice.calendar + name)
    assert after.headers["etag"] != before.headers["etag"]
    again = await client.get(export, headers=alice.account.headers)
    assert again.headers["etag"] != exported.headers["etag"]
    assert b"RECURRENCE-ID:20260316T090000Z" in again.content
    # accept the series (its master line) and keep the 16th declined, decline the 23rd too
    body = declining(
        got.content,
        "bob",
        "RECURRENCE-ID:20260323T090000Z",
        ":20260323T090000Z",
        ":20260323T100000Z",
        "DECLINED",
    )
    master = vevents(got.content)[""]
    body = body.replace(
        master.encode(),
        master.replace(
            line("bob", "NEEDS-ACTION", reader="bob"), line("bob", "ACCEPTED", reader="bob")
        ).encode(),
    )
    put = await bob.put(name, body)
    assert put.status_code == 204, put.text
    answers = await occurrence_answers(client, bob, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert answers == {
        "2026-03-02T09:00:00Z": "accepted",
        "2026-03-09T09:00:00Z": "accepted",
        "2026-03-16T09:00:00Z": "declined",
        "2026-03-23T09:00:00Z": "declined",
        "2026-03-30T09:00:00Z": "accepted",
    }
    assert (await event_of(client, alice.account, event_id))["version"] == 1


async def test_an_overridden_occurrence_carries_its_answers_and_a_cancelled_one_none(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice, bob, _, event_id = await weekly_meeting(client)
    name = f"event-{event_id}.ics"
    moved = await client.put(
        f"/api/v1/events/{event_id}/instances/2026-03-09T09:00:00Z",
        json={"start_time": "2026-03-09T13:00:00Z", "end_time": "2026-03-09T14:00:00Z"},
        headers=alice.account.headers,
    )
    assert moved.status_code == 200, moved.text
    for week in ("2026-03-09T09:00:00Z", "2026-03-23T09:00:00Z"):
        answered = await client.put(
            f"/api/v1/events/{event_id}/instances/{week}/rsvp",
            json={"response": "tentative"},
            headers=bob.account.headers,
        )
        assert answered.status_code == 200, answered.text
    got = await alice.request("GET", alice.calendar + name)
    parts = vevents(got.content)
    assert list(parts) == ["", "RECURRENCE-ID:20260309T090000Z", "RECURRENCE-ID:20260323T090000Z"]
    assert "DTSTART:20260309T130000Z" in parts["RECURRENCE-ID:20260309T090000Z"]  # the move
    for rid in list(parts)[1:]:
        assert line("bob", "TENTATIVE") in people_lines(parts[rid])
    assert line("bob", "NEEDS-ACTION") in people_lines(parts[""])

    # the .ics export and the feed say the same
    export = await client.get(f"/api/v1/events/{event_id}.ics", headers=alice.account.headers)
    assert export.status_code == 200
    assert line("bob", "TENTATIVE") in people_lines(
        vevents(export.content)["RECURRENCE-ID:20260323T090000Z"]
    )
    token = await client.post(
        "/api/v1/feed-tokens", json={"name": "phone"}, headers=alice.account.headers
    )
    feed = await client.get("/api/v1/calendar.ics", params={"token": token.json()["token"]})
    assert feed.status_code == 200
    assert line("bob", "TENTATIVE") in people_lines(
        vevents(feed.content)["RECURRENCE-ID:20260323T090000Z"]
    )

    # expanded: each occurrence with its own answers
    report = await alice.request("REPORT", alice.calendar, QUERY.format(expand=EXPAND), Depth="1")
    assert report.status_code == 207
    [item] = responses(report.content).values()
    data = item["props"][f"{C}calendar-data"].text.encode()
    expanded = vevents(data)
    assert line("bob", "TENTATIVE") in people_lines(expanded["RECURRENCE-ID:20260323T090000Z"])
    assert line("bob", "NEEDS-ACTION") in people_lines(expanded["RECURRENCE-ID:20260316T090000Z"])
    plain = await alice.request("REPORT", alice.calendar, QUERY.format(expand=""), Depth="1")
    [item] = responses(plain.content).values()
    queried = vevents(item["props"][f"{C}calendar-data"].text.encode())
    assert line("bob", "TENTATIVE") in people_lines(queried["RECURRENCE-ID:20260323T090000Z"])

    # the 23rd cancelled: no component for it any more, and the put-back still writes nothing
    cancelled = await client.patch(
        f"/api/v1/events/{event_id}",
        json={"exdates": ["2026-03-23T09:00:00Z"]},
        headers=alice.account.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    got = await bob.request("GET", bob.calendar + name)
    assert list(vevents(got.content)) == ["", "RECURRENCE-ID:20260309T090000Z"]
    version = (await event_of(client, alice.account, event_id))["version"]
    back = await bob.put(name, got.content, **{"If-Match": got.headers["etag"]})
    assert back.status_code == 204, back.text
    assert (await event_of(client, alice.account, event_id))["version"] == version


async def test_all_day_occurrences_are_answered_and_rendered_by_date(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice, bob, _, event_id = await weekly_meeting(
        client,
        start_time=None,
        end_time=None,
        all_day=True,
        start_date="2026-03-03",
        end_date="2026-03-04",
    )
    name = f"event-{event_id}.ics"
    got = await bob.request("GET", bob.calendar + name)
    assert "DTSTART;VALUE=DATE:20260303" in vevents(got.content)[""]
    body = declining(
        got.content,
        "bob",
        "RECURRENCE-ID;VALUE=DATE:20260310",
        ";VALUE=DATE:20260310",
        ";VALUE=DATE:20260311",
        "DECLINED",
    )
    put = await bob.put(name, body)
    assert put.status_code == 204, put.text
    answers = await occurrence_answers(client, bob, "2026-03-01T00:00:00Z", "2026-03-20T00:00:00Z")
    assert answers == {
        "2026-03-03": "needs_action",
        "2026-03-10": "declined",
        "2026-03-17": "needs_action",
    }
    event = await event_of(client, alice.account, event_id)
    assert event["version"] == 1 and event["overrides"] == []
    seen = await alice.request("GET", alice.calendar + name)
    parts = vevents(seen.content)
    assert list(parts) == ["", "RECURRENCE-ID;VALUE=DATE:20260310"]
    assert line("bob", "DECLINED") in people_lines(parts["RECURRENCE-ID;VALUE=DATE:20260310"])
    back = await alice.put(name, seen.content, **{"If-Match": seen.headers["etag"]})
    assert back.status_code == 204 and back.headers["etag"] == seen.headers["etag"]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Pacific/Kiritimati", "America/New_York"])
async def test_an_all_day_series_put_back_keeps_its_zone_and_takes_an_invitees_answer(
    client: httpx.AsyncClient, zone: str
) -> None:
    """A DATE names no zone: a resource was read in UTC, so a retitle in a calendar app
    moved an all-day event in any other zone to UTC, and an invitee's answer for one day
    (a change of nothing else) was a 403 there (an outside attack)."""
    alice, bob, _, event_id = await weekly_meeting(
        client,
        start_time=None,
        end_time=None,
        all_day=True,
        start_date="2026-03-03",
        end_date="2026-03-04",
        timezone=zone,
    )
    name = f"event-{event_id}.ics"
    before = await event_of(client, alice.account, event_id)
    got = await bob.request("GET", bob.calendar + name)
    body = declining(
        got.content,
        "bob",
        "RECURRENCE-ID;VALUE=DATE:20260310",
        ";VALUE=DATE:20260310",
        ";VALUE=DATE:20260311",
        "DECLINED",
    )
    put = await bob.put(name, body)
    assert put.status_code == 204, put.text
    answers = await occurrence_answers(client, bob, "2026-03-01T00:00:00Z", "2026-03-20T00:00:00Z")
    assert answers["2026-03-10"] == "declined"
    seen = await alice.request("GET", alice.calendar + name)
    retitled = seen.content.replace(b"SUMMARY:Standup", b"SUMMARY:Offsite", 1)
    assert (await alice.put(name, retitled)).status_code == 204
    after = await event_of(client, alice.account, event_id)
    assert after["title"] == "Offsite"
    assert (after["timezone"], after["start_time"]) == (zone, before["start_time"])


async def test_rendering_is_bounded_and_an_answer_past_the_cap_is_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice, bob, carol, event_id = await weekly_meeting(
        client,
        start_time="2026-01-01T09:00:00Z",
        end_time="2026-01-01T10:00:00Z",
        recurrence_pattern="FREQ=DAILY;COUNT=1200",
    )
    first = datetime(2026, 1, 1, 9, tzinfo=UTC)
    async with app.state.sessionmaker() as session, session.begin():
        # bob answered 1,000 days one by one (the RSVP's cap), carol one later day
        session.add_all(
            OccurrenceResponse(
                event_id=event_id,
                user_id=who.account.id,
                recurrence_id=first + timedelta(days=day),
                response="declined",
                responded_at=first,
            )
            for who, days in ((bob, range(1000)), (carol, [1100]))
            for day in days
        )
    name = f"event-{event_id}.ics"

    def rid(day: int) -> str:
        return f"RECURRENCE-ID:{first + timedelta(days=day):%Y%m%dT%H%M%SZ}"

    # others' answers make at most 100 VEVENTs (the earliest); one's own are all there
    carols = vevents((await carol.request("GET", carol.calendar + name)).content)
    assert len(carols) == 1 + 1 + 100  # the master, carol's own, 100 of bob's
    assert rid(1100) in carols and rid(99) in carols and rid(100) not in carols
    alices = vevents((await alice.request("GET", alice.calendar + name)).content)
    assert len(alices) == 1 + 100 and rid(99) in alices and rid(1100) not in alices
    got = await bob.request("GET", bob.calendar + name)
    bobs = vevents(got.content)
    assert len(bobs) == 1 + 1000 + 1 and rid(999) in bobs and rid(1100) in bobs

    # a 1,001st answer of bob's is refused, and nothing is written
    body = declining(
        got.content,
        "bob",
        rid(1150),
        f":{first + timedelta(days=1150):%Y%m%dT%H%M%SZ}",
        f":{first + timedelta(days=1150, hours=1):%Y%m%dT%H%M%SZ}",
        "DECLINED",
    )
    changes = await count_rows(app, "changes", event_id=event_id)
    refused = await bob.put(name, body)
    assert refused.status_code == 403 and b"valid-calendar-data" in refused.content
    assert b"at most 1000" in refused.content
    assert await count_rows(app, "occurrence_responses", event_id=event_id) == 1001
    assert await count_rows(app, "changes", event_id=event_id) == changes


async def test_a_series_renamed_in_a_client_renames_the_answered_occurrences_too(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice, bob, _, event_id = await weekly_meeting(client)
    name = f"event-{event_id}.ics"
    moved = await client.put(
        f"/api/v1/events/{event_id}/instances/2026-03-23T09:00:00Z",
        json={"title": "Standup (long)"},
        headers=alice.account.headers,
    )
    assert moved.status_code == 200, moved.text
    answered = await client.put(
        f"/api/v1/events/{event_id}/instances/2026-03-09T09:00:00Z/rsvp",
        json={"response": "declined"},
        headers=bob.account.headers,
    )
    assert answered.status_code == 200, answered.text
    got = await alice.request("GET", alice.calendar + name)
    parts = vevents(got.content)
    assert sorted(parts) == ["", "RECURRENCE-ID:20260309T090000Z", "RECURRENCE-ID:20260323T090000Z"]

    # alice's client renames the series; the VEVENT written for bob's answer keeps the old
    # title (clients leave exceptions alone): it follows the series, the real override stays
    master = parts[""]
    renamed = unfolded(got.content).replace(
        master, master.replace("SUMMARY:Standup", "SUMMARY:Daily sync")
    )
    put = await alice.put(name, renamed.encode(), **{"If-Match": got.headers["etag"]})
    assert put.status_code == 204, put.text
    event = await event_of(client, alice.account, event_id)
    assert event["version"] == 3 and event["title"] == "Daily sync"
    assert [(o["recurrence_id"], o["title"]) for o in event["overrides"]] == [
        ("2026-03-23T09:00:00Z", "Standup (long)")
    ]
    window = ("2026-03-01T00:00:00Z", "2026-03-17T00:00:00Z")
    assert (await occurrence_answers(client, bob, *window))["2026-03-09T09:00:00Z"] == "declined"
    seen = vevents((await bob.request("GET", bob.calendar + name)).content)
    assert "SUMMARY:Daily sync" in seen["RECURRENCE-ID:20260309T090000Z"]
    assert "SUMMARY:Standup (long)" in seen["RECURRENCE-ID:20260323T090000Z"]


def answering(body: bytes, who: str, instants: list[datetime], partstat: str) -> bytes:
    """`declining` for many occurrences at once: the body with a VEVENT for each instant
    carrying `who`'s ATTENDEE line only, answering `partstat` (built once, not one body
    rewritten per occurrence)."""
    master = vevents(body)[""]
    lines = [
        x.replace("PARTSTAT=NEEDS-ACTION", f"PARTSTAT={partstat}")
        for x in master.split("\r\n")
        if x
        and not x.startswith(("RRULE", "EXDATE", "RDATE", "DTSTART", "DTEND"))
        and (not x.startswith("ATTENDEE") or f"mailto:{who}@" in x)
    ]
    components = "".join(
        "\r\n".join(
            [
                "BEGIN:VEVENT",
                *lines,
                f"RECURRENCE-ID:{at:%Y%m%dT%H%M%SZ}",
                f"DTSTART:{at:%Y%m%dT%H%M%SZ}",
                f"DTEND:{at + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
                "END:VEVENT",
                "",
            ]
        )
        for at in instants
    )
    text = unfolded(body)
    at = text.rindex("END:VCALENDAR")
    return (text[:at] + components + text[at:]).encode()


async def test_a_thousand_answers_in_one_put_are_written_together(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """An invitee's client puts back 1,000 RECURRENCE-ID components, each with their own
    PARTSTAT only (an outside attack: each answer was its own locked write, 5.7 s of CPU with
    every other write waiting). Now one locked read, one series, the audit rows and the
    change written together: an audit row an answer, and one change listing them all (a
    request's answers are one change a kind, as the API's are, since 2026-12-08)."""
    alice, bob, carol, event_id = await weekly_meeting(
        client,
        start_time="2026-01-01T09:00:00Z",
        end_time="2026-01-01T10:00:00Z",
        recurrence_pattern="FREQ=DAILY;COUNT=1200",
    )
    others = [await dav_for(client, f"guest{n}") for n in range(20)]
    await invite(client, alice.account, event_id, *(o.account for o in others))
    name = f"event-{event_id}.ics"
    got = await bob.request("GET", bob.calendar + name)
    first = datetime(2026, 1, 1, 9, tzinfo=UTC)
    days = [first + timedelta(days=day) for day in range(1000)]
    body = answering(got.content, "bob", days, "DECLINED")
    changes = await count_rows(app, "changes", event_id=event_id)
    async with loop_pauses() as pauses:
        with cpu_bound(2.0, "1,000 answers in one PUT"):  # before: 5.1 s here, now 0.8
            put = await bob.put(name, body, **{"If-Match": got.headers["etag"]})
    assert put.status_code == 204, put.text
    assert pauses.worst_held < budget(0.3), pauses
    assert await count_rows(app, "occurrence_responses", event_id=event_id) == 1000
    assert await count_rows(app, "changes", event_id=event_id) == changes + 1
    async with app.state.sessionmaker() as session:
        listed = await session.scalar(
            select(Change.changes).where(Change.event_id == event_id).order_by(Change.seq.desc())
        )
    assert listed is not None and len(listed) == 1000
    assert {(a["username"], a["response"]) for a in listed} == {("bob", "declined")}
    assert await count_rows(app, "audit_log", action="event.responded") == 1000
    window = ("2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z")
    assert await occurrence_answers(client, bob, *window) == {
        f"2026-01-0{d}T09:00:00Z": "declined" for d in (1, 2, 3)
    }
    assert await busy(client, bob, *window) == []
    assert len(await busy(client, carol, *window)) == 3
    # the same body again changes nothing, and writes nothing
    again = await bob.request("GET", bob.calendar + name)
    put = await bob.put(name, body, **{"If-Match": again.headers["etag"]})
    assert put.status_code == 204, put.text
    assert await count_rows(app, "changes", event_id=event_id) == changes + 1  # no new one
