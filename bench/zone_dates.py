"""CPU of the worst VTIMEZONE inputs of an outside attack (issue #16: every zone within its
own bounds, many of them in one file), in-process: the codec's parse of an import, a CalDAV
PUT's read of its resource (`caldav.resources.read`), a CALDAV:timezone's resolution. CPU
seconds of this process (`time.process_time`), the least of three runs.

    PYTHONPATH=. .venv/bin/python -m bench.zone_dates
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from neo_events.caldav import resources
from neo_events.caldav import zones as dav_zones
from neo_events.ical import codec

HEAD = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]


def rdate_zone(tzid: str, listed: bool = False) -> list[str]:
    """1,998 RDATEs (999 an observance) at offsets no IANA zone has: one line each, or
    lists of 30 (`listed`)."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    kinds = (("DAYLIGHT", "+0217", "+0117", 0), ("STANDARD", "+0117", "+0217", 3))
    for kind, after, before, shift in kinds:
        first = datetime(1902, 1, 1 + shift, 2)
        dates = [f"{first + timedelta(weeks=k):%Y%m%dT%H%M%S}" for k in range(999)]
        rows = [",".join(dates[k : k + 30]) for k in range(0, 999, 30)] if listed else dates
        lines += [f"BEGIN:{kind}", "DTSTART:19000101T020000", f"TZOFFSETFROM:{before}",
                  f"TZOFFSETTO:{after}", *(f"RDATE:{r}" for r in rows), f"END:{kind}"]  # fmt: skip
    return [*lines, "END:VTIMEZONE"]


def _text(lines: list[str]) -> bytes:
    return ("\r\n".join([*HEAD, *lines, "END:VCALENDAR"]) + "\r\n").encode()


def import_file(zones: int, listed: bool = False) -> bytes:
    events = [
        row
        for z in range(zones)
        for row in ["BEGIN:VEVENT", f"UID:e{z}", "DTSTAMP:20270101T000000Z",
                    f"DTSTART;TZID=Z{z}:20270105T100000", f"DTEND;TZID=Z{z}:20270105T110000",
                    "SUMMARY:e", "END:VEVENT"]
    ]  # fmt: skip
    return _text([row for z in range(zones) for row in rdate_zone(f"Z{z}", listed)] + events)


def moved_in_zones(zones: int) -> bytes:
    """A daily series and `zones` overrides, each moved in its own such zone."""
    master = ["BEGIN:VEVENT", "UID:m", "DTSTAMP:20270101T000000Z", "DTSTART:20270105T100000Z",
              "DTEND:20270105T110000Z", "RRULE:FREQ=DAILY", "SUMMARY:m", "END:VEVENT"]  # fmt: skip
    overrides = [
        row
        for z in range(zones)
        for row in ["BEGIN:VEVENT", "UID:m", "DTSTAMP:20270101T000000Z",
                    f"RECURRENCE-ID:202701{6 + z:02d}T100000Z",
                    f"DTSTART;TZID=Z{z}:202701{6 + z:02d}T120000",
                    f"DTEND;TZID=Z{z}:202701{6 + z:02d}T130000", "SUMMARY:o", "END:VEVENT"]
    ]  # fmt: skip
    zoned = [row for z in range(zones) for row in rdate_zone(f"Z{z}")]
    return _text([*zoned, *master, *overrides])


def yearly_observances(count: int) -> list[str]:
    """A VTIMEZONE of `count` observances, each a yearly rule from its own year."""
    rows = ["BEGIN:VTIMEZONE", "TZID:Q"]
    for k in range(count):
        kind = "STANDARD" if k % 2 else "DAYLIGHT"
        rows += [f"BEGIN:{kind}", f"DTSTART:{1900 + k}0{1 + k % 9}01T020000",
                 f"TZOFFSETFROM:+0{1 + k % 2}17", f"TZOFFSETTO:+0{2 - k % 2}17",
                 f"RRULE:FREQ=YEARLY;BYMONTH={1 + k % 12};BYDAY=-1SU", f"END:{kind}"]  # fmt: skip
    return [*rows, "END:VTIMEZONE"]


def _cpu(label: str, size: int, call: Callable[[], object]) -> str:
    spent, outcome = [], ""
    for _ in range(3):
        began = time.process_time()
        try:
            found = call()
            outcome = type(found).__name__
            if isinstance(found, codec.ParsedCalendar):
                ignored = sum("ignored" in note.message for note in found.notes)
                outcome = f"{len(found.events)} events, {ignored} zones ignored"
        except Exception as exc:  # the refusal is the outcome
            outcome = f"{type(exc).__name__}: {str(getattr(exc, 'reason', exc))[:70]}"
        spent.append(time.process_time() - began)
    return f"| {label} | {size >> 10} KB | {min(spent) * 1000:.0f} ms | {outcome} |"


def run() -> list[str]:
    def put(body: bytes) -> object:
        return resources.read(body, "UTC")

    def query(body: bytes) -> object:
        return dav_zones._of_vtimezone(body.decode(), 2027)

    parse = codec.parse_calendar
    cases: list[tuple[str, bytes, Callable[[bytes], object]]] = [
        ("import: 20 zones of 1,998 RDATE lines, an event each", import_file(20), parse),
        ("import: 31 zones of 1,998 RDATEs in lists", import_file(31, listed=True), parse),
        ("import: 2 such zones (the budget)", import_file(2), parse),
        ("PUT: a series, 20 overrides in 20 such zones", moved_in_zones(20), put),
        ("PUT: a series, 2 overrides in 2 such zones", moved_in_zones(2), put),
        ("CALDAV:timezone: one such zone", _text(rdate_zone("Z0")), query),
        ("CALDAV:timezone: 200 yearly observances", _text(yearly_observances(200)), query),
    ]
    rows = ["| input | size | CPU | outcome |", "|---|---|---|---|"]
    for label, body, call in cases:
        rows.append(_cpu(label, len(body), lambda body=body, call=call: call(body)))  # type: ignore[misc]
    return rows


if __name__ == "__main__":
    print("\n".join(run()))
