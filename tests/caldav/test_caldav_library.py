"""The `caldav` client library (PyPI) against a real server process: discover from the server
URL, create, search a time range, ask for free/busy, rename the calendar, edit, delete, and
sync by token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from caldav.elements import dav, ical

import caldav
from tests.caldav.live import Person, caldav_server, person

pytestmark = pytest.mark.slow

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Client test//EN
BEGIN:VEVENT
UID:lib-{n}@example.com
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Berlin:202603{day:02d}T090000
DTEND;TZID=Europe/Berlin:202603{day:02d}T100000
SUMMARY:Library event {n}
END:VEVENT
END:VCALENDAR
"""


def test_discover_create_search_edit_delete_sync(database_url: str, data_dir: Path) -> None:
    with caldav_server(database_url, data_dir) as base:
        alice = person(base, "alice")
        with caldav.DAVClient(
            url=base, username="alice", password=alice.password, require_tls=False
        ) as client:
            principal = client.principal()  # /.well-known/caldav → principal → home
            [calendar] = principal.calendars()
            assert calendar.url.path == "/dav/calendars/alice/events/"
            assert calendar.get_supported_components() == ["VEVENT"]

            first = calendar.save_event(EVENT.format(n=1, day=10))
            calendar.save_event(EVENT.format(n=2, day=20))
            token = calendar.objects_by_sync_token(load_objects=False).sync_token

            found = calendar.search(
                start=datetime(2026, 3, 9, tzinfo=UTC),
                end=datetime(2026, 3, 11, tzinfo=UTC),
                event=True,
            )
            assert [e.icalendar_component["SUMMARY"] for e in found] == ["Library event 1"]
            # free/busy (RFC 4791 §7.10): 09:00-10:00 in Berlin, in UTC
            busy = calendar.freebusy_request(
                datetime(2026, 3, 9, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)
            )
            [period] = busy.icalendar_instance.walk("VFREEBUSY")
            assert b":20260310T080000Z/20260310T090000Z" in period.to_ical()

            # the name can change (PROPPATCH); a colour is not kept, and says so per property
            calendar.set_properties([dav.DisplayName("Work")])
            calendar.set_properties([ical.CalendarColor("#FF2968FF")])
            [again] = client.principal().calendars()
            assert again.get_display_name() == "Work"
            colour = again.get_properties([ical.CalendarColor()])
            assert colour.get(ical.CalendarColor.tag) is None

            first.load()
            first.icalendar_component["SUMMARY"] = "Library event 1, edited"
            first.save()

            [second] = calendar.search(
                start=datetime(2026, 3, 19, tzinfo=UTC),
                end=datetime(2026, 3, 21, tzinfo=UTC),
                event=True,
            )
            second.delete()

            changed = calendar.objects_by_sync_token(sync_token=token, load_objects=True)
            by_url = {str(o.url.path): o for o in changed}
            assert by_url[first.url.path].icalendar_component["SUMMARY"] == (
                "Library event 1, edited"
            )
            assert second.url.path in by_url  # deleted: listed so the client drops it
            assert calendar.event_by_uid("lib-1@example.com").url.path == first.url.path

        events = httpx.get(f"{base}/api/v1/events", headers=alice.headers).json()["items"]
        assert [(e["title"], e["version"]) for e in events] == [("Library event 1, edited", 2)]
        history = httpx.get(
            f"{base}/api/v1/events/{events[0]['id']}/history", headers=alice.headers
        ).json()["items"]
        assert [v["changed_by"]["username"] for v in history] == ["alice", "alice"]


ALARMED = EVENT.replace(
    "END:VEVENT",
    "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Reminder\nTRIGGER:-PT15M\nEND:VALARM\nEND:VEVENT",
)


def _triggers(event: caldav.Event) -> list[str]:
    alarms = event.icalendar_component.walk("VALARM")
    return sorted(a["TRIGGER"].to_ical().decode() for a in alarms)


