"""Attendees over CalDAV, both ways (SPEC §13, §15): invitations as ORGANIZER and ATTENDEE
lines in every body exactly as the .ics export writes them, answers in the ETag and in
sync-collection; a PUT's ATTENDEEs invite, remove and answer through the invitation service,
with the server's answers winning for everyone but the writer, and a put-back of what a GET
gave changing nothing."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.caldav.dav import Dav, dav_for, ics, propfind, responses
from tests.helpers import Account, count_rows, create_event, people, share

pytestmark = pytest.mark.anyio

C = "{urn:ietf:params:xml:ns:caldav}"
D = "{DAV:}"

SYNC = (
    '<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)
QUERY = """<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data>{expand}</c:calendar-data></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="20260301T000000Z" end="20260401T000000Z"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""


def people_lines(text: str | bytes) -> list[str]:
    """The ORGANIZER and ATTENDEE lines of a body, unfolded, sorted."""
    if isinstance(text, bytes):
        text = text.decode()
    unfolded = text.replace("\r\n", "\n").replace("\n ", "")
    return sorted(x for x in unfolded.split("\n") if x.startswith(("ORGANIZER", "ATTENDEE")))


def address(person: str, reader: str) -> str:
    """How an export names `person` to `reader`: the reader by email, others by username."""
    return f"{person}@example.com" if person == reader else f"{person}@users.neo-events.invalid"


def line(person: str, partstat: str, role: str = "REQ-PARTICIPANT", reader: str = "alice") -> str:
    return f"ATTENDEE;CN={person};PARTSTAT={partstat};ROLE={role}:mailto:{address(person, reader)}"


async def invite(client: httpx.AsyncClient, who: Account, event_id: int, *users: Account) -> None:
    response = await client.post(
        f"/api/v1/events/{event_id}/attendees",
        json={"users": [{"user_id": u.id} for u in users]},
        headers=who.headers,
    )
    assert response.status_code == 200, response.text


async def attendees(client: httpx.AsyncClient, who: Account, event_id: int) -> dict[str, str]:
    event = (await client.get(f"/api/v1/events/{event_id}", headers=who.headers)).json()
    return {a["username"]: a["response"] for a in event["attendees"]}


async def event_of(client: httpx.AsyncClient, who: Account, event_id: int) -> dict[str, Any]:
    data: dict[str, Any] = (
        await client.get(f"/api/v1/events/{event_id}", headers=who.headers)
    ).json()
    return data


async def sync_token(dav: Dav) -> str:
    first = await dav.request("REPORT", dav.calendar, SYNC.format(token=""))
    return first.content.split(b"<d:sync-token>")[1].split(b"</d:sync-token>")[0].decode()


async def test_invitations_are_in_every_body_and_an_answer_changes_etag_and_sync(client) -> None:
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    event = await create_event(
        client,
        alice.account,
        start_time="2026-03-10T09:00:00Z",
        end_time="2026-03-10T10:00:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=2",
    )
    href = f"{alice.calendar}event-{event['id']}.ics"
    before = await alice.request("GET", href)
    assert people_lines(before.content) == []  # nobody invited: no ORGANIZER either
    await invite(client, alice.account, event["id"], bob.account)
    export = await client.get(f"/api/v1/events/{event['id']}.ics", headers=alice.account.headers)
    organizer = ["ORGANIZER;CN=alice:mailto:alice@example.com", line("alice", "ACCEPTED")]
    expected = sorted([*organizer, line("bob", "NEEDS-ACTION")])
    assert people_lines(export.content) == expected
    got = await alice.request("GET", href)
    assert people_lines(got.content) == expected
    assert b"bob@example.com" not in got.content.replace(b"\r\n ", b"")  # not alice's to know
    assert got.headers["etag"] != before.headers["etag"]  # an invitation changes the text
    token = await sync_token(alice)
    ctag = await alice.request("PROPFIND", alice.calendar, propfind("cs:getctag"), Depth="0")

    # bob answers through the API: alice's ETag, body, CTag and sync-collection follow
    answered = await client.put(
        f"/api/v1/events/{event['id']}/rsvp",
        json={"response": "accepted"},
        headers=bob.account.headers,
    )
    assert answered.status_code == 200, answered.text
    after = await alice.request("GET", href)
    assert after.headers["etag"] not in (got.headers["etag"], before.headers["etag"])
    assert line("bob", "ACCEPTED") in people_lines(after.content)
    assert (await event_of(client, alice.account, event["id"]))["version"] == 1
    delta = responses(
        (await alice.request("REPORT", alice.calendar, SYNC.format(token=token))).content
    )
    assert delta[href]["props"][f"{D}getetag"].text == after.headers["etag"]
    ctag_after = await alice.request("PROPFIND", alice.calendar, propfind("cs:getctag"), Depth="0")
    tag = "{http://calendarserver.org/ns/}getctag"
    assert (
        responses(ctag_after.content)[alice.calendar]["props"][tag].text
        != responses(ctag.content)[alice.calendar]["props"][tag].text
    )

    # the same lines in multiget, calendar-query, and each expanded occurrence
    multiget = await alice.request(
        "REPORT",
        alice.calendar,
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{href}</d:href>"
        "</c:calendar-multiget>",
    )
    entry = responses(multiget.content)[href]
    assert entry["props"][f"{D}getetag"].text == after.headers["etag"]
    accepted = sorted([*organizer, line("bob", "ACCEPTED")])
    assert people_lines(entry["props"][f"{C}calendar-data"].text) == accepted
    for expand, components in (
        ("", 1),
        ('<c:expand start="20260301T000000Z" end="20260401T000000Z"/>', 2),
    ):
        query = await alice.request(
            "REPORT", alice.calendar, QUERY.format(expand=expand), Depth="1"
        )
        text = responses(query.content)[href]["props"][f"{C}calendar-data"].text
        assert text.count("BEGIN:VEVENT") == components
        assert people_lines(text) == sorted(accepted * components)


