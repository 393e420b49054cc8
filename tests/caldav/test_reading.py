"""How a CalDAV PUT reads a resource's text (findings of an outside attack: each test says
what went wrong)."""

from __future__ import annotations

import httpx
import pytest

from tests.caldav.dav import dav_for, ics

pytestmark = pytest.mark.anyio


async def test_a_character_cut_by_a_fold_is_read_whole(client: httpx.AsyncClient) -> None:
    """A writer that folds at a byte count cut the 'ö' in two: the PUT was a 403 ("'utf-8'
    codec can't decode"), where the import reads it whole (ical/decoding.py, one rule)."""
    alice = await dav_for(client, "alice")
    title = "Besprechung Größenplanung Übersicht für München"
    line = f"SUMMARY:{title}".encode()
    cut = line.index("ö".encode()) + 1
    body = ics(summary="x").replace(b"SUMMARY:x", line[:cut] + b"\r\n " + line[cut:])
    response = await alice.put("folded.ics", body, **{"If-None-Match": "*"})
    assert response.status_code == 201, response.text
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert event["title"] == title
    # bytes that are not UTF-8 are still refused: a resource is UTF-8 (RFC 4791 §5.3.4)
    latin = ics(uid="l", summary="Caf\xe9").replace("Café".encode(), b"Caf\xe9")
    refused = await alice.put("latin.ics", latin)
    assert refused.status_code == 403 and b"valid-calendar-data" in refused.content


@pytest.mark.parametrize(
    "line",
    [
        "SUMMARY;FOO:Board meeting",  # a parameter that is not NAME=value
        'LOCATION;X-A="q"x:Room 5',  # text after a quoted value
        'EXDATE;X-A="q"x:20260311T090000Z',
    ],
)
async def test_a_line_icalendar_cannot_parse_is_refused_not_left_out(
    client: httpx.AsyncClient, line: str
) -> None:
    """icalendar leaves out a line it cannot parse: the PUT was a 201 with an ETag, the
    writer read its own text back, and the event had lost its title, its location or an
    exdate for everyone else (an outside attack). SPEC §15: never silently dropped."""
    alice = await dav_for(client, "alice")
    body = ics(summary="x", extra=f"RRULE:FREQ=DAILY;COUNT=3\r\n{line}\r\n")
    response = await alice.put("bad.ics", body, **{"If-None-Match": "*"})
    assert response.status_code == 403, response.text
    assert b"valid-calendar-data" in response.content
    assert b"could not be read" in response.content
    listed = await client.get("/api/v1/events", headers=alice.account.headers)
    assert listed.json()["items"] == []


def _both(first: bytes, second: bytes) -> bytes:
    """One resource of the VEVENTs of both."""
    vevent = b"BEGIN:VEVENT" + second.split(b"BEGIN:VEVENT")[1].split(b"END:VCALENDAR")[0]
    return first.replace(b"END:VCALENDAR", vevent + b"END:VCALENDAR")


