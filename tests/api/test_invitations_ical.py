"""Attendees in iCalendar (SPEC §13): ORGANIZER and ATTENDEE with PARTSTAT in the export and
the feed, and an import that maps attendees to users by email and keeps the rest as text."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar

from neo_events import timezones
from neo_events.ical import importing
from tests.helpers import Account, count_rows, create_event, register

pytestmark = pytest.mark.anyio

API = "/api/v1"


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, Account]:
    return {n: await register(client, n) for n in ("alice", "bob", "carol")}


def _lines(body: bytes) -> list[str]:
    """The unfolded content lines."""
    return body.decode().replace("\r\n ", "").split("\r\n")


async def test_export_and_feed_carry_organizer_and_attendees(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = await create_event(client, alice)
    path = f"{API}/events/{event['id']}.ics"
    plain = await client.get(path, headers=alice.headers)
    assert plain.headers["etag"] == f'"ics-1-{timezones.RULES_VERSION}"'
    assert not [x for x in _lines(plain.content) if x.startswith(("ORGANIZER", "ATTENDEE"))]
    invited = await client.post(
        f"{API}/events/{event['id']}/attendees",
        json={"users": [{"user_id": bob.id}, {"user_id": carol.id, "optional": True}]},
        headers=alice.headers,
    )
    assert invited.status_code == 200
    first = await client.get(path, headers=alice.headers)
    answered = await client.put(
        f"{API}/events/{event['id']}/rsvp", json={"response": "accepted"}, headers=bob.headers
    )
    assert answered.status_code == 200
    second = await client.get(
        path, headers=alice.headers | {"If-None-Match": first.headers["etag"]}
    )
    assert second.status_code == 200  # an answer changes the file, though not the version
    lines = _lines(second.content)
    assert "ORGANIZER;CN=alice:mailto:alice@example.com" in lines
    people_lines = sorted(x for x in lines if x.startswith("ATTENDEE"))
    # the reader by their own email; anyone else by username, never their email
    assert people_lines == [
        "ATTENDEE;CN=alice;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:alice@example.com",
        "ATTENDEE;CN=bob;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:bob@users.neo-events.invalid",
        "ATTENDEE;CN=carol;PARTSTAT=NEEDS-ACTION;ROLE=OPT-PARTICIPANT:"
        "mailto:carol@users.neo-events.invalid",
    ]
    [vevent] = Calendar.from_ical(second.content).walk("VEVENT")  # a reader accepts it
    assert str(vevent["organizer"]) == "mailto:alice@example.com"
    named = {str(a): a.params["PARTSTAT"] for a in vevent["attendee"]}
    assert named == {
        "mailto:alice@example.com": "ACCEPTED",
        "mailto:bob@users.neo-events.invalid": "ACCEPTED",
        "mailto:carol@users.neo-events.invalid": "NEEDS-ACTION",
    }
    assert "bob@example.com" not in "".join(lines) and "carol@example.com" not in "".join(lines)
    as_bob = "".join(_lines((await client.get(path, headers=bob.headers)).content))
    assert "mailto:bob@example.com" in as_bob and "alice@example.com" not in as_bob

    token = (await client.post(f"{API}/feed-tokens", json={}, headers=carol.headers)).json()[
        "token"
    ]
    feed = await client.get(f"{API}/calendar.ics", params={"token": token})
    assert (
        "ATTENDEE;CN=carol;PARTSTAT=NEEDS-ACTION;ROLE=OPT-PARTICIPANT:mailto:carol@example.com"
        in _lines(feed.content)
    )
    await client.put(
        f"{API}/events/{event['id']}/rsvp", json={"response": "declined"}, headers=carol.headers
    )
    again = await client.get(
        f"{API}/calendar.ics",
        params={"token": token},
        headers={"If-None-Match": feed.headers["etag"]},
    )
    assert again.status_code == 200
    assert (
        "ATTENDEE;CN=carol;PARTSTAT=DECLINED;ROLE=OPT-PARTICIPANT:mailto:carol@example.com"
        in _lines(again.content)
    )


async def test_import_invites_users_by_email_and_keeps_the_rest_as_text(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Account]
) -> None:
    alice, bob = people["alice"], people["bob"]
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:m1\r\n"
        b"DTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nSUMMARY:Review\r\n"
        b"DESCRIPTION:Agenda\r\n"
        b"ORGANIZER;CN=Alice:mailto:ALICE@example.com\r\n"
        b"ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED;ROLE=OPT-PARTICIPANT:mailto:Bob@Example.com\r\n"
        b"ATTENDEE;CN=Zed Outside;PARTSTAT=TENTATIVE:mailto:zed@elsewhere.org\r\n"
        b"ATTENDEE;PARTSTAT=DECLINED:mailto:nobody@elsewhere.org\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    response = await client.post(
        f"{API}/events/import",
        content=body,
        headers=alice.headers | {"content-type": "text/calendar"},
    )
    assert response.status_code == 201, response.text
    [item] = response.json()["items"]
    event = (await client.get(f"{API}/events/{item['id']}", headers=bob.headers)).json()
    # bob is a user: invited (his answer is his to give, so it starts as needs_action)
    assert event["my_role"] == "viewer" and event["my_response"] == "needs_action"
    assert [(a["username"], a["response"], a["optional"]) for a in event["attendees"]] == [
        ("alice", "accepted", False),
        ("bob", "needs_action", True),
    ]
    # the others are kept in the description
    assert event["description"] == (
        "Agenda\n\nOther attendees (from the imported file):\n"
        "- Zed Outside <zed@elsewhere.org>: tentative\n"
        "- <nobody@elsewhere.org>: declined"
    )
    assert await count_rows(app, "attendees") == 2


async def test_an_exported_file_imported_again_invites_the_same_users(
    client: httpx.AsyncClient, people: dict[str, Account]
) -> None:
    """An export names others by username at users.neo-events.invalid, not by email: a file
    exported by one user and imported by another still invites those users."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    event = await create_event(client, alice, title="Review")
    invited = await client.post(
        f"{API}/events/{event['id']}/attendees",
        json={"users": [{"user_id": bob.id}, {"user_id": carol.id}]},
        headers=alice.headers,
    )
    assert invited.status_code == 200, invited.text
    exported = await client.get(f"{API}/events/{event['id']}.ics", headers=carol.headers)
    assert "bob@users.neo-events.invalid" in "".join(_lines(exported.content))
    response = await client.post(
        f"{API}/events/import",
        content=exported.content,
        headers=carol.headers | {"content-type": "text/calendar"},
    )
    assert response.status_code == 201, response.text
    [item] = response.json()["items"]
    copy = (await client.get(f"{API}/events/{item['id']}", headers=carol.headers)).json()
    assert sorted(a["username"] for a in copy["attendees"]) == ["alice", "bob", "carol"]


