"""VALARMs over CalDAV are each reader's own reminders (SPEC §14, §15): a PUT's VALARMs become
the writer's reminders, a GET or REPORT renders the reader's own, and a reader's ETag changes
when their reminders do."""

from __future__ import annotations

import httpx
import pytest
from icalendar import Calendar

from tests.api.test_reminders import put_reminders
from tests.caldav.dav import Dav, dav_for, ics, responses
from tests.caldav.test_protocol import QUERY
from tests.helpers import share

pytestmark = pytest.mark.anyio

ALARM = "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Reminder\nTRIGGER:-PT{m}M\nEND:VALARM\n"
MULTIGET = (
    '<?xml version="1.0"?><c:calendar-multiget xmlns:d="DAV:" '
    'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>'
    "<d:href>{href}</d:href></c:calendar-multiget>"
)


def triggers(text: bytes) -> list[str]:
    unfolded = text.replace(b"\r\n ", b"").decode()
    return sorted(line for line in unfolded.splitlines() if line.startswith("TRIGGER"))


async def mine(client: httpx.AsyncClient, who: Dav, event_id: int) -> list[int]:
    got = await client.get(f"/api/v1/events/{event_id}", headers=who.account.headers)
    return [r["minutes_before"] for r in got.json()["my_reminders"]]


async def multiget(who: Dav, href: str) -> tuple[str, bytes]:
    answer = await who.request("REPORT", who.calendar, MULTIGET.format(href=href), Depth="1")
    assert answer.status_code == 207, answer.text
    [entry] = responses(answer.content).values()
    props = entry["props"]
    etag = props["{DAV:}getetag"].text
    data = props["{urn:ietf:params:xml:ns:caldav}calendar-data"].text
    return etag, data.encode()


async def test_valarms_are_the_writers_reminders_and_each_reader_sees_their_own(
    client: httpx.AsyncClient,
) -> None:
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    put = await alice.put("dentist.ics", ics(extra=ALARM.format(m=15)))
    assert put.status_code == 201, put.text
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    event_id = item["id"]
    assert await mine(client, alice, event_id) == [15]
    await share(client, alice.account, event_id, bob.account, "editor")
    assert (await put_reminders(client, bob.account.headers, event_id, 60)).status_code == 200

    path = alice.calendar + "dentist.ics"
    got = await alice.request("GET", path)
    assert triggers(got.content) == ["TRIGGER:-PT15M"]
    bobs_path = bob.calendar + "dentist.ics"
    bobs = await bob.request("GET", bobs_path)
    assert bobs.status_code == 200, bobs.text
    assert triggers(bobs.content) == ["TRIGGER:-PT1H"]  # his own, never Alice's
    assert (await multiget(bob, bobs_path))[1].count(b"BEGIN:VALARM") == 1
    assert triggers((await multiget(bob, bobs_path))[1]) == ["TRIGGER:-PT1H"]

    # Alice changes hers through the API: her ETag and text change, Bob's do not
    alice_tag, bob_tag = got.headers["etag"], bobs.headers["etag"]
    assert (await put_reminders(client, alice.account.headers, event_id, 5, 30)).status_code == 200
    again = await alice.request("GET", path)
    assert again.headers["etag"] != alice_tag
    assert triggers(again.content) == ["TRIGGER:-PT30M", "TRIGGER:-PT5M"]
    assert (await multiget(alice, path))[0] == again.headers["etag"]
    assert (await alice.request("GET", path, **{"If-None-Match": alice_tag})).status_code == 200
    bob_again = await bob.request("GET", bobs_path)
    assert bob_again.headers["etag"] == bob_tag
    assert triggers(bob_again.content) == ["TRIGGER:-PT1H"]

    # Bob writes the event back without VALARMs: his reminders are gone, Alice's stay
    edited = await bob.put(bobs_path.rsplit("/", 1)[1], ics(summary="Dentist at 9"))
    assert edited.status_code == 204, edited.text
    assert await mine(client, bob, event_id) == []
    assert await mine(client, alice, event_id) == [5, 30]
    assert triggers((await bob.request("GET", bobs_path)).content) == []
    final = await alice.request("GET", path)
    assert b"SUMMARY:Dentist at 9" in final.content
    assert triggers(final.content) == ["TRIGGER:-PT30M", "TRIGGER:-PT5M"]


