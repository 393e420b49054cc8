"""CalDAV over HTTP against the real app: discovery, PROPFIND, GET, PUT, DELETE, REPORTs,
roles, preconditions, and what a write does to versions, history, audit and the feed."""

from __future__ import annotations

import base64
import time

import orjson
import pytest
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import text

from neo_events.caldav import service, sync, xml
from tests.caldav.dav import Dav, dav_for, ics, propfind, responses
from tests.helpers import (
    audit_actions,
    count_rows,
    create_event,
    loop_pauses,
    share,
    statements,
)
from tests.timing import budget

pytestmark = pytest.mark.anyio

C = "{urn:ietf:params:xml:ns:caldav}"
D = "{DAV:}"


async def test_discovery_from_the_server_url(client) -> None:
    alice = await dav_for(client, "alice")
    well_known = await client.request("PROPFIND", "/.well-known/caldav")
    assert well_known.status_code == 301 and well_known.headers["location"] == "/dav/"
    root = await alice.request("PROPFIND", "/dav/", propfind("d:current-user-principal"), Depth="0")
    assert root.status_code == 207
    [principal] = responses(root.content)["/dav/"]["props"][f"{D}current-user-principal"]
    assert principal.text == "/dav/principals/alice/"
    home = await alice.request(
        "PROPFIND", principal.text, propfind("c:calendar-home-set", "d:resourcetype"), Depth="0"
    )
    props = responses(home.content)["/dav/principals/alice/"]["props"]
    assert props[f"{C}calendar-home-set"][0].text == "/dav/calendars/alice/"
    listing = await alice.request(
        "PROPFIND",
        "/dav/calendars/alice/",
        propfind(
            "d:resourcetype", "c:supported-calendar-component-set", "d:current-user-privilege-set"
        ),
        Depth="1",
    )
    found = responses(listing.content)
    calendar = found["/dav/calendars/alice/events/"]["props"]
    assert calendar[f"{D}resourcetype"].find(f"{C}calendar") is not None
    assert calendar[f"{C}supported-calendar-component-set"][0].get("name") == "VEVENT"
    options = await client.options("/dav/calendars/alice/events/")
    assert "calendar-access" in options.headers["dav"]


async def test_a_stranger_learns_nothing(client) -> None:
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    event = await create_event(client, alice.account)
    for path in (
        "/dav/calendars/alice/events/",
        "/dav/principals/alice/",
        f"/dav/calendars/alice/events/event-{event['id']}.ics",
    ):
        response = await bob.request("PROPFIND", path, propfind("d:getetag"), Depth="0")
        assert response.status_code == 404, path
    mine = await bob.request("GET", f"{bob.calendar}event-{event['id']}.ics")
    assert mine.status_code == 404
    overwrite = await bob.put(
        f"event-{event['id']}.ics", ics(uid=f"event-{event['id']}@neo-events")
    )
    assert overwrite.status_code == 403  # a name of that form is reserved; nothing is revealed
    assert (
        await client.get(f"/api/v1/events/{event['id']}", headers=alice.account.headers)
    ).json()["version"] == 1


def etag_of(version: int) -> str:
    """The ETag of an item at `version` that nothing else marks: of its generation too."""
    mark = service.generation_mark()
    return f'"{version}-{mark}"' if mark else f'"{version}"'


async def test_api_events_are_in_the_collection_and_get_returns_them(client) -> None:
    alice = await dav_for(client, "alice")
    event = await create_event(client, alice.account, title="From the API")
    listing = await alice.request("PROPFIND", alice.calendar, propfind("d:getetag"), Depth="1")
    href = f"{alice.calendar}event-{event['id']}.ics"
    assert responses(listing.content)[href]["props"][f"{D}getetag"].text == etag_of(1)
    got = await alice.request("GET", href)
    assert got.status_code == 200 and got.headers["etag"] == etag_of(1)
    assert got.headers["content-type"].startswith("text/calendar")
    assert b"SUMMARY:From the API" in got.content and b"METHOD" not in got.content
    assert f"UID:event-{event['id']}@neo-events".encode() in got.content


async def test_put_creates_through_the_service_and_round_trips_unknown_properties(
    client, app
) -> None:
    alice = await dav_for(client, "alice")
    extra = (
        "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC\r\nCATEGORIES:Health\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
    )
    created = await alice.put(
        "dentist.ics", ics(extra=extra.replace("\r\n", "\n")), **{"If-None-Match": "*"}
    )
    assert created.status_code == 201, created.text
    # its VALARM is served as Alice's reminder, not as sent: no ETag (RFC 4791 §5.3.4)
    assert "etag" not in created.headers
    again = await alice.put("dentist.ics", ics(), **{"If-None-Match": "*"})
    assert again.status_code == 412
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert item["title"] == "Dentist" and item["timezone"] == "Europe/Berlin"
    assert item["start_time"] == "2026-03-10T08:00:00Z" and item["version"] == 1
    got = await alice.request("GET", alice.calendar + "dentist.ics")
    etag = got.headers["etag"]
    body = got.content.replace(b"\r\n ", b"")
    assert b"UID:abc-1" in body and b"X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC" in body
    assert b"BEGIN:VALARM" in body and b"TRIGGER:-PT15M" in body and b"CATEGORIES:Health" in body
    # as sent, but its VALARM is Alice's reminder (SPEC §14)
    sent = ics(extra=extra.replace("\r\n", "\n")).replace(
        b"DESCRIPTION:Reminder", b"DESCRIPTION:Dentist"
    )
    assert got.content == sent
    # edited elsewhere: the event's fields come from the event, the client's extras stay
    patched = await client.patch(
        f"/api/v1/events/{item['id']}",
        json={"title": "Dentist, moved"},
        headers=alice.account.headers,
    )
    assert patched.status_code == 200, patched.text
    again = await alice.request("GET", alice.calendar + "dentist.ics")
    assert again.headers["etag"] != etag
    body = again.content.replace(b"\r\n ", b"")
    assert b"SUMMARY:Dentist\\, moved" in body and b"SUMMARY:Dentist\r\n" not in body
    assert b"X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC" in body and b"TRIGGER:-PT15M" in body
    assert b"CATEGORIES:Health" in body and b"UID:abc-1" in body
    history = (
        await client.get(f"/api/v1/events/{item['id']}/history", headers=alice.account.headers)
    ).json()
    versions = [
        (v["version"], v["change_type"], v["changed_by"]["username"]) for v in history["items"]
    ]
    assert versions == [(2, "updated", "alice"), (1, "created", "alice")]
    assert ("event.created", "success") in await audit_actions(app)
    assert await count_rows(app, "changes", event_id=item["id"]) == 2