async def test_an_imports_invitations_are_bounded_by_the_rows_they_write(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event of n invitees writes about 4n + 3 rows (n invitations and the organizer's, up
    to n roles, n audit rows, one change for its n + 1 people: SPEC §8). An import's
    invitations write at most MAX_IMPORT_FAN_OUT in all;
    the users an event names past it are kept in its description, with a note. Found by an
    outside attack: 50 events naming 500 users each held SQLite's write lock two minutes."""
    monkeypatch.setattr(importing, "MAX_IMPORT_FAN_OUT", 30)
    alice = await register(client, "alice")
    users = [await register(client, f"user{n}") for n in range(4)]
    people = "".join(f"ATTENDEE:mailto:{u.username}@example.com\r\n" for u in users)
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:e{n}\r\nDTSTART:2026030{n + 2}T100000Z\r\n"
        f"DTEND:2026030{n + 2}T110000Z\r\nSUMMARY:Meeting {n}\r\n{people}END:VEVENT\r\n"
        for n in range(3)
    )
    body = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{events}END:VCALENDAR\r\n"
    response = await client.post(
        f"{API}/events/import",
        content=body.encode(),
        headers=alice.headers | {"content-type": "text/calendar"},
    )
    assert response.status_code == 201, response.text
    answer = response.json()
    # 4 invitees (19 rows), then 2 (11): 30 of the 30, none for the third
    invited = []
    for item in answer["items"]:
        event = (await client.get(f"{API}/events/{item['id']}", headers=alice.headers)).json()
        guests = [a["username"] for a in event["attendees"] if not a["organizer"]]
        invited.append(len(guests))
        for user in users:
            named = f"<{user.username}@example.com>" in (event["description"] or "")
            assert named != (user.username in guests)  # invited, or named in the text
    assert invited == [4, 2, 0]
    assert await count_rows(app, "attendees") == 2 + 6  # (no organizer's row without guests)
    assert any(importing.FAN_OUT_NOTE in w["message"] for w in answer["warnings"]), answer