ORGANIZED = (
    "ORGANIZER;CN=alice:mailto:alice@example.com\n"
    "ATTENDEE;CN=alice;PARTSTAT=ACCEPTED:mailto:alice@example.com\n"
    "ATTENDEE;CN=Bob B;PARTSTAT=NEEDS-ACTION;ROLE=OPT-PARTICIPANT:mailto:BOB@example.com\n"
    "ATTENDEE;CN=Erin Outside;PARTSTAT=ACCEPTED:mailto:erin@elsewhere.org\n"
)


async def test_a_put_invites_users_keeps_others_as_text_and_a_put_back_changes_nothing(
    client, app
) -> None:
    alice, bob, carol = [await dav_for(client, n) for n in ("alice", "bob", "carol")]
    created = await alice.put(
        "meeting.ics",
        ics(uid="meet-1", summary="Planning", extra=ORGANIZED),
        **{"If-None-Match": "*"},
    )
    assert created.status_code == 201, created.text
    invitations = (await client.get("/api/v1/invitations", headers=bob.account.headers)).json()
    [invited] = invitations["items"]
    event_id = invited["id"]
    assert invited["title"] == "Planning"
    assert await attendees(client, alice.account, event_id) == {
        "alice": "accepted",
        "bob": "needs_action",
    }
    [bobs] = [
        a
        for a in (await event_of(client, alice.account, event_id))["attendees"]
        if a["username"] == "bob"
    ]
    assert bobs["optional"] is True
    event = await event_of(client, alice.account, event_id)
    assert event["description"] == (
        "Other attendees (not users of this service):\n"
        "- Erin Outside <erin@elsewhere.org>: accepted"
    )
    got = await alice.request("GET", alice.calendar + "meeting.ics")
    assert people_lines(got.content) == sorted(
        [
            "ORGANIZER;CN=alice:mailto:alice@example.com",
            line("alice", "ACCEPTED"),
            line("bob", "NEEDS-ACTION", "OPT-PARTICIPANT"),
        ]
    )
    assert b"UID:meet-1" in got.content
    # what it reads is not what it sent (the people are the event's): no ETag, RFC 4791 §5.3.4
    assert "etag" not in created.headers
    changes = await count_rows(app, "changes", event_id=event_id)

    # exactly what it got, and then its own first text again: no version, no change at all
    back = await alice.put("meeting.ics", got.content, **{"If-Match": got.headers["etag"]})
    assert back.status_code == 204, back.text
    assert back.headers["etag"] == got.headers["etag"]
    again = await alice.put("meeting.ics", ics(uid="meet-1", summary="Planning", extra=ORGANIZED))
    assert again.status_code == 204, again.text
    # what it got with its own line for the outsider kept: the description lists them once
    erin = b"ATTENDEE;CN=Erin Outside;PARTSTAT=ACCEPTED:mailto:erin@elsewhere.org\r\n"
    both = await alice.put("meeting.ics", got.content.replace(b"END:VEVENT", erin + b"END:VEVENT"))
    assert both.status_code == 204, both.text
    event = await event_of(client, alice.account, event_id)
    assert event["version"] == 1 and event["description"].count("erin@elsewhere.org") == 1
    assert await count_rows(app, "changes", event_id=event_id) == changes
    assert await attendees(client, alice.account, event_id) == {
        "alice": "accepted",
        "bob": "needs_action",
    }

    # someone else's PARTSTAT is the server's; a new user is invited, a dropped one removed
    text = ORGANIZED.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED").replace(
        "ATTENDEE;CN=Erin", "ATTENDEE;CN=carol:mailto:carol@example.com\nATTENDEE;CN=Erin"
    )
    edited = await alice.put("meeting.ics", ics(uid="meet-1", summary="Planning", extra=text))
    assert edited.status_code == 204, edited.text
    assert await attendees(client, alice.account, event_id) == {
        "alice": "accepted",
        "bob": "needs_action",
        "carol": "needs_action",
    }
    dropped = await alice.put(
        "meeting.ics",
        ics(
            uid="meet-1",
            summary="Planning",
            extra="\n".join(text.split("\n")[:2] + text.split("\n")[3:]),
        ),
    )
    assert dropped.status_code == 204, dropped.text
    assert await attendees(client, alice.account, event_id) == {
        "alice": "accepted",
        "carol": "needs_action",
    }
    assert (await event_of(client, alice.account, event_id))["version"] == 1
    log = (
        await client.get(f"/api/v1/events/{event_id}/changelog", headers=alice.account.headers)
    ).json()
    assert [e["change_type"] for e in log["items"]] == [
        "created",
        "invited",
        "invited",
        "uninvited",
    ]
    assert {e["changed_by"]["username"] for e in log["items"]} == {"alice"}