async def test_an_absolute_or_end_related_valarm_is_the_reminder_it_falls_as(
    client: httpx.AsyncClient,
) -> None:
    """An outside attack: such VALARMs were dropped, and the PUT still answered with an ETag
    as if the resource were kept as sent. Before a single event (09:00-10:00 Berlin), a
    date-time or an end-related TRIGGER is the reminder it falls as; one after the start,
    or at a date-time in a series (it goes off once), is not kept, and the answer carries no
    ETag, so the client reads what was kept (RFC 4791 §5.3.4)."""
    alice = await dav_for(client, "alice")
    absolute = (
        "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER;VALUE=DATE-TIME:20260310T070000Z\nEND:VALARM\n"
    )
    to_end = "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER;RELATED=END:-PT90M\nEND:VALARM\n"
    after = "BEGIN:VALARM\nACTION:AUDIO\nTRIGGER;RELATED=END:PT5M\nEND:VALARM\n"
    put = await alice.put("a.ics", ics(extra=absolute + to_end + after))
    assert put.status_code == 201, put.text
    assert "etag" not in put.headers
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert await mine(client, alice, item["id"]) == [30, 60]
    got = await alice.request("GET", alice.calendar + "a.ics")
    assert triggers(got.content) == ["TRIGGER:-PT1H", "TRIGGER:-PT30M"]
    assert b"RELATED=END" not in got.content
    series = ics(uid="s", extra="RRULE:FREQ=DAILY;COUNT=3\n" + absolute)
    assert (await alice.put("s.ics", series)).status_code == 201
    [item] = [
        i
        for i in (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
        if i["is_recurring"]
    ]
    assert await mine(client, alice, item["id"]) == []
    # a body kept as sent is answered with the ETag a GET gives
    plain = await alice.put("p.ics", ics(uid="p"))
    assert (
        plain.headers["etag"]
        == (await alice.request("GET", alice.calendar + "p.ics")).headers["etag"]
    )


async def test_an_expanded_query_carries_the_readers_reminders(client: httpx.AsyncClient) -> None:
    alice = await dav_for(client, "alice")
    daily = ics(extra="RRULE:FREQ=DAILY;COUNT=3\n" + ALARM.format(m=10))
    assert (await alice.put("daily.ics", daily)).status_code == 201
    expand = '<c:expand start="20260310T000000Z" end="20260312T000000Z"/>'
    answer = await alice.request(
        "REPORT",
        alice.calendar,
        QUERY.format(expand=expand, start="20260310T000000Z", end="20260312T000000Z"),
        Depth="1",
    )
    assert answer.status_code == 207, answer.text
    [entry] = responses(answer.content).values()
    text = entry["props"]["{urn:ietf:params:xml:ns:caldav}calendar-data"].text.encode()
    assert text.count(b"BEGIN:VEVENT") == 2
    assert triggers(text) == ["TRIGGER:-PT10M", "TRIGGER:-PT10M"]  # one in each occurrence


async def test_a_parameter_of_several_values_is_never_a_500(client: httpx.AsyncClient) -> None:
    """A review: `VALUE=DURATION,X` is a list where a word was read; a TRIGGER with it is not
    a reminder (noted), and a VEVENT property with it makes the resource unreadable."""
    alice = await dav_for(client, "alice")
    odd = "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER;VALUE=DURATION,X:-PT5M\nEND:VALARM\n"
    assert (await alice.put("a.ics", ics(extra=odd))).status_code == 201
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert await mine(client, alice, item["id"]) == []
    broken = await alice.put("b.ics", ics(uid="b", extra="SUMMARY;VALUE=TEXT,X:hi\n"))
    assert broken.status_code == 403, broken.text


async def test_an_alarm_in_any_spelling_is_the_writers_alone(client: httpx.AsyncClient) -> None:
    """A review: the stored text dropped only VALARMs whose BEGIN line was written exactly;
    one folded (or spaced) was both the writer's reminder and kept for every reader."""
    alice = await dav_for(client, "alice")
    bob = await dav_for(client, "bob")
    folded = "BEGIN:VAL\n ARM\nACTION:DISPLAY\nDESCRIPTION:secret\nTRIGGER:-PT7M\nEND:VALARM\n"
    spaced = "BEGIN :VALARM\nACTION:DISPLAY\nDESCRIPTION:secret\nTRIGGER:-PT9M\nEND:VALARM\n"
    assert (await alice.put("a.ics", ics(extra=folded + spaced))).status_code == 201
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert await mine(client, alice, item["id"]) == [7, 9]
    await share(client, alice.account, item["id"], bob.account, "viewer")
    seen = (await bob.request("GET", bob.calendar + "a.ics")).content
    assert b"secret" not in seen and b"VALARM" not in seen


SYNC_DATA = (
    '<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
    "<d:sync-token/><d:sync-level>1</d:sync-level>"
    "<d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>"
)


@pytest.mark.parametrize(
    "extra",
    [
        "X-NOTE:a\u2028END:VEVENT\n",  # str.splitlines cut here: a line "END:VEVENT"
        "X-NOTE:a\u2029END:VEVENT\n",
        "X-NOTE:a\x85END:VEVENT\n",
        "X-NOTE:a\n END:VEVENT\n",  # a fold: a continuation, not a line of its own
    ],
)
async def test_a_readers_alarms_go_only_before_the_vevents_end_whatever_its_text_holds(
    client: httpx.AsyncClient, extra: str
) -> None:
    """An outside attack: the owner's stored text held `X-NOTE:a<U+2028>END:VEVENT`; a
    reader's VALARMs were put before the piece after the U+2028 (`str.splitlines` cuts
    there), inside the X-NOTE value, and every answer of the reader's (GET, calendar-query,
    sync-collection) was no iCalendar."""
    alice, bob = await dav_for(client, "alice"), await dav_for(client, "bob")
    put = await alice.put("note.ics", ics(uid="note-1", summary="Team sync", extra=extra))
    assert put.status_code == 201, put.text
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    await share(client, alice.account, item["id"], bob.account, "viewer")
    assert (await put_reminders(client, bob.account.headers, item["id"], 10)).status_code == 200
    got = await bob.request("GET", bob.calendar + "note.ics")
    query = await bob.request(
        "REPORT",
        bob.calendar,
        QUERY.format(expand="", start="20260301T000000Z", end="20260401T000000Z"),
        Depth="1",
    )
    synced = await bob.request("REPORT", bob.calendar, SYNC_DATA)
    texts = [got.content]
    for answer in (query, synced):
        assert answer.status_code == 207, answer.text
        [entry] = responses(answer.content).values()
        texts.append(entry["props"]["{urn:ietf:params:xml:ns:caldav}calendar-data"].text.encode())
    for text in texts:
        calendar = Calendar.from_ical(text)
        [event] = calendar.walk("VEVENT")
        assert [str(a["TRIGGER"].to_ical().decode()) for a in event.walk("VALARM")] == ["-PT10M"]
        assert str(event["X-NOTE"]) == extra.split(":", 1)[1].rstrip("\n").replace("\n ", "")
    assert b"BEGIN:VALARM" not in (await alice.request("GET", alice.calendar + "note.ics")).content