async def test_put_updates_with_if_match_and_a_stale_etag_is_412(client, app) -> None:
    alice = await dav_for(client, "alice")
    etag = (await alice.put("a.ics", ics())).headers["etag"]
    moved = await alice.put("a.ics", ics(summary="Dentist (moved)"), **{"If-Match": etag})
    assert moved.status_code == 204, moved.text
    assert moved.headers["etag"] != etag
    stale = await alice.put("a.ics", ics(summary="Lost update"), **{"If-Match": etag})
    assert stale.status_code == 412
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert item["title"] == "Dentist (moved)" and item["version"] == 2
    changed_uid = await alice.put("a.ics", ics(uid="other"))
    assert changed_uid.status_code == 403 and b"no-uid-conflict" in changed_uid.content


async def test_a_uid_the_calendar_holds_already_is_refused_under_another_name(client) -> None:
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    assert (await alice.put("a.ics", ics(uid="same"))).status_code == 201
    made = await create_event(client, alice.account, title="API")
    ours = f"event-{made['id']}@neo-events"
    for uid in ("same", ours):
        again = await alice.put("b.ics", ics(uid=uid))
        assert again.status_code == 403 and b"no-uid-conflict" in again.content, again.text
    # digits that are not ASCII name no event (int() of them raised: a 500)
    assert (await alice.put("d.ics", ics(uid="event-\u00b2@neo-events"))).status_code == 201
    missing = await alice.request("GET", alice.calendar + "event-\u00b2.ics")
    assert missing.status_code == 404, missing.text
    # a UID is the calendar's own: someone else's calendar may hold the same...
    assert (await bob.put("a.ics", ics(uid="same"))).status_code == 201
    # ...but not ours, which names alice's event: bob's twin, shared with her, would sit
    # beside it in her calendar under its UID; refused whether or not the event exists
    for uid in (ours, f"event-{made['id'] + 1000}@neo-events", ours.upper()):
        twin = await bob.put("c.ics", ics(uid=uid))
        assert twin.status_code == 403 and b"no-uid-conflict" in twin.content, twin.text
    # nor by a second UID line, which a reader may take for the component's
    doubled = await bob.put("c.ics", ics(uid="mine", extra=f"UID:{ours}\n"))
    assert doubled.status_code == 403 and b"valid-calendar-object-resource" in doubled.content


@pytest.mark.parametrize(
    ("start", "rule"),
    [
        ("1900-01-01T00:00:00Z", "FREQ=HOURLY"),
        ("1900-01-01T00:00:00Z", "FREQ=DAILY;COUNT=3"),
        ("1900-01-01T12:00:00Z", "FREQ=DAILY"),
    ],
)
async def test_an_event_from_the_apis_earliest_instant_is_written_back_as_it_is(
    client, start: str, rule: str
) -> None:
    """The API takes an event from 1900-01-01T00:00Z on; the codec took them from a day later
    (a 403 for the hourly series and the COUNT, the daily one moved a day on)."""
    alice = await dav_for(client, "alice")
    end = start.replace(":00:00Z", ":30:00Z")
    event = await create_event(
        client,
        alice.account,
        start_time=start,
        end_time=end,
        is_recurring=True,
        recurrence_pattern=rule,
    )
    path = alice.calendar + f"event-{event['id']}.ics"
    text = (await alice.request("GET", path)).content
    put = await alice.request("PUT", path, text.replace(b"SUMMARY:", b"SUMMARY:Old "))
    assert put.status_code == 204, put.text
    api = await client.get(f"/api/v1/events/{event['id']}", headers=alice.account.headers)
    assert api.json()["title"].startswith("Old ")
    assert (api.json()["start_time"], api.json()["recurrence_pattern"]) == (start, rule)


async def test_a_name_or_uid_no_resource_can_have_is_refused_not_a_500(client) -> None:
    alice = await dav_for(client, "alice")
    long_name = await alice.put("h" * 300 + ".ics", ics())
    assert long_name.status_code == 400 and b"255" in long_name.content, long_name.text
    nul_name = await alice.request("PUT", alice.calendar + "%00x.ics", ics())
    assert nul_name.status_code == 400, nul_name.text
    for path in ("h" * 300 + ".ics", "%00x.ics"):  # no such resource can exist
        assert (await alice.request("GET", alice.calendar + path)).status_code == 404
        assert (await alice.request("DELETE", alice.calendar + path)).status_code == 404
    long_uid = await alice.put("u.ics", ics(uid="u" * 300))
    assert long_uid.status_code == 403 and b"valid-calendar-data" in long_uid.content
    assert (await alice.put("v.ics", ics(uid="u" * 255))).status_code == 201
    nul = await alice.put("n.ics", ics(summary="a\x00b"))
    assert nul.status_code == 403 and b"valid-calendar-data" in nul.content, nul.text
    events = await client.get("/api/v1/events", headers=alice.account.headers)
    assert [e["title"] for e in events.json()["items"]] == ["Dentist"]  # v.ics only


