"""Control characters in an event's text: neither iCalendar's TEXT nor XML 1.0 can carry
them. A title with U+0001 was stored, and every CalDAV answer holding the event became
unreadable XML for every one of its holders' apps (an outside attack: the `caldav` library's
parser failed on a share of one event). The API refuses them (422), a CalDAV write too (403),
an import leaves them out, and no export or CalDAV answer writes one (text stored before)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from neo_events.fields import CONTROLS
from neo_events.ical.texts import escape
from neo_events.models import Event
from tests.api.test_ical_import import ics, post, vevent
from tests.caldav.dav import dav_for, responses
from tests.caldav.dav import ics as ics_resource
from tests.caldav.test_protocol import QUERY
from tests.helpers import (
    Account,
    assert_problem,
    count_rows,
    create_event,
    event_body,
    register,
    share,
)

pytestmark = pytest.mark.anyio

EVENTS = "/api/v1/events"
BAD = ["\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\ufffe", "\uffff"]


@pytest.mark.parametrize("field", ["title", "description", "location"])
@pytest.mark.parametrize("char", BAD)
async def test_the_api_refuses_them_and_writes_nothing(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, field: str, char: str
) -> None:
    body = event_body(**{field: f"Budget{char}review"})
    response = await client.post(EVENTS, json=body, headers=alice.headers)
    problem = assert_problem(response, 422, "validation_error")
    assert [e["loc"] for e in problem["errors"]] == [[field]]
    assert "control characters" in problem["errors"][0]["msg"]
    assert await count_rows(app, "events") == 0


async def test_tabs_and_line_breaks_are_text(client: httpx.AsyncClient, alice: Account) -> None:
    made = await create_event(
        client, alice, title="a\tb", description="one\ntwo\r\nthree\tfour", location="x\ty"
    )
    assert (made["title"], made["description"], made["location"]) == (
        "a\tb",
        "one\ntwo\nthree\tfour",
        "x\ty",
    )
    event = await create_event(client, alice)
    for method, path, body in [
        ("PATCH", f"{EVENTS}/{event['id']}", {"title": "x\x01"}),
        ("PUT", f"{EVENTS}/{event['id']}", event_body(description="x\x1b")),
        ("POST", f"{EVENTS}/batch", {"events": [event_body(location="\x7f")]}),
    ]:
        response = await client.request(method, path, json=body, headers=alice.headers)
        assert_problem(response, 422, "validation_error")
    assert (await client.get(f"{EVENTS}/{event['id']}", headers=alice.headers)).json()[
        "version"
    ] == 1


async def test_an_import_leaves_them_out(client: httpx.AsyncClient, alice: Account) -> None:
    body = ics(
        vevent("u1", "SUMMARY:Budget\x01review", "DTSTART:20260701T100000Z", "DURATION:PT1H")
    )
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    assert [i["title"] for i in response.json()["items"]] == ["Budgetreview"]
    assert [w["message"] for w in response.json()["warnings"]] == [
        "SUMMARY: control characters left out"
    ]


async def test_text_stored_before_is_never_written_into_an_export_or_a_caldav_answer(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice, carol = await dav_for(client, "alice"), await dav_for(client, "carol")
    event = await create_event(
        client,
        alice.account,
        title="Budget review",
        start_time="2026-03-10T09:00:00Z",
        end_time="2026-03-10T10:00:00Z",
    )
    await share(client, alice.account, event["id"], carol.account, "viewer")
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Event).where(Event.id == event["id"]).values(title="Budget\x01re\x1bview\uffff")
        )
    body = QUERY.format(expand="", start="20260301T000000Z", end="20260401T000000Z")
    answer = await carol.request("REPORT", carol.calendar, body, Depth="1")
    assert answer.status_code == 207, answer.text
    ET.fromstring(answer.content)  # well-formed: it raised "not well-formed (invalid token)"
    [entry] = responses(answer.content).values()
    assert (
        "SUMMARY:Budgetreview"
        in entry["props"]["{urn:ietf:params:xml:ns:caldav}calendar-data"].text
    )
    exported = await client.get(f"{EVENTS}/{event['id']}.ics", headers=carol.account.headers)
    assert b"SUMMARY:Budgetreview\r\n" in exported.content


async def test_a_caldav_write_with_one_is_refused_as_the_api_refuses_it(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    alice = await dav_for(client, "alice")
    for summary in ("Budget\x01review", "Budget\x1breview"):
        response = await alice.put("bad.ics", ics_resource(uid="bad-1", summary=summary))
        assert response.status_code == 403, response.text
        assert b"valid-calendar-data" in response.content
    assert await count_rows(app, "events") == 0
    made = await alice.put("tab.ics", ics_resource(uid="tab-1", summary="Budget\treview"))
    assert made.status_code == 201, made.text


async def test_the_other_texts_people_name_things_with_refuse_them_too(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    """An RSVP's comment, a webhook's description, a feed token's and an app password's name
    took them (an outside attack's re-check): none reached iCalendar or XML, but the rule is
    one for every text a person writes."""
    bob = await register(client, "bob")
    event = await create_event(client, alice)
    invited = await client.post(
        f"{EVENTS}/{event['id']}/attendees",
        json={"users": [{"user_id": bob.id}]},
        headers=alice.headers,
    )
    assert invited.status_code in (200, 201), invited.text
    hook = {"url": "https://example.com/h", "events": ["*"], "description": "d\x7f"}
    rsvp = {"response": "accepted", "comment": "c\x01"}
    for method, path, body, who, loc in [
        ("PUT", f"{EVENTS}/{event['id']}/rsvp", rsvp, bob, "comment"),
        ("POST", "/api/v1/webhooks", hook, alice, "description"),
        ("POST", "/api/v1/feed-tokens", {"name": "f\uffff"}, alice, "name"),
        ("POST", "/api/v1/app-passwords", {"name": "p\x1b"}, alice, "name"),
    ]:
        response = await client.request(method, path, json=body, headers=who.headers)
        problem = assert_problem(response, 422, "validation_error")
        assert [e["loc"] for e in problem["errors"]] == [[loc]], path
    for table in ("webhooks", "feed_tokens", "app_passwords"):
        assert await count_rows(app, table) == 0


# (line, the guest line of the description it makes, the property the warning names)
PEOPLE_CASES = [
    ("ATTENDEE:mailto:x\x00@y.com", "- <x@y.com>: needs action", "ATTENDEE"),
    ("ORGANIZER:mailto:o\x00@x", "- <o@x> (organizer): accepted", "ORGANIZER"),
    ("ATTENDEE:mailto:g\x01@x.com", "- <g@x.com>: needs action", "ATTENDEE"),
    ("ATTENDEE:mailto:g\uffff@x.com", "- <g@x.com>: needs action", "ATTENDEE"),
    ('ATTENDEE;CN="Z\ufffeed":mailto:z@x.com', "- Zed <z@x.com>: needs action", "ATTENDEE"),
    ("ORGANIZER;CN=O\uffffwen:mailto:o@x", "- Owen <o@x> (organizer): accepted", "ORGANIZER"),
]


@pytest.mark.parametrize(("line", "guest", "name"), PEOPLE_CASES)
async def test_an_imports_people_are_cleaned_as_its_text_is(
    client: httpx.AsyncClient, alice: Account, line: str, guest: str, name: str
) -> None:
    """The people who are not users are written into the description: their address and CN
    took a NUL (a 500 on PostgreSQL, in the user lookup by email; on SQLite stored, and in
    every export and other invitees' feeds), other controls, U+FFFE and U+FFFF. They are
    left out, with the warning the event's own text gets."""
    body = ics(vevent("u1", "SUMMARY:Budget", "DTSTART:20260701T100000Z", "DURATION:PT1H", line))
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    [item] = response.json()["items"]
    assert item["description"] == f"Other attendees (from the imported file):\n{guest}"
    assert [w["message"] for w in response.json()["warnings"]] == [
        f"{name}: control characters left out"
    ]
    exported = await client.get(f"{EVENTS}/{item['id']}.ics", headers=alice.headers)
    assert not CONTROLS.search(exported.content.decode())
    # what was read is written back as it is (a PUT of it was a 422)
    read = (await client.get(f"{EVENTS}/{item['id']}", headers=alice.headers)).json()
    fields = ("title", "description", "start_time", "end_time", "timezone")
    again = await client.put(
        f"{EVENTS}/{item['id']}",
        json={k: read[k] for k in fields},
        headers=alice.headers | {"If-Match": f'"{read["version"]}"'},
    )
    assert again.status_code == 200, again.text


async def test_an_occurrences_people_are_cleaned_too(
    client: httpx.AsyncClient, alice: Account
) -> None:
    series = vevent(
        "s1", "SUMMARY:Weekly", "DTSTART:20260701T100000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY"
    )
    moved = vevent(
        "s1",
        "RECURRENCE-ID:20260708T100000Z",
        "DTSTART:20260708T110000Z",
        "DURATION:PT1H",
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{alice.username}\x00@example.com",
    )
    response = await post(client, alice, ics(series, moved))
    assert response.status_code == 201, response.text
    assert [w["message"] for w in response.json()["warnings"]] == [
        "ATTENDEE: control characters left out"
    ]


async def test_a_nul_in_an_imports_text_is_warned_of_as_other_controls_are(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = ics(
        vevent("u1", "SUMMARY:Budget\x00review", "DTSTART:20260701T100000Z", "DURATION:PT1H")
    )
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    assert [i["title"] for i in response.json()["items"]] == ["Budgetreview"]
    assert [w["message"] for w in response.json()["warnings"]] == [
        "SUMMARY: control characters left out"
    ]


@pytest.mark.parametrize("line", [case[0] for case in PEOPLE_CASES])
async def test_a_caldav_write_with_one_in_its_people_is_refused(
    client: httpx.AsyncClient, app: FastAPI, line: str
) -> None:
    """A CalDAV write reads its people as an import does (`codec.read_calendars`), after
    refusing a text that holds a control anywhere: none reaches the user lookup."""
    alice = await dav_for(client, "alice")
    response = await alice.put("p.ics", ics_resource(uid="p-1", extra=line + "\r\n"))
    assert response.status_code == 403, response.text
    assert b"valid-calendar-data" in response.content
    assert await count_rows(app, "events") == 0


def test_no_export_writes_a_nul_into_text() -> None:
    """RFC 5545 §3.3.11: TEXT holds no CONTROL character, U+0000 included (text stored before
    the import left them out may hold one)."""
    assert escape("a\x00b\x01c\uffff") == "abc"