async def test_the_invitees_own_partstat_is_their_rsvp_and_nothing_else_is_theirs(
    client, app
) -> None:
    alice, bob, carol = [await dav_for(client, n) for n in ("alice", "bob", "carol")]
    event = await create_event(client, alice.account, title="Review")
    await invite(client, alice.account, event["id"], bob.account, carol.account)
    name = f"event-{event['id']}.ics"
    got = await bob.request("GET", bob.calendar + name)
    mine = line("bob", "NEEDS-ACTION", reader="bob")
    assert mine in people_lines(got.content)
    body = got.content.replace(b"\r\n ", b"")

    # bob is a viewer: his own answer is his, carol's and the title are not
    carols = body.replace(
        line("carol", "NEEDS-ACTION", reader="bob").encode(),
        line("carol", "DECLINED", reader="bob").encode(),
    )
    assert (await bob.put(name, carols)).status_code == 204
    assert await attendees(client, alice.account, event["id"]) == {
        "alice": "accepted",
        "bob": "needs_action",
        "carol": "needs_action",
    }
    retitled = body.replace(b"SUMMARY:Review", b"SUMMARY:Bob's review")
    refused = await bob.put(name, retitled)
    assert refused.status_code == 403 and b"need-privileges" in refused.content
    declined = body.replace(mine.encode(), line("bob", "DECLINED", reader="bob").encode())
    answered = await bob.put(name, declined, **{"If-Match": got.headers["etag"]})
    assert answered.status_code == 204, answered.text
    reread = await bob.request("GET", bob.calendar + name)
    assert reread.headers["etag"] != got.headers["etag"]
    assert answered.headers.get("etag") in (None, reread.headers["etag"])  # RFC 4791 §5.3.4
    assert await attendees(client, alice.account, event["id"]) == {
        "alice": "accepted",
        "bob": "declined",
        "carol": "needs_action",
    }
    assert (await event_of(client, alice.account, event["id"]))["version"] == 1
    log = (
        await client.get(f"/api/v1/events/{event['id']}/changelog", headers=alice.account.headers)
    ).json()
    [responded] = [e for e in log["items"] if e["change_type"] == "responded"]
    assert (
        responded["changed_by"]["username"] == "bob"
        and responded["summary"] == "bob answered declined"
    )
    seen = await alice.request("GET", alice.calendar + name)
    assert line("bob", "DECLINED") in people_lines(seen.content)


async def test_more_attendees_than_an_event_holds_is_refused_and_changes_nothing(
    client, app
) -> None:
    alice = await dav_for(client, "alice")
    crowd = "".join(f"ATTENDEE:mailto:guest{n}@elsewhere.org\n" for n in range(501))
    refused = await alice.put("crowd.ics", ics(uid="crowd", extra=crowd))
    assert refused.status_code == 403 and b"valid-calendar-data" in refused.content
    assert b"at most 500" in refused.content
    assert await count_rows(app, "events") == 0
    created = await alice.put(
        "crowd.ics", ics(uid="crowd", extra=crowd[: crowd.index("ATTENDEE:mailto:guest3@")])
    )
    assert created.status_code == 201, created.text
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert item["description"].count("@elsewhere.org") == 3
    again = await alice.put("crowd.ics", ics(uid="crowd", summary="Crowd", extra=crowd))
    assert again.status_code == 403
    after = await event_of(client, alice.account, item["id"])
    assert after["version"] == 1 and after["title"] == "Dentist"