async def test_a_path_that_is_not_utf8_is_a_400_and_names_no_resource(client, app) -> None:
    """An outside attack: `PUT …/%C3%28.ics` was read as `\ufffd(.ics` (the server reads
    escapes that are not UTF-8 as U+FFFD), so it made a resource PROPFIND lists as
    `%EF%BF%BD%28.ics`, and `GET …/%FF%28.ics` read that one. Such a path names nothing."""
    alice = await dav_for(client, "alice")
    refused = await alice.request("PUT", alice.calendar + "%C3%28.ics", ics(uid="bad-utf8"))
    assert refused.status_code == 400 and b"UTF-8" in refused.content, refused.text
    assert await count_rows(app, "events") == 0
    made = await alice.request("PUT", alice.calendar + "%EF%BF%BD%28.ics", ics(uid="fffd"))
    assert made.status_code == 201, made.text  # U+FFFD itself, written as UTF-8, is a name
    for method in ("GET", "DELETE", "PROPFIND", "PUT"):
        answer = await alice.request(method, alice.calendar + "%FF%28.ics", Depth="0")
        assert answer.status_code == 400, (method, answer.text)
    assert (await alice.request("GET", alice.calendar + "%EF%BF%BD%28.ics")).status_code == 200
    assert (await alice.request("PROPFIND", "/dav/calendars/%FF/", Depth="0")).status_code == 400
    hrefs = "".join(
        f"<d:href>{alice.calendar}{name}</d:href>" for name in ("%FF%28.ics", "%EF%BF%BD%28.ics")
    )
    multiget = await alice.request(
        "REPORT",
        alice.calendar,
        '<?xml version="1.0"?><c:calendar-multiget xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop>'
        f"{hrefs}</c:calendar-multiget>",
        Depth="1",
    )
    assert multiget.status_code == 207, multiget.text
    assert {href: entry["status"] for href, entry in responses(multiget.content).items()} == {
        alice.calendar + "%FF%28.ics": 404,
        alice.calendar + "%EF%BF%BD%28.ics": None,  # found: a propstat, no status of its own
    }
    assert await count_rows(app, "events") == 1


async def test_roles_viewer_read_only_editor_writes_owner_deletes(client) -> None:
    """A viewer reads, an editor writes, an owner's DELETE deletes the event for everyone;
    anyone else's DELETE takes it out of their own calendar (their role goes, below)."""
    alice, bob, carol = [await dav_for(client, n) for n in ("alice", "bob", "carol")]
    event = await create_event(client, alice.account)
    await share(client, alice.account, event["id"], bob.account, "viewer")
    await share(client, alice.account, event["id"], carol.account, "editor")
    name = f"event-{event['id']}.ics"
    text = (await bob.request("GET", bob.calendar + name)).content
    privileges = await bob.request(
        "PROPFIND", bob.calendar + name, propfind("d:current-user-privilege-set"), Depth="0"
    )
    granted = responses(privileges.content)[bob.calendar + name]["props"][
        f"{D}current-user-privilege-set"
    ]
    assert {p[0].tag for p in granted} == {f"{D}read", f"{D}read-current-user-privilege-set"}
    refused = await bob.put(name, text.replace(b"SUMMARY:Standup", b"SUMMARY:Viewer edit"))
    assert refused.status_code == 403 and b"need-privileges" in refused.content
    edited = await carol.put(name, text.replace(b"SUMMARY:Standup", b"SUMMARY:Editor edit"))
    assert edited.status_code == 204, edited.text
    history = (
        await client.get(f"/api/v1/events/{event['id']}/history", headers=alice.account.headers)
    ).json()
    assert history["items"][0]["changed_by"]["username"] == "carol"
    assert (await carol.request("DELETE", carol.calendar + name)).status_code == 204
    assert (await carol.request("GET", carol.calendar + name)).status_code == 404
    assert (await bob.request("GET", bob.calendar + name)).status_code == 200  # still there
    assert (
        await alice.request("DELETE", alice.calendar + name, **{"If-Match": '"1"'})
    ).status_code == 412
    assert (await alice.request("DELETE", alice.calendar + name)).status_code == 204
    assert (await alice.request("GET", alice.calendar + name)).status_code == 404
    assert (await bob.request("GET", bob.calendar + name)).status_code == 404


async def test_a_delete_by_someone_it_was_shared_with_takes_it_out_of_their_calendar(
    client, app: FastAPI
) -> None:
    """Calendar apps let anyone remove an event from their own calendar: a viewer's DELETE
    (of an event shared with them unasked, say) gives up their role, as `DELETE
    /events/{id}/permissions/{own id}` does — the event stays for everyone else, the change
    is `unshared`, their sync reports the resource gone. (An outside attack: it was a 403
    `need-privileges`, and nothing else could take a stranger's share off their calendar.)"""
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    event = await create_event(client, alice.account, title="Spam")
    first = await bob.request("REPORT", bob.calendar, _sync_report(""))
    await share(client, alice.account, event["id"], bob.account, "viewer")
    name = f"event-{event['id']}.ics"
    got = await bob.request("GET", bob.calendar + name)
    assert got.status_code == 200
    stale = await bob.request("DELETE", bob.calendar + name, **{"If-Match": '"7"'})
    assert stale.status_code == 412  # preconditions as for any DELETE; nothing written
    versions = await count_rows(app, "event_versions")
    left = await bob.request("DELETE", bob.calendar + name, **{"If-Match": got.headers["etag"]})
    assert left.status_code == 204, left.text
    assert (await bob.request("GET", bob.calendar + name)).status_code == 404
    assert (await alice.request("GET", alice.calendar + name)).status_code == 200
    assert await count_rows(app, "event_versions") == versions  # no version: a role went
    url = f"/api/v1/events/{event['id']}"
    permissions = (await client.get(f"{url}/permissions", headers=alice.account.headers)).json()
    assert [p["user_id"] for p in permissions["items"]] == [alice.account.id]
    log = (await client.get(f"{url}/changelog", headers=alice.account.headers)).json()["items"]
    assert log[-1]["change_type"] == "unshared" and log[-1]["changed_by"]["username"] == "bob"
    delta = await bob.request("REPORT", bob.calendar, _sync_report(_token_of(first.content)))
    assert responses(delta.content)[bob.calendar + name]["status"] == 404