def test_valarms_are_each_readers_own_reminders(database_url: str, data_dir: Path) -> None:
    with caldav_server(database_url, data_dir) as base:
        alice, bob = person(base, "alice"), person(base, "bob")
        with (
            caldav.DAVClient(url=base, username="alice", password=alice.password) as as_alice,
            caldav.DAVClient(url=base, username="bob", password=bob.password) as as_bob,
        ):
            [calendar] = as_alice.principal().calendars()
            saved = calendar.save_event(ALARMED.format(n=1, day=10))
            [event] = httpx.get(f"{base}/api/v1/events", headers=alice.headers).json()["items"]
            mine = httpx.get(f"{base}/api/v1/events/{event['id']}", headers=alice.headers)
            assert mine.json()["my_reminders"] == [{"minutes_before": 15}]
            shared = httpx.post(
                f"{base}/api/v1/events/{event['id']}/share",
                json={"users": [{"user_id": _user_id(base, bob), "role": "editor"}]},
                headers=alice.headers,
            )
            assert shared.status_code == 200, shared.text
            [bobs_calendar] = as_bob.principal().calendars()
            bobs = bobs_calendar.event_by_uid("lib-1@example.com")
            assert _triggers(bobs) == []  # not Alice's alarm
            bob_tag = _etag(as_bob, bobs.url)

            saved.load()
            alice_tag = _etag(as_alice, saved.url)
            changed = httpx.put(
                f"{base}/api/v1/events/{event['id']}/reminders",
                json={"reminders": [{"minutes_before": 30}]},
                headers=alice.headers,
            )
            assert changed.status_code == 200, changed.text
            assert _etag(as_alice, saved.url) != alice_tag
            saved.load()
            assert _triggers(saved) == ["-PT30M"]
            assert _etag(as_bob, bobs.url) == bob_tag


def _user_id(base: str, who: Person) -> int:
    me = httpx.get(f"{base}/api/v1/auth/me", headers=who.headers)
    assert me.status_code == 200, me.text
    return int(me.json()["id"])


def _etag(client: caldav.DAVClient, url: object) -> str:
    answer = client.request(str(url), "GET")
    return str(answer.headers["etag"])


INVITATION = EVENT.replace(
    "END:VEVENT",
    "ORGANIZER;CN=alice:mailto:alice@example.com\n"
    "ATTENDEE;CN=alice;PARTSTAT=ACCEPTED:mailto:alice@example.com\n"
    "ATTENDEE;CN=bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com\nEND:VEVENT",
)


BOB_TO_OTHERS = "bob@users.neo-events.invalid"  # how an export names bob to anyone else


def _answers(event: caldav.Event) -> dict[str, str]:
    found = event.icalendar_component.get("attendee")
    listed = found if isinstance(found, list) else [found]
    return {str(a).removeprefix("mailto:"): str(a.params["PARTSTAT"]) for a in listed}


def test_attendees_are_invitations_and_answers_go_both_ways(
    database_url: str, data_dir: Path
) -> None:
    with caldav_server(database_url, data_dir) as base:
        alice, bob = person(base, "alice"), person(base, "bob")
        with (
            caldav.DAVClient(url=base, username="alice", password=alice.password) as as_alice,
            caldav.DAVClient(url=base, username="bob", password=bob.password) as as_bob,
        ):
            [calendar] = as_alice.principal().calendars()
            saved = calendar.save_event(INVITATION.format(n=1, day=10))
            [invited] = httpx.get(f"{base}/api/v1/invitations", headers=bob.headers).json()["items"]
            assert invited["title"] == "Library event 1"
            assert invited["my_response"] == "needs_action"
            tag = _etag(as_alice, saved.url)

            # bob answers through the API: alice's client sees a new ETag and his answer
            answered = httpx.put(
                f"{base}/api/v1/events/{invited['id']}/rsvp",
                json={"response": "accepted"},
                headers=bob.headers,
            )
            assert answered.status_code == 200, answered.text
            assert _etag(as_alice, saved.url) != tag
            saved.load()
            # to alice, bob is named by username, not by his email (hers is her own)
            assert _answers(saved) == {
                "alice@example.com": "ACCEPTED",
                BOB_TO_OTHERS: "ACCEPTED",
            }

            # bob's own client declines: his PARTSTAT is his RSVP, no new version
            [bobs_calendar] = as_bob.principal().calendars()
            bobs = bobs_calendar.event_by_uid("lib-1@example.com")
            for attendee in bobs.icalendar_component["attendee"]:
                if str(attendee) == "mailto:bob@example.com":
                    attendee.params["PARTSTAT"] = "DECLINED"
            bobs.save()
            event = httpx.get(f"{base}/api/v1/events/{invited['id']}", headers=alice.headers)
            assert event.json()["version"] == 1
            assert {a["username"]: a["response"] for a in event.json()["attendees"]} == {
                "alice": "accepted",
                "bob": "declined",
            }
            saved.load()
            assert _answers(saved)[BOB_TO_OTHERS] == "DECLINED"


