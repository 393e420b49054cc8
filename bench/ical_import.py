"""What reading iCalendar text costs, in this process: `PYTHONPATH=. python -m bench.ical_import`.

Three files of 5,000 one-hour events (0.7-0.9 MB): in UTC, in Europe/Berlin with its
VTIMEZONE, and in Outlook's "W. Europe Standard Time" with Outlook's VTIMEZONE (a zone
icalendar makes from the VTIMEZONE itself). Each is parsed by the codec as an import parses it
(`codec.parse_calendar`, in its thread): CPU seconds, the least and the median of five after a
first. One CalDAV resource of one event in the Outlook zone is read as a PUT reads it
(`caldav.resources.read`): CPU microseconds a read, the least and the median of five rounds of
200. Then the Outlook file is imported whole through the app (POST /api/v1/events/import,
SQLite, httpx's ASGI transport): CPU seconds of the process, the median of three, each by a
new user; then 100 CalDAV PUTs of a one-event resource in the Outlook zone: the median CPU
milliseconds of one. CPU is `time.process_time` (every thread of the process).
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench import inprocess
from neo_events.caldav import resources
from neo_events.ical import codec

EVENTS = 5_000
PUTS = 100
CALENDAR = {"Content-Type": "text/calendar"}
BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""
OUTLOOK = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""


def calendar(count: int, tzid: str | None, zone: str = "", prefix: str = "e") -> bytes:
    """`count` one-hour VEVENTs a day apart from 2030, in `tzid` (None: UTC), after `zone`."""
    events = []
    for n in range(count):
        day = f"2030{1 + n // 28 % 12:02d}{1 + n % 28:02d}"
        on = f";TZID={tzid}:{day}T10" if tzid else f":{day}T10"
        end = "0000" if tzid else "0000Z"
        events.append(
            f"BEGIN:VEVENT\r\nUID:{prefix}{n}@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART{on}{end}\r\nDTEND{on.replace('T10', 'T11')}{end}\r\n"
            f"SUMMARY:e{n}\r\nEND:VEVENT\r\n"
        )
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n" + zone.replace("\n", "\r\n")
    return f"{head}{''.join(events)}END:VCALENDAR\r\n".encode()


def cpu_runs(call: Callable[[], object], runs: int) -> list[float]:
    call()
    found = []
    for _ in range(runs):
        began = time.process_time()
        call()
        found.append(time.process_time() - began)
    return found


async def _imports(body: bytes, runs: int) -> list[float]:
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{folder / 'import.db'}"
    await inprocess.fresh_database(url)
    found = []
    async with inprocess.app_client(url, folder) as client:
        for n in range(runs):
            auth = await inprocess.register(client, f"importer{n}")
            began = time.process_time()
            response = await client.post(
                "/api/v1/events/import", content=body, headers=auth | CALENDAR
            )
            found.append(time.process_time() - began)
            assert response.status_code == 201, response.text[:300]
        found.append(statistics.median(await _puts(client, auth, PUTS)))
    return found


async def _puts(client: httpx.AsyncClient, auth: dict[str, str], count: int) -> list[float]:
    """CPU seconds of each of `count` CalDAV PUTs of a new one-event resource in the Outlook
    zone, by the last importer."""
    made = await client.post("/api/v1/app-passwords", json={"name": "bench"}, headers=auth)
    me = await client.get("/api/v1/auth/me", headers=auth)
    name = me.json()["username"]
    secret = base64.b64encode(f"{name}:{made.json()['password']}".encode()).decode()
    headers = {"Authorization": f"Basic {secret}"} | CALENDAR
    found = []
    for n in range(count):
        body = calendar(1, '"W. Europe Standard Time"', OUTLOOK, prefix=f"put{n}-")
        began = time.process_time()
        response = await client.put(
            f"/dav/calendars/{name}/events/put{n}.ics", content=body, headers=headers
        )
        found.append(time.process_time() - began)
        assert response.status_code == 201, response.text[:300]
    return found


def run() -> list[str]:
    lines = ["| what | CPU, least | CPU, median |", "|---|---:|---:|"]
    for label, body in (
        ("parse 5,000 events in UTC", calendar(EVENTS, None)),
        ("parse 5,000 events in Europe/Berlin", calendar(EVENTS, "Europe/Berlin", BERLIN)),
        (
            'parse 5,000 events in "W. Europe Standard Time"',
            calendar(EVENTS, '"W. Europe Standard Time"', OUTLOOK),
        ),
    ):
        times = cpu_runs(lambda body=body: codec.parse_calendar(body), 5)
        lines.append(f"| {label} ({len(body) / 1e6:.2f} MB) | {min(times):.3f} s | "
                     f"{statistics.median(times):.3f} s |")  # fmt: skip
    resource = calendar(1, '"W. Europe Standard Time"', OUTLOOK)
    rounds = cpu_runs(lambda: [resources.read(resource, "UTC") for _ in range(200)], 5)
    each = [t / 200 * 1e6 for t in rounds]
    lines.append(f'| a CalDAV PUT\'s read of one event in "W. Europe Standard Time" | '
                 f"{min(each):.0f} µs | {statistics.median(each):.0f} µs |")  # fmt: skip
    outlook = calendar(EVENTS, '"W. Europe Standard Time"', OUTLOOK)
    *imports, put = asyncio.run(_imports(outlook, 3))
    lines.append(f'| POST /events/import of the 5,000 in "W. Europe Standard Time" | '
                 f"{min(imports):.2f} s | {statistics.median(imports):.2f} s |")  # fmt: skip
    lines.append(f"| a CalDAV PUT of one event in it, through the app ({PUTS} PUTs) | | "
                 f"{put * 1e3:.1f} ms |")  # fmt: skip
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
