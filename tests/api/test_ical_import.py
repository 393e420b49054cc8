"""iCalendar in (SPEC §10): POST /events/import creates a file's events atomically through the
normal create path; real-world files from many programs; export then import round trips."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from neo_events.ical import importing
from tests.api.test_ical_export import WINDOWS, _listed, create_sample_calendar
from tests.helpers import Account, assert_problem, audit_actions, count_rows, register

pytestmark = pytest.mark.anyio

API = "/api/v1"
IMPORT = f"{API}/events/import"
SAMPLES = Path(__file__).parents[1] / "fixtures" / "ics"
CALENDAR = {"content-type": "text/calendar"}


def ics(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + "".join(events)
            + "END:VCALENDAR\r\n").encode()  # fmt: skip


def vevent(uid: str, *lines: str) -> str:
    return "".join(f"{line}\r\n" for line in ("BEGIN:VEVENT", f"UID:{uid}", *lines, "END:VEVENT"))


MEETING = vevent(
    "m1",
    "SUMMARY:Planning",
    "DESCRIPTION:Quarterly",
    "LOCATION:Room 4",
    "DTSTART;TZID=Europe/Berlin:20260316T090000",
    "DTEND;TZID=Europe/Berlin:20260316T100000",
    "RRULE:FREQ=WEEKLY;COUNT=4",
    "EXDATE;TZID=Europe/Berlin:20260323T090000",
)
TODO = "BEGIN:VTODO\r\nUID:t1\r\nSUMMARY:Chores\r\nEND:VTODO\r\n"
HOLIDAY = vevent("h1", "SUMMARY:Holiday", "DTSTART;VALUE=DATE:20261225")


async def post(
    client: httpx.AsyncClient, who: Account, body: bytes, **params: str
) -> httpx.Response:
    return await client.post(IMPORT, content=body, params=params, headers=who.headers | CALENDAR)


async def test_import_creates_each_event_like_a_normal_create(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    response = await post(client, alice, ics(MEETING, TODO, HOLIDAY))
    assert response.status_code == 201, response.text
    body = response.json()
    series, holiday = body["items"]
    assert series["ical_uid"] == "m1" and holiday["ical_uid"] == "h1"
    assert {k: series[k] for k in ("title", "description", "location", "timezone")} == {
        "title": "Planning", "description": "Quarterly", "location": "Room 4",
        "timezone": "Europe/Berlin",
    }  # fmt: skip
    assert (series["start_time"], series["recurrence_pattern"], series["exdates"]) == (
        "2026-03-16T08:00:00Z",
        "FREQ=WEEKLY;COUNT=4",
        ["2026-03-23T08:00:00Z"],
    )
    assert (holiday["start_time"], holiday["end_time"]) == (
        "2026-12-25T00:00:00Z",
        "2026-12-26T00:00:00Z",
    )
    assert all(i["version"] == 1 and i["my_role"] == "owner" for i in body["items"])
    assert body["skipped"] == [
        {
            "uid": "t1",
            "component": "VTODO",
            "line": 14,
            "reason": "VTODO is not an event: only VEVENTs are imported",
        }
    ]
    assert body["warnings"] == []
    # version 1, an audit row and a change-feed row per event, plus one row for the import
    ids = [i["id"] for i in body["items"]]
    for event_id in ids:
        assert await count_rows(app, "event_versions", event_id=event_id, version=1) == 1
        assert await count_rows(app, "changes", event_id=event_id, type="event.created") == 1
    assert [a for a, _ in await audit_actions(app) if a.startswith("event.")] == [
        "event.created",
        "event.created",
        "event.imported",
    ]
    fetched = await client.get(f"{API}/events/{ids[0]}", headers=alice.headers)
    assert fetched.json()["title"] == "Planning" and fetched.headers["etag"] == '"1"'


async def test_import_takes_a_multipart_file_upload(
    client: httpx.AsyncClient, alice: Account
) -> None:
    response = await client.post(
        IMPORT, files={"file": ("cal.ics", ics(HOLIDAY), "text/calendar")}, headers=alice.headers
    )
    assert response.status_code == 201, response.text
    assert [i["title"] for i in response.json()["items"]] == ["Holiday"]
    no_file = await client.post(IMPORT, files={"other": ("x", b"x")}, headers=alice.headers)
    assert assert_problem(no_file, 422, "validation_error")["errors"] == [
        {"loc": ["file"], "msg": "send the calendar as field `file`"}
    ]


async def test_floating_and_all_day_times_use_the_timezone_parameter(
    client: httpx.AsyncClient, alice: Account
) -> None:
    floating = vevent("f1", "SUMMARY:Float", "DTSTART:20260701T090000", "DURATION:PT30M")
    response = await post(client, alice, ics(floating, HOLIDAY), timezone="America/New_York")
    first, second = response.json()["items"]
    assert (first["start_time"], first["timezone"]) == ("2026-07-01T13:00:00Z", "America/New_York")
    assert second["start_time"] == "2026-12-25T05:00:00Z"
    bad = await post(client, alice, ics(floating), timezone="Mars/Olympus")
    problem = assert_problem(bad, 422, "validation_error")
    assert problem["errors"][0]["loc"] == ["query", "timezone"]


async def test_other_media_types_are_refused(client: httpx.AsyncClient, alice: Account) -> None:
    for headers in ({"content-type": "application/json"}, {}):
        response = await client.post(IMPORT, content=b'{"a": 1}', headers=alice.headers | headers)
        assert_problem(response, 415, "unsupported_media_type")
    as_json = await client.post(IMPORT, json={"events": []}, headers=alice.headers)
    assert_problem(as_json, 415, "unsupported_media_type")
    assert_problem(await client.post(IMPORT, content=ics(HOLIDAY), headers=CALENDAR), 401,
                   "not_authenticated")  # fmt: skip


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "line 1: the file is empty: expected BEGIN:VCALENDAR"),
        (b"not a calendar", "line 1: expected BEGIN:VCALENDAR (is this an iCalendar file?)"),
        (ics(vevent("x", "DTSTART:20260101T000000Z")).replace(b"END:VEVENT", b"END:VTODO"),
         "line 7: END:VTODO closes BEGIN:VEVENT of line 4"),
    ],
)  # fmt: skip
async def test_a_malformed_file_is_a_422_saying_where_and_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, body: bytes, detail: str
) -> None:
    response = await post(client, alice, body)
    problem = assert_problem(response, 422, "invalid_calendar")
    assert problem["detail"] == f"The calendar cannot be read: {detail}"
    assert await count_rows(app, "events") == 0
    assert [a for a, _ in await audit_actions(app) if a != "register"] == []


async def test_a_body_over_the_limit_is_a_413(client: httpx.AsyncClient, alice: Account) -> None:
    filler = vevent("big", "DTSTART:20260101T000000Z", "DESCRIPTION:" + "x" * 70, "DURATION:PT1H")
    response = await post(client, alice, ics(*[filler.replace("UID:big", f"UID:{n}")
                                              for n in range(12_000)]))  # fmt: skip
    assert_problem(response, 413, "payload_too_large")


async def test_an_import_is_all_or_nothing(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after some events were written (the database going away, say) leaves none:
    here just after the events' VALARMs were written as reminders, all events and their
    reminders in."""
    real_set, calls = importing.reminders.set_new_reminders, []

    async def failing_set(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        await real_set(*args, **kwargs)
        raise ConnectionResetError("the database went away")

    monkeypatch.setattr(importing.reminders, "set_new_reminders", failing_set)
    alarm = ("BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT10M", "END:VALARM")
    holidays = [vevent(f"h{n}", "SUMMARY:Holiday", "DTSTART;VALUE=DATE:20261225", *alarm)
                for n in range(5)]  # fmt: skip
    response = await post(client, alice, ics(*holidays))
    assert_problem(response, 500, "internal_error")
    assert len(calls) == 1
    for table in ("events", "event_versions", "changes", "event_permissions", "reminders"):
        assert await count_rows(app, table) == 0, table
    assert [a for a, _ in await audit_actions(app) if a != "register"] == []


async def test_too_many_events_are_refused_before_anything_is_written(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "MAX_IMPORT_EVENTS", 2)
    holidays = [HOLIDAY.replace("UID:h1", f"UID:h{n}") for n in range(3)]
    assert_problem(await post(client, alice, ics(*holidays)), 422, "too_many_events")
    assert await count_rows(app, "events") == 0


async def test_an_idempotency_key_replays_the_first_import(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    headers = alice.headers | CALENDAR | {"Idempotency-Key": "import-1"}
    first = await client.post(IMPORT, content=ics(MEETING), headers=headers)
    again = await client.post(IMPORT, content=ics(MEETING), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert await count_rows(app, "events") == 1
    other = await client.post(IMPORT, content=ics(HOLIDAY), headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")


async def test_import_does_not_check_schedule_conflicts(
    client: httpx.AsyncClient, alice: Account
) -> None:
    twice = ics(HOLIDAY, HOLIDAY.replace("UID:h1", "UID:h2"))
    response = await post(client, alice, twice, conflicts="reject")
    assert response.status_code == 201 and len(response.json()["items"]) == 2
    assert "conflicts" not in response.json()["items"][0]


# Real-world files (tests/fixtures/ics, README there): what each import creates and skips.
# `skipped` counts the components not imported, by kind; our choices where the samples
# README leaves one open: cancelled events are not imported, RDATEs are occurrences of
# their series (before DTSTART, single events), a VEVENT repeated with the same UID is
# imported once.
SAMPLE_OUTCOMES: dict[str, tuple[int, dict[str, int]]] = {
    "google-recurring-moved-and-cancelled.ics": (58, {}),  # 64 VEVENTs, 6 are overrides
    "google-moved-timed-and-allday-instances.ics": (2, {}),
    "google-last-friday-monthly-moved.ics": (1, {}),
    "google-weekly-across-us-dst-end.ics": (13, {}),
    "exchange2010-allday-biweekly-moved-windows-tz.ics": (2, {}),
    "outlook2007-custom-vtimezone-weekly.ics": (1, {}),
    "outlook2003-custom-vtimezone-daily-weekdays.ics": (1, {}),
    "officeholidays-outlook-allday-159-events.ics": (159, {}),
    "apple-macos-status-tzid-without-vtimezone.ics": (3, {"VEVENT": 1}),  # STATUS:CANCELLED
    "apple-ios-structured-location.ics": (1, {}),
    "apple-ical2-large-370-events.ics": (370, {}),
    "thunderbird-events-with-todos.ics": (1, {"VTODO": 3}),
    "sunbird-floating-events-and-todos.ics": (90, {"VTODO": 18, "VEVENT": 1}),  # 1 cancelled
    "tvcountdown-floating-with-x-wr-timezone.ics": (26, {"VEVENT": 1}),  # the duplicate
    "davx5-rdate-exdate-until-utc.ics": (1, {}),  # a series with an RDATE
    "dataical-rdate-only-series.ics": (1, {}),  # DTSTART and 11 RDATEs: one series
    "nextcloud-allday-yearly-alarms.ics": (1, {}),
    "mozilla-monthly-bysetpos.ics": (1, {}),
    "odd-exchange2010-windows-tzids-quoted-dtstart.ics": (3, {"VEVENT": 1}),  # empty DTSTART
    "odd-exchange-cdo-byday-with-spaces.ics": (1, {}),
    "odd-exchange2010-empty-tzid.ics": (1, {}),
    "odd-phpicalendar-mixed-sources-bysetpos.ics": (14, {"VTODO": 3, "VEVENT": 1}),  # bad DTEND
    "odd-mozilla-multiple-vcalendars-folded-names.ics": (52, {}),
    "odd-sunbird-todo-with-negative-year.ics": (6, {"VTODO": 3, "VEVENT": 1}),  # 1 cancelled
}


@pytest.mark.parametrize("name", sorted(SAMPLE_OUTCOMES))
async def test_real_world_files_import_as_expected(
    app: FastAPI, client: httpx.AsyncClient, alice: Account, name: str
) -> None:
    created, skipped = SAMPLE_OUTCOMES[name]
    response = await post(client, alice, (SAMPLES / name).read_bytes())
    assert response.status_code == 201, response.text
    body = response.json()
    assert len(body["items"]) == created
    assert Counter(s["component"] for s in body["skipped"]) == Counter(skipped)
    assert await count_rows(app, "events") == created
    assert await count_rows(app, "changes") == created


async def test_a_readable_file_without_an_event_to_import_is_refused(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """A file read whole in which nothing can be imported (only a to-do, or only events the
    create rules refuse) is a 422 naming each component's reason, and writes nothing: an
    import that made nothing is no success (the samples' "reject"; it was a 201 with no
    items, which an outside attack found misleading)."""
    secondly = vevent(
        "s1", "DTSTART:20260302T090000Z", "DTEND:20260302T090001Z", "RRULE:FREQ=SECONDLY"
    )
    for body, reason in ((ics(TODO), "VTODO of line"), (ics(secondly), "VEVENT of line")):
        problem = assert_problem(await post(client, alice, body), 422, "nothing_to_import")
        assert len(problem["errors"]) == 1 and reason in problem["errors"][0]["msg"], problem
        assert reason in problem["detail"], problem
    assert [a for a, _ in await audit_actions(app) if a.startswith("event.")] == []
    assert await count_rows(app, "events") == 0


async def test_a_file_with_nothing_readable_is_rejected(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    body = (SAMPLES / "bad-outlook2003-freebusy-invalid-dates.ics").read_bytes()
    problem = assert_problem(await post(client, alice, body), 422, "invalid_calendar")
    assert problem["detail"] == (
        "The calendar cannot be read: the VFREEBUSY of line 4 cannot be read: "
        "line 5 (DTSTAMP): Wrong datetime format: 2006717T080000Z"
    )
    assert problem["line"] == 4
    assert await count_rows(app, "events") == 0


async def test_google_moved_and_cancelled_instances_survive(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = (SAMPLES / "google-recurring-moved-and-cancelled.ics").read_bytes()
    items = (await post(client, alice, body)).json()["items"]
    [cafe] = [i for i in items if i["ical_uid"].startswith("52uuaoru")]
    # last Saturdays at 11:00 Berlin, two cancelled, two moved a week earlier
    assert cafe["exdates"] == ["2018-07-28T09:00:00Z", "2018-08-25T09:00:00Z"]
    assert [{k: v for k, v in o.items() if v} for o in cafe["overrides"]] == [
        {"recurrence_id": "2018-09-29T09:00:00Z", "start_time": "2018-09-22T09:00:00Z"},
        {"recurrence_id": "2018-10-27T09:00:00Z", "start_time": "2018-10-20T09:00:00Z"},
    ]
    # the series ends (UNTIL) in November, when another series of that name begins
    listed = await _listed(client, alice, "2018-06-01T00:00:00Z", "2018-11-10T00:00:00Z")
    cafe_dates = [start.date().isoformat() for start, _, title in listed if title == cafe["title"]]
    assert cafe_dates == ["2018-06-30", "2018-09-22", "2018-10-20"]


async def test_an_outlook_custom_zone_keeps_its_wall_clock_across_dst(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = (SAMPLES / "outlook2003-custom-vtimezone-daily-weekdays.ics").read_bytes()
    response = await post(client, alice, body)
    [standup] = response.json()["items"]
    assert standup["timezone"] == "Australia/Sydney"
    assert "(same offsets)" in response.json()["warnings"][0]["message"]
    listed = await _listed(client, alice, "2009-04-02T00:00:00Z", "2009-04-08T00:00:00Z")
    # 09:30 in Sydney on Fri 3 April (+11:00), then Mon–Wed (+10:00): weekdays only
    assert [start.isoformat() for start, *_ in listed] == [
        "2009-04-02T22:30:00+00:00",
        "2009-04-05T23:30:00+00:00",
        "2009-04-06T23:30:00+00:00",
        "2009-04-07T23:30:00+00:00",
    ]


async def test_an_all_day_yearly_series_is_midnight_to_midnight(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = (SAMPLES / "nextcloud-allday-yearly-alarms.ics").read_bytes()
    [event] = (await post(client, alice, body)).json()["items"]
    assert event["recurrence_pattern"].startswith("FREQ=YEARLY")
    listed = await _listed(client, alice, "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z")
    [(start, end, _)] = listed
    assert (start.hour, start.minute, (end - start).days) == (0, 0, 1)


async def test_export_then_import_reproduces_the_same_occurrences(
    client: httpx.AsyncClient, alice: Account
) -> None:
    await create_sample_calendar(client, alice)
    token = (await client.post(f"{API}/feed-tokens", headers=alice.headers)).json()["token"]
    exported = await client.get(f"{API}/calendar.ics", params={"token": token})
    bob = await register(client, "bob")
    response = await post(client, bob, exported.content)
    assert response.status_code == 201 and response.json()["skipped"] == []
    assert response.json()["warnings"] == []
    for start, end in WINDOWS:
        theirs = await _listed(client, bob, start, end)
        assert theirs == await _listed(client, alice, start, end) and theirs
    # the event's own export imports the same way
    [weekly] = [i for i in response.json()["items"] if i["title"] == "Weekly"]
    single = await client.get(f"{API}/events/{weekly['id']}.ics", headers=bob.headers)
    again = (await post(client, alice, single.content)).json()["items"]
    assert [(i["exdates"], i["overrides"]) for i in again] == [
        (weekly["exdates"], weekly["overrides"])
    ]


async def test_a_duration_adds_hours_exactly_across_a_dst_change(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = ics(
        vevent("d1", "DTSTART;TZID=America/New_York:20260308T013000", "DURATION:PT2H"),
        vevent("d2", "DTSTART;TZID=America/New_York:20260308T023000", "DURATION:PT45M"),
        vevent("d3", "DTSTART;TZID=America/New_York:20260307T120000", "DURATION:P1D"),
    )
    response = await post(client, alice, body)
    assert response.status_code == 201 and response.json()["skipped"] == []
    assert [(i["start_time"], i["end_time"]) for i in response.json()["items"]] == [
        ("2026-03-08T06:30:00Z", "2026-03-08T08:30:00Z"),  # two hours, to 04:30 EDT
        ("2026-03-08T07:30:00Z", "2026-03-08T08:15:00Z"),  # in the gap: 45 minutes still
        ("2026-03-07T17:00:00Z", "2026-03-08T16:00:00Z"),  # a day: 12:00 to 12:00, 23 hours
    ]


async def test_a_series_starting_in_a_dst_gap_keeps_its_written_time_after(
    client: httpx.AsyncClient, alice: Account
) -> None:
    body = ics(
        vevent(
            "g1",
            "SUMMARY:Night shift",
            "DTSTART;TZID=Europe/Berlin:20260329T023000",
            "DURATION:PT1H",
            "RRULE:FREQ=DAILY;COUNT=4",
            "EXDATE;TZID=Europe/Berlin:20260331T023000",
        )
    )
    response = await post(client, alice, body)
    assert response.status_code == 201 and response.json()["warnings"] == []
    listed = await _listed(client, alice, "2026-03-28T00:00:00Z", "2026-04-05T00:00:00Z")
    # 02:30 does not exist on the 29th (03:30 CEST); every later day has it
    assert [start.isoformat() for start, *_ in listed] == [
        "2026-03-29T01:30:00+00:00",
        "2026-03-30T00:30:00+00:00",
        "2026-04-01T00:30:00+00:00",
    ]


async def test_an_hourly_series_starting_in_a_dst_gap_stays_hourly(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Only the parts of the time of day its frequency keeps fixed are spelled out: an hourly
    rule's hour changes, so it gains no BYHOUR (which would have made it daily)."""
    body = ics(
        vevent(
            "g2",
            "SUMMARY:Night watch",
            "DTSTART;TZID=Europe/Berlin:20260329T023000",
            "DURATION:PT30M",
            "RRULE:FREQ=HOURLY;COUNT=4",
        )
    )
    response = await post(client, alice, body)
    assert response.status_code == 201 and response.json()["warnings"] == []
    listed = await _listed(client, alice, "2026-03-28T00:00:00Z", "2026-04-05T00:00:00Z")
    assert [start.isoformat() for start, *_ in listed] == [
        "2026-03-29T01:30:00+00:00",
        "2026-03-29T02:30:00+00:00",
        "2026-03-29T03:30:00+00:00",
        "2026-03-29T04:30:00+00:00",
    ]


def valarm(trigger: str, action: str = "DISPLAY") -> str:
    return f"BEGIN:VALARM\r\nACTION:{action}\r\nDESCRIPTION:x\r\n{trigger}\r\nEND:VALARM"


async def test_valarms_relative_to_the_start_become_my_reminders(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    alarmed = vevent(
        "a1",
        "SUMMARY:Dentist",
        "DTSTART:20300603T090000Z",
        "DTEND:20300603T100000Z",
        valarm("TRIGGER:-PT15M"),
        valarm("TRIGGER:-PT15M", "AUDIO"),  # the same reminder twice: one
        valarm("TRIGGER;RELATED=START:PT0S"),
        valarm("TRIGGER:-P1D", "EMAIL"),
        valarm("TRIGGER;RELATED=END:-PT75M"),  # 15 minutes before the start: the same
        valarm("TRIGGER;VALUE=DATE-TIME:20300603T080000Z"),  # an hour before: as -PT1H
        valarm("TRIGGER;RELATED=END:PT5M"),  # after the end: noted
        valarm("TRIGGER:PT5M"),  # after the start: noted
        valarm("TRIGGER:-P29D"),  # over four weeks: noted
        valarm("TRIGGER:-PT90S"),  # not whole minutes: noted
        valarm("TRIGGER:-PT5M", "NONE"),  # RFC 9074: never goes off
        valarm("TRIGGER:-PT1H"),
        valarm("TRIGGER:-P4W"),  # 40,320 minutes: the most a reminder may be
        valarm("TRIGGER:-PT2M"),  # a sixth: noted
    )
    response = await post(client, alice, ics(alarmed, HOLIDAY))
    assert response.status_code == 201, response.text
    body = response.json()
    dentist, holiday = body["items"]
    wanted = [0, 15, 60, 1440, 40_320]
    assert dentist["my_reminders"] == [{"minutes_before": m} for m in wanted]
    assert holiday["my_reminders"] == []
    fetched = await client.get(f"{API}/events/{dentist['id']}", headers=alice.headers)
    assert fetched.json()["my_reminders"] == [{"minutes_before": m} for m in wanted]
    notes = [w["message"] for w in body["warnings"] if w["uid"] == "a1"]
    assert len(notes) == 5 and all("VALARM" in n for n in notes), notes  # one said twice
    assert any("PT5M is after the start" in n for n in notes)
    assert any("at most 5 reminders" in n for n in notes)
    # Set through the reminders service: an audit row and a scheduled job for each.
    assert await count_rows(app, "reminders", event_id=dentist["id"]) == 5
    assert await count_rows(app, "jobs", kind="reminder") == 5
    assert ("reminders.set", "success") in await audit_actions(app)


async def test_exported_reminders_come_back_on_import(
    client: httpx.AsyncClient, alice: Account
) -> None:
    bob = await register(client, "bob")
    created = await client.post(
        f"{API}/events",
        json={"title": "Review", "start_time": "2026-12-01T09:00:00Z",
              "end_time": "2026-12-01T10:00:00Z", "timezone": "UTC"},
        headers=alice.headers,
    )  # fmt: skip
    event_id = created.json()["id"]
    await client.put(
        f"{API}/events/{event_id}/reminders",
        json={"reminders": [{"minutes_before": 0}, {"minutes_before": 45}]},
        headers=alice.headers,
    )
    exported = await client.get(f"{API}/events/{event_id}.ics", headers=alice.headers)
    response = await post(client, bob, exported.content)
    assert response.status_code == 201, response.text
    [copy] = response.json()["items"]
    assert copy["my_reminders"] == [{"minutes_before": 0}, {"minutes_before": 45}]
    assert response.json()["warnings"] == []


@pytest.mark.parametrize(
    ("name", "minutes"),
    [
        # an all-day yearly birthday: e-mail 6 d 15 h before, display 13 d 15 h, 15 h, at 0
        ("nextcloud-allday-yearly-alarms.ics", [0, 900, 9_540, 19_620]),
        ("outlook2003-custom-vtimezone-daily-weekdays.ics", [5]),
    ],
)
async def test_real_world_alarms_become_my_reminders(
    client: httpx.AsyncClient, alice: Account, name: str, minutes: list[int]
) -> None:
    response = await post(client, alice, (SAMPLES / name).read_bytes())
    assert response.status_code == 201, response.text
    [event] = response.json()["items"]
    assert event["my_reminders"] == [{"minutes_before": m} for m in minutes]