WEEKLY_INVITATION = INVITATION.replace("UID:lib-{n}", "UID:weekly-{n}").replace(
    "END:VEVENT", "RRULE:FREQ=WEEKLY;COUNT=4\nEND:VEVENT"
)


def _declined_occurrence(master: icalendar.Event, day: int) -> icalendar.Event:
    """One occurrence of the master as Apple Calendar or Thunderbird write it to decline
    just that one: a RECURRENCE-ID copy, bob's PARTSTAT changed."""
    berlin = ZoneInfo("Europe/Berlin")
    copy = icalendar.Event()
    for name in ("UID", "DTSTAMP", "SUMMARY", "ORGANIZER"):
        copy.add(name, master[name])
    copy.add("recurrence-id", datetime(2026, 3, day, 9, tzinfo=berlin))
    copy.add("dtstart", datetime(2026, 3, day, 9, tzinfo=berlin))
    copy.add("dtend", datetime(2026, 3, day, 10, tzinfo=berlin))
    for attendee in master["attendee"]:
        line = icalendar.vCalAddress(str(attendee))
        line.params.update(attendee.params)
        if str(attendee) == "mailto:bob@example.com":
            line.params["PARTSTAT"] = "DECLINED"
        copy.add("attendee", line)
    return copy


def test_declining_one_occurrence_in_a_client_is_the_apis_occurrence_answer(
    database_url: str, data_dir: Path
) -> None:
    with caldav_server(database_url, data_dir) as base:
        alice, bob = person(base, "alice"), person(base, "bob")
        with (
            caldav.DAVClient(url=base, username="alice", password=alice.password) as as_alice,
            caldav.DAVClient(url=base, username="bob", password=bob.password) as as_bob,
        ):
            [calendar] = as_alice.principal().calendars()
            calendar.save_event(WEEKLY_INVITATION.format(n=1, day=10))
            [invited] = httpx.get(f"{base}/api/v1/invitations", headers=bob.headers).json()["items"]

            # bob's client declines 17 March only (09:00 Berlin, 08:00 UTC)
            [bobs_calendar] = as_bob.principal().calendars()
            bobs = bobs_calendar.event_by_uid("weekly-1@example.com")
            bobs.icalendar_instance.add_component(
                _declined_occurrence(bobs.icalendar_component, 17)
            )
            bobs.save()

            event = httpx.get(f"{base}/api/v1/events/{invited['id']}", headers=bob.headers)
            assert event.json()["version"] == 1 and event.json()["overrides"] == []
            assert event.json()["my_response"] == "needs_action"
            window = {"start_time": "2026-03-09T00:00:00Z", "end_time": "2026-03-25T00:00:00Z"}
            listed = httpx.get(f"{base}/api/v1/events", params=window, headers=bob.headers)
            assert {i["recurrence_id"]: i["my_response"] for i in listed.json()["items"]} == {
                "2026-03-10T08:00:00Z": "needs_action",
                "2026-03-17T08:00:00Z": "declined",
                "2026-03-24T08:00:00Z": "needs_action",
            }
            bob_id = _user_id(base, bob)
            free = httpx.get(
                f"{base}/api/v1/freebusy",
                params={**window, "user_ids": str(bob_id)},
                headers=alice.headers,
            )
            assert free.status_code == 200, free.text
            busy = [b["start"] for b in free.json()["calendars"][str(bob_id)]["busy"]]
            assert busy == ["2026-03-10T08:00:00Z", "2026-03-24T08:00:00Z"]  # free on the 17th

            # alice's client sees bob's answer on that occurrence, expanded or not
            alices = calendar.event_by_uid("weekly-1@example.com")
            [occurrence] = [
                c for c in alices.icalendar_instance.walk("VEVENT") if "RECURRENCE-ID" in c
            ]
            assert _answers_of(occurrence)[BOB_TO_OTHERS] == "DECLINED"
            assert _answers(alices)[BOB_TO_OTHERS] == "NEEDS-ACTION"
            expanded = calendar.search(
                start=datetime(2026, 3, 9, tzinfo=UTC),
                end=datetime(2026, 3, 25, tzinfo=UTC),
                event=True,
                expand=True,
                server_expand=True,
            )
            answers = {
                e.icalendar_component.decoded("RECURRENCE-ID").astimezone(UTC).day: _answers(e)[
                    BOB_TO_OTHERS
                ]
                for e in expanded
            }
            assert answers == {10: "NEEDS-ACTION", 17: "DECLINED", 24: "NEEDS-ACTION"}

            # bob's client saves what it has again: nothing changes
            bobs.load()
            bobs.save()
            again = httpx.get(f"{base}/api/v1/events/{invited['id']}", headers=bob.headers)
            assert again.json()["version"] == 1
            changelog = httpx.get(
                f"{base}/api/v1/events/{invited['id']}/changelog", headers=alice.headers
            ).json()["items"]
            assert [e["change_type"] for e in changelog].count("responded") == 1