SERIES = "RRULE:FREQ=DAILY;COUNT=3\n"
REFUSED = [
    # (the resource, the precondition, what its 403 says)
    (
        ics().replace(b"T100000\r\nSUMMARY", b"T090000\r\nSUMMARY"),
        "valid-calendar-data",
        "it has no duration (DTEND equals DTSTART)",
    ),
    (
        ics().replace(b"DTEND;TZID=Europe/Berlin:20260310T100000\r\n", b""),
        "valid-calendar-data",
        "it has no duration (a DTSTART date-time without DTEND or DURATION)",
    ),
    (
        ics(extra="RRULE:FREQ=YEARLY\n").replace(b":2026", b":1753"),
        "valid-calendar-data",
        "the series begins in 1753: an event starts in 1900 or later",
    ),
    (
        ics(extra="RECURRENCE-ID;TZID=Europe/Berlin:20260310T090000\n"),
        "valid-calendar-data",
        "a VEVENT of one occurrence (RECURRENCE-ID 20260310T090000) without the series it "
        "belongs to",
    ),
    (
        ics(extra="RDATE:20260301T080000Z\n"),
        "valid-calendar-data",
        "RDATE 2026-03-01T08:00:00Z is before DTSTART (a series' occurrences come after its start)",
    ),
    (
        ics(extra=SERIES + "EXDATE:20260311T093000Z\n"),
        "valid-calendar-data",
        "EXDATE 2026-03-11T09:30:00Z is not an occurrence of the series",
    ),
    (
        ics(extra=SERIES + "EXRULE:FREQ=WEEKLY\n"),
        "valid-calendar-data",
        "it has an EXRULE (deprecated by RFC 5545): an event excludes occurrences by EXDATE",
    ),
    (
        _both(
            ics(extra=SERIES),
            ics(extra="RECURRENCE-ID;TZID=Europe/Berlin:20260311T090000\n")
            .replace(b"20260310T090000", b"20260311T090000")
            .replace(b"20260310T100000", b"20260311T080000"),
        ),
        "valid-calendar-data",
        "the occurrence of 2026-03-11T08:00:00Z ends before it starts",
    ),
    (
        _both(
            ics(extra=SERIES),
            ics(extra="RECURRENCE-ID;TZID=Europe/Berlin:20260311T090000\n")
            .replace(b"20260310T090000", b"20260311T090000")
            .replace(b"20260310T100000", b"20260311T090000"),
        ),
        "valid-calendar-data",
        "the occurrence of 2026-03-11T08:00:00Z has no duration (its end is its start)",
    ),
    (
        ics(extra="STATUS:CANCELLED\n"),
        "valid-calendar-data",
        "the event is cancelled (STATUS:CANCELLED): delete it instead",
    ),
    (
        ics().replace(b"UID:abc-1\r\n", b""),
        "valid-calendar-object-resource",
        "a VEVENT has no UID (RFC 5545 requires one)",
    ),
    (
        _both(ics(), ics(uid="abc-2")),
        "valid-calendar-object-resource",
        "the VEVENTs of a resource have different UIDs (a resource holds one event)",
    ),
    (
        _both(ics(), ics(summary="Again")),
        "valid-calendar-object-resource",
        "two VEVENTs of a resource have no RECURRENCE-ID (a resource holds one event)",
    ),
]


