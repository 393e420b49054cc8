"""PROPPATCH (RFC 4918 §9.2) and MKCALENDAR: only the calendar's displayname changes (SPEC §15);
what is refused is refused per property, all or nothing, in the statuses RFC 4918 §9.2.1 names."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx
import pytest

from tests.caldav.dav import NS, Dav, dav_for, ics, propfind, responses

pytestmark = pytest.mark.anyio

D = "{DAV:}"
I = "{http://apple.com/ns/ical/}"  # noqa: E741


def update(*actions: tuple[str, str]) -> str:
    """A propertyupdate of (set|remove, inner XML) actions, in order."""
    body = "".join(f"<d:{verb}><d:prop>{inner}</d:prop></d:{verb}>" for verb, inner in actions)
    return (
        '<d:propertyupdate xmlns:d="DAV:" xmlns:i="http://apple.com/ns/ical/" '
        f'xmlns:cs="http://calendarserver.org/ns/">{body}</d:propertyupdate>'
    )


def outcome(response: httpx.Response) -> dict[str, tuple[int, list[str], str | None]]:
    """property → (status, the DAV:error's conditions, responsedescription) of a one-resource
    PROPPATCH answer."""
    assert response.status_code == 207, response.text
    [answer] = ET.fromstring(response.content).findall("d:response", NS)
    found = {}
    for propstat in answer.findall("d:propstat", NS):
        status = int((propstat.findtext("d:status", namespaces=NS) or "x 0").split()[1])
        error = propstat.find("d:error", NS)
        conditions = [c.tag for c in error] if error is not None else []
        why = propstat.findtext("d:responsedescription", namespaces=NS)
        for prop in propstat.find("d:prop", NS) or []:
            found[prop.tag] = (status, conditions, why)
    return found


async def name_of(alice: Dav) -> str:
    found = await alice.request("PROPFIND", alice.calendar, propfind("d:displayname"), Depth="0")
    return str(responses(found.content)[alice.calendar]["props"][f"{D}displayname"].text)


async def test_mkcalendar_is_refused_and_only_the_display_name_can_change(client) -> None:
    alice = await dav_for(client, "alice")
    made = await alice.request("MKCALENDAR", "/dav/calendars/alice/other/")
    assert made.status_code == 403 and b"calendar-collection-location-ok" in made.content
    mixed = await alice.request(
        "PROPPATCH",
        alice.calendar,
        update(
            ("set", "<d:displayname>Work</d:displayname><i:calendar-color>#f00</i:calendar-color>")
        ),
    )
    assert outcome(mixed) == {
        f"{I}calendar-color": (
            403,
            [],
            "Only the calendar's displayname can be changed; no other property is stored "
            "(SPEC §15).",
        ),
        f"{D}displayname": (424, [], None),
    }
    assert await name_of(alice) == "Neo Events"  # all or nothing
    renamed = await alice.request(
        "PROPPATCH", alice.calendar, update(("set", "<d:displayname>Work</d:displayname>"))
    )
    assert outcome(renamed) == {f"{D}displayname": (200, [], None)}
    assert await name_of(alice) == "Work"


async def test_what_clients_send_gets_the_rfc_4918_answer(client) -> None:
    alice = await dav_for(client, "alice")
    # Apple Calendar's and Thunderbird's colour and order: refused, nothing stored
    apple = await alice.request(
        "PROPPATCH",
        alice.calendar,
        update(
            (
                "set",
                "<i:calendar-color>#FF2968FF</i:calendar-color>"
                "<i:calendar-order>3</i:calendar-order>",
            )
        ),
    )
    assert {p: s for p, (s, _, _) in outcome(apple).items()} == {
        f"{I}calendar-color": 403,
        f"{I}calendar-order": 403,
    }
    read = await alice.request(
        "PROPFIND",
        alice.calendar,
        propfind("i:calendar-color").replace(
            'xmlns:d="DAV:"', 'xmlns:d="DAV:" xmlns:i="http://apple.com/ns/ical/"'
        ),
        Depth="0",
    )
    assert responses(read.content)[alice.calendar]["missing"] == [f"{I}calendar-color"]
    # what the server computes is protected, with the precondition RFC 4918 names
    protected = await alice.request(
        "PROPPATCH",
        alice.calendar,
        update(("set", '<d:getetag>"1"</d:getetag><cs:getctag>9</cs:getctag>')),
    )
    condition = [f"{D}cannot-modify-protected-property"]
    assert outcome(protected) == {
        f"{D}getetag": (403, condition, None),
        "{http://calendarserver.org/ns/}getctag": (403, condition, None),
    }
    # removing what is not there is no error (RFC 4918 §14.23); removing the name resets it
    await alice.request(
        "PROPPATCH", alice.calendar, update(("set", "<d:displayname>Work</d:displayname>"))
    )
    removed = await alice.request(
        "PROPPATCH",
        alice.calendar,
        update(("remove", "<i:calendar-color/><d:displayname/>")),
    )
    assert outcome(removed) == {
        f"{I}calendar-color": (200, [], None),
        f"{D}displayname": (200, [], None),
    }
    assert await name_of(alice) == "Neo Events"


async def test_a_name_the_calendar_cannot_take_is_a_conflict_and_changes_nothing(client) -> None:
    alice = await dav_for(client, "alice")
    # the first set would be fine alone: the request is all or nothing
    both = await alice.request(
        "PROPPATCH",
        alice.calendar,
        update(
            ("set", "<d:displayname>Work</d:displayname>"),
            ("set", "<d:displayname> </d:displayname>"),
        ),
    )
    assert outcome(both)[f"{D}displayname"][0] == 409
    assert await name_of(alice) == "Neo Events"
    long = await alice.request(
        "PROPPATCH", alice.calendar, update(("set", f"<d:displayname>{'x' * 201}</d:displayname>"))
    )
    assert outcome(long)[f"{D}displayname"][:2] == (409, [])
    assert await name_of(alice) == "Neo Events"


async def test_other_resources_and_bad_bodies(client) -> None:
    alice = await dav_for(client, "alice")
    set_name = update(("set", "<d:displayname>Home</d:displayname>"))
    home = await alice.request("PROPPATCH", "/dav/calendars/alice/", set_name)
    assert outcome(home)[f"{D}displayname"] == (403, [f"{D}cannot-modify-protected-property"], None)
    assert (await alice.put("dentist.ics", ics())).status_code == 201
    item = await alice.request("PROPPATCH", alice.calendar + "dentist.ics", set_name)
    assert outcome(item)[f"{D}displayname"][0] == 403
    missing = await alice.request("PROPPATCH", alice.calendar + "nothing.ics", set_name)
    assert missing.status_code == 404
    stranger = await alice.request("PROPPATCH", "/dav/calendars/bob/events/", set_name)
    assert stranger.status_code == 404
    empty = await alice.request("PROPPATCH", alice.calendar, '<d:propertyupdate xmlns:d="DAV:"/>')
    assert empty.status_code == 400 and b"<d:error" in empty.content
    wrong = await alice.request("PROPPATCH", alice.calendar, propfind("d:displayname"))
    assert wrong.status_code == 400


async def test_the_calendars_time_zone_is_the_accounts_and_set_there(client) -> None:
    """CALDAV:calendar-timezone (RFC 4791 §5.2.2) is the account's zone
    (`/auth/me/settings`): a PROPPATCH that sets it, or removes it once there, is a 403 saying
    where it is set; removing it while there is none is done (RFC 4918 §14.23)."""
    alice = await dav_for(client, "alice")
    zone = '<c:calendar-timezone xmlns:c="urn:ietf:params:xml:ns:caldav"/>'
    tag = "{urn:ietf:params:xml:ns:caldav}calendar-timezone"
    assert outcome(await alice.request("PROPPATCH", alice.calendar, update(("remove", zone)))) == {
        tag: (200, [], None)
    }
    settings = await client.patch(
        "/api/v1/auth/me/settings", json={"timezone": "Asia/Tokyo"}, headers=alice.account.headers
    )
    assert settings.status_code == 200, settings.text
    for verb in ("set", "remove"):
        status, _, why = outcome(
            await alice.request("PROPPATCH", alice.calendar, update((verb, zone)))
        )[tag]
        assert status == 403 and "/api/v1/auth/me/settings" in (why or ""), verb
    found = await alice.request(
        "PROPFIND", alice.calendar, propfind("c:calendar-timezone"), Depth="0"
    )
    value = responses(found.content)[alice.calendar]["props"][tag].text or ""
    assert "TZID:Asia/Tokyo" in value and value.startswith("BEGIN:VCALENDAR")