def _answers_of(component: icalendar.Event) -> dict[str, str]:
    found = component.get("attendee")
    listed = found if isinstance(found, list) else [found]
    return {str(a).removeprefix("mailto:"): str(a.params["PARTSTAT"]) for a in listed}


def test_one_uid_from_two_apps_is_never_twice_in_one_calendar(
    database_url: str, data_dir: Path
) -> None:
    """Alice's and Bob's apps each make an event of one UID (each is checked in its own
    calendar); Bob shares his with Alice. Her calendar serves his under its own UID, so her
    app keeps both apart, and what she edits there is his event, still of his UID to him."""
    twin = EVENT.format(n=7, day=10)
    with caldav_server(database_url, data_dir) as base:
        alice, bob = person(base, "alice"), person(base, "bob")
        login = {"url": base, "require_tls": False}
        with caldav.DAVClient(username="alice", password=alice.password, **login) as client:
            [hers] = client.principal().calendars()
            mine = hers.save_event(twin)
        with caldav.DAVClient(username="bob", password=bob.password, **login) as client:
            [his] = client.principal().calendars()
            his.save_event(twin.replace("Library event 7", "Bob's"))
        [bobs] = httpx.get(f"{base}/api/v1/events", headers=bob.headers).json()["items"]
        alice_id = httpx.get(f"{base}/api/v1/auth/me", headers=alice.headers).json()["id"]
        shared = httpx.post(
            f"{base}/api/v1/events/{bobs['id']}/share",
            json={"users": [{"user_id": alice_id, "role": "editor"}]},
            headers=bob.headers,
        )
        assert shared.status_code == 200, shared.text
        with caldav.DAVClient(username="alice", password=alice.password, **login) as client:
            [hers] = client.principal().calendars()
            events = hers.events()
            uids = sorted(str(e.icalendar_component["UID"]) for e in events)
            assert uids == [f"event-{bobs['id']}@neo-events", "lib-7@example.com"]
            assert hers.event_by_uid("lib-7@example.com").url.path == mine.url.path
            his_there = hers.event_by_uid(f"event-{bobs['id']}@neo-events")
            his_there.icalendar_component["SUMMARY"] = "Bob's, moved by Alice"
            his_there.save()
        with caldav.DAVClient(username="bob", password=bob.password, **login) as client:
            [his] = client.principal().calendars()
            [own] = his.events()
            assert str(own.icalendar_component["UID"]) == "lib-7@example.com"
            assert str(own.icalendar_component["SUMMARY"]) == "Bob's, moved by Alice"