@pytest.mark.parametrize(("body", "condition", "reason"), REFUSED)
async def test_a_refusal_says_what_is_wrong_not_what_an_import_does(
    client: httpx.AsyncClient, body: bytes, condition: str, reason: str
) -> None:
    """An outside attack found CalDAV 403s in the importer's words, saying the opposite of
    what happened ("it has no duration: imported as one minute long", "EXDATE … is not an
    occurrence: ignored"), and "every VEVENT of a resource has the one same UID" for a VEVENT
    without one. A refusal says what is wrong with the resource (ical/losses.py)."""
    alice = await dav_for(client, "alice")
    response = await alice.put("x.ics", body)
    assert response.status_code == 403, response.text
    said = response.text.partition("<d:responsedescription>")[2].partition("<")[0]
    assert f"<c:{condition} />" in response.text and said == reason, response.text
    assert (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"] == []


async def test_an_rdate_period_of_another_length_is_refused(client: httpx.AsyncClient) -> None:
    """An outside attack wrote a 09:00-10:00 event with `RDATE;VALUE=PERIOD` 09:00-12:00: 201,
    a CalDAV GET served the three hours, the API and /freebusy one. The model gives an rdate
    the event's duration: a period of another length is refused (docs/api.md), one of the
    same length is that rdate."""
    alice = await dav_for(client, "alice")
    period = "RDATE;VALUE=PERIOD:20260312T080000Z/{}\n"
    refused = await alice.put("p.ics", ics(extra=period.format("20260312T110000Z")))
    assert refused.status_code == 403 and b"valid-calendar-data" in refused.content
    assert (
        b"RDATE;VALUE=PERIOD 2026-03-12T08:00:00Z/2026-03-12T11:00:00Z lasts otherwise than the "
        b"event (an occurrence of another length is a RECURRENCE-ID VEVENT)"
    ) in refused.content
    assert (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"] == []
    kept = await alice.put("p.ics", ics(extra=period.format("PT1H")))
    assert kept.status_code == 201, kept.text
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert event["rdates"] == ["2026-03-12T08:00:00Z"]


async def test_an_unknown_zone_or_a_dtend_of_another_type_is_refused(
    client: httpx.AsyncClient,
) -> None:
    """An outside attack: `DTSTART;TZID=Mars/Olympus` without a VTIMEZONE was a 201 stored at
    09:00 UTC, and `DTSTART;VALUE=DATE` with a date-time `DTEND` (RFC 5545 forbids it) a 201
    stored as two days. A CalDAV write has no importer's zone to read such times in: 403. An
    import keeps reading both as it did, with a warning (tests/api/test_ical_import_reading.py)."""
    alice = await dav_for(client, "alice")
    for body, reason in (
        (
            ics().replace(b"Europe/Berlin", b"Mars/Olympus"),
            b"unknown time zone 'Mars/Olympus' and no VTIMEZONE for it",
        ),
        (
            ics()
            .replace(b"DTSTART;TZID=Europe/Berlin:20260310T090000", b"DTSTART;VALUE=DATE:20260310")
            .replace(b"DTEND;TZID=Europe/Berlin:20260310T100000", b"DTEND:20260311T100000Z"),
            b"DTEND is a date-time and DTSTART a date (RFC 5545: DTEND has DTSTART's value type)",
        ),
        (
            ics().replace(
                b"DTEND;TZID=Europe/Berlin:20260310T100000", b"DTEND;VALUE=DATE:20260311"
            ),
            b"DTEND is a date and DTSTART a date-time (RFC 5545: DTEND has DTSTART's value type)",
        ),
    ):
        response = await alice.put("x.ics", body)
        assert response.status_code == 403, response.text
        assert b"valid-calendar-data" in response.content and reason in response.content
    assert (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"] == []


def _series(master: list[str], override: list[str]) -> bytes:
    """A daily series of five (UID X) and one RECURRENCE-ID VEVENT of it."""
    head = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test//Test//EN\n"
    vevents = "".join(
        "".join(f"{line}\n" for line in ("BEGIN:VEVENT", "UID:X", *lines, "END:VEVENT"))
        for lines in (master, override)
    )
    return (head + vevents + "END:VCALENDAR\n").replace("\n", "\r\n").encode()


ALL_DAY_SERIES = ["DTSTART;VALUE=DATE:20270110", "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:series"]
TIMED_SERIES = [
    "DTSTART:20270110T090000Z", "DTEND:20270110T100000Z", "RRULE:FREQ=DAILY;COUNT=5",
    "SUMMARY:series",
]  # fmt: skip


@pytest.mark.parametrize(
    ("master", "override", "reason"),
    [
        (  # the outside attack's: a lunch slot in an all-day series was stored all-day
            ALL_DAY_SERIES,
            ["RECURRENCE-ID;VALUE=DATE:20270111", "DTSTART:20270111T120000Z",
             "DTEND:20270111T130000Z", "SUMMARY:lunch slot"],
            "DTSTART of the occurrence of 2027-01-11 is a date-time in an all-day series "
            "(DTSTART a date): an occurrence is all-day or timed as its series is",
        ),
        (  # a date DTSTART, as the series', and a date-time DTEND
            ALL_DAY_SERIES,
            ["RECURRENCE-ID;VALUE=DATE:20270111", "DTSTART;VALUE=DATE:20270111",
             "DTEND:20270111T130000Z", "SUMMARY:lunch slot"],
            "DTEND of the occurrence of 2027-01-11 is a date-time in an all-day series "
            "(DTSTART a date): an occurrence is all-day or timed as its series is",
        ),
        (  # the reverse: a day in a timed series
            TIMED_SERIES,
            ["RECURRENCE-ID:20270111T090000Z", "DTSTART;VALUE=DATE:20270111",
             "DTEND;VALUE=DATE:20270112", "SUMMARY:whole day"],
            "DTSTART of the occurrence of 2027-01-11T09:00:00Z is a date in a timed series "
            "(DTSTART a date-time): an occurrence is all-day or timed as its series is",
        ),
    ],
)  # fmt: skip
async def test_an_occurrence_of_another_kind_than_its_series_is_refused(
    client: httpx.AsyncClient, master: list[str], override: list[str], reason: str
) -> None:
    """An outside attack PUT an all-day daily series with a 12:00-13:00Z override of its
    second day: 201, the API's override became that whole day while a CalDAV GET served the
    stored text's hour (two views disagreeing). The event model's overrides are of their
    series' kind, as the API's are (422 for a `start_time` in an all-day series): a 403 with
    `valid-calendar-data`, nothing written; the import skips such a VEVENT, saying why
    (tests/api/test_ical_import_reading.py)."""
    alice = await dav_for(client, "alice")
    response = await alice.put("X.ics", _series(master, override), **{"If-None-Match": "*"})
    assert response.status_code == 403, response.text
    said = response.text.partition("<d:responsedescription>")[2].partition("<")[0]
    assert "<c:valid-calendar-data />" in response.text and said == reason, response.text
    assert (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"] == []
    # the same override of the series' kind is written
    kinds = ("DTSTART;VALUE=DATE:20270112", "DTEND;VALUE=DATE:20270113")
    if master is TIMED_SERIES:
        kinds = ("DTSTART:20270111T120000Z", "DTEND:20270111T130000Z")
    fitting = [override[0], *kinds, override[-1]]
    response = await alice.put("X.ics", _series(master, fitting), **{"If-None-Match": "*"})
    assert response.status_code == 201, response.text
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    [moved] = event["overrides"]
    # the API refuses the same: an occurrence of the other kind, as a whole event or one occurrence
    other = (
        {"start_time": "2027-01-11T12:00:00Z", "end_time": "2027-01-11T13:00:00Z"}
        if event["all_day"]
        else {"start_date": "2027-01-11", "end_date": "2027-01-12"}
    )
    url = f"/api/v1/events/{event['id']}"
    # each refusal names the field as its request sent it (an occurrence's PUT: the body's own)
    field = next(iter(other))
    for answer, loc in (
        (
            await client.put(
                f"{url}/instances/{moved['recurrence_id']}",
                json=other,
                headers=alice.account.headers,
            ),
            [field],
        ),
        (
            await client.patch(
                url, json={"overrides": [moved | other]}, headers=alice.account.headers
            ),
            ["overrides", 0, field],
        ),
    ):
        assert answer.status_code == 422, answer.text
        assert [(e["loc"], e["msg"]) for e in answer.json()["errors"]] == [
            (
                loc,
                "an all-day occurrence moves by start_date and end_date"
                if event["all_day"]
                else "a timed occurrence moves by start_time and end_time",
            )
        ]
        assert answer.json()["detail"].startswith(".".join(map(str, loc)) + ": ")
    assert (await client.get(url, headers=alice.account.headers)).json()["overrides"] == [moved]


async def test_a_date_with_a_tzid_is_the_date_it_names(client: httpx.AsyncClient) -> None:
    """`DTSTART;VALUE=DATE;TZID=…` (a TZID RFC 5545 §3.2.19 does not put on a DATE) was read as
    that zone's midnight, a date-time: the PUT of a day off was a 403 ("no duration"). It is
    the date it says, in the writer's own zone as every date is (tests/api/
    test_ical_import_reading.py has the import's)."""
    alice = await dav_for(client, "alice")
    body = ics(uid="day-off").replace(
        b"DTSTART;TZID=Europe/Berlin:20260310T090000\r\nDTEND;TZID=Europe/Berlin:20260310T100000",
        b"DTSTART;VALUE=DATE;TZID=Asia/Tokyo:20260310\r\nDTEND;VALUE=DATE;TZID=Asia/Tokyo:20260312",
    )
    response = await alice.put("day-off.ics", body, **{"If-None-Match": "*"})
    assert response.status_code == 201, response.text
    [event] = (await client.get("/api/v1/events", headers=alice.account.headers)).json()["items"]
    assert (event["all_day"], event["start_date"], event["end_date"], event["timezone"]) == (
        True,
        "2026-03-10",
        "2026-03-12",
        "UTC",
    )