async def test_a_write_invites_at_most_as_many_as_an_invitation_request(client, app) -> None:
    """Each invitation is a change for everyone on the event: a PUT naming 499 users at once
    made ~250,000 of them (~1.3 s). A write newly invites at most 100, as the API's
    invitation request does; more is a 403 that writes nothing."""
    alice = await dav_for(client, "alice")
    await people(app, 201)
    crowd = [f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:p{n}@example.com\n" for n in range(201)]
    refused = await alice.put("big.ics", ics(uid="big", extra="".join(crowd[:101])))
    assert refused.status_code == 403 and b"valid-calendar-data" in refused.content
    assert b"101 people invited at once" in refused.content
    assert await count_rows(app, "events") == 0
    created = await alice.put("big.ics", ics(uid="big", extra="".join(crowd[:100])))
    assert created.status_code == 201, created.text
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert len((await event_of(client, alice.account, event["id"]))["attendees"]) == 101
    changes = await count_rows(app, "changes")
    again = await alice.put("big.ics", ics(uid="big", summary="More", extra="".join(crowd)))
    assert again.status_code == 403 and b"101 people invited at once" in again.content
    assert await count_rows(app, "changes") == changes
    assert (await event_of(client, alice.account, event["id"]))["title"] != "More"
    more = await alice.put("big.ics", ics(uid="big", summary="More", extra="".join(crowd[:200])))
    assert more.status_code == 204, more.text
    assert len((await event_of(client, alice.account, event["id"]))["attendees"]) == 201


@pytest.mark.parametrize(
    ("ends", "extra"),
    [
        (b"\r", "ORGANIZER:mailto:olga@elsewhere.org\nATTENDEE:mailto:erin@elsewhere.org\n"),
        (b"\r\n", "ATTEN\n DEE;PARTSTAT=ACCEPTED:mailto:erin@elsewhere.org\n"),  # a folded name
    ],
)
async def test_a_writers_people_are_never_served_from_its_text_however_its_lines_are_written(
    client, ends: bytes, extra: str
) -> None:
    """Whether a stored text names people was read with `^ATTENDEE` over LF-ended lines: a
    text of CR-ended lines (RFC 5545 §3.1 says CR LF; some writers end lines otherwise), or
    with the name folded, was served as written, its writer's ATTENDEE and ORGANIZER lines to
    every holder, though people are always the event's (here: nobody; the addresses that are
    not users are in the description)."""
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    body = ics(uid="cr-1", summary="Planning", extra=extra).replace(b"\r\n", ends)
    created = await alice.put("cr.ics", body)
    assert created.status_code == 201, created.text
    assert "etag" not in created.headers  # what is served is not the body (RFC 4791 §5.3.4)
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert "erin@elsewhere.org" in item["description"]
    await share(client, alice.account, item["id"], bob.account, "viewer")
    for reader in (alice, bob):
        got = await reader.request("GET", reader.calendar + "cr.ics")
        assert got.status_code == 200, got.text
        unfolded = re.sub(r"(?:\r\n|\n|\r)[ \t]", "", got.text)
        assert not [
            x
            for x in re.split(r"\r\n|\n|\r", unfolded)
            if x.upper().startswith(("ATTENDEE", "ORGANIZER"))
        ], got.text


async def test_a_name_with_a_line_break_is_one_line_of_the_description_and_written_once(
    client,
) -> None:
    """A CN may hold a line break (RFC 6868's `^n`); its guest line became two lines, the
    second without the `- ` that tells a guest's line, so a client putting back what it got
    with its own ATTENDEE line added the guest again (`with_guests` replaces by address)."""
    alice = await dav_for(client, "alice")
    zed = b"ATTENDEE;CN=Zed^nOutside;PARTSTAT=ACCEPTED:mailto:zed@elsewhere.org\r\n"
    put = await alice.put("zed.ics", ics(uid="zed-1", summary="Planning", extra=zed.decode()))
    assert put.status_code == 201, put.text
    got = await alice.request("GET", alice.calendar + "zed.ics")
    back = await alice.put("zed.ics", got.content.replace(b"END:VEVENT", zed + b"END:VEVENT"))
    assert back.status_code == 204, back.text
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert item["description"] == (
        "Other attendees (not users of this service):\n- Zed Outside <zed@elsewhere.org>: accepted"
    )
