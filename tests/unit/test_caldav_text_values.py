"""The values a calendar-query's text-match reads off a resource's text for a property the
event model does not hold (`caldav.textmatch.text_values`): the raw lines of its VEVENTs,
never icalendar, giving what icalendar's `prop.to_ical()` gave before (`_by_icalendar`, the
code before 2026-12-04) for the real-world resources of tests/fixtures/ics and
/work/shared/ics-samples, and for any escapes in TEXT, CATEGORIES, URI and X- values."""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from neo_events.caldav.textmatch import text_values
from neo_events.ical.blocks import property_of, split_stream
from tests.timing import budget

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ics"
SHARED = Path("/work/shared/ics-samples")
# Values icalendar normalises that are read as written now (documented in textmatch.py): a
# recurrence rule's parts reordered, a date-time's stray space; a text-match on them is no use
NORMALISED = {"RRULE", "EXRULE", "DTSTART", "DTEND", "EXDATE", "RDATE", "RECURRENCE-ID"}


def _by_icalendar(text: bytes, names: set[str]) -> dict[str, list[str]] | None:
    """`reports._text_values` before: None where icalendar refused the text (it gave no
    values, as the new reader does for a text that is not a calendar)."""
    found: dict[str, list[str]] = {name: [] for name in names}
    try:
        calendar = Calendar.from_ical(text)
    except ValueError:
        return None
    for component in calendar.walk("VEVENT"):
        for name in names:
            raw: Any = component.get(name)
            for prop in raw if isinstance(raw, list) else [raw] if raw is not None else []:
                value = prop.to_ical() if hasattr(prop, "to_ical") else str(prop)
                found[name].append(value.decode() if isinstance(value, bytes) else str(value))
    return found


def _resources(path: Path) -> list[tuple[bytes, set[str]]]:
    """One resource a VEVENT of the file (the calendar's lines, its VTIMEZONEs, the VEVENT),
    with the names of the VEVENT's properties."""
    made = []
    for calendar in split_stream(path.read_text(encoding="utf-8-sig")):
        zones = "".join(b.text for b in calendar.components if b.name == "VTIMEZONE")
        for block in calendar.components:
            if block.name == "VEVENT":
                text = calendar.header().replace(
                    "END:VCALENDAR", zones + block.text + "END:VCALENDAR"
                )
                names = {property_of(line)[0] for _, line in block.lines[1:-1]}
                made.append((text.encode(), names - {"BEGIN", "END"} - NORMALISED))
    return made


FILES = sorted(FIXTURES.glob("*.ics")) + sorted(SHARED.glob("*.ics"))


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_values_of_real_resources_are_those_icalendar_gave(path: Path) -> None:
    compared = 0
    for text, names in _resources(path):
        before = _by_icalendar(text, names | {"CATEGORIES", "X-NONE"})
        if before is None:  # icalendar refused it: the code before found no values
            continue
        assert text_values(text, names | {"CATEGORIES", "X-NONE"}) == before
        compared += 1
    assert compared or path.name in ("bad-outlook2003-freebusy-invalid-dates.ics",
                                     "odd-exchange2010-empty-tzid.ics")  # fmt: skip


_RAW = st.text(alphabet=st.sampled_from(list('aé,;:\\nNr "x')), max_size=25)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=800, deadline=None)
@given(name=st.sampled_from(["SUMMARY", "COMMENT", "CATEGORIES", "X-FOO", "URL", "RESOURCES"]),
       values=st.lists(_RAW, min_size=1, max_size=3))  # fmt: skip
def test_escapes_are_read_as_icalendar_read_them(name: str, values: list[str]) -> None:
    lines = "".join(f"{name};LANGUAGE=en:{value}\r\n" for value in values)
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:u\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART:20260101T090000Z\r\n{lines}"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\n"
        f"{name}:in the alarm\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    before = _by_icalendar(text, {name})
    if before is not None:
        assert text_values(text, {name}) == before


def test_a_vtimezone_is_never_parsed_and_a_broken_text_has_no_values() -> None:
    """An outside attack's stored text: an unnamed VTIMEZONE of 100 RDATEs with a TZID of
    200 "/a" cost icalendar 14 s to parse (300: a RecursionError)."""
    tzid = "/a" * 300
    rdates = "".join(f"RDATE;TZID={tzid}:20260101T0000{i % 60:02}\r\n" for i in range(100))
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nBEGIN:STANDARD\r\n"
        f"DTSTART:19700101T000000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\n{rdates}"
        "END:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID={tzid}:20260101T090000\r\nCATEGORIES:Work,Home\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()
    started = time.process_time()
    assert text_values(text, {"CATEGORIES", "RDATE"}) == {"CATEGORIES": ["Work,Home"], "RDATE": []}
    assert time.process_time() - started < budget(0.05)
    for broken in (text[:-20], b"\xff" + text, b"not a calendar", b""):
        assert text_values(broken, {"CATEGORIES"}) == {"CATEGORIES": []}


def test_the_properties_are_read_in_one_pass_whatever_their_number() -> None:
    """200,000 one-character X- lines (1.4 MB), 16 names asked: 1.2 s when each name read
    the lines again (`Block.values`), ~0.3 s in one pass (mostly splitting the lines)."""
    lines = "".join(f"X-{i % 10}:a\r\n" for i in range(200_000))
    text = f"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:u\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    gc.collect()
    gc.disable()  # the lines are objects: a collector walking a large heap triples the cost
    try:
        started = time.process_time()
        found = text_values(text.encode(), {f"X-N{i}" for i in range(15)} | {"X-1"})
        spent = time.process_time() - started
    finally:
        gc.enable()
    assert spent < budget(0.8), spent
    assert len(found["X-1"]) == 20_000 and found["X-N0"] == []