async def test_all_day_events_and_rdates_are_held_both_ways(client) -> None:
    alice = await dav_for(client, "alice")
    all_day = (
        ics(uid="holiday", extra="RRULE:FREQ=YEARLY\nTRANSP:TRANSPARENT\n")
        .replace(b"DTSTART;TZID=Europe/Berlin:20260310T090000", b"DTSTART;VALUE=DATE:20260310")
        .replace(b"DTEND;TZID=Europe/Berlin:20260310T100000", b"DTEND;VALUE=DATE:20260312")
    )
    rdate = ics(
        uid="extra", extra="RRULE:FREQ=WEEKLY;COUNT=2\nRDATE;TZID=Europe/Berlin:20260312T090000\n"
    )
    assert (await alice.put("holiday.ics", all_day)).status_code == 201
    assert (await alice.put("extra.ics", rdate)).status_code == 201
    items = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert len(items) == 2
    holiday = next(i for i in items if i["all_day"])
    assert (holiday["start_date"], holiday["end_date"]) == ("2026-03-10", "2026-03-12")
    assert holiday["transparency"] == "transparent"
    extra = next(i for i in items if not i["all_day"])
    assert extra["rdates"] == ["2026-03-12T08:00:00Z"]
    got = (await alice.request("GET", alice.calendar + "holiday.ics")).content
    assert b"DTSTART;VALUE=DATE:20260310" in got and b"DTEND;VALUE=DATE:20260312" in got
    assert b"TRANSP:TRANSPARENT" in got
    got = (await alice.request("GET", alice.calendar + "extra.ics")).content
    assert b"RDATE" in got
    text = await expanded(alice, "20270101T000000Z", "20280101T000000Z")
    assert "DTSTART;VALUE=DATE:20270310" in text and "RECURRENCE-ID;VALUE=DATE:20270310" in text


