"""How an import reads a file: its bytes as text, its texts, and its calendar's own properties
(findings of an outside attack; each test says what went wrong)."""

from __future__ import annotations

import codecs

import httpx
import pytest
from fastapi import FastAPI

from tests.api.test_ical_import import API, ics, post, vevent
from tests.helpers import Account, assert_problem, count_rows

pytestmark = pytest.mark.anyio


async def test_only_the_lines_that_are_not_utf8_are_read_as_windows_1252(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """One stray Windows-1252 byte used to make the whole file Windows-1252, garbling every
    correct UTF-8 character (`MÃ¼nchen`): each line is decoded on its own now."""
    events = [
        vevent(f"u{i}", f"SUMMARY:München {i}", "DTSTART:20260701T100000Z", "DURATION:PT1H")
        for i in range(3)
    ]
    body = ics(*events).replace(b"SUMMARY:M\xc3\xbcnchen 1", "SUMMARY:Café".encode("cp1252"))
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    assert [i["title"] for i in response.json()["items"]] == ["München 0", "Café", "München 2"]
    line = body.split(b"\r\n").index(b"SUMMARY:Caf\xe9") + 1
    assert [w["message"] for w in response.json()["warnings"]] == [
        f"the file is not all UTF-8: line {line} read as Windows-1252"
    ]
    # many such lines: the first five are named, the others counted
    many = [
        vevent(f"w{i}", "SUMMARY:Caf\xe9", "DTSTART:20260701T100000Z", "DURATION:PT1H")
        for i in range(8)
    ]
    response = await post(client, alice, ics(*many).decode().encode("cp1252"))
    (warning,) = response.json()["warnings"]
    assert warning["message"] == (
        "the file is not all UTF-8: lines 6, 12, 18, 24, 30 and 3 more read as Windows-1252"
    )
    assert {i["title"] for i in response.json()["items"]} == {"Café"}


async def test_a_character_cut_by_a_fold_is_read_whole(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """Writers that fold at 75 bytes cut multi-byte characters in two (RFC 5545 says not to;
    some do): each half was read as Windows-1252 (`MÃ` + `¼nchen`), with a warning."""
    title = "ü" * 40 + "🎉" * 20  # cut at 75 bytes: inside an ü, then inside a 🎉
    folded = b""
    line = f"SUMMARY:{title}".encode()
    while len(line) > 75:  # at 75 bytes, wherever a character's bytes fall
        folded, line = folded + line[:75] + b"\r\n ", line[75:]
    body = ics(vevent("u1", "SUMMARY:x", "DTSTART:20260701T100000Z", "DURATION:PT1H"))
    body = body.replace(b"SUMMARY:x", folded + line)
    with pytest.raises(UnicodeDecodeError):
        body.decode()  # the cuts do fall inside characters
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    assert [i["title"] for i in response.json()["items"]] == [title]
    assert response.json()["warnings"] == []
    # a character cut at a line end not followed by a continuation stays Windows-1252
    broken = ics(vevent("u2", "SUMMARY:Cafe", "DTSTART:20260701T100000Z", "DURATION:PT1H"))
    response = await post(client, alice, broken.replace(b"Cafe", b"Caf\xc3"))
    assert response.status_code == 201, response.text
    assert [i["title"] for i in response.json()["items"]] == ["CafÃ"]
    assert len(response.json()["warnings"]) == 1


async def test_a_line_icalendar_cannot_parse_is_named_in_a_warning(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """icalendar leaves out a line it cannot parse (`SUMMARY;FOO:…`): the import lost the
    title or an exdate and said nothing (an outside attack)."""
    body = ics(
        vevent("u1", "SUMMARY;FOO:Board", "DTSTART:20260701T100000Z", "DURATION:PT1H"),
    )
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    assert [i["title"] for i in response.json()["items"]] == ["(no title)"]
    [warning] = response.json()["warnings"]
    assert warning["message"] == "a line that could not be read was left out: line 6 (SUMMARY)"


@pytest.mark.parametrize(
    "summary", ["SUMMARY:", "SUMMARY:   ", "SUMMARY:\ufeff", "SUMMARY: \ufeff \ufeff", "SUMMARY:\t"]
)
async def test_a_summary_of_nothing_but_blanks_and_byte_order_marks_has_no_title(
    client: httpx.AsyncClient, alice: Account, summary: str
) -> None:
    """`SUMMARY:   ` read as no title, `SUMMARY:<U+FEFF>` refused the whole VEVENT (422: the
    API's title rule trims byte-order marks too, the import's did not): the import trims a
    title and a location as the API does (`events.schemas.stripped`)."""
    body = ics(
        vevent("u1", summary, "LOCATION:\ufeff ", "DTSTART:20260701T100000Z", "DURATION:PT1H")
    )
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    [item] = response.json()["items"]
    assert (item["title"], item["location"]) == ("(no title)", None)
    assert response.json()["warnings"] == []


async def test_a_utf16_file_with_a_byte_order_mark_is_read(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """It was a 422 `expected BEGIN:VCALENDAR`, which misled: Windows tools write UTF-16."""
    text = ics(
        vevent("u1", "SUMMARY:Grüße 🎉", "DTSTART:20260701T100000Z", "DURATION:PT1H")
    ).decode()
    for mark, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        response = await post(client, alice, mark + text.encode(encoding))
        assert response.status_code == 201, response.text
        assert [i["title"] for i in response.json()["items"]] == ["Grüße 🎉"]
        assert response.json()["warnings"] == []
        upload = await client.post(
            f"{API}/events/import",
            files={"file": ("cal.ics", mark + text.encode(encoding), "text/calendar")},
            headers=alice.headers,
        )
        assert [i["title"] for i in upload.json()["items"]] == ["Grüße 🎉"], upload.text


async def test_export_then_import_keeps_a_description_as_the_api_shows_it(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """The API keeps a description's leading and trailing blanks (it trims only a title and a
    location); the import trimmed every text, so our own export did not read back."""
    texts = {"title": "  Planning ", "description": "  indented\n\ttab \n", "location": " Room 4 "}
    created = await client.post(
        f"{API}/events",
        json=texts | {"start_time": "2026-12-01T10:00:00Z", "end_time": "2026-12-01T11:00:00Z"},
        headers=alice.headers,
    )
    assert created.status_code == 201, created.text
    shown = {k: created.json()[k] for k in texts}
    assert shown == {
        "title": "Planning",
        "description": "  indented\n\ttab \n",
        "location": "Room 4",
    }
    exported = await client.get(f"{API}/events/{created.json()['id']}.ics", headers=alice.headers)
    response = await post(client, alice, exported.content)
    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    assert {k: item[k] for k in texts} == shown
    # a file's own blanks: the title and the location trimmed, the description kept
    written = vevent(
        "d1", "SUMMARY: Spaced ", "DESCRIPTION: two\\n lines ", "LOCATION:\tThere ",
        "DTSTART:20260701T100000Z",
    )  # fmt: skip
    (item,) = (await post(client, alice, ics(written))).json()["items"]
    assert (item["title"], item["description"], item["location"]) == (
        "Spaced", " two\n lines ", "There",
    )  # fmt: skip


FLOATING = vevent("f1", "SUMMARY:F", "DTSTART:20260701T100000", "DTEND:20260701T110000")


def headed(head: str, *events: str) -> bytes:
    """A calendar with these lines of its own (after PRODID) and these events."""
    return ics(*events).replace(b"PRODID:-//t//EN\r\n", b"PRODID:-//t//EN\r\n" + head.encode())


async def test_a_repeated_x_wr_timezone_is_read(client: httpx.AsyncClient, alice: Account) -> None:
    """Feeds repeat their header lines: the first X-WR-TIMEZONE that names a zone is the
    calendar's (a repeated one was read as a Python list, named no zone, and every floating
    time fell in UTC with a warning quoting `[vUnknown(b'America/New_York'), …]`)."""
    cases = {
        "X-WR-TIMEZONE:America/New_York\r\n" * 2: [],
        "X-WR-TIMEZONE:Mars/Olympus\r\nX-WR-TIMEZONE:America/New_York\r\n": [
            "X-WR-TIMEZONE 'Mars/Olympus' is not a known zone: ignored"
        ],
        "X-WR-TIMEZONE:America/New_York\r\nX-WR-TIMEZONE:Asia/Tokyo\r\n": [
            "X-WR-TIMEZONE 'Asia/Tokyo' ignored: the first one, 'America/New_York', is used"
        ],
    }
    for head, warnings in cases.items():
        response = await post(client, alice, headed(head, FLOATING))
        assert response.status_code == 201, response.text
        body = response.json()
        (item,) = body["items"]
        assert (item["start_time"], item["timezone"]) == (
            "2026-07-01T14:00:00Z",
            "America/New_York",
        )
        assert [w["message"] for w in body["warnings"]] == warnings


async def test_a_method_cancel_calendar_cancels_its_events(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """A saved "meeting cancelled" email (RFC 5546 METHOD:CANCEL) created the meeting it
    cancels: its VEVENTs are read as STATUS:CANCELLED ones, skipped with a reason."""
    meeting = vevent("c1", "SUMMARY:Cancelled meeting", "DTSTART:20261201T100000Z")
    problem = assert_problem(
        await post(client, alice, headed("METHOD:CANCEL\r\n", meeting)), 422, "nothing_to_import"
    )
    assert "METHOD:CANCEL" in problem["errors"][0]["msg"], problem
    assert await count_rows(app, "events") == 0
    # a file of a published series, then the cancellation of one of its occurrences
    series = vevent(
        "s1", "SUMMARY:Daily", "DTSTART:20261201T100000Z", "DTEND:20261201T110000Z",
        "RRULE:FREQ=DAILY;COUNT=3",
    )  # fmt: skip
    one = vevent("s1", "RECURRENCE-ID:20261202T100000Z", "DTSTART:20261202T100000Z", "SEQUENCE:1")
    body = ics(series) + headed("METHOD:CANCEL\r\n", one, meeting)
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    (item,) = response.json()["items"]
    assert (item["ical_uid"], item["exdates"]) == ("s1", ["2026-12-02T10:00:00Z"])
    assert [(s["uid"], s["reason"]) for s in response.json()["skipped"]] == [
        ("c1", "METHOD:CANCEL")
    ]


async def test_an_unknown_zone_and_a_dtend_of_another_type_are_read_with_a_warning(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """An unknown TZID without a VTIMEZONE is read as floating, in the import's zone; a date-time
    `DTEND` after a `DTSTART;VALUE=DATE` (RFC 5545 forbids it) ends the event with the day it
    falls on, as a part of a day counts (docs/api.md, "All-day events"); the latter said
    nothing. A CalDAV write of either is refused (tests/caldav/test_reading.py)."""
    body = ics(
        vevent("mars", "SUMMARY:Mars", "DTSTART;TZID=Mars/Olympus:20270410T090000",
               "DTEND;TZID=Mars/Olympus:20270410T100000"),
        vevent("mixed", "SUMMARY:Mixed", "DTSTART;VALUE=DATE:20270410", "DTEND:20270411T100000Z"),
    )  # fmt: skip
    response = await post(client, alice, body, timezone="Europe/Berlin")
    assert response.status_code == 201, response.text
    mars, mixed = response.json()["items"]
    assert (mars["start_time"], mars["timezone"]) == ("2027-04-10T07:00:00Z", "Europe/Berlin")
    assert (mixed["all_day"], mixed["start_date"], mixed["end_date"]) == (
        True,
        "2027-04-10",
        "2027-04-12",
    )
    assert [(w["uid"], w["message"]) for w in response.json()["warnings"]] == [
        ("mars", "unknown time zone 'Mars/Olympus': its times read as floating times"),
        ("mixed", "DTEND is a date-time, DTSTART a date: the event lasts through the day DTEND "
                  "falls on"),
    ]  # fmt: skip


async def test_a_date_with_a_tzid_is_the_date_it_names(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """`DTSTART;VALUE=DATE;TZID=…` (RFC 5545 §3.2.19: a TZID is not for a DATE; some writers add
    one): icalendar makes the date that zone's midnight, a date-time, so a day off became a
    timed event of no length at Tokyo's midnight, and a two-day one (its DTEND so written too)
    lasted three days. They are the dates they say, in the import's zone as every date is;
    so are a list's (`EXDATE;VALUE=DATE;TZID=…`) and a RECURRENCE-ID's."""
    tzid = "VALUE=DATE;TZID=Asia/Tokyo"
    body = ics(
        vevent("one", "SUMMARY:One", f"DTSTART;{tzid}:20270410"),
        vevent("two", "SUMMARY:Two", f"DTSTART;{tzid}:20270410", f"DTEND;{tzid}:20270412"),
        vevent("daily", "SUMMARY:Daily", f"DTSTART;{tzid}:20270410", "RRULE:FREQ=DAILY;COUNT=4",
               f"EXDATE;{tzid}:20270411,20270412"),
        vevent("daily", "SUMMARY:Moved", f"RECURRENCE-ID;{tzid}:20270413",
               "DTSTART;VALUE=DATE:20270420"),
    )  # fmt: skip
    response = await post(client, alice, body, timezone="America/Los_Angeles")
    assert response.status_code == 201, response.text
    items = {i["title"]: i for i in response.json()["items"]}
    days = {
        title: (i["all_day"], i["start_date"], i["end_date"], i["timezone"])
        for title, i in items.items()
    }
    assert days == {
        "One": (True, "2027-04-10", "2027-04-11", "America/Los_Angeles"),
        "Two": (True, "2027-04-10", "2027-04-12", "America/Los_Angeles"),
        "Daily": (True, "2027-04-10", "2027-04-11", "America/Los_Angeles"),
    }
    assert items["Daily"]["exdates"] == ["2027-04-11", "2027-04-12"]
    [moved] = items["Daily"]["overrides"]
    assert (moved["recurrence_id"], moved["start_date"]) == ("2027-04-13", "2027-04-20")


async def test_an_occurrence_of_another_kind_than_its_series_is_skipped_saying_why(
    client: httpx.AsyncClient, alice: Account
) -> None:
    """A 12:00-13:00Z RECURRENCE-ID VEVENT of an all-day daily series was made an all-day
    override of its day, saying nothing (an outside attack, over CalDAV). The event model's
    overrides are of their series' kind, as the API's are: the VEVENT is skipped, with the
    reason, and the series keeps that occurrence as it is; a day in a timed series likewise.
    A CalDAV PUT of either is refused (tests/caldav/test_reading.py)."""
    body = ics(
        vevent("X", "DTSTART;VALUE=DATE:20270110", "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:series"),
        vevent("X", "RECURRENCE-ID;VALUE=DATE:20270111", "DTSTART:20270111T120000Z",
               "DTEND:20270111T130000Z", "SUMMARY:lunch slot"),
        vevent("Y", "DTSTART:20270110T090000Z", "DTEND:20270110T100000Z",
               "RRULE:FREQ=DAILY;COUNT=5", "SUMMARY:standup"),
        vevent("Y", "RECURRENCE-ID:20270111T090000Z", "DTSTART;VALUE=DATE:20270111",
               "SUMMARY:whole day"),
        # an RDATE before DTSTART is a single event of its own, of the series' kind too
        vevent("Z", "DTSTART;VALUE=DATE:20270110", "RRULE:FREQ=DAILY;COUNT=3",
               "RDATE;VALUE=DATE:20270105", "SUMMARY:early"),
        vevent("Z", "RECURRENCE-ID;VALUE=DATE:20270105", "DTSTART:20270105T120000Z",
               "DTEND:20270105T130000Z", "SUMMARY:early lunch"),
    )  # fmt: skip
    response = await post(client, alice, body)
    assert response.status_code == 201, response.text
    series, standup, early, early_rdate = response.json()["items"]
    assert (series["ical_uid"], series["all_day"], series["overrides"]) == ("X", True, [])
    assert (standup["ical_uid"], standup["all_day"], standup["overrides"]) == ("Y", False, [])
    assert (early["start_date"], early_rdate["start_date"], early_rdate["title"]) == (
        "2027-01-10",
        "2027-01-05",
        "early",
    )
    lines = body.decode().split("\r\n")
    overrides = [n + 1 for n, line in enumerate(lines) if line.startswith("RECURRENCE-ID")]
    assert [
        (s["uid"], s["component"], s["line"], s["reason"]) for s in response.json()["skipped"]
    ] == [
        (
            "X",
            "VEVENT",
            overrides[0] - 2,
            "DTSTART of the occurrence of 2027-01-11 is a date-time in an all-day series: "
            "the occurrence is left as the series has it",
        ),
        (
            "Y",
            "VEVENT",
            overrides[1] - 2,
            "DTSTART of the occurrence of 2027-01-11T09:00:00Z is a date in a timed series: "
            "the occurrence is left as the series has it",
        ),
        (
            "Z",
            "VEVENT",
            overrides[2] - 2,
            "DTSTART of the occurrence of 2027-01-05 is a date-time in an all-day series: "
            "the occurrence is left as the series has it",
        ),
    ]
