"""What one CalDAV resource may cost to write and to read back, whatever the client sends
(found by an outside attack): a PUT refuses, before parsing, what cannot be held (a list of
RDATEs or EXDATEs past the model's, a VTIMEZONE of more observances than a zone has:
ical/bounds.py), parses only the VTIMEZONEs its events name, and a GET after an edit elsewhere
writes the client's own properties back line by line (caldav/extras.py), not by parsing the
stored text and ours with icalendar. The CPU bounds are generous; the figures are in
BENCHMARKS.md (tenth session)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neo_events.caldav import resources
from neo_events.ical import bounds
from tests.api.test_import_cost import rdate_zone
from tests.caldav.dav import Dav, dav_for, ics
from tests.helpers import assert_problem, cpu_bound, register

pytestmark = pytest.mark.anyio

HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Attack//EN\r\n"


def refused(answer, reason: str) -> None:
    assert answer.status_code == 403, answer.text
    assert b"valid-calendar-data" in answer.content and reason.encode() in answer.content


async def edited(client, alice: Dav, title: str) -> None:
    """An edit through the API: the stored text no longer describes the event."""
    [item] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    answer = await client.patch(
        f"/api/v1/events/{item['id']}", json={"title": title}, headers=alice.account.headers
    )
    assert answer.status_code == 200, answer.text


async def test_a_list_of_rdates_past_the_models_is_refused_unread(client) -> None:
    """60,000 RDATE values on one line cost 2.5-3 s of parsing before the model refused them."""
    alice = await dav_for(client, "alice")
    start = datetime(2026, 1, 1)
    values = ",".join(f"{start + timedelta(hours=i):%Y%m%dT%H%M%SZ}" for i in range(20_000))
    with cpu_bound(0.5):
        answer = await alice.put("rdates.ics", ics(extra=f"RDATE:{values}\r\n"))
    refused(answer, "20000 RDATE values; an event holds at most 1000")


async def test_a_resource_of_many_zones_parses_only_those_named(client) -> None:
    """150 VTIMEZONEs of 40 observances each (565 KB) cost 1.6-3 s of parsing a PUT."""
    alice = await dav_for(client, "alice")
    zones = "".join(_zone(f"Z{i}", 40) for i in range(60))
    body = ics(uid="zones").replace(b"BEGIN:VEVENT", zones.encode() + b"BEGIN:VEVENT")
    with cpu_bound(0.5):
        answer = await alice.put("zones.ics", body)
    assert answer.status_code == 201, answer.text
    # one zone of more observances than any zone has
    body = ics(uid="zone").replace(b"BEGIN:VEVENT", _zone("Z", 250).encode() + b"BEGIN:VEVENT")
    with cpu_bound(0.5):
        answer = await alice.put("zone.ics", body)
    refused(answer, f"a zone has at most {bounds.MAX_OBSERVANCES}")


def _moved_in_zones(zones: int) -> bytes:
    """A daily series and `zones` overrides, each moved in its own `rdate_zone` (1,998
    RDATEs, offsets no IANA zone has), every zone named once."""
    overrides = "".join(
        f"BEGIN:VEVENT\r\nUID:moved\r\nRECURRENCE-ID:202701{6 + z:02d}T080000Z\r\n"
        f"DTSTART;TZID=Z{z}:202701{6 + z:02d}T120000\r\n"
        f"DTEND;TZID=Z{z}:202701{6 + z:02d}T130000\r\nSUMMARY:o\r\nEND:VEVENT\r\n"
        for z in range(zones)
    )
    zoned = "".join(rdate_zone(f"Z{z}") for z in range(zones))
    body = ics(uid="moved", extra="RRULE:FREQ=DAILY\r\n")
    body = body.replace(b"BEGIN:VEVENT", zoned.encode() + b"BEGIN:VEVENT", 1)
    return body.replace(b"END:VCALENDAR", overrides.encode() + b"END:VCALENDAR")


async def test_the_dates_of_a_resources_vtimezones_are_bounded_in_all(client) -> None:
    """An outside attack (issue #16): a daily series and 24 overrides, each in its own
    VTIMEZONE of 1,998 RDATEs (each zone within its own bound; 778 KB), cost 1.85 s of CPU
    for a 201. The zones a resource's events name hold `bounds.STREAM_ZONE_DATES` dates in
    all, counted on the raw lines; two such zones are read, as before."""
    alice = await dav_for(client, "alice")
    with cpu_bound(0.8, "the PUT"):  # refused on the raw lines: about 0.15 s here
        answer = await alice.put("moved.ics", _moved_in_zones(16))
    refused(answer, f"over {bounds.STREAM_ZONE_DATES} RDATE and EXDATE values")
    with cpu_bound(1.2, "the PUT"):
        answer = await alice.put("moved.ics", _moved_in_zones(2))
    assert answer.status_code == 201, answer.text


async def test_a_get_after_an_edit_costs_what_its_lines_cost(client) -> None:
    """3,900 X- properties of 200 characters (865 KB), kept as the client wrote them, cost
    1.2-1.3 s of CPU every GET after an API edit: both texts were parsed by icalendar. They
    are written back line by line now, every one of them."""
    alice = await dav_for(client, "alice")
    many = "".join(f"X-P{i};A=1;B=2;C=3:{'x' * 200}\r\n" for i in range(3_900))
    assert (await alice.put("many.ics", ics(uid="many", extra=many))).status_code == 201
    for round_ in range(2):
        await edited(client, alice, f"Edited {round_}")
        with cpu_bound(0.6):
            got = await alice.request("GET", alice.calendar + "many.ics")
        assert got.status_code == 200
        text = got.content.replace(b"\r\n ", b"").decode()
        assert f"SUMMARY:Edited {round_}" in text
        assert text.count("\r\nX-P") == 3_900 and f"X-P3899;A=1;B=2;C=3:{'x' * 200}" in text


async def test_an_overrides_extras_follow_it_after_an_edit(client) -> None:
    """Each RECURRENCE-ID VEVENT's own properties and subcomponents go back into the same
    occurrence, whichever way the client wrote its RECURRENCE-ID; VALARMs never do."""
    alice = await dav_for(client, "alice")
    moved = (
        "BEGIN:VEVENT\r\nUID:abc-1\r\nDTSTAMP:20260101T000000Z\r\n"
        "RECURRENCE-ID:20260317T080000Z\r\n"  # 09:00 in Berlin, written in UTC
        "DTSTART;TZID=Europe/Berlin:20260317T110000\r\n"
        "DTEND;TZID=Europe/Berlin:20260317T120000\r\nSUMMARY:Later\r\n"
        "X-MOVED:yes\r\nBEGIN:X-THING\r\nX-A:1\r\nEND:X-THING\r\nEND:VEVENT\r\n"
    )
    body = ics(extra="RRULE:FREQ=WEEKLY;COUNT=5\r\nX-SERIES:ü" + "é" * 80 + "\r\n")
    body = body.replace(b"END:VCALENDAR", moved.encode() + b"END:VCALENDAR")
    assert (await alice.put("weekly.ics", body)).status_code == 201
    await edited(client, alice, "Standup")
    got = (await alice.request("GET", alice.calendar + "weekly.ics")).content
    assert all(len(line) <= 75 for line in got.split(b"\r\n"))
    series, override = got.decode().replace("\r\n ", "").split("BEGIN:VEVENT")[1:]
    assert "SUMMARY:Standup" in series and "X-SERIES:ü" + "é" * 80 in series
    assert "X-MOVED" not in series
    assert "RECURRENCE-ID" in override and "X-MOVED:yes" in override
    assert "BEGIN:X-THING\r\nX-A:1\r\nEND:X-THING" in override


def _zone(tzid: str, observances: int) -> str:
    blocks = "".join(
        f"BEGIN:STANDARD\r\nDTSTART:{1900 + k}0101T000000\r\nTZOFFSETFROM:+0100\r\n"
        "TZOFFSETTO:+0100\r\nTZNAME:Z\r\nEND:STANDARD\r\n"
        for k in range(observances)
    )
    return f"BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n{blocks}END:VTIMEZONE\r\n"


async def test_a_series_the_server_wrote_can_be_written_back(client) -> None:
    """A review: a bound of 10,000 lines a resource refused what the codec itself writes (a
    daily series with 850 overrides is 10,217 lines): a client's GET, edit, PUT was a 403."""
    alice = await dav_for(client, "alice")
    start = datetime(2026, 1, 1, 9)
    overrides = [
        {"recurrence_id": f"{start + timedelta(days=i):%Y-%m-%dT%H:%M:%SZ}", "title": f"Day {i}"}
        for i in range(850)
    ]
    created = await client.post(
        "/api/v1/events",
        json={"title": "Daily", "start_time": "2026-01-01T09:00:00Z",
              "end_time": "2026-01-01T10:00:00Z", "timezone": "UTC", "is_recurring": True,
              "recurrence_pattern": "FREQ=DAILY;COUNT=1000", "overrides": overrides},
        headers=alice.account.headers,
        params={"conflicts": "ignore"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    path = f"{alice.calendar}event-{created.json()['id']}.ics"
    served = (await alice.request("GET", path)).content
    assert served.count(b"\r\n") > 10_000
    again = await alice.request("PUT", path, served.replace(b"SUMMARY:Daily", b"SUMMARY:Daily!"))
    assert again.status_code == 204, again.text


async def test_what_no_calendar_holds_is_refused_before_parsing(client) -> None:
    """An outside attack (2026-12-04): a PUT of 60,000 X- lines in the VCALENDAR itself cost
    2.2 s of parsing (MAX_LINES counts a component's), one line of 60,000 parameters 0.9 s
    (and again at each calendar-query that read it back), a VTIMEZONE of 190 observances of
    300 RDATEs each 1.5 s, 5,000 VEVENTs of one RECURRENCE-ID 1 s before refused."""
    alice = await dav_for(client, "alice")
    calendar_lines = "".join(f"X-A{i}:v\r\n" for i in range(20_000))
    parameters = "X-P" + "".join(f";X-Q{i}=v" for i in range(20_000)) + ":v\r\n"
    dates = ",".join(f"{1900 + k}0101T000000" for k in range(200))
    zone = "".join(
        f"BEGIN:STANDARD\r\nDTSTART:{1900 + k}0101T000000\r\nRDATE:{dates}\r\n"
        "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
        for k in range(20)
    )
    zone = f"BEGIN:VTIMEZONE\r\nTZID:Z\r\n{zone}END:VTIMEZONE\r\n"
    first = datetime(2026, 3, 17, 8, tzinfo=UTC)
    instances = "".join(
        f"BEGIN:VEVENT\r\nUID:abc-1\r\nRECURRENCE-ID:{first + timedelta(weeks=i):%Y%m%dT%H%M%SZ}"
        "\r\nEND:VEVENT\r\n"
        for i in range(resources.MAX_COMPONENTS)
    )
    weekly = ics(extra="RRULE:FREQ=WEEKLY\r\n")
    for name, body, reason in (
        (
            "header.ics",
            ics().replace(b"PRODID", calendar_lines.encode() + b"PRODID"),
            f"more than {bounds.MAX_CALENDAR_PROPERTIES} properties",
        ),
        (
            "parameters.ics",
            ics(extra=parameters),
            f"X-P line of more than {bounds.MAX_PARAMETERS} parameters",
        ),
        (
            "zone.ics",
            ics().replace(b"BEGIN:VEVENT", zone.encode() + b"BEGIN:VEVENT"),
            f"4000 RDATE values; a zone has at most {bounds.MAX_ZONE_DATES}",
        ),
        (  # a seventh outside attack: 3.4 s of parsing for the 403 (520,000 items)
            "rule.ics",
            ics(extra="RRULE:FREQ=YEARLY;BYMINUTE=" + ",".join(["0"] * 200_000) + "\r\n"),
            f"RRULE longer than {bounds.MAX_RULE_CHARS} characters",
        ),
        (
            "overrides.ics",
            weekly.replace(b"END:VCALENDAR", instances.encode() + b"END:VCALENDAR"),
            f"at most {resources.MAX_COMPONENTS} components",
        ),
    ):
        with cpu_bound(0.3):  # refused on its raw lines: tens of ms
            answer = await alice.put(name, body)
        refused(answer, reason)
    # the same instance twice: refused unread (5,000 of them were parsed, 1 s, then refused)
    again = _instance(first, False) * 2
    with cpu_bound(0.3):
        answer = await alice.put(
            "again.ics", weekly.replace(b"END:VCALENDAR", again.encode() + b"END:VCALENDAR")
        )
    assert answer.status_code == 403 and b"one RECURRENCE-ID" in answer.content, answer.text
    # a parameter value may hold semicolons and colons when quoted
    quoted = 'X-P;X-Q="' + ";" * 150 + ':":v\r\n'
    answer = await alice.put("quoted.ics", ics(extra=quoted))
    assert answer.status_code == 201, answer.text


async def test_a_slashed_tzid_costs_a_lookup_a_value_not_a_walk(client) -> None:
    """An outside attack (2026-12-04, seventh): icalendar looks every suffix of a slashed
    TZID up as a zone at each date-time value naming it, and zoneinfo walks a package per
    slash of a name it has not got: 200 "/a" cost 0.25 s a value (23 s for one 4 KB PUT of
    170 such values; 250, a RecursionError and a 500). A TZID past any real one is refused
    unread (`bounds.MAX_TZID_SLASHES`), and icalendar's lookups only consult the zone
    database's list (`zones.KnownZones`): 1,000 values naming a TZID of 16 slashes cost
    milliseconds each."""
    alice = await dav_for(client, "alice")
    walk = "/a" * 200
    body = ics(uid="walk").replace(b"TZID=Europe/Berlin", f'TZID="{walk}"'.encode())
    with cpu_bound(0.3):
        answer = await alice.put("walk.ics", body)
    refused(answer, f"TZID of more than {bounds.MAX_TZID_CHARS} characters or 16 slashes")
    account = alice.account
    with cpu_bound(0.3):
        answer = await client.post(
            "/api/v1/events/import",
            content=body,
            headers=account.headers | {"Content-Type": "text/calendar"},
        )
    problem = assert_problem(answer, 422, "nothing_to_import")  # naming the reason
    assert len(problem["errors"]) == 1 and "16 slashes" in problem["errors"][0]["msg"]
    # the most slashes a TZID may have, at every one of the most exdates an event holds
    deep = "/vendor" + "/a" * (bounds.MAX_TZID_SLASHES - 1)
    start = datetime(2027, 1, 4, 9)
    exdates = ",".join(f"{start + timedelta(days=i):%Y%m%dT%H%M%S}" for i in range(1, 1001))
    zone = _zone(deep, 2)
    extra = f'RRULE:FREQ=DAILY\r\nEXDATE;TZID="{deep}":{exdates}\r\n'
    body = ics(uid="deep", extra=extra).replace(b"TZID=Europe/Berlin", f'TZID="{deep}"'.encode())
    body = body.replace(b"BEGIN:VEVENT", zone.encode() + b"BEGIN:VEVENT")
    with cpu_bound(1.5):  # was ~1-2 ms a value before `KnownZones`
        answer = await alice.put("deep.ics", body)
    assert answer.status_code == 201, answer.text


async def test_an_import_reads_a_crowded_calendar_header_no_further(client) -> None:
    """The same 20,000 calendar properties in an import: its events are imported, the
    calendar's own properties ignored with a note, in milliseconds."""
    account = await register(client, "bob")
    head = "".join(f"X-A{i}:v\r\n" for i in range(20_000))
    body = ics().replace(b"PRODID", head.encode() + b"PRODID")
    with cpu_bound(0.3):
        answer = await client.post(
            "/api/v1/events/import",
            content=body,
            headers=account.headers | {"Content-Type": "text/calendar"},
        )
    assert answer.status_code in (200, 201), answer.text
    assert "calendar properties unreadable" in answer.text


def _instance(day: datetime, cancelled: bool) -> str:
    rid = day.strftime("%Y%m%dT%H%M%SZ")
    moved = (day + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    end = (day + timedelta(hours=2)).strftime("%Y%m%dT%H%M%SZ")
    status = "STATUS:CANCELLED\r\n" if cancelled else ""
    return (
        f"BEGIN:VEVENT\r\nUID:abc-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:{rid}\r\n"
        f"DTSTART:{moved}\r\nDTEND:{end}\r\n{status}END:VEVENT\r\n"
    )


async def test_a_series_of_600_moved_and_600_cancelled_instances_can_be_put(client) -> None:
    """A review: a first cap counted overrides only, not the cancelled instances Google
    writes for exdates: a series the model holds could not be PUT as a client writes it."""
    alice = await dav_for(client, "alice")
    first = datetime(2026, 3, 17, 8, tzinfo=UTC)
    instances = "".join(_instance(first + timedelta(days=i), i % 2 == 1) for i in range(1_200))
    body = ics(extra="RRULE:FREQ=DAILY\r\n")
    body = body.replace(b"DTSTART;TZID=Europe/Berlin:20260310T090000", b"DTSTART:20260310T080000Z")
    body = body.replace(b"DTEND;TZID=Europe/Berlin:20260310T100000", b"DTEND:20260310T090000Z")
    body = body.replace(b"END:VCALENDAR", instances.encode() + b"END:VCALENDAR")
    answer = await alice.put("series.ics", body)
    assert answer.status_code == 201, answer.text[:400]