async def test_what_cannot_be_held_is_refused_not_dropped(client) -> None:
    alice = await dav_for(client, "alice")
    todo = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        b"BEGIN:VTODO\r\nUID:t\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    long_title = ics(summary="x" * 300)
    for body, condition in (
        (todo, b"supported-calendar-component"),
        (long_title, b"valid-calendar-data"),
        (b"not a calendar", b"valid-calendar-data"),
    ):
        response = await alice.put("x.ics", body)
        assert response.status_code == 403, response.text
        assert condition in response.content
    assert (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"] == []


async def test_a_resource_is_one_calendar_of_one_event(client) -> None:
    """What a resource must be is read off its components as cut from the text, before any
    is parsed (each is parsed once, by the codec)."""
    alice = await dav_for(client, "alice")
    crowd = "".join(f"ATTENDEE:mailto:p{i}@example.com\n" for i in range(501))
    other = ics(uid="abc-2").replace(b"BEGIN:VCALENDAR\r\n", b"")
    for body, condition, reason in (
        (ics() + ics(uid="abc-2"), b"valid-calendar-data", b"one VCALENDAR"),
        (ics().replace(b"END:VEVENT\r\n", b""), b"valid-calendar-data", b"closes BEGIN:VEVENT"),
        (ics(extra=crowd), b"valid-calendar-data", b"501 ATTENDEEs"),
        (ics().replace(b"END:VCALENDAR\r\n", other), b"valid-calendar-object-resource", b"UID"),
        (ics(uid=" "), b"valid-calendar-object-resource", b"UID"),
        # a calendar's own line that is no content line (the codec parses only components)
        (
            ics().replace(b"VERSION:2.0\r\n", b"VERSION:2.0\r\nnot a property\r\n"),
            b"valid-calendar-data",
            b"not an iCalendar object",
        ),  # fmt: skip
    ):
        response = await alice.put("x.ics", body)
        assert response.status_code == 403, response.text
        assert condition in response.content and reason in response.content, response.text
    assert (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"] == []
    # an alarm's ATTENDEE is the alarm's, not the event's; the UID is the VEVENT's
    alarm = "BEGIN:VALARM\nACTION:EMAIL\nATTENDEE:mailto:me@example.com\nTRIGGER:-PT5M\n"
    alarm += "SUMMARY:x\nDESCRIPTION:x\nEND:VALARM\n"
    response = await alice.put("ok.ics", ics(uid="the-uid", extra=alarm))
    assert response.status_code == 201, response.text
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    got = (await alice.request("GET", alice.calendar + "ok.ics")).content
    assert b"UID:the-uid" in got and item["title"] == "Dentist"


async def test_an_event_of_too_many_properties_is_refused_at_once(client) -> None:
    """Found by an outside attack: one VEVENT with 20,000 X- properties (470 KB) cost 3 s of
    parsing a PUT. A component of more than codec.MAX_LINES lines is refused before it is."""
    alice = await dav_for(client, "alice")
    many = "".join(f"X-P{i};A=1;B=2;C=3:v\r\n" for i in range(20_000))
    body = ics(extra=many.replace("\r\n", "\n"))
    began = time.process_time()
    response = await alice.put("big.ics", body)
    assert time.process_time() - began < budget(1.0)  # 3 s before
    assert response.status_code == 403, response.text
    assert b"valid-calendar-data" in response.content
    assert b"a component has more than 4000 lines (properties)" in response.content
    assert (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"] == []


async def test_recurrence_exdates_and_overrides_in_one_resource(client) -> None:
    alice = await dav_for(client, "alice")
    series = ics(
        extra="RRULE:FREQ=WEEKLY;COUNT=5\nEXDATE;TZID=Europe/Berlin:20260317T090000\n".replace(
            "\n", "\r\n"
        )
    ).replace(
        b"END:VCALENDAR",
        b"BEGIN:VEVENT\r\nUID:abc-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260324T090000\r\n"
        b"DTSTART;TZID=Europe/Berlin:20260324T110000\r\nDTEND;TZID=Europe/Berlin:20260324T120000\r\n"
        b"SUMMARY:Later this week\r\nEND:VEVENT\r\nEND:VCALENDAR",
    )
    assert (await alice.put("weekly.ics", series)).status_code == 201
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert item["recurrence_pattern"] == "FREQ=WEEKLY;COUNT=5"
    assert item["exdates"] == ["2026-03-17T08:00:00Z"]
    assert item["overrides"] == [
        {
            "recurrence_id": "2026-03-24T08:00:00Z",
            "start_time": "2026-03-24T10:00:00Z",
            "end_time": None,  # the series' length
            "start_date": None,
            "end_date": None,
            "title": "Later this week",
            "description": None,
            "location": None,
        }
    ]
    got = (await alice.request("GET", alice.calendar + "weekly.ics")).content
    assert got.count(b"BEGIN:VEVENT") == 2 and b"EXDATE" in got and b"RECURRENCE-ID" in got


QUERY = """<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data>{expand}</c:calendar-data></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:time-range start="{start}" end="{end}"/>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""


async def expanded(dav: Dav, start: str, end: str) -> str:
    """The calendar-data of the one resource a calendar-query expands over [start, end)."""
    expand = f'<c:expand start="{start}" end="{end}"/>'
    body = QUERY.format(expand=expand, start=start, end=end)
    answer = await dav.request("REPORT", dav.calendar, body, Depth="1")
    [entry] = responses(answer.content).values()
    text: str = entry["props"][f"{C}calendar-data"].text
    return text


async def test_calendar_query_time_range_and_expand(client) -> None:
    alice = await dav_for(client, "alice")
    await create_event(
        client,
        alice.account,
        title="March",
        start_time="2026-03-10T09:00:00Z",
        end_time="2026-03-10T10:00:00Z",
        timezone="UTC",
    )
    await create_event(
        client,
        alice.account,
        title="April",
        start_time="2026-04-10T09:00:00Z",
        end_time="2026-04-10T10:00:00Z",
        timezone="UTC",
    )
    await create_event(
        client,
        alice.account,
        title="Daily",
        start_time="2026-02-01T07:00:00Z",
        end_time="2026-02-01T07:30:00Z",
        timezone="UTC",
        is_recurring=True,
        recurrence_pattern="FREQ=DAILY;COUNT=3",
    )
    march = await alice.request(
        "REPORT",
        alice.calendar,
        QUERY.format(expand="", start="20260301T000000Z", end="20260401T000000Z"),
        Depth="1",
    )
    assert march.status_code == 207, march.text
    found = responses(march.content)
    assert len(found) == 1
    [entry] = found.values()
    assert "SUMMARY:March" in entry["props"][f"{C}calendar-data"].text
    text = await expanded(alice, "20260201T000000Z", "20260203T000000Z")
    assert text.count("BEGIN:VEVENT") == 2 and "RRULE" not in text
    assert "RECURRENCE-ID:20260201T070000Z" in text and "DTSTART:20260202T070000Z" in text


async def test_an_expanded_occurrence_keeps_a_typed_backslash_n_as_text(client) -> None:
    alice = await dav_for(client, "alice")
    await create_event(
        client, alice.account, title=r"C:\New", location=r"\N, \\N",
        start_time="2026-02-01T07:00:00Z", end_time="2026-02-01T07:30:00Z", timezone="UTC",
        is_recurring=True, recurrence_pattern="FREQ=DAILY;COUNT=3",
    )  # fmt: skip
    text = await expanded(alice, "20260201T000000Z", "20260203T000000Z")
    found = Calendar.from_ical(text).walk("VEVENT")
    assert [(str(e["SUMMARY"]), str(e["LOCATION"])) for e in found] == [(r"C:\New", r"\N, \\N")] * 2


def _sync_report(token: str) -> str:
    return (
        f'<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
        "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
    )


def _token_of(answer: bytes) -> str:
    return answer.split(b"<d:sync-token>")[1].split(b"</d:sync-token>")[0].decode()


async def test_a_sync_token_from_after_a_backup_is_refused_after_the_restore(
    client, app: FastAPI
) -> None:
    """A restore numbers changes again from where the backup ended: a collection token
    handed out after the backup names a number a new change takes, and a client synced
    with it silently missed both the change lost and the new one (an outside attack; the
    API's /sync already refused such a token). Now 403 valid-sync-token (RFC 6578)."""
    alice = await dav_for(client, "alice")
    await create_event(client, alice.account, title="Before the backup")
    first = await alice.request("REPORT", alice.calendar, _sync_report(""))
    backup = _token_of(first.content)
    inner = backup.removeprefix(sync.token_prefix())
    backed_up = orjson.loads(base64.urlsafe_b64decode(inner + "=" * (-len(inner) % 4)))["s"]
    await create_event(client, alice.account, title="Lost with the restore")
    seen = await alice.request("REPORT", alice.calendar, _sync_report(backup))
    after = _token_of(seen.content)
    async with app.state.sessionmaker() as session:
        for table in ("change_recipients", "changes"):
            await session.execute(text(f"DELETE FROM {table} WHERE seq > :s"), {"s": backed_up})
        await session.execute(text("UPDATE feed_state SET last_seq = :s"), {"s": backed_up})
        await session.commit()
    made = await create_event(client, alice.account, title="After the restore")
    refused = await alice.request("REPORT", alice.calendar, _sync_report(after))
    assert refused.status_code == 403 and b"valid-sync-token" in refused.content
    again = await alice.request("REPORT", alice.calendar, _sync_report(backup))
    assert f"{alice.calendar}event-{made['id']}.ics" in responses(again.content)


async def test_multiget_and_sync_collection(client) -> None:
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    one = await create_event(client, alice.account, title="One")
    two = await create_event(client, alice.account, title="Two")
    first = await alice.request(
        "REPORT",
        alice.calendar,
        '<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level>'
        "<d:prop><d:getetag/></d:prop></d:sync-collection>",
    )
    assert first.status_code == 207, first.text
    token = first.content.split(b"<d:sync-token>")[1].split(b"</d:sync-token>")[0].decode()
    assert len(responses(first.content)) == 2
    ctag = await alice.request(
        "PROPFIND", alice.calendar, propfind("d:sync-token", "cs:getctag"), Depth="0"
    )
    assert responses(ctag.content)[alice.calendar]["props"][f"{D}sync-token"].text == token
    # a change by the API, a deletion, and someone else's event shared then unshared
    await client.patch(
        f"/api/v1/events/{one['id']}", json={"title": "One!"}, headers=alice.account.headers
    )
    await client.delete(f"/api/v1/events/{two['id']}", headers=alice.account.headers)
    theirs = await create_event(client, bob.account, title="Bob's")
    await share(client, bob.account, theirs["id"], alice.account, "viewer")
    delta = await alice.request(
        "REPORT",
        alice.calendar,
        f'<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
        "<d:sync-level>1</d:sync-level>"
        "<d:prop><d:getetag/></d:prop></d:sync-collection>",
    )
    found = responses(delta.content)
    one_href = f"{alice.calendar}event-{one['id']}.ics"
    assert found[one_href]["props"][f"{D}getetag"].text == etag_of(2)
    assert found[f"{alice.calendar}event-{two['id']}.ics"]["status"] == 404
    assert f"{alice.calendar}event-{theirs['id']}.ics" in found
    bad = await alice.request(
        "REPORT",
        alice.calendar,
        f'<d:sync-collection xmlns:d="DAV:"><d:sync-token>{sync.token_prefix()}nope</d:sync-token>'
        "<d:prop><d:getetag/></d:prop></d:sync-collection>",
    )
    assert bad.status_code == 403 and b"valid-sync-token" in bad.content
    forged = await alice.request(  # a time no clock can hold: was a 500
        "REPORT",
        alice.calendar,
        f'<d:sync-collection xmlns:d="DAV:"><d:sync-token>{sync.token_prefix()}'
        "eyJzIjowLCJ0IjoxZTIwfQ</d:sync-token><d:prop><d:getetag/></d:prop></d:sync-collection>",
    )
    assert forged.status_code == 403 and b"valid-sync-token" in forged.content
    made_now = int(time.time())
    for values, status in (({"s": "1"}, 207), ({"s": "99999999"}, 403)):  # text: was a 500
        raw = orjson.dumps(values | {"t": made_now})
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        answer = await alice.request(
            "REPORT",
            alice.calendar,
            f'<d:sync-collection xmlns:d="DAV:"><d:sync-token>{sync.token_prefix()}{text}'
            "</d:sync-token><d:prop><d:getetag/></d:prop></d:sync-collection>",
        )
        assert answer.status_code == status, answer.text
    multiget = await alice.request(
        "REPORT",
        alice.calendar,
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
        f"<d:href>{alice.calendar}event-{one['id']}.ics</d:href><d:href>{alice.calendar}missing.ics</d:href>"
        "</c:calendar-multiget>",
    )
    found = responses(multiget.content)
    assert (
        "SUMMARY:One!"
        in found[f"{alice.calendar}event-{one['id']}.ics"]["props"][f"{C}calendar-data"].text
    )
    assert found[f"{alice.calendar}missing.ics"]["status"] == 404


async def test_hostile_xml_is_refused_quickly(client) -> None:
    alice = await dav_for(client, "alice")
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY lol0 "lol">{lol}]>'
        '<d:propfind xmlns:d="DAV:">&lol9;</d:propfind>'
    )
    external = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<d:propfind xmlns:d="DAV:">&x;</d:propfind>'
    )
    deep = '<d:propfind xmlns:d="DAV:">' + "<d:prop>" * 5000 + "</d:prop>" * 5000 + "</d:propfind>"
    for body in (bomb, external, deep, "<d:propfind xmlns:d='DAV:'>"):
        started = time.perf_counter()
        response = await alice.request("PROPFIND", alice.calendar, body, Depth="0")
        assert response.status_code == 400, response.text
        assert time.perf_counter() - started < budget(2)
    assert b"root:" not in response.content


def _prop_body(root: str, inner: str, extra: str = "") -> str:
    return (
        f'<?xml version="1.0"?><{root} xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:prop>{inner}</d:prop>{extra}</{root.split()[0]}>"
    )


async def test_a_property_asked_for_twice_is_answered_once(client) -> None:
    alice = await dav_for(client, "alice")
    event = await create_event(client, alice.account)
    body = _prop_body("d:propfind", "<d:getetag/>" * 50 + "<d:x/>" * 50 + "<d:getetag/>")
    response = await alice.request("PROPFIND", alice.calendar, body, Depth="1")
    assert response.status_code == 207, response.text
    assert response.content.count(b"<d:getetag>") == 1  # the one item's
    assert response.content.count(b"<d:getetag/>") == 1  # missing on the collection
    assert response.content.count(b"<d:x/>") == 2  # missing on each of the two resources
    item = f"{alice.calendar}event-{event['id']}.ics"
    assert responses(response.content)[item]["missing"] == [f"{D}x"]
    query = _prop_body("c:calendar-query", "<d:getetag/>" * 30 + "<d:getetag/>")
    listed = await alice.request("REPORT", alice.calendar, query, Depth="1")
    assert listed.status_code == 207 and listed.content.count(b"<d:getetag>") == 1


async def test_a_listing_declares_a_namespace_only_a_client_knows(client) -> None:
    """A REPORT asking for a property of a namespace the server does not use (Nextcloud's,
    SabreDAV's) is answered 404 for it, in a body that declares it: a review found a listing
    that wrote `<x4:color/>` with `x4` declared nowhere (a body no client can parse)."""
    alice = await dav_for(client, "alice")
    event = await create_event(client, alice.account)
    wanted = '<d:getetag/><n:color xmlns:n="http://nextcloud.com/ns"/><z xmlns=""/>'
    query = _prop_body("c:calendar-query", wanted)
    for method, body in (("REPORT", query), ("PROPFIND", _prop_body("d:propfind", wanted))):
        listed = await alice.request(method, alice.calendar, body, Depth="1")
        assert listed.status_code == 207, listed.text
        entry = responses(listed.content)[f"{alice.calendar}event-{event['id']}.ics"]
        assert sorted(entry["missing"]) == ["z", "{http://nextcloud.com/ns}color"]


async def test_more_properties_than_the_bound_are_refused(client) -> None:
    alice = await dav_for(client, "alice")
    await create_event(client, alice.account)
    at_bound = "".join(f"<d:x{i}/>" for i in range(xml.MAX_PROPS))
    over = at_bound + "<d:one-more/>"
    answered = await alice.request("PROPFIND", alice.calendar, _prop_body("d:propfind", at_bound))
    assert answered.status_code == 207, answered.text
    href = f"<d:href>{alice.calendar}event-1.ics</d:href>"
    multiget = ("c:calendar-multiget", href)
    sync = ("d:sync-collection", "<d:sync-token/><d:sync-level>1</d:sync-level>")
    query = ("c:calendar-query", '<c:filter><c:comp-filter name="VCALENDAR"/></c:filter>')
    for method, root, extra in (
        ("PROPFIND", "d:propfind", ""),
        ("REPORT", *multiget),
        ("REPORT", *sync),
        ("REPORT", *query),
    ):
        body = _prop_body(root, over, extra)
        response = await alice.request(method, alice.calendar, body, Depth="1")
        assert response.status_code == 400, (root, response.text)
        assert f"at most {xml.MAX_PROPS} properties".encode() in response.content, response.text
        fine = await alice.request(
            method, alice.calendar, _prop_body(root, "<d:getetag/>", extra), Depth="1"
        )
        assert fine.status_code == 207, (root, fine.text)


async def test_a_body_of_many_properties_is_answered_quickly(client) -> None:
    """The outside attack: 80,000 properties in 480 KB, Depth 1 on a calendar of 20 events,
    answered with 10 MB in seconds of CPU before the bounds."""
    alice = await dav_for(client, "alice")
    for _ in range(20):
        await create_event(client, alice.account)
    many = "<d:getetag/>" * (xml.MAX_ELEMENTS - 3)  # as many as a body may hold
    distinct = "".join(f"<d:x{i}/>" for i in range(40_000))
    for inner, status in (
        (many, 207),
        ("<d:x/>" * 80_000, 400),
        ("<d:getetag/>" * 40_000, 400),
        (distinct, 400),
    ):
        started = time.perf_counter()
        body = _prop_body("d:propfind", inner)
        response = await alice.request("PROPFIND", alice.calendar, body, Depth="1")
        assert response.status_code == status, response.text
        assert len(response.content) < 20_000
        assert time.perf_counter() - started < budget(1)


async def test_a_listing_answers_each_item_as_its_own_propfind(client) -> None:
    """A listing writes the properties no item has once for all (props.describe_items): it
    answers what a PROPFIND of the item alone answers, property by property."""
    alice = await dav_for(client, "alice")
    event = await create_event(client, alice.account)
    item = f"{alice.calendar}event-{event['id']}.ics"
    names = [
        "d:getetag",
        "d:getcontenttype",
        "d:getlastmodified",
        "d:current-user-privilege-set",
        "c:calendar-data",
        "d:resourcetype",
        "d:displayname",
        "d:current-user-principal",
        "d:owner",
        "d:principal-URL",
        "d:principal-collection-set",
        "c:calendar-home-set",
        "cs:getctag",
        "d:sync-token",
        "c:supported-calendar-component-set",
        "d:x",
    ]
    others = ("d:resourcetype", "d:displayname", "d:current-user-principal")  # not listed fast
    for asked in (names, [n for n in names if n not in others]):
        alone = responses(
            (await alice.request("PROPFIND", item, propfind(*asked), Depth="0")).content
        )[item]
        listing = await alice.request("PROPFIND", alice.calendar, propfind(*asked), Depth="1")
        listed = responses(listing.content)[item]
        assert sorted(listed["props"]) == sorted(alone["props"]), asked
        assert sorted(listed["missing"]) == sorted(alone["missing"]), asked
        assert listed["props"][f"{D}getetag"].text == alone["props"][f"{D}getetag"].text
        assert f"{D}x" in listed["missing"] and f"{D}owner" in listed["missing"]


async def test_the_largest_multiget_fits_the_element_bound() -> None:
    hrefs = "".join(f"<d:href>/dav/calendars/a/events/{i}.ics</d:href>" for i in range(5_000))
    body = _prop_body("c:calendar-multiget", "<d:getetag/><c:calendar-data/>", hrefs)
    assert service.MAX_MULTIGET == 5_000 and len(body) < xml.MAX_XML_BYTES
    assert xml.parse(body.encode()) is not None


TEXT_QUERY = """<?xml version="1.0"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
    <c:prop-filter name="{name}"><c:text-match{attrs}>{text}</c:text-match></c:prop-filter>
  </c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""


async def test_text_match_on_model_and_client_properties(client) -> None:
    alice = await dav_for(client, "alice")
    await alice.put("a.ics", ics(uid="a", summary="Dentist", extra="CATEGORIES:Health,Family\r\n"))
    await alice.put("b.ics", ics(uid="b", summary="dentist appointment"))

    async def names(name: str, text: str, attrs: str = "") -> list[str]:
        body = TEXT_QUERY.format(name=name, text=text, attrs=attrs)
        response = await alice.request("REPORT", alice.calendar, body, Depth="1")
        assert response.status_code == 207, response.text
        return sorted(href.rsplit("/", 1)[-1] for href in responses(response.content))

    assert await names("SUMMARY", "DENTIST") == ["a.ics", "b.ics"]  # i;ascii-casemap
    assert await names("SUMMARY", "Dentist", ' collation="i;octet"') == ["a.ics"]
    assert await names("SUMMARY", "appointment", ' negate-condition="yes"') == ["a.ics"]
    assert await names("UID", "b") == ["b.ics"]
    assert await names("CATEGORIES", "health") == ["a.ics"]
    unknown = TEXT_QUERY.format(name="SUMMARY", text="x", attrs=' collation="i;klingon"')
    refused = await alice.request("REPORT", alice.calendar, unknown, Depth="1")
    assert refused.status_code == 403 and b"supported-collation" in refused.content


async def test_a_clash_refuses_nothing_and_the_write_reaches_the_other_holders_sync(
    app, client
) -> None:
    """A CalDAV write checks no schedule conflict (an app has no way to show the warning, and
    under `warn` a clash refuses nothing): neither a create, nor a move, nor an invitation
    reads the calendars' keys."""
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    busy = await create_event(
        client, alice.account, start_time="2026-03-10T08:30:00Z", end_time="2026-03-10T09:30:00Z"
    )
    with statements(app) as seen:
        created = await alice.put("clash.ics", ics())  # 09:00–10:00 Berlin: overlaps `busy`
        assert created.status_code == 201, created.text
        moved = await alice.put(
            "clash.ics",
            ics(extra=f"ATTENDEE:mailto:{bob.account.username}@example.com\n").replace(
                b"T090000", b"T084500"
            ),
        )
        assert moved.status_code == 204, moved.text
    assert seen and not any("AS held" in s for s in seen), seen
    [mine] = [
        e
        for e in (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
        if e["id"] != busy["id"]
    ]
    await share(client, alice.account, mine["id"], bob.account, "editor")
    before = (await client.get("/api/v1/sync", headers=alice.account.headers)).json()
    text = (await bob.request("GET", bob.calendar + "clash.ics")).content
    edited = await bob.put("clash.ics", text.replace(b"SUMMARY:Dentist", b"SUMMARY:Bob's edit"))
    assert edited.status_code == 204, edited.text
    delta = (
        await client.get(
            "/api/v1/sync", params={"token": before["next_token"]}, headers=alice.account.headers
        )
    ).json()
    assert [(c["op"], c["event_id"], c["event"]["title"]) for c in delta["changes"]] == [
        ("upsert", mine["id"], "Bob's edit")
    ]
    history = (
        await client.get(f"/api/v1/events/{mine['id']}/history", headers=alice.account.headers)
    ).json()["items"]
    assert (history[0]["version"], history[0]["changed_by"]["username"]) == (3, "bob")


async def test_listings_are_bounded_and_say_when_they_are_cut(client, monkeypatch) -> None:
    alice = await dav_for(client, "alice")
    for title in ("One", "Two", "Three"):
        await create_event(client, alice.account, title=title)
    monkeypatch.setattr("neo_events.caldav.listing.MAX_LISTED", 2)
    listing = await alice.request("PROPFIND", alice.calendar, propfind("d:getetag"), Depth="1")
    found = responses(listing.content)
    assert found[alice.calendar]["status"] == 507  # the collection: truncated
    assert len([h for h in found if h.endswith(".ics")]) == 2


async def test_a_large_body_is_parsed_off_the_event_loop(client) -> None:
    """An outside attack: one element of 55,000 attributes (490 KB; expat reads them all before
    any bound can count them) held the event loop 0.1-0.14 s parsing it."""
    alice = await dav_for(client, "alice")
    attributes = " ".join(f'a{i:x}=""' for i in range(55_000))
    body = f'<d:propfind xmlns:d="DAV:" {attributes}><d:prop><d:getetag/></d:prop></d:propfind>'
    async with loop_pauses() as pauses:
        response = await alice.request("PROPFIND", alice.calendar, body, Depth="0")
    assert response.status_code == 207, response.text
    assert pauses.worst_held < budget(0.05), pauses
